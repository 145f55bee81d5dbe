//! Joining a straight segment to signatures, `S ⊗ exp(v)` or `exp(v) ⊗ S`, the signatures of
//! straight segments, `exp(v)`, and the joins' gradients.
//!
//! A join is one fused multiply-exponentiate, never a Chen product with a materialised `exp(v)`:
//! [`crate::algebra::exp_mul`] in front, its mirror image in the natural word order
//! ([`right`]) at the end.

mod right;

use crate::algebra::{Layout, MulExpWorkspace, exp_mul, exp_mul_backward_given_input};
use crate::batch_rows::{for_each_row, rows_in};
use crate::cpu::Threads;
use crate::error::{Error, Result, check_len, try_zeroed};
use crate::scalar::Scalar;
use right::{RightWorkspace, mul_exp_right, mul_exp_right_backward};

/// Scratch for one side of a join.
enum JoinWorkspace<T> {
    Front(MulExpWorkspace<T>),
    End(RightWorkspace<T>),
}

impl<T: Scalar> JoinWorkspace<T> {
    fn new(layout: Layout, prepend: bool) -> Result<Self> {
        Ok(if prepend {
            JoinWorkspace::Front(MulExpWorkspace::new(layout)?)
        } else {
            JoinWorkspace::End(RightWorkspace::new(layout)?)
        })
    }
}

/// The number of displacements in `displacements`, each `layout.dim()` long.
fn displacement_count<T>(layout: Layout, displacements: &[T]) -> Result<usize> {
    if layout.dim() == 0 {
        return Err(Error::invalid(
            "dimension",
            "must be at least 1 to join a displacement",
        ));
    }
    rows_in(displacements, layout.dim(), "displacement")
}

/// Writes into `out` the signatures `sigs ⊗ exp(v)` (or `exp(v) ⊗ sigs` when `prepend`): each
/// signature extended by the straight segment `v`, at its end or its start.
///
/// `sigs` and `out` hold rows of `layout.len_with(scalar_term)` values, `displacements` rows of
/// `layout.dim()`; with `scalar_term` the input's scalar entries are taken to be 1 and the
/// output's set to 1.
///
/// ```
/// use tensorsig::{Layout, Threads};
/// // The zero signature extended by v is exp(v).
/// let layout = Layout::new(2, 2)?;
/// let mut out = [0.0; 6];
/// tensorsig::sig_join(layout, &[0.0; 6], &[1.0, 2.0], false, false, Threads::SERIAL, &mut out)?;
/// assert_eq!(out, [1.0, 2.0, 0.5, 1.0, 1.0, 2.0]);
/// # Ok::<(), tensorsig::Error>(())
/// ```
pub fn sig_join<T: Scalar>(
    layout: Layout,
    sigs: &[T],
    displacements: &[T],
    prepend: bool,
    scalar_term: bool,
    threads: Threads,
    out: &mut [T],
) -> Result<()> {
    let batch = displacement_count(layout, displacements)?;
    let (row, skip, d) = (
        layout.len_with(scalar_term),
        usize::from(scalar_term),
        layout.dim(),
    );
    check_len("sig", sigs, batch * row)?;
    check_len("out", out, batch * row)?;
    for_each_row(
        threads,
        batch,
        [out],
        [row],
        || JoinWorkspace::new(layout, prepend),
        |b, [out], ws| {
            let v = &displacements[b * d..(b + 1) * d];
            if scalar_term {
                out[0] = T::ONE;
            }
            let (tail, sig) = (&mut out[skip..], &sigs[b * row + skip..(b + 1) * row]);
            match ws {
                JoinWorkspace::Front(ws) => {
                    tail.copy_from_slice(sig);
                    exp_mul(layout, v, tail, ws);
                }
                JoinWorkspace::End(ws) => mul_exp_right(sig, v, tail, ws),
            }
        },
    )
}

/// Writes into `out` the signatures `exp(v)` of the straight segments `v` (rows of
/// `layout.dim()` values in `displacements`; rows of `layout.len_with(scalar_term)` in `out`).
///
/// Level `k` is `v^{⊗k} / k!`, each level one outer product `(v / k) ⊗ level_{k-1}`.
pub fn linear_sig<T: Scalar>(
    layout: Layout,
    displacements: &[T],
    scalar_term: bool,
    threads: Threads,
    out: &mut [T],
) -> Result<()> {
    let batch = displacement_count(layout, displacements)?;
    let (row, skip, d) = (
        layout.len_with(scalar_term),
        usize::from(scalar_term),
        layout.dim(),
    );
    check_len("out", out, batch * row)?;
    for_each_row(
        threads,
        batch,
        [out],
        [row],
        || Ok(()),
        |b, [out], _| {
            let v = &displacements[b * d..(b + 1) * d];
            if scalar_term {
                out[0] = T::ONE;
            }
            let tail = &mut out[skip..];
            if layout.degree() == 0 {
                return;
            }
            tail[..d].copy_from_slice(v);
            for k in 2..=layout.degree() {
                let inv = T::from_f64(1.0 / k as f64);
                let (lower, upper) = tail.split_at_mut(layout.level_offset(k));
                let prev = &lower[layout.level_range(k - 1)];
                for (block, &va) in upper[..layout.level_len(k)]
                    .chunks_exact_mut(prev.len())
                    .zip(v)
                {
                    let scale = va * inv;
                    for (o, &p) in block.iter_mut().zip(prev) {
                        *o = scale * p;
                    }
                }
            }
        },
    )
}

/// Scratch for [`sig_join_backprop`]: the join's, and a copy of the input signature (the
/// backward pass in front takes it mutably).
struct JoinBackwardWorkspace<T> {
    join: JoinWorkspace<T>,
    before: Vec<T>,
}

/// The gradients of `Σ_b <grads_b, join(sigs_b, v_b)>` ([`sig_join`]'s output) with respect to
/// the signatures and the displacements, written into `d_sigs` (rows like `sigs`; a scalar
/// entry, which the join does not read, gets gradient 0) and `d_displacements` (rows like
/// `displacements`).
///
/// One backward pass of the multiply-exponentiate per row, given the signature before the step:
/// the join itself is not recomputed and nothing is recovered by walking back.
#[allow(clippy::too_many_arguments)]
pub fn sig_join_backprop<T: Scalar>(
    layout: Layout,
    grads: &[T],
    sigs: &[T],
    displacements: &[T],
    prepend: bool,
    scalar_term: bool,
    threads: Threads,
    d_sigs: &mut [T],
    d_displacements: &mut [T],
) -> Result<()> {
    let batch = displacement_count(layout, displacements)?;
    let (row, skip, d) = (
        layout.len_with(scalar_term),
        usize::from(scalar_term),
        layout.dim(),
    );
    check_len("sig", sigs, batch * row)?;
    check_len("d_out", grads, batch * row)?;
    check_len("d_sig", d_sigs, batch * row)?;
    check_len("d_displacement", d_displacements, batch * d)?;
    for_each_row(
        threads,
        batch,
        [d_sigs, d_displacements],
        [row, d],
        || {
            Ok(JoinBackwardWorkspace {
                join: JoinWorkspace::new(layout, prepend)?,
                before: try_zeroed(
                    "a sig_join_backprop workspace",
                    if prepend { layout.len() } else { 0 },
                )?,
            })
        },
        |b, [d_sig, d_v], ws| {
            let v = &displacements[b * d..(b + 1) * d];
            if scalar_term {
                d_sig[0] = T::ZERO;
            }
            let grad = &mut d_sig[skip..];
            grad.copy_from_slice(&grads[b * row + skip..(b + 1) * row]);
            let sig = &sigs[b * row + skip..(b + 1) * row];
            d_v.fill(T::ZERO);
            match &mut ws.join {
                JoinWorkspace::Front(join) => {
                    ws.before.copy_from_slice(sig);
                    exp_mul_backward_given_input(layout, v, &mut ws.before, grad, d_v, join);
                }
                JoinWorkspace::End(join) => mul_exp_right_backward(sig, v, grad, d_v, join),
            }
        },
    )
}
