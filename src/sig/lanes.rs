//! Signatures, and their gradients, of up to one vector's worth of increment sequences at once:
//! one per SIMD lane (see [`crate::algebra`]'s lane-interleaved kernels).
//!
//! A *job* is a path and a range of its increments: a whole path, or a piece of one when a few
//! long paths are cut in time to fill the lanes. Jobs of different lengths share a group; the
//! shorter ones are padded with zero increments, whose exponential is the identity.

use std::ops::Range;

use super::paths::PathRef;
use super::transform::PathTransform;
use crate::algebra::lanes::{LaneScratch, MAX_LANES, exp_mul_backward_lanes, exp_mul_lanes};
use crate::algebra::{Layout, Levels, reverse_words};
use crate::error::{Result, try_zeroed};
use crate::scalar::Scalar;
use crate::simd::{Kernel, Simd, Vectorize, dispatch};

/// One sequence of increments: the increments `steps` of `path` under the transform.
#[derive(Clone, Debug)]
pub(crate) struct Job<'p, T> {
    pub(crate) path: PathRef<'p, T>,
    pub(crate) steps: Range<usize>,
}

/// Per-thread scratch for lane-batched signatures of one layout.
#[derive(Debug, Clone)]
pub(crate) struct LaneWorkspace<T> {
    dim: usize,
    levels: Levels,
    reciprocals: Vec<T>,
    /// Interleaved tensors: the running signatures, and their gradients when going backwards.
    state: Vec<T>,
    grad: Vec<T>,
    /// Interleaved increments of a block of steps, and their gradients.
    z: Vec<T>,
    d_z: Vec<T>,
    /// One lane's increment, gradient or signature, de-interleaved.
    row: Vec<T>,
    scratch: LaneScratch<T>,
}

impl<T: Scalar> LaneWorkspace<T> {
    /// Scratch for signatures of `layout`.
    pub(crate) fn new(layout: Layout) -> Result<Self> {
        let (d, n) = (layout.dim(), layout.degree());
        let levels = Levels::new(layout);
        let what = "a lane workspace";
        Ok(LaneWorkspace {
            dim: d,
            reciprocals: (1..=n).map(|m| T::from_f64(1.0 / m as f64)).collect(),
            state: try_zeroed(what, layout.len() * MAX_LANES)?,
            grad: try_zeroed(what, layout.len() * MAX_LANES)?,
            z: try_zeroed(what, GATHER_STEPS * d * MAX_LANES)?,
            d_z: try_zeroed(what, d * MAX_LANES)?,
            row: try_zeroed(what, layout.len().max(d))?,
            scratch: LaneScratch::new(&levels, d, n)?,
            levels,
        })
    }
}

/// Lanes at the active instruction-set level: how many jobs [`signatures`] takes at once.
pub(crate) fn lane_count<T: Scalar>() -> usize {
    struct Task<T>(std::marker::PhantomData<T>);
    impl<T: Scalar> Kernel for Task<T> {
        type Elem = T;
        type Output = usize;
        #[inline(always)]
        fn run<S: Simd>(self) -> usize
        where
            T: Vectorize<S>,
        {
            <T as Vectorize<S>>::LANES
        }
    }
    dispatch(Task::<T>(std::marker::PhantomData))
}

/// Steps whose increments are gathered at once. The lanes' increments are written one scalar at
/// a time and read back as vectors, which the store buffer cannot forward: by the time a block's
/// first step reads them, the writes have long reached the cache.
const GATHER_STEPS: usize = 16;

/// Writes into `ws.z` (interleaved, `d` vectors per step) increments `steps` of every job, zero
/// past a job's end.
#[inline(always)]
fn gather<T: Scalar>(
    transform: &PathTransform,
    jobs: &[Job<'_, T>],
    steps: Range<usize>,
    lanes: usize,
    ws: &mut LaneWorkspace<T>,
) {
    let d = ws.dim;
    for (t, s) in steps.enumerate() {
        let z = &mut ws.z[t * d * lanes..(t + 1) * d * lanes];
        for (lane, job) in jobs.iter().enumerate() {
            let inc = &mut ws.row[..d];
            if s < job.steps.len() {
                transform.increment(&job.path, job.steps.start + s, inc);
            } else {
                inc.fill(T::ZERO);
            }
            for (c, &v) in inc.iter().enumerate() {
                z[c * lanes + lane] = v;
            }
        }
    }
}

/// Writes into `outs[j]` (levels `1..=N` of `layout`) the signature of job `j`'s increments.
/// At most [`lane_count`] jobs.
pub(crate) fn signatures<T: Scalar>(
    layout: Layout,
    transform: &PathTransform,
    jobs: &[Job<'_, T>],
    outs: &mut [&mut [T]],
    ws: &mut LaneWorkspace<T>,
) {
    struct Task<'a, 'b, 'p, T> {
        layout: Layout,
        transform: &'a PathTransform,
        jobs: &'a [Job<'p, T>],
        outs: &'a mut [&'b mut [T]],
        ws: &'a mut LaneWorkspace<T>,
    }
    impl<T: Scalar> Kernel for Task<'_, '_, '_, T> {
        type Elem = T;
        type Output = ();
        #[inline(always)]
        fn run<S: Simd>(self)
        where
            T: Vectorize<S>,
        {
            let Task {
                layout,
                transform,
                jobs,
                outs,
                ws,
            } = self;
            let lanes = <T as Vectorize<S>>::LANES;
            assert!(jobs.len() <= lanes && outs.len() == jobs.len());
            let (len, n) = (layout.len(), layout.degree());
            ws.state[..len * lanes].fill(T::ZERO);
            ws.z.fill(T::ZERO);
            let steps = jobs.iter().map(|j| j.steps.len()).max().unwrap_or(0);
            let d = layout.dim();
            for block in (0..steps).step_by(GATHER_STEPS) {
                let end = steps.min(block + GATHER_STEPS);
                gather(transform, jobs, block..end, lanes, ws);
                let LaneWorkspace {
                    levels,
                    reciprocals,
                    state,
                    z,
                    scratch,
                    ..
                } = &mut *ws;
                for z in z.chunks_exact(d * lanes).take(end - block) {
                    exp_mul_lanes::<S, T>(levels, d, n, reciprocals, z, state, scratch);
                }
            }
            for (lane, out) in outs.iter_mut().enumerate() {
                for (e, o) in out.iter_mut().enumerate() {
                    *o = ws.state[e * lanes + lane];
                }
                reverse_words(layout, out);
            }
        }
    }
    dispatch(Task {
        layout,
        transform,
        jobs,
        outs,
        ws,
    })
}

/// Adds into `d_paths[j]` (row-major `len × dim` of job `j`'s path) the gradient of
/// `<grads[j], S_j>` with respect to the path, where `S_j = ends[j]` is the signature of job
/// `j`'s increments (levels `1..=N`, as [`signatures`] writes them). At most [`lane_count`] jobs.
pub(crate) fn signature_backwards<T: Scalar>(
    layout: Layout,
    transform: &PathTransform,
    jobs: &[Job<'_, T>],
    ends: &[&[T]],
    grads: &[&[T]],
    d_paths: &mut [&mut [T]],
    ws: &mut LaneWorkspace<T>,
) {
    struct Task<'a, 'b, 'c, 'p, T> {
        layout: Layout,
        transform: &'a PathTransform,
        jobs: &'a [Job<'p, T>],
        ends: &'a [&'b [T]],
        grads: &'a [&'b [T]],
        d_paths: &'a mut [&'c mut [T]],
        ws: &'a mut LaneWorkspace<T>,
    }
    impl<T: Scalar> Kernel for Task<'_, '_, '_, '_, T> {
        type Elem = T;
        type Output = ();
        #[inline(always)]
        fn run<S: Simd>(self)
        where
            T: Vectorize<S>,
        {
            let Task {
                layout,
                transform,
                jobs,
                ends,
                grads,
                d_paths,
                ws,
            } = self;
            let lanes = <T as Vectorize<S>>::LANES;
            let count = jobs.len();
            assert!(
                count <= lanes
                    && ends.len() == count
                    && grads.len() == count
                    && d_paths.len() == count
            );
            let (len, n, d) = (layout.len(), layout.degree(), layout.dim());
            ws.state[..len * lanes].fill(T::ZERO);
            ws.grad[..len * lanes].fill(T::ZERO);
            // Interleave the word-reversed end states and gradients (reversal permutes
            // coordinates, so gradients reverse the same way).
            let LaneWorkspace {
                state, grad, row, ..
            } = &mut *ws;
            for (lane, (&end, &g)) in ends.iter().zip(grads).enumerate() {
                for (source, target) in [(end, &mut *state), (g, &mut *grad)] {
                    let row = &mut row[..len];
                    row.copy_from_slice(&source[..len]);
                    reverse_words(layout, row);
                    for (e, &v) in row.iter().enumerate() {
                        target[e * lanes + lane] = v;
                    }
                }
            }
            ws.z.fill(T::ZERO);
            let steps = jobs.iter().map(|j| j.steps.len()).max().unwrap_or(0);
            let mut end = steps;
            while end > 0 {
                let block = end.saturating_sub(GATHER_STEPS);
                gather(transform, jobs, block..end, lanes, ws);
                for s in (block..end).rev() {
                    ws.d_z.fill(T::ZERO);
                    let LaneWorkspace {
                        levels,
                        reciprocals,
                        state,
                        grad,
                        z,
                        d_z,
                        scratch,
                        ..
                    } = &mut *ws;
                    let z = &z[(s - block) * d * lanes..(s - block + 1) * d * lanes];
                    exp_mul_backward_lanes::<S, T>(
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
                    for (lane, (job, d_path)) in jobs.iter().zip(d_paths.iter_mut()).enumerate() {
                        if s < job.steps.len() {
                            let dz = &mut ws.row[..d];
                            for (c, g) in dz.iter_mut().enumerate() {
                                *g = ws.d_z[c * lanes + lane];
                            }
                            transform.scatter_increment_grad(dz, job.steps.start + s, d_path);
                        }
                    }
                }
                end = block;
            }
        }
    }
    dispatch(Task {
        layout,
        transform,
        jobs,
        ends,
        grads,
        d_paths,
        ws,
    })
}
