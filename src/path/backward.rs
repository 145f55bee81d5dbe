//! The gradient of a path's signature by reversibility: walk the path backwards, undoing each
//! step with `exp(-z)` while pushing the gradient through it. Extra memory is a few signatures,
//! whatever the path's length. Like the forward pass, the walk runs on word-reversed tensors.
//!
//! For the signatures of every prefix (a stream) the walk starts from the last prefix and picks
//! up each prefix's gradient as it passes it: the gradient of `Σ_t <G_t, S_(0,t)>`.

use super::correction::{CorrectedStep, PathCorrection};
use super::paths::PathRef;
use super::transform::PathTransform;
use crate::algebra::rank_one::add_assign;
use crate::algebra::{Layout, MulExpWorkspace, exp_mul_backward_with, reverse_words};
use crate::buffer::AlignedBuf;
use crate::error::{Result, try_zeroed};
use crate::scalar::Scalar;
use crate::simd::{Simd, Vectorize, simd_dispatch};

/// Per-thread scratch for [`signature_backward_of_path`].
#[derive(Debug, Clone)]
pub struct SigBackwardWorkspace<T> {
    state: AlignedBuf<T>,
    grad: AlignedBuf<T>,
    /// A prefix's gradient being word-reversed (streams only).
    prefix_grad: Vec<T>,
    increment: Vec<T>,
    grad_increment: Vec<T>,
    mul_exp: MulExpWorkspace<T>,
    corrected: Option<CorrectedStep<T>>,
}

impl<T: Scalar> SigBackwardWorkspace<T> {
    /// Scratch for signatures of `layout`.
    pub fn new(layout: Layout) -> Result<Self> {
        let what = "a signature backward workspace";
        Ok(SigBackwardWorkspace {
            state: AlignedBuf::zeroed(what, layout.len())?,
            grad: AlignedBuf::zeroed(what, layout.len())?,
            prefix_grad: Vec::new(),
            increment: try_zeroed(what, layout.dim())?,
            grad_increment: try_zeroed(what, layout.dim())?,
            mul_exp: MulExpWorkspace::new(layout)?,
            corrected: None,
        })
    }

    /// Scratch for gradients of signatures of `layout`, of streams when `stream`, with increments
    /// corrected through level `top` over the first `correction_dim` letters (`None`: none).
    pub(crate) fn with_options(
        layout: Layout,
        correction_dim: usize,
        top: Option<usize>,
        stream: bool,
    ) -> Result<Self> {
        let mut ws = Self::new(layout)?;
        if let Some(top) = top {
            ws.corrected = Some(CorrectedStep::new(layout, correction_dim, top)?);
        }
        if stream {
            ws.prefix_grad = try_zeroed("a signature backward workspace", layout.len())?;
        }
        Ok(ws)
    }
}

/// What a backward pass starts from: the gradient of one signature, or of every prefix's.
#[derive(Clone, Copy, Debug)]
pub(crate) enum SigGradient<'g, T> {
    /// The signature `S(path)` (levels `1..=N`), where the walk back starts, and the gradient
    /// with respect to it.
    Whole { signature: &'g [T], grad: &'g [T] },
    /// The signatures of the prefixes and their gradients, in rows of `stride` values (levels
    /// `1..=N` last), one per increment of the longest path; rows past this path's last
    /// increment hold its whole signature again.
    Prefixes {
        signatures: &'g [T],
        grads: &'g [T],
        stride: usize,
    },
}

/// Writes into `d_path` (row-major `len × dim` of the original path) the gradient of
/// `<grad, S(path)>`, where `signature` is `S(path)` (levels `1..=N` of `layout`), the state the
/// walk back starts from.
pub fn signature_backward_of_path<T: Scalar>(
    layout: Layout,
    path: &PathRef<'_, T>,
    transform: &PathTransform,
    signature: &[T],
    grad: &[T],
    d_path: &mut [T],
    ws: &mut SigBackwardWorkspace<T>,
) {
    signature_backward_of_path_with(
        layout,
        path,
        transform,
        None,
        SigGradient::Whole { signature, grad },
        d_path,
        ws,
    );
}

/// [`signature_backward_of_path`] with corrected increments (the workspace must have been made
/// for them), from either kind of gradient (for prefixes, made for streams).
pub(crate) fn signature_backward_of_path_with<T: Scalar>(
    layout: Layout,
    path: &PathRef<'_, T>,
    transform: &PathTransform,
    correction: Option<&PathCorrection<'_, T>>,
    input: SigGradient<'_, T>,
    d_path: &mut [T],
    ws: &mut SigBackwardWorkspace<T>,
) {
    simd_dispatch!(<'a, 'p, 'g, T: Scalar> |S| {
        layout: Layout,
        path: &'a PathRef<'p, T>,
        transform: &'a PathTransform,
        correction: Option<&'a PathCorrection<'p, T>>,
        input: SigGradient<'g, T>,
        d_path: &'a mut [T],
        ws: &'a mut SigBackwardWorkspace<T>,
    } -> () {
        signature_backward_of_path_at::<S, T>(
            layout,
            path,
            transform,
            correction,
            input,
            d_path,
            ws,
        )
    })
}

/// The body of [`signature_backward_of_path_with`] at level `S`.
#[inline(always)]
fn signature_backward_of_path_at<'a, 'p, 'g, S: Simd, T: Scalar + Vectorize<S>>(
    layout: Layout,
    path: &'a PathRef<'p, T>,
    transform: &'a PathTransform,
    correction: Option<&'a PathCorrection<'p, T>>,
    input: SigGradient<'g, T>,
    d_path: &'a mut [T],
    ws: &'a mut SigBackwardWorkspace<T>,
) {
    d_path.fill(T::ZERO);
    let steps = transform.increments(path.len());
    if steps == 0 {
        return;
    }
    let len = layout.len();
    // The levels of prefix row `r` of a stream.
    let levels = |stride: usize, r: usize| r * stride + stride - len..(r + 1) * stride;
    match input {
        SigGradient::Whole { signature, grad } => {
            ws.state.copy_from_slice(signature);
            ws.grad.copy_from_slice(grad);
        }
        SigGradient::Prefixes {
            signatures,
            grads,
            stride,
        } => {
            // Every row from the last step on is the whole signature: their gradients add.
            ws.state
                .copy_from_slice(&signatures[levels(stride, steps - 1)]);
            ws.grad.fill(T::ZERO);
            for r in steps - 1..grads.len() / stride {
                add_assign(&mut ws.grad, &grads[levels(stride, r)]);
            }
        }
    }
    // Reversal permutes coordinates, so gradients reverse the same way.
    reverse_words(layout, &mut ws.state);
    reverse_words(layout, &mut ws.grad);
    for step in (0..steps).rev() {
        transform.increment(path, step, &mut ws.increment);
        ws.grad_increment.fill(T::ZERO);
        match (correction, ws.corrected.as_mut()) {
            (Some(c), Some(corrected)) => corrected.step_backward::<S>(
                &ws.increment,
                c.row(step),
                &mut ws.state,
                &mut ws.grad,
                &mut ws.grad_increment,
            ),
            (Some(_), None) => panic!("a corrected gradient needs its workspace"),
            _ => exp_mul_backward_with::<S, T>(
                layout,
                &ws.increment,
                &mut ws.state,
                &mut ws.grad,
                &mut ws.grad_increment,
                false,
                &mut ws.mul_exp,
            ),
        }
        transform.scatter_increment_grad(&ws.grad_increment, step, d_path);
        // The walk has reached the prefix through step - 1: its own gradient joins.
        if let SigGradient::Prefixes { grads, stride, .. } = input
            && step > 0
        {
            let prefix = &mut ws.prefix_grad[..];
            prefix.copy_from_slice(&grads[levels(stride, step - 1)]);
            reverse_words(layout, prefix);
            add_assign(&mut ws.grad, prefix);
        }
    }
}
