//! Signature ↔ log-signature, one row at a time, with the backward passes.

use super::LogSigMethod;
use crate::algebra::{
    Layout, Levels, LogExpWorkspace, LyndonBasis, MulExpWorkspace, exp, exp_backward, log,
    log_backward,
};
use crate::error::{Result, try_zeroed};
use crate::scalar::Scalar;

/// Per-thread scratch for every per-row log-signature operation of one [`Layout`].
#[derive(Clone, Debug)]
pub struct LogSigWorkspace<T> {
    pub(crate) layout: Layout,
    pub(crate) levels: Levels,
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
            levels: Levels::new(layout),
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
pub(crate) fn lyndon_coefficients<T: Scalar>(
    basis: &LyndonBasis,
    levels: &Levels,
    x: &[T],
    q: &[T],
    out: &mut [T],
) {
    for_each_split(basis, levels, |g, position, splits| {
        let mut acc = x[position];
        for (prefix, suffix) in splits {
            acc += x[prefix] * q[suffix];
        }
        out[g] = acc;
    });
}

/// The adjoint of [`lyndon_coefficients`]: adds to `d_x` and `d_q` the gradients of
/// `Σ_g grad[g]·out[g]`.
pub(crate) fn lyndon_coefficients_backward<T: Scalar>(
    basis: &LyndonBasis,
    levels: &Levels,
    x: &[T],
    q: &[T],
    grad: &[T],
    d_x: &mut [T],
    d_q: &mut [T],
) {
    for_each_split(basis, levels, |g, position, splits| {
        let gv = grad[g];
        d_x[position] += gv;
        for (prefix, suffix) in splits {
            d_x[prefix] += gv * q[suffix];
            d_q[suffix] += gv * x[prefix];
        }
    });
}

/// Calls `visit(g, position, splits)` for every Lyndon word `g`, with its flat position and the
/// flat positions `(prefix, suffix)` of its splits into two non-empty words.
#[inline(always)]
fn for_each_split(
    basis: &LyndonBasis,
    levels: &Levels,
    mut visit: impl FnMut(usize, usize, Splits<'_>),
) {
    let mut letters = basis.letters.as_slice();
    for k in 1..=basis.layout.degree() {
        let offset = levels.offset(k);
        for g in basis.level(k) {
            let (word, rest) = letters.split_at(k);
            letters = rest;
            let position = basis.positions[g];
            let splits = Splits {
                levels,
                word,
                within: position - offset,
                prefix: 0,
                j: 1,
            };
            visit(g, position, splits);
        }
    }
}

/// The splits `v = v[..j] v[j..]` (`0 < j < k`) of a word `v` of length `k`, as the flat
/// positions of both parts: the prefix's grows a letter at a time, the suffix's is what is left
/// of the word's position within its level.
struct Splits<'a> {
    levels: &'a Levels,
    word: &'a [u32],
    within: usize,
    prefix: usize,
    j: usize,
}

impl Iterator for Splits<'_> {
    type Item = (usize, usize);

    #[inline(always)]
    fn next(&mut self) -> Option<(usize, usize)> {
        let (j, k) = (self.j, self.word.len());
        if j >= k {
            return None;
        }
        self.j += 1;
        self.prefix = self.prefix * self.levels.len(1) + self.word[j - 1] as usize;
        let suffix = self.within - self.prefix * self.levels.len(k - j);
        Some((
            self.levels.offset(j) + self.prefix,
            self.levels.offset(k - j) + suffix,
        ))
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
            log_words(basis, &ws.levels, sig, out, &mut ws.log_exp);
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
            log_words_backward(basis, &ws.levels, sig, &g, d_sig, d_q, &mut ws.log_exp);
            ws.coords = g;
        }
        (_, None) => unreachable!("checked by coordinates_len"),
    }
}

/// The Lyndon-word coefficients of `log(1 + x)` into `out`.
pub(crate) fn log_words<T: Scalar>(
    basis: &LyndonBasis,
    levels: &Levels,
    x: &[T],
    out: &mut [T],
    log_exp: &mut LogExpWorkspace<T>,
) {
    log_exp.log_terms(x);
    lyndon_coefficients(basis, levels, x, log_exp.log_series(), out);
}

/// Adds to `d_x` the gradient through the Lyndon-word coefficients of `log(1 + x)`, given their
/// gradient `grad`; `d_q` (a tensor of the layout) is scratch.
pub(crate) fn log_words_backward<T: Scalar>(
    basis: &LyndonBasis,
    levels: &Levels,
    x: &[T],
    grad: &[T],
    d_x: &mut [T],
    d_q: &mut [T],
    log_exp: &mut LogExpWorkspace<T>,
) {
    log_exp.log_terms(x);
    d_q.fill(T::ZERO);
    lyndon_coefficients_backward(basis, levels, x, log_exp.log_series(), grad, d_x, d_q);
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
