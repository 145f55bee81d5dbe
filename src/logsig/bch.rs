//! The Baker–Campbell–Hausdorff product of log-signatures and the join of a straight segment, in
//! Lyndon bracket coordinates, one row at a time, with their backward passes.
//!
//! `BCH(a, b) = log(exp(a) ⊗ exp(b))`, truncated at degree `N`, is computed exactly that way in
//! the tensor algebra: both factors expanded from their bracket coordinates and exponentiated
//! (Horner), one Chen product, and the logarithm's Lyndon-word coefficients solved back into
//! bracket coordinates. A join `BCH(a, v)` with a vector `v` takes `exp(a)` times `exp(v)` in one
//! fused multiply-exponentiate ([`crate::algebra::mul_exp`]), never forming `exp(v)`.

use super::convert::{LogSigWorkspace, log_words, log_words_backward};
use crate::algebra::{
    LyndonBasis, exp, exp_backward, mul_exp, mul_exp_backward, product, product_backward,
};
use crate::scalar::Scalar;

/// `out = BCH(a, b)`: the log-signature of the concatenation of paths with log-signatures `a`
/// and `b`, all in Lyndon bracket coordinates (method 2).
pub fn log_sig_combine_row<T: Scalar>(
    basis: &LyndonBasis,
    a: &[T],
    b: &[T],
    out: &mut [T],
    ws: &mut LogSigWorkspace<T>,
) {
    let layout = ws.layout;
    let [exp_a, exp_b, lie, joined, ..] = &mut ws.tensors;
    basis.expand(a, lie);
    exp(layout, lie, exp_a, &mut ws.log_exp);
    basis.expand(b, lie);
    exp(layout, lie, exp_b, &mut ws.log_exp);
    product(layout, exp_a, exp_b, joined);
    log_words(basis, joined, out, &mut ws.log_exp);
    basis.solve(out);
}

/// The backward pass of [`log_sig_combine_row`]: `d_a` and `d_b` (overwritten) from `grad`, the
/// gradient with respect to `BCH(a, b)`.
pub fn log_sig_combine_row_backward<T: Scalar>(
    basis: &LyndonBasis,
    grad: &[T],
    a: &[T],
    b: &[T],
    d_a: &mut [T],
    d_b: &mut [T],
    ws: &mut LogSigWorkspace<T>,
) {
    let layout = ws.layout;
    let [exp_a, exp_b, lie, joined, t4, t5] = &mut ws.tensors;
    basis.expand(a, lie);
    exp(layout, lie, exp_a, &mut ws.log_exp);
    basis.expand(b, lie);
    exp(layout, lie, exp_b, &mut ws.log_exp);
    product(layout, exp_a, exp_b, joined);

    let g = &mut ws.coords;
    g.copy_from_slice(grad);
    basis.solve_transposed(g);
    let d_joined = &mut *t4;
    d_joined.fill(T::ZERO);
    log_words_backward(basis, joined, g, d_joined, t5, &mut ws.log_exp);
    // The product's gradients go where `joined` and the scratch were.
    let (d_exp_a, d_exp_b) = (&mut *joined, &mut *t5);
    product_backward(layout, d_joined, exp_a, exp_b, d_exp_a, d_exp_b);
    // exp_a, exp_b and d_joined are free from here on.
    basis.expand(a, lie);
    exp_backward(layout, lie, d_exp_a, t4, exp_a, &mut ws.log_exp);
    basis.expand_transposed(t4, d_a);
    basis.expand(b, lie);
    exp_backward(layout, lie, d_exp_b, t4, exp_a, &mut ws.log_exp);
    basis.expand_transposed(t4, d_b);
}

/// `out = BCH(log_sig, v)`: the log-signature of a path with log-signature `log_sig` extended by
/// the straight segment `v` (a vector of `R^d`), in Lyndon bracket coordinates.
pub fn log_sig_join_row<T: Scalar>(
    basis: &LyndonBasis,
    log_sig: &[T],
    v: &[T],
    out: &mut [T],
    ws: &mut LogSigWorkspace<T>,
) {
    let layout = ws.layout;
    let [sig, lie, ..] = &mut ws.tensors;
    basis.expand(log_sig, lie);
    exp(layout, lie, sig, &mut ws.log_exp);
    mul_exp(layout, sig, v, &mut ws.mul_exp);
    log_words(basis, sig, out, &mut ws.log_exp);
    basis.solve(out);
}

/// The backward pass of [`log_sig_join_row`]: `d_log_sig` and `d_v` (overwritten) from `grad`,
/// the gradient with respect to `BCH(log_sig, v)`.
#[allow(clippy::too_many_arguments)]
pub fn log_sig_join_row_backward<T: Scalar>(
    basis: &LyndonBasis,
    grad: &[T],
    log_sig: &[T],
    v: &[T],
    d_log_sig: &mut [T],
    d_v: &mut [T],
    ws: &mut LogSigWorkspace<T>,
) {
    let layout = ws.layout;
    let [sig, lie, d_sig, scratch, ..] = &mut ws.tensors;
    basis.expand(log_sig, lie);
    exp(layout, lie, sig, &mut ws.log_exp);
    mul_exp(layout, sig, v, &mut ws.mul_exp);

    let g = &mut ws.coords;
    g.copy_from_slice(grad);
    basis.solve_transposed(g);
    d_sig.fill(T::ZERO);
    log_words_backward(basis, sig, g, d_sig, scratch, &mut ws.log_exp);
    // Back through the segment: `sig` returns to exp(log_sig), `d_sig` to its gradient.
    d_v.fill(T::ZERO);
    mul_exp_backward(layout, sig, d_sig, v, d_v, &mut ws.mul_exp);
    exp_backward(layout, lie, d_sig, scratch, sig, &mut ws.log_exp);
    basis.expand_transposed(scratch, d_log_sig);
}
