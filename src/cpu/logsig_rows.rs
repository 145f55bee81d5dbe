//! Batched conversions between signatures and log-signatures, BCH products and joins, and their
//! gradients: one row (or pair of rows) per batch item, spread over [`Threads`].
//!
//! Rows are flat: signatures in the layout of [`Layout`] with an optional leading scalar term,
//! log-signatures in the coordinates of a [`LogSigMethod`] (the expanded form with an optional
//! leading 0, the others [`crate::log_sig_length`] long).

use super::batch::for_each_item;
use super::logsig::{basis_for, row_len};
use super::threads::Threads;
use crate::algebra::{Layout, LyndonBasis};
use crate::error::{Error, Result, check_len};
use crate::logsig::{
    LogSigMethod, LogSigWorkspace, log_sig_combine_row, log_sig_combine_row_backward,
    log_sig_join_row, log_sig_join_row_backward, log_sig_to_sig_row, log_sig_to_sig_row_backward,
    sig_to_log_sig_row, sig_to_log_sig_row_backward,
};
use crate::scalar::Scalar;

/// The number of rows of length `row` in `buf`.
fn rows_in<T>(buf: &[T], row: usize, name: &'static str) -> Result<usize> {
    if row == 0 || !buf.len().is_multiple_of(row) {
        return Err(Error::Shape {
            name,
            expected: buf.len().div_ceil(row.max(1)) * row,
            got: buf.len(),
        });
    }
    Ok(buf.len() / row)
}

/// Row `b` of `buf`, without its first `skip` values.
fn row_of<T>(buf: &[T], b: usize, row: usize, skip: usize) -> &[T] {
    &buf[b * row + skip..(b + 1) * row]
}

fn workspace<T: Scalar>(
    layout: Layout,
    basis: Option<&LyndonBasis>,
) -> impl Fn() -> Result<LogSigWorkspace<T>> + Sync {
    let words = basis.map_or(0, LyndonBasis::len);
    move || LogSigWorkspace::new(layout, words)
}

/// Writes into `out` the log-signatures of the signatures `sigs` (rows of
/// `layout.len_with(scalar_term)`) in the coordinates of `method` (0, 1 or 2). The expanded
/// form keeps the signatures' format, with 0 for the scalar term.
pub fn sig_to_log_sig<T: Scalar>(
    layout: Layout,
    sigs: &[T],
    scalar_term: bool,
    method: LogSigMethod,
    threads: Threads,
    out: &mut [T],
) -> Result<()> {
    let method = method.for_conversion("sig_to_log_sig")?;
    let basis = basis_for(method, layout)?;
    let basis = basis.as_deref();
    let (row, out_row) = (
        layout.len_with(scalar_term),
        row_len(method, layout, basis, scalar_term),
    );
    let batch = rows_in(sigs, row, "sig")?;
    check_len("out", out, batch * out_row)?;
    let (skip, out_skip) = (
        usize::from(scalar_term),
        out_row - row_len(method, layout, basis, false),
    );
    for_each_item(
        threads,
        batch,
        [out],
        [out_row],
        workspace(layout, basis),
        |b, [out], ws| {
            out[..out_skip].fill(T::ZERO);
            sig_to_log_sig_row(
                method,
                basis,
                row_of(sigs, b, row, skip),
                &mut out[out_skip..],
                ws,
            );
        },
    )
}

/// The gradient of `Σ_b <grads_b, log_sig_b>` with respect to the signatures `sigs`, written
/// into `out` (their format; 0 at a scalar term); the arguments as for [`sig_to_log_sig`].
pub fn sig_to_log_sig_backprop<T: Scalar>(
    layout: Layout,
    sigs: &[T],
    grads: &[T],
    scalar_term: bool,
    method: LogSigMethod,
    threads: Threads,
    out: &mut [T],
) -> Result<()> {
    let method = method.for_conversion("sig_to_log_sig_backprop")?;
    let basis = basis_for(method, layout)?;
    let basis = basis.as_deref();
    let (row, grad_row) = (
        layout.len_with(scalar_term),
        row_len(method, layout, basis, scalar_term),
    );
    let batch = rows_in(sigs, row, "sig")?;
    check_len("log_sig_derivs", grads, batch * grad_row)?;
    check_len("out", out, sigs.len())?;
    let (skip, grad_skip) = (
        usize::from(scalar_term),
        grad_row - row_len(method, layout, basis, false),
    );
    for_each_item(
        threads,
        batch,
        [out],
        [row],
        workspace(layout, basis),
        |b, [out], ws| {
            out[..skip].fill(T::ZERO);
            let grad = row_of(grads, b, grad_row, grad_skip);
            sig_to_log_sig_row_backward(
                method,
                basis,
                row_of(sigs, b, row, skip),
                grad,
                &mut out[skip..],
                ws,
            );
        },
    )
}

/// Writes into `out` the signatures (rows of `layout.len_with(scalar_term)`, a leading 1 with
/// `scalar_term`) whose log-signatures in `method`'s coordinates (0, 1 or 2) are `log_sigs`: the
/// inverse of [`sig_to_log_sig`]. For the expanded form, `log_sigs` has the signatures' format
/// (its scalar entry is ignored).
pub fn log_sig_to_sig<T: Scalar>(
    layout: Layout,
    log_sigs: &[T],
    method: LogSigMethod,
    scalar_term: bool,
    threads: Threads,
    out: &mut [T],
) -> Result<()> {
    let method = method.for_conversion("logsig_to_sig")?;
    let basis = basis_for(method, layout)?;
    let basis = basis.as_deref();
    let (in_row, row) = (
        row_len(method, layout, basis, scalar_term),
        layout.len_with(scalar_term),
    );
    let batch = rows_in(log_sigs, in_row, "log_sig")?;
    check_len("out", out, batch * row)?;
    let (in_skip, skip) = (
        in_row - row_len(method, layout, basis, false),
        usize::from(scalar_term),
    );
    for_each_item(
        threads,
        batch,
        [out],
        [row],
        workspace(layout, basis),
        |b, [out], ws| {
            out[..skip].fill(T::ONE);
            log_sig_to_sig_row(
                method,
                basis,
                row_of(log_sigs, b, in_row, in_skip),
                &mut out[skip..],
                ws,
            );
        },
    )
}

/// The gradient of `Σ_b <grads_b, sig_b>` with respect to the log-signatures `log_sigs` of
/// [`log_sig_to_sig`] (same arguments), written into `out` (their format; 0 at a scalar term).
pub fn log_sig_to_sig_backprop<T: Scalar>(
    layout: Layout,
    log_sigs: &[T],
    grads: &[T],
    method: LogSigMethod,
    scalar_term: bool,
    threads: Threads,
    out: &mut [T],
) -> Result<()> {
    let method = method.for_conversion("logsig_to_sig_backprop")?;
    let basis = basis_for(method, layout)?;
    let basis = basis.as_deref();
    let (in_row, row) = (
        row_len(method, layout, basis, scalar_term),
        layout.len_with(scalar_term),
    );
    let batch = rows_in(log_sigs, in_row, "log_sig")?;
    check_len("sig_derivs", grads, batch * row)?;
    check_len("out", out, log_sigs.len())?;
    let (in_skip, skip) = (
        in_row - row_len(method, layout, basis, false),
        usize::from(scalar_term),
    );
    for_each_item(
        threads,
        batch,
        [out],
        [in_row],
        workspace(layout, basis),
        |b, [out], ws| {
            out[..in_skip].fill(T::ZERO);
            let log_sig = row_of(log_sigs, b, in_row, in_skip);
            log_sig_to_sig_row_backward(
                method,
                basis,
                log_sig,
                row_of(grads, b, row, skip),
                &mut out[in_skip..],
                ws,
            );
        },
    )
}

/// The layout and basis of log-signatures of `dim` at `degree` in bracket coordinates.
fn bracket_basis(dim: usize, degree: usize) -> Result<(Layout, std::sync::Arc<LyndonBasis>)> {
    let layout = Layout::new(dim, degree)?;
    let basis = basis_for(LogSigMethod::LyndonBrackets, layout)?.expect("brackets need the basis");
    Ok((layout, basis))
}

/// Writes into `out` the BCH products `BCH(a_b, b_b)` of two batches of log-signatures in
/// Lyndon bracket coordinates (method 2) of `dim` at `degree`: the log-signatures of the
/// concatenated paths.
pub fn log_sig_combine<T: Scalar>(
    dim: usize,
    degree: usize,
    a: &[T],
    b: &[T],
    threads: Threads,
    out: &mut [T],
) -> Result<()> {
    let (layout, basis) = bracket_basis(dim, degree)?;
    let row = basis.len();
    let batch = rows_in(a, row, "log_sig1")?;
    check_len("log_sig2", b, a.len())?;
    check_len("out", out, a.len())?;
    for_each_item(
        threads,
        batch,
        [out],
        [row],
        workspace(layout, Some(&basis)),
        |i, [out], ws| {
            log_sig_combine_row(&basis, row_of(a, i, row, 0), row_of(b, i, row, 0), out, ws);
        },
    )
}

/// The gradients of `Σ_b <grads_b, BCH(a_b, b_b)>` with respect to `a` and `b`, into `d_a` and
/// `d_b`; the arguments as for [`log_sig_combine`].
#[allow(clippy::too_many_arguments)]
pub fn log_sig_combine_backprop<T: Scalar>(
    dim: usize,
    degree: usize,
    grads: &[T],
    a: &[T],
    b: &[T],
    threads: Threads,
    d_a: &mut [T],
    d_b: &mut [T],
) -> Result<()> {
    let (layout, basis) = bracket_basis(dim, degree)?;
    let row = basis.len();
    let batch = rows_in(a, row, "ls1")?;
    for (name, buf) in [("ls2", b), ("deriv", grads)] {
        check_len(name, buf, a.len())?;
    }
    check_len("d_ls1", d_a, a.len())?;
    check_len("d_ls2", d_b, a.len())?;
    for_each_item(
        threads,
        batch,
        [d_a, d_b],
        [row, row],
        workspace(layout, Some(&basis)),
        |i, [da, db], ws| {
            let at = |buf| row_of(buf, i, row, 0);
            log_sig_combine_row_backward(&basis, at(grads), at(a), at(b), da, db, ws);
        },
    )
}

/// Writes into `out` the joins `BCH(log_sig_b, v_b)`: the log-signatures (bracket coordinates)
/// of the paths extended by the straight segments `displacements` (rows of `dim`).
pub fn log_sig_join<T: Scalar>(
    dim: usize,
    degree: usize,
    log_sigs: &[T],
    displacements: &[T],
    threads: Threads,
    out: &mut [T],
) -> Result<()> {
    let (layout, basis) = bracket_basis(dim, degree)?;
    let row = basis.len();
    let batch = rows_in(log_sigs, row, "log_sig")?;
    check_len("displacement", displacements, batch * dim)?;
    check_len("out", out, log_sigs.len())?;
    for_each_item(
        threads,
        batch,
        [out],
        [row],
        workspace(layout, Some(&basis)),
        |i, [out], ws| {
            let v = row_of(displacements, i, dim, 0);
            log_sig_join_row(&basis, row_of(log_sigs, i, row, 0), v, out, ws);
        },
    )
}

/// The gradients of `Σ_b <grads_b, BCH(log_sig_b, v_b)>` with respect to the log-signatures and
/// the displacements, into `d_log_sigs` and `d_displacements`; the arguments as for
/// [`log_sig_join`].
#[allow(clippy::too_many_arguments)]
pub fn log_sig_join_backprop<T: Scalar>(
    dim: usize,
    degree: usize,
    grads: &[T],
    log_sigs: &[T],
    displacements: &[T],
    threads: Threads,
    d_log_sigs: &mut [T],
    d_displacements: &mut [T],
) -> Result<()> {
    let (layout, basis) = bracket_basis(dim, degree)?;
    let row = basis.len();
    let batch = rows_in(log_sigs, row, "log_sig")?;
    check_len("d_out", grads, log_sigs.len())?;
    check_len("displacement", displacements, batch * dim)?;
    check_len("d_log_sig", d_log_sigs, log_sigs.len())?;
    check_len("d_displacement", d_displacements, displacements.len())?;
    for_each_item(
        threads,
        batch,
        [d_log_sigs, d_displacements],
        [row, dim],
        workspace(layout, Some(&basis)),
        |i, [dl, dv], ws| {
            let (g, l, v) = (
                row_of(grads, i, row, 0),
                row_of(log_sigs, i, row, 0),
                row_of(displacements, i, dim, 0),
            );
            log_sig_join_row_backward(&basis, g, l, v, dl, dv, ws);
        },
    )
}
