//! Streams on the lanes: the signature after every step of each job (a whole path), and the
//! gradient of `Σ_t <G_t, S_t>` over them.
//!
//! Going forwards, steps are folded one at a time (not [`FUSED_LANE_STEPS`] together, which
//! defers the top level) and each lane's state is written out after each, word order restored.
//! A job shorter than the longest of its group is padded with zero increments, whose
//! exponential is the identity, so its rows past its end repeat its whole signature, as the
//! stream of a ragged batch has them. Going backwards, the walk starts from each job's last
//! prefix and adds each prefix's gradient as it passes it; the padding steps leave the state
//! and the gradient alone, so the gradients of the rows past a job's end add up on its whole
//! signature.

// `Real` and `Wide` are named by `with_real_coefficients!`.
use super::{
    Coefficient, Job, LaneWorkspace, Layout, PathTransform, Real, Scalar, Simd, Vectorize, Wide,
    extract, gather, interleave, slot, unfold,
};
#[cfg(doc)]
use crate::algebra::interleaved::FUSED_LANE_STEPS;
use crate::algebra::interleaved::exp_mul_steps_lanes;
use crate::simd::simd_dispatch;

/// The levels of row `r` of a stream of rows of `stride` values (levels `1..=N` last).
#[inline(always)]
fn levels_of_row(stride: usize, len: usize, r: usize) -> std::ops::Range<usize> {
    (r + 1) * stride - len..(r + 1) * stride
}

/// Writes into `outs[j]` the signature of job `j` after each of its steps: rows of `stride`
/// values (levels `1..=N` of `layout` last, after a scalar term 1 when `stride` leaves room),
/// as many as `outs[j]` holds. Rows past a job's last step repeat its signature (the identity
/// for a job without steps).
pub(crate) fn signature_streams<T: Scalar>(
    layout: Layout,
    transform: &PathTransform,
    jobs: &[Job<'_, T>],
    outs: &mut [&mut [T]],
    stride: usize,
    ws: &mut LaneWorkspace<T>,
) {
    simd_dispatch!(<'a, 'b, 'p, T: Scalar> |S| {
        layout: Layout,
        transform: &'a PathTransform,
        jobs: &'a [Job<'p, T>],
        outs: &'a mut [&'b mut [T]],
        stride: usize,
        ws: &'a mut LaneWorkspace<T>,
    } -> () {
        with_real_coefficients!(
            S,
            T,
            layout.dim(),
            jobs.len(),
            sign_stream(layout, transform, jobs, outs, stride, ws)
        )
    })
}

/// [`signature_streams`] on coefficients `C`.
#[inline(always)]
fn sign_stream<S: Simd, C: Coefficient<S>, const D: usize>(
    layout: Layout,
    transform: &PathTransform,
    jobs: &[Job<'_, C::T>],
    outs: &mut [&mut [C::T]],
    stride: usize,
    ws: &mut LaneWorkspace<C::T>,
) {
    let (d, n, w, len) = (layout.dim(), layout.degree(), C::WIDTH, layout.len());
    assert!(jobs.len() <= C::LANES && outs.len() == jobs.len() && stride >= len);
    ws.state[..len * w].fill(C::T::ZERO);
    ws.z.fill(C::T::ZERO);
    let steps = jobs.iter().map(|j| j.steps.len()).max().unwrap_or(0);
    let write = |ws: &LaneWorkspace<C::T>, lane: usize, row: &mut [C::T]| {
        if stride > len {
            row[0] = C::T::ONE;
        }
        extract::<S, C>(ws, 0, lane, &mut [&mut row[stride - len..]]);
    };
    for block in (0..steps).step_by(super::GATHER_STEPS) {
        let end = steps.min(block + super::GATHER_STEPS);
        gather::<S, C>(transform, jobs, &[], block..end, ws);
        for s in block..end {
            let LaneWorkspace {
                levels,
                reciprocals,
                state,
                z,
                scratch,
                ..
            } = &mut *ws;
            let z = &z[(s - block) * d * w..(s - block + 1) * d * w];
            exp_mul_steps_lanes::<S, C, D, 1>(levels, d, n, reciprocals, z, state, scratch);
            for (lane, out) in outs.iter_mut().enumerate() {
                write(ws, lane, &mut out[s * stride..(s + 1) * stride]);
            }
        }
    }
    // The rows past the group's longest job: its state no longer moves.
    for (lane, out) in outs.iter_mut().enumerate() {
        let (done, rest) = out.split_at_mut(steps * stride);
        if rest.is_empty() {
            continue;
        }
        let (first, rest) = rest.split_at_mut(stride);
        match done.len().checked_sub(stride) {
            Some(last) => first.copy_from_slice(&done[last..]),
            None => write(ws, lane, first), // the state is still zero: the identity
        }
        for row in rest.chunks_exact_mut(stride) {
            row.copy_from_slice(first);
        }
    }
}

/// Adds into `d_paths[j]` (row-major `len × dim` of job `j`'s path) the gradient of
/// `Σ_t <grads[j]_t, S_(j,t)>` over the rows of `stride` values of `sigs[j]` and `grads[j]`,
/// row `t` being the signature after step `t` of job `j` as [`signature_streams`] writes it.
/// The walk back starts from row `steps - 1` of each job.
#[allow(clippy::too_many_arguments)]
pub(crate) fn signature_stream_backwards<T: Scalar>(
    layout: Layout,
    transform: &PathTransform,
    jobs: &[Job<'_, T>],
    sigs: &[&[T]],
    grads: &[&[T]],
    stride: usize,
    d_paths: &mut [&mut [T]],
    ws: &mut LaneWorkspace<T>,
) {
    simd_dispatch!(<'a, 'b, 'c, 'p, T: Scalar> |S| {
        layout: Layout,
        transform: &'a PathTransform,
        jobs: &'a [Job<'p, T>],
        sigs: &'a [&'b [T]],
        grads: &'a [&'b [T]],
        stride: usize,
        d_paths: &'a mut [&'c mut [T]],
        ws: &'a mut LaneWorkspace<T>,
    } -> () {
        with_real_coefficients!(
            S,
            T,
            layout.dim(),
            jobs.len(),
            walk_back_stream(layout, transform, jobs, sigs, grads, stride, d_paths, ws)
        )
    })
}

/// [`signature_stream_backwards`] on coefficients `C`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn walk_back_stream<S: Simd, C: Coefficient<S>, const D: usize>(
    layout: Layout,
    transform: &PathTransform,
    jobs: &[Job<'_, C::T>],
    sigs: &[&[C::T]],
    grads: &[&[C::T]],
    stride: usize,
    d_paths: &mut [&mut [C::T]],
    ws: &mut LaneWorkspace<C::T>,
) {
    let count = jobs.len();
    assert!(sigs.len() == count && grads.len() == count && d_paths.len() == count);
    let (len, d) = (layout.len(), layout.dim());
    let steps = jobs.iter().map(|j| j.steps.len()).max().unwrap_or(0);
    if steps == 0 {
        return; // no increments: nothing depends on the paths
    }
    let LaneWorkspace {
        state,
        grad,
        reversal,
        ..
    } = &mut *ws;
    state[..len * C::WIDTH].fill(C::T::ZERO);
    grad[..len * C::WIDTH].fill(C::T::ZERO);
    for (lane, job) in jobs.iter().enumerate() {
        if let Some(last) = job.steps.len().checked_sub(1) {
            interleave::<S, C>(
                reversal,
                &sigs[lane][levels_of_row(stride, len, last)],
                state,
                lane,
                0,
            );
        }
        // Every row from the longest job's last step on is where the walk starts.
        for r in steps - 1..grads[lane].len() / stride {
            interleave_add::<S, C>(
                reversal,
                &grads[lane][levels_of_row(stride, len, r)],
                grad,
                lane,
            );
        }
    }
    let emit = |lane: usize, step, d_z: &[C::T], row: &mut [C::T]| {
        let dz = &mut row[..d];
        for (c, g) in dz.iter_mut().enumerate() {
            *g = d_z[slot::<S, C>(c, 0, lane)];
        }
        transform.scatter_increment_grad(dz, step, d_paths[lane]);
    };
    // Having undone step s, the walk stands on row s - 1: its gradient joins.
    let pick_up = |s: usize, grad: &mut [C::T], reversal: &[usize]| {
        if let Some(row) = s.checked_sub(1) {
            for (lane, g) in grads.iter().enumerate() {
                interleave_add::<S, C>(reversal, &g[levels_of_row(stride, len, row)], grad, lane);
            }
        }
    };
    unfold::<S, C, D>(layout, transform, jobs, &[], ws, emit, pick_up);
}

/// Adds the word-reversed `source` (natural order, levels `1..=N`) into lane `lane` of `target`.
#[inline(always)]
fn interleave_add<S: Simd, C: Coefficient<S>>(
    reversal: &[usize],
    source: &[C::T],
    target: &mut [C::T],
    lane: usize,
) {
    for (e, &from) in reversal.iter().enumerate() {
        target[slot::<S, C>(e, 0, lane)] += source[from];
    }
}
