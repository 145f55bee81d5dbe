//! Signature ↔ log-signature, one row at a time, with the backward passes.

use super::LogSigMethod;
use crate::algebra::{
    Layout, LogExpWorkspace, LyndonBasis, MulExpWorkspace, exp, exp_backward, log, log_backward,
};
use crate::error::{Result, try_zeroed};
use crate::scalar::Scalar;

/// Per-thread scratch for every per-row log-signature operation of one [`Layout`].
#[derive(Clone, Debug)]
pub struct LogSigWorkspace<T> {
    pub(crate) layout: Layout,
    pub(crate) log_exp: LogExpWorkspace<T>,
    pub(crate) mul_exp: MulExpWorkspace<T>,
    /// Tensors of the layout.
    pub(crate) tensors: [Vec<T>; 6],
    /// Lyndon-indexed values.
    pub(crate) coords: Vec<T>,
}

impl<T: Scalar> LogSigWorkspace<T> {
    /// Scratch for log-signatures of `layout` with `words` Lyndon coordinates (0 when only the
    /// expanded form is used).
    pub fn new(layout: Layout, words: usize) -> Result<Self> {
        let what = "a log-signature workspace";
        let tensor = || try_zeroed(what, layout.len());
        Ok(LogSigWorkspace {
            layout,
            log_exp: LogExpWorkspace::new(layout)?,
            mul_exp: MulExpWorkspace::new(layout)?,
            tensors: [
                tensor()?,
                tensor()?,
                tensor()?,
                tensor()?,
                tensor()?,
                tensor()?,
            ],
            coords: try_zeroed(what, words)?,
        })
    }
}

/// `out[g]`: the coefficient of `log(1 + x)` at Lyndon word `g`, from `x` and the inner Horner
/// term `q` of the logarithm: `x_v + Σ_{0<j<k} x_{v[..j]} · q_{v[j..]}` for `v` of length `k`.
///
/// A pass per `(k, j)` over the words of length `k`: its multiply-adds are independent of each
/// other (one per word), so they pipeline, where word by word they would form one chain.
pub(crate) fn lyndon_coefficients<T: Scalar>(basis: &LyndonBasis, x: &[T], q: &[T], out: &mut [T]) {
    let len = basis.layout.len();
    assert!(x.len() == len && q.len() == len && out.len() == basis.len());
    for (o, &p) in out.iter_mut().zip(&basis.positions) {
        *o = x[p];
    }
    for pass in &basis.fast.split_passes {
        for (o, &[a, b]) in out[pass.words.clone()].iter_mut().zip(&pass.pairs) {
            // SAFETY: `LyndonBasis::derive` made every split's positions flat positions of a
            // word of the layout (below `len`), and both slices are `len` long.
            unsafe { *o += *x.get_unchecked(a as usize) * *q.get_unchecked(b as usize) };
        }
    }
}

/// The adjoint of [`lyndon_coefficients`]: adds to `d_x` and `d_q` the gradients of
/// `Σ_g grad[g]·out[g]`.
pub(crate) fn lyndon_coefficients_backward<T: Scalar>(
    basis: &LyndonBasis,
    x: &[T],
    q: &[T],
    grad: &[T],
    d_x: &mut [T],
    d_q: &mut [T],
) {
    let len = basis.layout.len();
    assert!(x.len() == len && q.len() == len && d_x.len() == len && d_q.len() == len);
    assert_eq!(grad.len(), basis.len());
    for (&g, &p) in grad.iter().zip(&basis.positions) {
        d_x[p] += g;
    }
    for pass in &basis.fast.split_passes {
        for (&g, &[a, b]) in grad[pass.words.clone()].iter().zip(&pass.pairs) {
            let (a, b) = (a as usize, b as usize);
            // SAFETY: as in `lyndon_coefficients`: `a, b < len`, the length of all four slices.
            unsafe {
                *d_x.get_unchecked_mut(a) += g * *q.get_unchecked(b);
                *d_q.get_unchecked_mut(b) += g * *x.get_unchecked(a);
            }
        }
    }
}

/// Checks a row's length against the method's coordinates (a bug if it fails: the batched
/// functions validate first).
fn coordinates_len(method: LogSigMethod, layout: Layout, basis: Option<&LyndonBasis>) -> usize {
    match method {
        LogSigMethod::Expanded => layout.len(),
        _ => basis.expect("Lyndon coordinates need the basis").len(),
    }
}

/// `out = log(1 + sig)` in the coordinates of `method` (0, 1 or 2), `sig` holding levels `1..=N`.
pub fn sig_to_log_sig_row<T: Scalar>(
    method: LogSigMethod,
    basis: Option<&LyndonBasis>,
    sig: &[T],
    out: &mut [T],
    ws: &mut LogSigWorkspace<T>,
) {
    let layout = ws.layout;
    assert_eq!(sig.len(), layout.len());
    assert_eq!(out.len(), coordinates_len(method, layout, basis));
    match (method, basis) {
        (LogSigMethod::Expanded, _) => log(layout, sig, out, &mut ws.log_exp),
        (_, Some(basis)) => {
            log_words(basis, sig, out, &mut ws.log_exp);
            if method != LogSigMethod::LyndonWords {
                basis.solve(out);
            }
        }
        (_, None) => unreachable!("checked by coordinates_len"),
    }
}

/// The backward pass of [`sig_to_log_sig_row`]: `d_sig` (overwritten) from `grad`, the gradient
/// with respect to its output.
pub fn sig_to_log_sig_row_backward<T: Scalar>(
    method: LogSigMethod,
    basis: Option<&LyndonBasis>,
    sig: &[T],
    grad: &[T],
    d_sig: &mut [T],
    ws: &mut LogSigWorkspace<T>,
) {
    let layout = ws.layout;
    assert_eq!(d_sig.len(), layout.len());
    assert_eq!(grad.len(), coordinates_len(method, layout, basis));
    match (method, basis) {
        (LogSigMethod::Expanded, _) => log_backward(layout, sig, grad, d_sig, &mut ws.log_exp),
        (_, Some(basis)) => {
            let mut g = std::mem::take(&mut ws.coords);
            g.copy_from_slice(grad);
            if method != LogSigMethod::LyndonWords {
                basis.solve_transposed(&mut g);
            }
            d_sig.fill(T::ZERO);
            let [d_q, ..] = &mut ws.tensors;
            log_words_backward(basis, sig, &g, d_sig, d_q, &mut ws.log_exp);
            ws.coords = g;
        }
        (_, None) => unreachable!("checked by coordinates_len"),
    }
}

/// The Lyndon-word coefficients of `log(1 + x)` into `out`.
pub(crate) fn log_words<T: Scalar>(
    basis: &LyndonBasis,
    x: &[T],
    out: &mut [T],
    log_exp: &mut LogExpWorkspace<T>,
) {
    log_exp.log_terms(x);
    lyndon_coefficients(basis, x, log_exp.log_series(), out);
}

/// Adds to `d_x` the gradient through the Lyndon-word coefficients of `log(1 + x)`, given their
/// gradient `grad`; `d_q` (a tensor of the layout) is scratch.
pub(crate) fn log_words_backward<T: Scalar>(
    basis: &LyndonBasis,
    x: &[T],
    grad: &[T],
    d_x: &mut [T],
    d_q: &mut [T],
    log_exp: &mut LogExpWorkspace<T>,
) {
    log_exp.log_terms(x);
    d_q.fill(T::ZERO);
    lyndon_coefficients_backward(basis, x, log_exp.log_series(), grad, d_x, d_q);
    log_exp.log_terms_backward(x, d_q, d_x);
}

/// The Lie element (in words, into `tensor`) with coordinates `log_sig` in `method` 1 or 2.
pub(crate) fn expand_coordinates<T: Scalar>(
    method: LogSigMethod,
    basis: &LyndonBasis,
    log_sig: &[T],
    tensor: &mut [T],
    coords: &mut [T],
) {
    if method == LogSigMethod::LyndonWords {
        coords.copy_from_slice(log_sig);
        basis.solve(coords);
        basis.expand(coords, tensor);
    } else {
        basis.expand(log_sig, tensor);
    }
}

/// `out = exp(log_sig) − 1` (levels `1..=N` of the signature), `log_sig` in the coordinates of
/// `method` (0, 1 or 2): the inverse of [`sig_to_log_sig_row`].
pub fn log_sig_to_sig_row<T: Scalar>(
    method: LogSigMethod,
    basis: Option<&LyndonBasis>,
    log_sig: &[T],
    out: &mut [T],
    ws: &mut LogSigWorkspace<T>,
) {
    let layout = ws.layout;
    assert_eq!(out.len(), layout.len());
    assert_eq!(log_sig.len(), coordinates_len(method, layout, basis));
    match (method, basis) {
        (LogSigMethod::Expanded, _) => exp(layout, log_sig, out, &mut ws.log_exp),
        (_, Some(basis)) => {
            let [lie, ..] = &mut ws.tensors;
            expand_coordinates(method, basis, log_sig, lie, &mut ws.coords);
            exp(layout, lie, out, &mut ws.log_exp);
        }
        (_, None) => unreachable!("checked by coordinates_len"),
    }
}

/// The backward pass of [`log_sig_to_sig_row`]: `d_log_sig` (overwritten) from `grad`, the
/// gradient with respect to the signature's levels `1..=N`.
pub fn log_sig_to_sig_row_backward<T: Scalar>(
    method: LogSigMethod,
    basis: Option<&LyndonBasis>,
    log_sig: &[T],
    grad: &[T],
    d_log_sig: &mut [T],
    ws: &mut LogSigWorkspace<T>,
) {
    let layout = ws.layout;
    assert_eq!(grad.len(), layout.len());
    assert_eq!(d_log_sig.len(), coordinates_len(method, layout, basis));
    let [lie, d_lie, scratch, ..] = &mut ws.tensors;
    match (method, basis) {
        (LogSigMethod::Expanded, _) => {
            exp_backward(layout, log_sig, grad, d_log_sig, scratch, &mut ws.log_exp)
        }
        (_, Some(basis)) => {
            expand_coordinates(method, basis, log_sig, lie, &mut ws.coords);
            exp_backward(layout, lie, grad, d_lie, scratch, &mut ws.log_exp);
            basis.expand_transposed(d_lie, d_log_sig);
            if method == LogSigMethod::LyndonWords {
                basis.solve_transposed(d_log_sig);
            }
        }
        (_, None) => unreachable!("checked by coordinates_len"),
    }
}
