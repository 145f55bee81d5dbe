//! Batched log-signatures of paths and their path gradients, and the log-signature tables.
//!
//! Log-signatures of paths are computed a chunk of paths at a time: the chunk's signatures by
//! the signature engine ([`crate::sig()`], with all its parallelism) into a buffer the size of
//! the chunk, then each converted into its row of the output. No batch-sized buffer of
//! signatures is ever allocated, and the chunk's signatures are still in cache when converted.
//! The gradient does the same backwards: the chunk's signatures, their gradients through the
//! conversion, then [`crate::sig_backprop`].

use std::sync::Arc;

use super::batch::for_each_item;
use super::cache;
use super::threads::Threads;
use crate::algebra::{Layout, LyndonBasis, lyndon_count};
use crate::error::{Error, Result, check_len, try_zeroed};
use crate::logsig::{
    DegreeTwoWorkspace, LogSigMethod, LogSigWorkspace, decode_basis, encode_basis,
    log_sig_degree_two, sig_to_log_sig_row, sig_to_log_sig_row_backward,
};
use crate::path::{Paths, SigParams};
use crate::scalar::Scalar;

/// Signature coefficients a chunk's buffer holds at most (8 MiB in `f64`), unless a chunk of a
/// few paths needs more.
const CHUNK_COEFFICIENTS: usize = 1 << 20;

/// The number of Lyndon coordinates of a log-signature of `dim` truncated at `degree` (Witt's
/// formula), or an error naming the argument: `degree` must be at least 1.
pub fn log_sig_length(dim: usize, degree: usize) -> Result<usize> {
    check_degree(degree)?;
    lyndon_count(dim, degree).ok_or_else(|| Error::TooLarge {
        what: "a log-signature",
        detail: format!("dimension {dim}, degree {degree}"),
    })
}

fn check_degree(degree: usize) -> Result<()> {
    if degree == 0 {
        return Err(Error::invalid(
            "degree",
            "a log-signature needs degree at least 1, got 0",
        ));
    }
    Ok(())
}

/// The Lyndon bracket basis of `(dim, degree)`, from the process cache, built there on first
/// use (once, whatever the number of threads asking).
pub fn lyndon_basis(dim: usize, degree: usize) -> Result<Arc<LyndonBasis>> {
    check_degree(degree)?;
    cache::table(dim, degree, || LyndonBasis::new(dim, degree))
}

/// Whether the basis of `(dim, degree)` is in the process cache.
pub fn lyndon_basis_cached(dim: usize, degree: usize) -> bool {
    cache::contains::<LyndonBasis>(dim, degree)
}

/// The basis of `(dim, degree)` as checksummed bytes, for a disk cache (built if need be).
pub fn lyndon_basis_bytes(dim: usize, degree: usize) -> Result<Vec<u8>> {
    Ok(encode_basis(lyndon_basis(dim, degree)?.as_ref()))
}

/// Puts the basis encoded in `bytes` into the process cache if they are an intact encoding of
/// the basis of `(dim, degree)`; returns whether they were (if not, nothing changes, and the
/// caller should rebuild and rewrite its copy).
pub fn load_lyndon_basis(dim: usize, degree: usize, bytes: &[u8]) -> bool {
    match decode_basis(bytes, dim, degree) {
        Some(basis) => {
            cache::insert(dim, degree, basis);
            true
        }
        None => false,
    }
}

/// Empties the process cache of every family's tables.
pub fn clear_cache() {
    cache::clear();
}

/// The basis `method` needs (none for the expanded form), checking the degree.
pub(crate) fn basis_for(method: LogSigMethod, layout: Layout) -> Result<Option<Arc<LyndonBasis>>> {
    check_degree(layout.degree())?;
    if layout.dim() == 0 {
        return Err(Error::invalid(
            "dimension",
            "a log-signature needs at least one channel",
        ));
    }
    if method.uses_lyndon_words() {
        Ok(Some(lyndon_basis(layout.dim(), layout.degree())?))
    } else {
        Ok(None)
    }
}

/// The length of one log-signature row in `method`'s coordinates.
pub(crate) fn row_len(
    method: LogSigMethod,
    layout: Layout,
    basis: Option<&LyndonBasis>,
    scalar_term: bool,
) -> usize {
    match basis {
        Some(basis) if method.uses_lyndon_words() => basis.len(),
        _ => layout.len_with(scalar_term),
    }
}

/// How many paths of `layout` to sign at once.
fn chunk_paths(layout: Layout, threads: Threads, batch: usize) -> usize {
    (CHUNK_COEFFICIENTS / layout.len().max(1))
        .max(4 * threads.count())
        .clamp(1, batch.max(1))
}

/// Writes into `out` the log-signatures of `paths` under `transform`, truncated at `degree`, in
/// the coordinates of `method`: one row of `layout.len_with(scalar_term)` values per path for
/// the expanded form (a leading 0 with `scalar_term`), of [`log_sig_length`] for the others.
///
/// ```
/// use tensorsig::{LogSigMethod, Paths, SigParams, Threads};
/// // Three points in R^2: the log-signature's level 2 is the signed (Lévy) area.
/// let path = [0.0, 0.0, 1.0, 0.0, 1.0, 1.0];
/// let mut out = [0.0; 3];
/// let paths = Paths::new(&path, 1, 3, 2)?;
/// let method = LogSigMethod::LyndonBrackets;
/// tensorsig::log_sig(&paths, &SigParams::new(2), method, Threads::SERIAL, &mut out)?;
/// assert_eq!(out, [1.0, 1.0, 0.5]);
/// # Ok::<(), tensorsig::Error>(())
/// ```
pub fn log_sig<T: Scalar>(
    paths: &Paths<'_, T>,
    params: &SigParams,
    method: LogSigMethod,
    threads: Threads,
    out: &mut [T],
) -> Result<()> {
    let layout = params.layout(paths)?;
    let (degree, transform, scalar_term) = (params.degree, &params.transform, params.scalar_term);
    let basis = basis_for(method, layout)?;
    let basis = basis.as_deref();
    let row = row_len(method, layout, basis, scalar_term);
    check_len("out", out, paths.batch() * row)?;
    if paths.batch() == 0 {
        return Ok(());
    }
    if degree == 2 && paths.batch() >= threads.count() {
        // Lévy areas as dot products over the steps (see `log_sig_degree_two`); a few long paths
        // are left to the signature engine, which cuts them in time across the threads.
        let skip = usize::from(scalar_term && method == LogSigMethod::Expanded);
        let dim = layout.dim();
        return for_each_item(
            threads,
            paths.batch(),
            [out],
            [row],
            || DegreeTwoWorkspace::new(dim),
            |b, [row], ws| {
                row[..skip].fill(T::ZERO);
                log_sig_degree_two(&paths.path(b), transform, method, &mut row[skip..], ws);
            },
        );
    }
    let workspace = || LogSigWorkspace::new(layout, basis.map_or(0, LyndonBasis::len));
    if method == LogSigMethod::Expanded {
        // The signature in the output's own rows, then its logarithm in place.
        crate::sig(paths, params, threads, out)?;
        let skip = usize::from(scalar_term);
        return for_each_item(
            threads,
            paths.batch(),
            [out],
            [row],
            workspace,
            |_, [row], ws| {
                let mut sig = std::mem::take(&mut ws.tensors[0]);
                sig.copy_from_slice(&row[skip..]);
                sig_to_log_sig_row(method, None, &sig, &mut row[skip..], ws);
                ws.tensors[0] = sig;
                if scalar_term {
                    row[0] = T::ZERO;
                }
            },
        );
    }
    let bare = params.with_scalar_term(false);
    let chunk = chunk_paths(layout, threads, paths.batch());
    let mut sigs = try_zeroed::<T>("signatures of a chunk of paths", chunk * layout.len())?;
    for (c, out) in out.chunks_mut(chunk * row).enumerate() {
        let count = out.len() / row;
        let sub = paths.sub_batch(c * chunk..c * chunk + count);
        let sigs = &mut sigs[..count * layout.len()];
        crate::sig(&sub, &bare, threads, sigs)?;
        for_each_item(threads, count, [out], [row], workspace, |i, [row], ws| {
            let sig = &sigs[i * layout.len()..(i + 1) * layout.len()];
            sig_to_log_sig_row(method, basis, sig, row, ws);
        })?;
    }
    Ok(())
}

/// Writes into `out` (shaped like the paths, `batch × len × dim`) the gradient of
/// `Σ_b <grads_b, log_sig(path_b)>` with respect to the paths, `grads` in the rows [`log_sig`]
/// writes for the same arguments: the signatures' gradients through the conversion, then back
/// along the paths by [`crate::sig_backprop`], a chunk of paths at a time.
pub fn log_sig_backprop<T: Scalar>(
    paths: &Paths<'_, T>,
    grads: &[T],
    params: &SigParams,
    method: LogSigMethod,
    threads: Threads,
    out: &mut [T],
) -> Result<()> {
    let layout = params.layout(paths)?;
    let (bare, scalar_term) = (params.with_scalar_term(false), params.scalar_term);
    let basis = basis_for(method, layout)?;
    let basis = basis.as_deref();
    let row = row_len(method, layout, basis, scalar_term);
    let path_len = paths.len() * paths.dim();
    check_len("log_sig_derivs", grads, paths.batch() * row)?;
    check_len("out", out, paths.batch() * path_len)?;
    if paths.batch() == 0 || path_len == 0 {
        return Ok(());
    }
    let skip = usize::from(scalar_term && !method.uses_lyndon_words());
    let workspace = || LogSigWorkspace::new(layout, basis.map_or(0, LyndonBasis::len));
    let chunk = chunk_paths(layout, threads, paths.batch());
    let what = "signatures of a chunk of paths";
    let mut sigs = try_zeroed::<T>(what, chunk * layout.len())?;
    let mut d_sigs = try_zeroed::<T>(what, chunk * layout.len())?;
    for (c, out) in out.chunks_mut(chunk * path_len).enumerate() {
        let count = out.len() / path_len;
        let first = c * chunk;
        let sub = paths.sub_batch(first..first + count);
        let (sigs, d_sigs) = (
            &mut sigs[..count * layout.len()],
            &mut d_sigs[..count * layout.len()],
        );
        crate::sig(&sub, &bare, threads, sigs)?;
        let sigs = &*sigs;
        for_each_item(
            threads,
            count,
            [&mut *d_sigs],
            [layout.len()],
            workspace,
            |i, [d_sig], ws| {
                let sig = &sigs[i * layout.len()..(i + 1) * layout.len()];
                let grad = &grads[(first + i) * row + skip..(first + i + 1) * row];
                sig_to_log_sig_row_backward(method, basis, sig, grad, d_sig, ws);
            },
        )?;
        crate::sig_backprop(&sub, sigs, d_sigs, &bare, threads, out)?;
    }
    Ok(())
}
