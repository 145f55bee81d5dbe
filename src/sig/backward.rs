//! The gradient of a path's signature by reversibility: walk the path backwards, undoing each
//! step with `exp(-z)` while pushing the gradient through it. Extra memory is a few signatures,
//! whatever the path's length. Like the forward pass, the walk runs on word-reversed tensors.

use super::paths::PathRef;
use super::transform::PathTransform;
use crate::algebra::{Layout, MulExpWorkspace, exp_mul_backward_with, reverse_words};
use crate::buffer::AlignedBuf;
use crate::error::{Result, try_zeroed};
use crate::scalar::Scalar;
use crate::simd::{Kernel, Simd, Vectorize, dispatch};

/// Per-thread scratch for [`signature_backward_of_path`].
#[derive(Debug, Clone)]
pub struct SigBackwardWorkspace<T> {
    state: AlignedBuf<T>,
    grad: AlignedBuf<T>,
    increment: Vec<T>,
    grad_increment: Vec<T>,
    mul_exp: MulExpWorkspace<T>,
}

impl<T: Scalar> SigBackwardWorkspace<T> {
    /// Scratch for signatures of `layout`.
    pub fn new(layout: Layout) -> Result<Self> {
        let what = "a signature backward workspace";
        Ok(SigBackwardWorkspace {
            state: AlignedBuf::zeroed(what, layout.len())?,
            grad: AlignedBuf::zeroed(what, layout.len())?,
            increment: try_zeroed(what, layout.dim())?,
            grad_increment: try_zeroed(what, layout.dim())?,
            mul_exp: MulExpWorkspace::new(layout)?,
        })
    }
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
    struct Task<'a, 'p, T> {
        layout: Layout,
        path: &'a PathRef<'p, T>,
        transform: &'a PathTransform,
        signature: &'a [T],
        grad: &'a [T],
        d_path: &'a mut [T],
        ws: &'a mut SigBackwardWorkspace<T>,
    }
    impl<T: Scalar> Kernel for Task<'_, '_, T> {
        type Elem = T;
        type Output = ();
        #[inline(always)]
        fn run<S: Simd>(self)
        where
            T: Vectorize<S>,
        {
            let Task {
                layout,
                path,
                transform,
                signature,
                grad,
                d_path,
                ws,
            } = self;
            d_path.fill(T::ZERO);
            ws.state.copy_from_slice(signature);
            ws.grad.copy_from_slice(grad);
            // Reversal permutes coordinates, so gradients reverse the same way.
            reverse_words(layout, &mut ws.state);
            reverse_words(layout, &mut ws.grad);
            for step in (0..transform.increments(path.len())).rev() {
                transform.increment(path, step, &mut ws.increment);
                ws.grad_increment.fill(T::ZERO);
                exp_mul_backward_with::<S, T>(
                    layout,
                    &ws.increment,
                    &mut ws.state,
                    &mut ws.grad,
                    &mut ws.grad_increment,
                    false,
                    &mut ws.mul_exp,
                );
                transform.scatter_increment_grad(&ws.grad_increment, step, d_path);
            }
        }
    }
    dispatch(Task {
        layout,
        path,
        transform,
        signature,
        grad,
        d_path,
        ws,
    })
}
