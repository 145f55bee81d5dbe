//! Signatures, their gradients and their directional derivatives for up to one vector's worth
//! of increment sequences at once (two for signatures of one or two letters): one per SIMD lane
//! (see [`crate::algebra`]'s lane-interleaved arithmetic).
//!
//! A *job* is a path and a range of its increments: a whole path, or a piece of one when a few
//! long paths are cut in time to fill the lanes. Jobs of different lengths share a group; the
//! shorter ones are padded with zero increments, whose exponential is the identity.
//!
//! Each computation exists over real numbers and over dual numbers: with a *direction* `v` (a
//! path of the same shape) the dual versions carry `x + εv` through the same code, giving
//! `dS[v]` going forwards and the Hessian-vector product of `<G, S>` going backwards.

use std::ops::Range;

use super::paths::PathRef;
use super::transform::PathTransform;
use crate::algebra::interleaved::{
    Coefficient, Dual, FUSED_LANE_STEPS, LaneScratch, MAX_WIDTH, Real, Wide, exp_lanes,
    exp_mul_backward_lanes, exp_mul_steps_lanes,
};
use crate::algebra::{Layout, Levels, reverse_words};
use crate::buffer::AlignedBuf;
use crate::error::{Result, try_zeroed};
use crate::scalar::Scalar;
use crate::simd::{Simd, Vectorize, simd_dispatch};

/// One sequence of increments: the increments `steps` of `path` under the transform.
#[derive(Clone, Debug)]
pub(crate) struct Job<'p, T> {
    pub(crate) path: PathRef<'p, T>,
    pub(crate) steps: Range<usize>,
}

/// Steps whose increments are gathered at once. The lanes' increments are written one scalar at
/// a time and read back as vectors, which the store buffer cannot forward: by the time a block's
/// first step reads them, the writes have long reached the cache.
const GATHER_STEPS: usize = 16;
const _: () = assert!(GATHER_STEPS.is_multiple_of(FUSED_LANE_STEPS));
// `fold` matches the length of a block against 1 to 4.
const _: () = assert!(FUSED_LANE_STEPS == 4);

/// Per-thread scratch for lane-batched signatures of one layout.
#[derive(Debug, Clone)]
pub(crate) struct LaneWorkspace<T> {
    layout: Layout,
    /// Whether the walk-back buffers are there.
    gradients: bool,
    dim: usize,
    levels: Levels,
    reciprocals: Vec<T>,
    /// Interleaved tensors: the running signatures, and their gradients when going backwards.
    state: AlignedBuf<T>,
    grad: AlignedBuf<T>,
    /// Interleaved increments of a block of steps, and one step's increment gradients.
    z: AlignedBuf<T>,
    d_z: AlignedBuf<T>,
    /// One lane's increment gradient, de-interleaved.
    row: Vec<T>,
    /// Word reversal as a permutation: coefficient `e` of a reversed tensor is coefficient
    /// `reversal[e]` of the tensor (computed once: reversing word by word costs more than
    /// copying).
    reversal: Vec<usize>,
    scratch: LaneScratch<T>,
}

impl<T: Scalar> LaneWorkspace<T> {
    /// Scratch for signatures of `layout`, and with `gradients` for walking back through them
    /// (the buffers only the gradient passes use are empty otherwise).
    pub(crate) fn new(layout: Layout, gradients: bool) -> Result<Self> {
        let (d, n) = (layout.dim(), layout.degree());
        let levels = Levels::new(layout);
        let what = "a lane workspace";
        let backward = |len: usize| if gradients { len } else { 0 };
        Ok(LaneWorkspace {
            layout,
            gradients,
            dim: d,
            reciprocals: (1..=n).map(|m| T::from_f64(1.0 / m as f64)).collect(),
            state: AlignedBuf::zeroed(what, layout.len() * MAX_WIDTH)?,
            grad: AlignedBuf::zeroed(what, backward(layout.len() * MAX_WIDTH))?,
            z: AlignedBuf::zeroed(what, GATHER_STEPS * d * MAX_WIDTH)?,
            d_z: AlignedBuf::zeroed(what, backward(d * MAX_WIDTH))?,
            row: try_zeroed(what, backward(d))?,
            reversal: {
                let mut identity: Vec<usize> = (0..layout.len()).collect();
                reverse_words(layout, &mut identity);
                identity
            },
            scratch: LaneScratch::new(&levels, d, n, gradients)?,
            levels,
        })
    }
}

impl<T> LaneWorkspace<T> {
    /// Whether this workspace can serve [`LaneWorkspace::new`]`(layout, gradients)`'s uses.
    pub(crate) fn serves(&self, layout: Layout, gradients: bool) -> bool {
        self.layout == layout && (self.gradients || !gradients)
    }

    /// The scalars its buffers hold.
    pub(crate) fn scalars(&self) -> usize {
        self.state.len() + self.grad.len() + self.z.len() + self.d_z.len() + self.scratch.scalars()
    }
}

/// Up to this many letters, [`signatures`] and [`signature_backwards`] run more than one
/// vector's worth of jobs on [`Wide`] coefficients, two vectors at once. With so few letters the
/// levels are short, and loop and address arithmetic would otherwise cost as much as the
/// multiply-adds (measured on Zen 4: 1.35-1.6x faster signatures and 1.15-1.35x faster
/// gradients at d=2, N=7; slower from d=3 up, where the doubled state fits the caches worse).
const WIDE_MAX_DIM: usize = 2;

/// How many of `batch` paths of `dim` letters one call of [`signatures`] or
/// [`signature_backwards`] should take at the active instruction-set level: two vectors' worth
/// when [`Wide`] coefficients pay and the batch fills them, else one (cutting paths into more
/// pieces to fill wide lanes would cost more than it saves).
pub(crate) fn jobs_per_pass<T: Scalar>(dim: usize, batch: usize) -> usize {
    let lanes = lane_count::<T>();
    if dim <= WIDE_MAX_DIM && batch >= 2 * lanes {
        2 * lanes
    } else {
        lanes
    }
}

/// Lanes at the active instruction-set level: how many jobs one call takes at once.
pub(crate) fn lane_count<T: Scalar>() -> usize {
    simd_dispatch!(<T: Scalar> |S| {} -> usize { <T as Vectorize<S>>::LANES })
}

/// Where a lane's value (`part` 0) or tangent (`part` 1) of coefficient `e` sits in an
/// interleaved buffer of `C`.
#[inline(always)]
fn slot<S: Simd, C: Coefficient<S>>(e: usize, part: usize, lane: usize) -> usize {
    e * C::WIDTH + part * <C::T as Vectorize<S>>::LANES + lane
}

/// Writes into `ws.z` the increments `steps` of every job (and, for dual coefficients, of every
/// direction, whose time channel is constant), zero past a job's end.
#[inline(always)]
fn gather<S: Simd, C: Coefficient<S>>(
    transform: &PathTransform,
    jobs: &[Job<'_, C::T>],
    directions: &[PathRef<'_, C::T>],
    steps: Range<usize>,
    ws: &mut LaneWorkspace<C::T>,
) {
    let (d, w) = (ws.dim, C::WIDTH);
    let z = &mut ws.z[..steps.len() * d * w];
    if directions.is_empty() && gather_transposed::<S, C>(transform, jobs, &steps, d, z) {
        return;
    }
    // Lane by lane, so that each path is read front to back.
    for (lane, job) in jobs.iter().enumerate() {
        assert!(job.steps.end <= transform.increments(job.path.len()));
        let live = job.steps.len().saturating_sub(steps.start).min(steps.len());
        for (part, path) in std::iter::once(&job.path)
            .chain(directions.get(lane))
            .enumerate()
        {
            for (t, z) in z.chunks_exact_mut(d * w).enumerate() {
                let z = z.as_mut_ptr();
                // SAFETY: every channel `c < d`, so every slot lies inside this step's `z`.
                // Volatile keeps these strided writes scalar: vectorised, they become AVX-512
                // scatters, which Zen 4 runs ~20% slower here than plain stores.
                let mut put =
                    |c: usize, v| unsafe { z.add(slot::<S, C>(c, part, lane)).write_volatile(v) };
                if t < live {
                    // SAFETY: `job.steps.start + steps.start + t < job.steps.end`, checked above
                    // to be an increment of the path.
                    unsafe {
                        transform.increment_unchecked(
                            path,
                            job.steps.start + steps.start + t,
                            &mut put,
                        )
                    };
                    if part == 1 && transform.time_aug {
                        put(d - 1, C::T::ZERO); // time does not move with the path
                    }
                } else {
                    (0..d).for_each(|c| put(c, C::T::ZERO));
                }
            }
        }
    }
}

/// The common case of [`gather`], vectorised: untransformed, C-ordered paths, every lane's
/// job live for all of `steps`. A block of increments of one path is the difference of its
/// row-major points and the same points one row on, so whole vectors of it are differenced and
/// transposed into the lanes. Returns whether it applied (else nothing was written).
#[inline(always)]
fn gather_transposed<S: Simd, C: Coefficient<S>>(
    transform: &PathTransform,
    jobs: &[Job<'_, C::T>],
    steps: &Range<usize>,
    d: usize,
    z: &mut [C::T],
) -> bool {
    let lanes = <C::T as Vectorize<S>>::LANES;
    let values = steps.len() * d;
    if transform.time_aug
        || transform.lead_lag
        || jobs.len() != C::LANES
        || !values.is_multiple_of(lanes)
        || jobs.iter().any(|j| j.steps.len() < steps.end)
    {
        return false;
    }
    // Each row: the job's points from the block's first step through one past its last.
    let mut rows = [std::ptr::null::<C::T>(); MAX_WIDTH];
    for (row, job) in rows.iter_mut().zip(jobs) {
        match job.path.row_major_from(job.steps.start + steps.start) {
            Some(points) if points.len() >= values + d => *row = points.as_ptr(),
            _ => return false,
        }
    }
    assert!(z.len() >= values * C::WIDTH);
    for (group, rows) in rows[..C::LANES].chunks_exact(lanes).enumerate() {
        for at in (0..values).step_by(lanes) {
            // SAFETY: each row holds `values + d` points' values (checked above) and the
            // stores land at coefficients `at..at + lanes` of `z`, `group`'s vector of lanes.
            unsafe {
                <C::T as Vectorize<S>>::transposed_differences(
                    rows,
                    at,
                    d,
                    z.as_mut_ptr().add(at * C::WIDTH + group * lanes),
                    C::WIDTH,
                )
            };
        }
    }
    true
}

/// Calls `$body` with the constant `$D` equal to `$dim` for small dimensions, for which the
/// engine's loops over letters unroll and the increment stays in registers, else 0 (the
/// dimension read at run time). Each arm is a separate instantiation: only real-number entry
/// points use it, the dual-number ones run with 0.
macro_rules! with_const_dim {
    ($dim:expr, $D:ident => $body:expr) => {
        with_const_dim!(@arms $dim, $D, $body, 1 2 3 4 5 6 7 8)
    };
    (@arms $dim:expr, $D:ident, $body:expr, $($n:literal)*) => {
        match $dim {
            $($n => {
                const $D: usize = $n;
                $body
            })*
            _ => {
                const $D: usize = 0;
                $body
            }
        }
    };
}

/// Calls `$f::<$S, C, D>($args)` for `$jobs` jobs of `$dim` letters at level `$S`, with `C`
/// the real coefficients that suit them — [`Wide`] when they overflow one vector and have at
/// most [`WIDE_MAX_DIM`] letters, else [`Real`] — and `D` as in `with_const_dim!`.
macro_rules! with_real_coefficients {
    ($S:ident, $T:ident, $dim:expr, $jobs:expr, $f:ident($($arg:expr),* $(,)?)) => {
        match ($dim, $jobs > <$T as Vectorize<$S>>::LANES) {
            (1, true) => $f::<$S, Wide<$T>, 1>($($arg),*),
            (2, true) => $f::<$S, Wide<$T>, 2>($($arg),*),
            (d, _) => with_const_dim!(d, D => $f::<$S, Real<$T>, D>($($arg),*)),
        }
    };
}
// The wide arms above are the dimensions up to `WIDE_MAX_DIM`.
const _: () = assert!(WIDE_MAX_DIM == 2);

/// Folds every job's increments into `ws.state`, from zero: the first step is exponentiated
/// into the state directly, the rest are folded in blocks of fused steps, the last block as
/// long as the steps left. Padding it with zero increments to a whole block cost every step of
/// the padding (its chains run in full): a three-point path took as long as a six-point one,
/// 0.75x pysiglib at 256x3x2 N=10. `D` as for [`exp_mul_steps_lanes`].
#[inline(always)]
fn fold<S: Simd, C: Coefficient<S>, const D: usize>(
    layout: Layout,
    transform: &PathTransform,
    jobs: &[Job<'_, C::T>],
    directions: &[PathRef<'_, C::T>],
    ws: &mut LaneWorkspace<C::T>,
) {
    let (d, n, w) = (layout.dim(), layout.degree(), C::WIDTH);
    assert!(jobs.len() <= C::LANES);
    let longest = jobs.iter().map(|j| j.steps.len()).max().unwrap_or(0);
    let end = longest.max(1);
    zero_gathered_slots(ws, (end - 1).clamp(1, GATHER_STEPS), d * w);
    // A job without increments (a one-point path) reads a zero increment: exp(0) = 1.
    gather::<S, C>(transform, jobs, directions, 0..1, ws);
    exp_lanes::<S, C, D>(&ws.levels, d, n, &ws.reciprocals, &ws.z, &mut ws.state);
    for block in (1..end).step_by(GATHER_STEPS) {
        let block_end = end.min(block + GATHER_STEPS);
        gather::<S, C>(transform, jobs, directions, block..block_end, ws);
        let LaneWorkspace {
            levels,
            reciprocals,
            state,
            z,
            scratch,
            ..
        } = &mut *ws;
        for z in z[..(block_end - block) * d * w].chunks(FUSED_LANE_STEPS * d * w) {
            // `F` is a constant of the fused loops: one instantiation per length of a block.
            macro_rules! fused {
                ($f:literal) => {
                    exp_mul_steps_lanes::<S, C, D, $f>(levels, d, n, reciprocals, z, state, scratch)
                };
            }
            match z.len() / (d * w) {
                1 => fused!(1),
                2 => fused!(2),
                3 => fused!(3),
                _ => fused!(4),
            }
        }
    }
}

/// Zeroes the increment slots that gathers of up to `steps` steps (`step_len` scalars each) use:
/// the lanes and dual parts no job fills must read zero increments. Only those: the whole buffer
/// is sized for the longest block and the widest coefficients, and zeroing it for every group of
/// short paths cost ~9% of a 256x10x20 N=2 call.
#[inline(always)]
fn zero_gathered_slots<T: Scalar>(ws: &mut LaneWorkspace<T>, steps: usize, step_len: usize) {
    ws.z[..steps * step_len].fill(T::ZERO);
}

/// Writes part `part` of lane `first + j` of `ws.state` into `outs[j]` for every
/// `j < outs.len()`, in the natural word order. Coefficient by coefficient, all lanes at once: each interleaved
/// coefficient (a cache line or two) is read once for every lane instead of once per lane, and
/// each output row is still written front to back. Whole vectors of lanes go out as
/// transposed square blocks of coefficients: a 256x3x12 N=3 call spent ~40% of its time here
/// moving one scalar at a time.
#[inline(always)]
fn extract<S: Simd, C: Coefficient<S>>(
    ws: &LaneWorkspace<C::T>,
    part: usize,
    first: usize,
    outs: &mut [&mut [C::T]],
) {
    let lanes = outs.len();
    assert!(first + lanes <= C::LANES);
    let len = outs
        .iter()
        .map(|out| out.len())
        .min()
        .unwrap_or(0)
        .min(ws.reversal.len());
    let vector = <C::T as Vectorize<S>>::LANES;
    let mut done = 0;
    if first.is_multiple_of(vector) && lanes.is_multiple_of(vector) {
        let mut rows = [std::ptr::null_mut::<C::T>(); MAX_WIDTH];
        for (row, out) in rows.iter_mut().zip(outs.iter_mut()) {
            *row = out.as_mut_ptr();
        }
        let mut coefficients = [std::ptr::null::<C::T>(); MAX_WIDTH];
        while done + vector <= len {
            let words = &ws.reversal[done..done + vector];
            for (group, rows) in rows[..lanes].chunks_exact(vector).enumerate() {
                for (from, &e) in coefficients.iter_mut().zip(words) {
                    let at = slot::<S, C>(e, part, first + group * vector);
                    *from = ws.state[at..at + vector].as_ptr();
                }
                // SAFETY: each coefficient pointer starts `vector` lanes of the state (sliced
                // above) and each output row holds `done + vector <= len` elements.
                unsafe { <C::T as Vectorize<S>>::transpose(&coefficients[..vector], rows, done) };
            }
            done += vector;
        }
    }
    for (o, &e) in ws.reversal[..len].iter().enumerate().skip(done) {
        let at = slot::<S, C>(e, part, first);
        let coefficient = &ws.state[at..at + lanes];
        for (out, &value) in outs.iter_mut().zip(coefficient) {
            // SAFETY: `o < len`, at most every output's length.
            unsafe { *out.get_unchecked_mut(o) = value };
        }
    }
}

/// Walks every job back from its end state, calling `emit(lane, step, dz)` with each live step's
/// increment gradient (interleaved coefficients, `d` of them, in `ws.d_z`), then
/// `after_step(s, grad, reversal)` with the gradient with respect to the state before step `s`
/// (of the longest job; interleaved) and the word reversal. `D` as for [`exp_mul_steps_lanes`].
#[inline(always)]
fn unfold<S: Simd, C: Coefficient<S>, const D: usize>(
    layout: Layout,
    transform: &PathTransform,
    jobs: &[Job<'_, C::T>],
    directions: &[PathRef<'_, C::T>],
    ws: &mut LaneWorkspace<C::T>,
    mut emit: impl FnMut(usize, usize, &[C::T], &mut [C::T]),
    mut after_step: impl FnMut(usize, &mut [C::T], &[usize]),
) {
    let (d, n, w) = (layout.dim(), layout.degree(), C::WIDTH);
    let steps = jobs.iter().map(|j| j.steps.len()).max().unwrap_or(0);
    zero_gathered_slots(ws, steps.clamp(1, GATHER_STEPS), d * w);
    let mut end = steps;
    while end > 0 {
        let block = end.saturating_sub(GATHER_STEPS);
        gather::<S, C>(transform, jobs, directions, block..end, ws);
        for s in (block..end).rev() {
            ws.d_z.fill(C::T::ZERO);
            let LaneWorkspace {
                levels,
                reciprocals,
                state,
                grad,
                z,
                d_z,
                scratch,
                row,
                reversal,
                ..
            } = &mut *ws;
            let z = &z[(s - block) * d * w..(s - block + 1) * d * w];
            exp_mul_backward_lanes::<S, C, D>(
                levels,
                d,
                n,
                reciprocals,
                z,
                state,
                grad,
                d_z,
                false,
                scratch,
            );
            for (lane, job) in jobs.iter().enumerate() {
                if s < job.steps.len() {
                    emit(lane, job.steps.start + s, d_z, row);
                }
            }
            after_step(s, grad, reversal);
        }
        end = block;
    }
}

/// Copies the word-reversed `source` (natural order, levels `1..=N`) into part `part` of lane
/// `lane` of `target` (interleaved). Reversal permutes coordinates, so gradients reverse the
/// same way as tensors.
#[inline(always)]
fn interleave<S: Simd, C: Coefficient<S>>(
    reversal: &[usize],
    source: &[C::T],
    target: &mut [C::T],
    lane: usize,
    part: usize,
) {
    for (e, &from) in reversal.iter().enumerate() {
        target[slot::<S, C>(e, part, lane)] = source[from];
    }
}

/// [`signatures`] on coefficients `C`: fold, then write every lane out.
#[inline(always)]
fn sign<S: Simd, C: Coefficient<S>, const D: usize>(
    layout: Layout,
    transform: &PathTransform,
    jobs: &[Job<'_, C::T>],
    outs: &mut [&mut [C::T]],
    ws: &mut LaneWorkspace<C::T>,
) {
    fold::<S, C, D>(layout, transform, jobs, &[], ws);
    extract::<S, C>(ws, 0, 0, outs);
}

/// Writes into `outs[j]` (levels `1..=N` of `layout`) the signature of job `j`'s increments.
pub(crate) fn signatures<T: Scalar>(
    layout: Layout,
    transform: &PathTransform,
    jobs: &[Job<'_, T>],
    outs: &mut [&mut [T]],
    ws: &mut LaneWorkspace<T>,
) {
    simd_dispatch!(<'a, 'b, 'p, T: Scalar> |S| {
        layout: Layout,
        transform: &'a PathTransform,
        jobs: &'a [Job<'p, T>],
        outs: &'a mut [&'b mut [T]],
        ws: &'a mut LaneWorkspace<T>,
    } -> () {
        with_real_coefficients!(
            S,
            T,
            layout.dim(),
            jobs.len(),
            sign(layout, transform, jobs, outs, ws)
        )
    })
}

/// Writes into `outs[j]` the signature of job `j`'s increments and into `tangents[j]` its
/// directional derivative along `directions[j]` (a path shaped like job `j`'s): the
/// Jacobian-vector product `dS[v]`.
pub(crate) fn signature_jvps<T: Scalar>(
    layout: Layout,
    transform: &PathTransform,
    jobs: &[Job<'_, T>],
    directions: &[PathRef<'_, T>],
    outs: &mut [&mut [T]],
    tangents: &mut [&mut [T]],
    ws: &mut LaneWorkspace<T>,
) {
    simd_dispatch!(<'a, 'b, 'c, 'p, T: Scalar> |S| {
        layout: Layout,
        transform: &'a PathTransform,
        jobs: &'a [Job<'p, T>],
        directions: &'a [PathRef<'p, T>],
        outs: &'a mut [&'b mut [T]],
        tangents: &'a mut [&'c mut [T]],
        ws: &'a mut LaneWorkspace<T>,
    } -> () {
        assert_eq!(directions.len(), jobs.len());
        fold::<S, Dual<T>, 0>(layout, transform, jobs, directions, ws);
        extract::<S, Dual<T>>(ws, 0, 0, outs);
        extract::<S, Dual<T>>(ws, 1, 0, tangents);
    })
}

/// Adds into `d_paths[j]` (row-major `len × dim` of job `j`'s path) the gradient of
/// `<grads[j], S_j>` with respect to the path, where `S_j = ends[j]` is the signature of job
/// `j`'s increments (levels `1..=N`, as [`signatures`] writes them).
pub(crate) fn signature_backwards<T: Scalar>(
    layout: Layout,
    transform: &PathTransform,
    jobs: &[Job<'_, T>],
    ends: &[&[T]],
    grads: &[&[T]],
    d_paths: &mut [&mut [T]],
    ws: &mut LaneWorkspace<T>,
) {
    simd_dispatch!(<'a, 'b, 'c, 'p, T: Scalar> |S| {
        layout: Layout,
        transform: &'a PathTransform,
        jobs: &'a [Job<'p, T>],
        ends: &'a [&'b [T]],
        grads: &'a [&'b [T]],
        d_paths: &'a mut [&'c mut [T]],
        ws: &'a mut LaneWorkspace<T>,
    } -> () {
        with_real_coefficients!(
            S,
            T,
            layout.dim(),
            jobs.len(),
            walk_back(layout, transform, jobs, ends, grads, d_paths, ws)
        )
    })
}

/// [`signature_backwards`] on coefficients `C`.
#[inline(always)]
fn walk_back<S: Simd, C: Coefficient<S>, const D: usize>(
    layout: Layout,
    transform: &PathTransform,
    jobs: &[Job<'_, C::T>],
    ends: &[&[C::T]],
    grads: &[&[C::T]],
    d_paths: &mut [&mut [C::T]],
    ws: &mut LaneWorkspace<C::T>,
) {
    assert!(ends.len() == jobs.len() && grads.len() == jobs.len() && d_paths.len() == jobs.len());
    let (len, d) = (layout.len(), layout.dim());
    let LaneWorkspace {
        state,
        grad,
        reversal,
        ..
    } = &mut *ws;
    state[..len * C::WIDTH].fill(C::T::ZERO);
    grad[..len * C::WIDTH].fill(C::T::ZERO);
    for (lane, (&end, &g)) in ends.iter().zip(grads).enumerate() {
        interleave::<S, C>(reversal, end, state, lane, 0);
        interleave::<S, C>(reversal, g, grad, lane, 0);
    }
    let emit = |lane: usize, step, d_z: &[C::T], row: &mut [C::T]| {
        let dz = &mut row[..d];
        for (c, g) in dz.iter_mut().enumerate() {
            *g = d_z[slot::<S, C>(c, 0, lane)];
        }
        transform.scatter_increment_grad(dz, step, d_paths[lane]);
    };
    unfold::<S, C, D>(layout, transform, jobs, &[], ws, emit, |_, _, _| {});
}

/// The directional derivative of [`signature_backwards`] along `directions[j]`: adds into
/// `d_paths[j]` the gradient of `<grads[j], S_j>` and into `hvps[j]` the Hessian of
/// `<grads[j], S_j>` applied to the direction, given `ends[j] = S_j` and
/// `end_tangents[j] = dS_j[v_j]` (as [`signature_jvps`] writes them).
#[allow(clippy::too_many_arguments)]
pub(crate) fn signature_hvps<'b, 'c, T: Scalar>(
    layout: Layout,
    transform: &PathTransform,
    jobs: &[Job<'_, T>],
    directions: &[PathRef<'_, T>],
    ends: &[&'b [T]],
    end_tangents: &[&'b [T]],
    grads: &[&'b [T]],
    d_paths: &mut [&'c mut [T]],
    hvps: &mut [&'c mut [T]],
    ws: &mut LaneWorkspace<T>,
) {
    simd_dispatch!(<'a, 'b, 'c, 'p, T: Scalar> |S| {
        layout: Layout,
        transform: &'a PathTransform,
        jobs: &'a [Job<'p, T>],
        directions: &'a [PathRef<'p, T>],
        ends: &'a [&'b [T]],
        end_tangents: &'a [&'b [T]],
        grads: &'a [&'b [T]],
        d_paths: &'a mut [&'c mut [T]],
        hvps: &'a mut [&'c mut [T]],
        ws: &'a mut LaneWorkspace<T>,
    } -> () {
        signature_hvps_at::<S, T>(
            layout,
            transform,
            jobs,
            directions,
            ends,
            end_tangents,
            grads,
            d_paths,
            hvps,
            ws,
        )
    })
}

/// The body of [`signature_hvps`] at level `S`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn signature_hvps_at<'a, 'b, 'c, 'p, S: Simd, T: Scalar + Vectorize<S>>(
    layout: Layout,
    transform: &'a PathTransform,
    jobs: &'a [Job<'p, T>],
    directions: &'a [PathRef<'p, T>],
    ends: &'a [&'b [T]],
    end_tangents: &'a [&'b [T]],
    grads: &'a [&'b [T]],
    d_paths: &'a mut [&'c mut [T]],
    hvps: &'a mut [&'c mut [T]],
    ws: &'a mut LaneWorkspace<T>,
) {
    type C<T> = Dual<T>;
    let count = jobs.len();
    assert!(directions.len() == count && ends.len() == count && end_tangents.len() == count);
    assert!(grads.len() == count && d_paths.len() == count && hvps.len() == count);
    let (len, d) = (layout.len(), layout.dim());
    let LaneWorkspace {
        state,
        grad,
        reversal,
        ..
    } = &mut *ws;
    state[..len * <C<T> as Coefficient<S>>::WIDTH].fill(T::ZERO);
    grad[..len * <C<T> as Coefficient<S>>::WIDTH].fill(T::ZERO); // the gradient's tangent is zero
    for lane in 0..count {
        interleave::<S, C<T>>(reversal, ends[lane], state, lane, 0);
        interleave::<S, C<T>>(reversal, end_tangents[lane], state, lane, 1);
        interleave::<S, C<T>>(reversal, grads[lane], grad, lane, 0);
    }
    unfold::<S, C<T>, 0>(
        layout,
        transform,
        jobs,
        directions,
        ws,
        |lane, step, d_z, row| {
            for (part, target) in [(0, &mut *d_paths[lane]), (1, &mut *hvps[lane])] {
                let dz = &mut row[..d];
                for (c, g) in dz.iter_mut().enumerate() {
                    *g = d_z[slot::<S, C<T>>(c, part, lane)];
                }
                transform.scatter_increment_grad(dz, step, target);
            }
        },
        |_, _, _| {},
    );
}

mod stream;
pub(crate) use stream::{signature_stream_backwards, signature_streams};
