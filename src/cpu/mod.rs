//! Batched signatures, Chen products and their gradients on the CPU.
//!
//! Every function takes a batch, validates every buffer's size before doing any work, and
//! spreads the batch over [`Threads`]. A batch too small to keep the threads busy with long
//! paths splits each path in time instead: the pieces are signed in parallel and joined with
//! Chen products.
//!
//! Which engine signs a batch: small signatures fill SIMD lanes with several paths (or pieces of
//! paths) at once (`lane_engine`); larger ones run one path per thread, a few long paths cut in time.
//! Corrected increments always run one path per thread (cut in time when few and long). Streams
//! of prefixes run on either engine but are never cut in time (every prefix would cost a Chen
//! product with the pieces before it). Ragged batches run on every engine.

mod batch;
pub(crate) mod cache;
mod lane_engine;
mod logsig;
mod logsig_rows;
mod sigkernel;
mod threads;

pub use logsig::{
    clear_cache, load_lyndon_basis, log_sig, log_sig_backprop, log_sig_length, lyndon_basis,
    lyndon_basis_bytes, lyndon_basis_cached,
};
pub use logsig_rows::{
    log_sig_combine, log_sig_combine_backprop, log_sig_join, log_sig_join_backprop, log_sig_to_sig,
    log_sig_to_sig_backprop, sig_to_log_sig, sig_to_log_sig_backprop,
};
pub use sigkernel::{
    KernelGradient, SigKernelReport, sig_kernel, sig_kernel_backprop, sig_kernel_from_increments,
    sig_kernel_from_increments_backprop, sig_kernel_gram, sig_kernel_gram_backprop,
};
pub use threads::Threads;

use batch::for_each_item;
use lane_engine::Pass;

use crate::algebra::{Layout, product, product_backward};
use crate::error::{Error, Result, check_len, try_zeroed};
use crate::path::{
    Correction, PathCorrection, PathTransform, Paths, SigBackwardWorkspace, SigGradient, SigOutput,
    SigParams, SigWorkspace, signature_backward_of_path_with, signature_of_path_with,
};
use crate::scalar::Scalar;

/// Below this many increments per piece, the row engine's cutting a path in time (one piece per
/// thread) costs more than it saves. The lane engine has its own thresholds
/// ([`lane_engine`]'s `MIN_STEPS_PER_LANE_PIECE_*`): its pieces fill lanes, not threads.
const MIN_STEPS_PER_ROW_PIECE: usize = 256;

/// What [`sig_with`] and [`sig_backprop_with`] compute beyond a plain signature.
#[derive(Clone, Copy, Debug)]
pub struct SigOptions<'a, T> {
    /// Per-segment higher-level terms: segment `t` enters the signature as `exp(Δx_t + c_t)`
    /// (pysiglib's `correction`). Not with lead-lag.
    pub correction: Option<Correction<'a, T>>,
    /// Write the signature of every prefix of each transformed path (signatory's `stream=True`):
    /// `transform.increments(paths.len())` rows per path, row `t` the signature through increment
    /// `t`. In a ragged batch the rows past a path's last increment repeat its whole signature.
    pub stream: bool,
}

impl<T> Default for SigOptions<'_, T> {
    fn default() -> Self {
        SigOptions {
            correction: None,
            stream: false,
        }
    }
}

impl<'a, T: Scalar> SigOptions<'a, T> {
    /// Checks the options against the batch: the correction's highest level (`None` without a
    /// correction) and the number of signature rows each path gets.
    fn check(&self, paths: &Paths<'_, T>, params: &SigParams) -> Result<(Option<usize>, usize)> {
        let top = match &self.correction {
            Some(c) => c.check(paths, params.degree, &params.transform)?,
            None => None,
        };
        let rows = if self.stream {
            params.transform.increments(paths.len())
        } else {
            1
        };
        Ok((top, rows))
    }

    /// The correction rows of path `b`, when there is a correction.
    fn correction_of(&self, paths: &Paths<'_, T>, b: usize) -> Option<PathCorrection<'a, T>> {
        self.correction
            .filter(|c| c.width() > 0)
            .map(|c| c.of_path(b, paths.len().saturating_sub(1)))
    }
}

/// `batch · rows · row`, or an error naming `what` when it overflows.
fn rows_total(what: &'static str, batch: usize, rows: usize, row: usize) -> Result<usize> {
    batch
        .checked_mul(rows)
        .and_then(|n| n.checked_mul(row))
        .ok_or_else(|| Error::TooLarge {
            what,
            detail: format!("{batch} paths × {rows} rows × {row} values"),
        })
}

/// Writes the signatures of `paths` that `params` describes (degree, transform, scalar term) into
/// `out`, one row of `layout.len_with(scalar_term)` values per path (a leading 1 with the scalar
/// term).
///
/// ```
/// use tensorsig::{Paths, SigParams, Threads};
/// // The straight line from (0, 0) to (1, 2): its signature is exp((1, 2)).
/// let path = [0.0, 0.0, 1.0, 2.0];
/// let mut out = [0.0; 6];
/// tensorsig::sig(&Paths::new(&path, 1, 2, 2)?, &SigParams::new(2), Threads::SERIAL, &mut out)?;
/// assert_eq!(out, [1.0, 2.0, 0.5, 1.0, 1.0, 2.0]);
/// # Ok::<(), tensorsig::Error>(())
/// ```
pub fn sig<T: Scalar>(
    paths: &Paths<'_, T>,
    params: &SigParams,
    threads: Threads,
    out: &mut [T],
) -> Result<()> {
    sig_with(paths, params, &SigOptions::default(), threads, out)
}

/// [`sig`] with [`SigOptions`]: corrected increments, and/or the signature of every prefix.
///
/// `out` holds `paths.batch() × rows × layout.len_with(scalar_term)` values, `rows` being 1, or
/// with `options.stream` the transformed paths' increments, `transform.increments(paths.len())`.
///
/// ```
/// use tensorsig::{Paths, SigOptions, SigParams, Threads};
/// // (0) → (1) → (3) in R^1: the prefixes' signatures through degree 2 are exp(1), exp(3).
/// let path = [0.0, 1.0, 3.0];
/// let options = SigOptions { stream: true, ..SigOptions::default() };
/// let mut out = [0.0; 4];
/// tensorsig::sig_with(&Paths::new(&path, 1, 3, 1)?, &SigParams::new(2), &options, Threads::SERIAL, &mut out)?;
/// assert_eq!(out, [1.0, 0.5, 3.0, 4.5]);
/// # Ok::<(), tensorsig::Error>(())
/// ```
pub fn sig_with<T: Scalar>(
    paths: &Paths<'_, T>,
    params: &SigParams,
    options: &SigOptions<'_, T>,
    threads: Threads,
    out: &mut [T],
) -> Result<()> {
    let layout = params.layout(paths)?;
    let (transform, scalar_term) = (&params.transform, params.scalar_term);
    let (top, rows) = options.check(paths, params)?;
    let row = layout.len_with(scalar_term);
    check_len(
        "out",
        out,
        rows_total("signatures", paths.batch(), rows, row)?,
    )?;
    if out.is_empty() {
        return Ok(());
    }
    let workspace = || SigWorkspace::with_correction(layout, paths.dim(), top);
    if options.stream {
        if top.is_none() && lane_engine::suits(paths, layout, transform, Pass::Forward) {
            let mut per_path: Vec<&mut [T]> = out.chunks_exact_mut(rows * row).collect();
            return lane_engine::sig_stream(paths, layout, transform, threads, row, &mut per_path);
        }
        return for_each_item(
            threads,
            paths.batch(),
            [out],
            [rows * row],
            workspace,
            |b, [rows], ws| {
                let path = paths.path(b);
                let steps = 0..transform.increments(path.len());
                let correction = options.correction_of(paths, b);
                let out = SigOutput::Prefixes { rows, stride: row };
                signature_of_path_with(
                    layout,
                    &path,
                    transform,
                    correction.as_ref(),
                    steps,
                    out,
                    ws,
                );
            },
        );
    }
    let steps = transform.increments(paths.len());
    // A path of one increment is one exponential, written straight into its row: interleaving
    // it into lanes and back costs more than computing it (256x2x2 N=10: 0.96x → 2.0x pysiglib).
    if steps > 1 && top.is_none() && lane_engine::suits(paths, layout, transform, Pass::Forward) {
        let mut tails: Vec<&mut [T]> = out
            .chunks_exact_mut(row)
            .map(|r| split_scalar(r, scalar_term))
            .collect();
        return lane_engine::sig(paths, layout, transform, threads, &mut tails);
    }
    let pieces = (threads.count() / paths.batch().max(1)).min(steps / MIN_STEPS_PER_ROW_PIECE);
    if pieces > 1 {
        return sig_split_in_time(
            paths,
            layout,
            transform,
            options,
            top,
            scalar_term,
            threads,
            pieces,
            out,
        );
    }
    for_each_item(
        threads,
        paths.batch(),
        [out],
        [row],
        workspace,
        |b, [out], ws| {
            let path = paths.path(b);
            let steps = 0..transform.increments(path.len());
            let correction = options.correction_of(paths, b);
            let out = SigOutput::Whole(split_scalar(out, scalar_term));
            signature_of_path_with(
                layout,
                &path,
                transform,
                correction.as_ref(),
                steps,
                out,
                ws,
            );
        },
    )
}

/// [`sig`] for a few long paths: each path is cut into `pieces` runs of increments, signed in
/// parallel, and the pieces joined left to right with Chen products.
#[allow(clippy::too_many_arguments)]
fn sig_split_in_time<T: Scalar>(
    paths: &Paths<'_, T>,
    layout: Layout,
    transform: &PathTransform,
    options: &SigOptions<'_, T>,
    top: Option<usize>,
    scalar_term: bool,
    threads: Threads,
    pieces: usize,
    out: &mut [T],
) -> Result<()> {
    let mut piece_sigs = try_zeroed::<T>("signatures of path pieces", pieces * layout.len())?;
    let mut joined = try_zeroed::<T>("signatures of path pieces", layout.len())?;
    for (b, out) in out
        .chunks_exact_mut(layout.len_with(scalar_term))
        .enumerate()
    {
        let path = paths.path(b);
        let steps = transform.increments(path.len());
        let correction = options.correction_of(paths, b);
        for_each_item(
            threads,
            pieces,
            [&mut piece_sigs[..]],
            [layout.len()],
            || SigWorkspace::with_correction(layout, paths.dim(), top),
            |p, [piece], ws| {
                let range = steps * p / pieces..steps * (p + 1) / pieces;
                let out = SigOutput::Whole(piece);
                signature_of_path_with(
                    layout,
                    &path,
                    transform,
                    correction.as_ref(),
                    range,
                    out,
                    ws,
                );
            },
        )?;
        join_pieces(
            layout,
            &piece_sigs,
            split_scalar(out, scalar_term),
            &mut joined,
        );
    }
    Ok(())
}

/// Writes into `tail` (levels `1..=N`) the Chen product, left to right, of the consecutive
/// signatures in `pieces` (rows of `layout.len()`): the signature of the path they cut.
/// `joined` is scratch of one row.
fn join_pieces<T: Scalar>(layout: Layout, pieces: &[T], tail: &mut [T], joined: &mut [T]) {
    let (first, rest) = pieces.split_at(layout.len());
    tail.copy_from_slice(first);
    for piece in rest.chunks_exact(layout.len()) {
        product(layout, tail, piece, joined);
        tail.copy_from_slice(joined);
    }
}

/// Writes into `out` (row-major `batch × len × dim`, like `paths`) the gradient of
/// `Σ_b <grads_b, S(path_b)>` with respect to the paths, where `sigs` are the paths' signatures
/// as [`sig`] computed them (same `degree`, `transform` and `scalar_term`).
///
/// The gradient is computed by reversibility from `sigs`, with extra memory independent of the
/// paths' length; the derivative of the scalar term, if present, does not contribute.
pub fn sig_backprop<T: Scalar>(
    paths: &Paths<'_, T>,
    sigs: &[T],
    grads: &[T],
    params: &SigParams,
    threads: Threads,
    out: &mut [T],
) -> Result<()> {
    let options = SigOptions::default();
    sig_backprop_with(paths, sigs, grads, params, &options, threads, out)
}

/// [`sig_backprop`] for [`sig_with`]'s signatures: `sigs` and `grads` hold what [`sig_with`]
/// wrote with the same `options`, and `out` gets the gradient of `Σ_b Σ_t <grads_(b,t), S_(b,t)>`
/// with respect to the paths (one `t` without `options.stream`, every prefix with it). The
/// correction is a constant: it gets no gradient. In a ragged batch, the gradient past each
/// path's end is 0.
///
/// A stream's gradient walks back from its last prefix, picking up each prefix's gradient as it
/// passes it: the cost of one [`sig_backprop`], whatever the number of prefixes.
pub fn sig_backprop_with<T: Scalar>(
    paths: &Paths<'_, T>,
    sigs: &[T],
    grads: &[T],
    params: &SigParams,
    options: &SigOptions<'_, T>,
    threads: Threads,
    out: &mut [T],
) -> Result<()> {
    let layout = params.layout(paths)?;
    let (transform, scalar_term) = (&params.transform, params.scalar_term);
    let (top, rows) = options.check(paths, params)?;
    let row = layout.len_with(scalar_term);
    let total = rows_total("signatures", paths.batch(), rows, row)?;
    check_len("sig", sigs, total)?;
    check_len("sig_derivs", grads, total)?;
    let path_len = paths.len() * paths.dim();
    check_len("out", out, paths.batch() * path_len)?;
    let skip = usize::from(scalar_term);
    if layout.len() == 0 {
        out.fill(T::ZERO); // a signature of degree 0 does not depend on the path
        return Ok(());
    }
    if path_len == 0 || paths.batch() == 0 {
        return Ok(());
    }
    if !options.stream
        && top.is_none()
        && lane_engine::suits(paths, layout, transform, Pass::Backward)
    {
        let sig_tails: Vec<&[T]> = sigs.chunks_exact(row).map(|r| &r[skip..]).collect();
        let grad_tails: Vec<&[T]> = grads.chunks_exact(row).map(|r| &r[skip..]).collect();
        let mut d_paths: Vec<&mut [T]> = out.chunks_exact_mut(path_len).collect();
        return lane_engine::sig_backprop(
            paths,
            layout,
            transform,
            threads,
            &sig_tails,
            &grad_tails,
            &mut d_paths,
        );
    }
    let per_path = rows * row;
    if per_path == 0 {
        out.fill(T::ZERO); // a stream of paths without increments
        return Ok(());
    }
    if options.stream
        && top.is_none()
        && lane_engine::suits(paths, layout, transform, Pass::Backward)
    {
        let sig_rows: Vec<&[T]> = sigs.chunks_exact(per_path).collect();
        let grad_rows: Vec<&[T]> = grads.chunks_exact(per_path).collect();
        let mut d_paths: Vec<&mut [T]> = out.chunks_exact_mut(path_len).collect();
        return lane_engine::sig_stream_backprop(
            paths,
            layout,
            transform,
            threads,
            row,
            &sig_rows,
            &grad_rows,
            &mut d_paths,
        );
    }
    for_each_item(
        threads,
        paths.batch(),
        [out],
        [path_len],
        || SigBackwardWorkspace::with_options(layout, paths.dim(), top, options.stream),
        |b, [d_path], ws| {
            let input = if options.stream {
                SigGradient::Prefixes {
                    signatures: &sigs[b * per_path..(b + 1) * per_path],
                    grads: &grads[b * per_path..(b + 1) * per_path],
                    stride: row,
                }
            } else {
                SigGradient::Whole {
                    signature: levels_of(sigs, b, row, skip),
                    grad: levels_of(grads, b, row, skip),
                }
            };
            let correction = options.correction_of(paths, b);
            let path = paths.path(b);
            signature_backward_of_path_with(
                layout,
                &path,
                transform,
                correction.as_ref(),
                input,
                d_path,
                ws,
            );
        },
    )
}

/// Second derivatives of signatures, by forward-over-reverse differentiation: the signature and
/// its backward pass run on dual numbers `x + εv`, `v` being `directions` (shaped like `paths`).
///
/// For `F = Σ_b <grads_b, S(path_b)>` (rows of `layout.len_with(scalar_term)` as [`sig`] writes
/// them) this writes
/// - into `jvp` the directional derivatives `dS(path_b)[v_b]` (rows like the signatures; the
///   scalar term's is 0), which is also the derivative of [`sig_backprop`]'s result with respect
///   to `grads` applied to `v`;
/// - into `hvp` (shaped like `paths`) the Hessian of `F` applied to `v`, the derivative of
///   [`sig_backprop`]'s result along `v`.
///
/// Exact to rounding, at about three times the cost of [`sig_backprop`]. Together they give
/// double backward through signatures (gradient penalties, Hessian-vector products).
pub fn sig_backprop_jvp<T: Scalar>(
    paths: &Paths<'_, T>,
    directions: &Paths<'_, T>,
    grads: &[T],
    params: &SigParams,
    threads: Threads,
    jvp: &mut [T],
    hvp: &mut [T],
) -> Result<()> {
    let layout = params.layout(paths)?;
    let (transform, scalar_term) = (&params.transform, params.scalar_term);
    if (directions.batch(), directions.len(), directions.dim())
        != (paths.batch(), paths.len(), paths.dim())
    {
        return Err(Error::invalid(
            "directions",
            format!(
                "must be shaped like the paths, ({}, {}, {}), got ({}, {}, {})",
                paths.batch(),
                paths.len(),
                paths.dim(),
                directions.batch(),
                directions.len(),
                directions.dim()
            ),
        ));
    }
    let row = layout.len_with(scalar_term);
    let path_len = paths.len() * paths.dim();
    check_len("sig_derivs", grads, paths.batch() * row)?;
    check_len("jvp", jvp, paths.batch() * row)?;
    check_len("hvp", hvp, paths.batch() * path_len)?;
    jvp.fill(T::ZERO);
    hvp.fill(T::ZERO);
    if layout.len() == 0 || path_len == 0 || paths.batch() == 0 {
        return Ok(());
    }
    let skip = usize::from(scalar_term);
    let grad_tails: Vec<&[T]> = grads.chunks_exact(row).map(|r| &r[skip..]).collect();
    let mut jvp_tails: Vec<&mut [T]> = jvp.chunks_exact_mut(row).map(|r| &mut r[skip..]).collect();
    let mut hvp_rows: Vec<&mut [T]> = hvp.chunks_exact_mut(path_len).collect();
    lane_engine::sig_backprop_jvp(
        paths,
        directions,
        layout,
        transform,
        threads,
        &grad_tails,
        &mut jvp_tails,
        &mut hvp_rows,
    )
}

/// Writes the Chen products `sig1 ⊗ sig2` of two batches of signatures of `layout` into `out`.
///
/// Rows hold `layout.len_with(scalar_term)` values. With `scalar_term` the inputs' scalar
/// entries are taken to be 1 (signatures are group-like) and the output's is set to 1.
pub fn sig_combine<T: Scalar>(
    layout: Layout,
    sig1: &[T],
    sig2: &[T],
    scalar_term: bool,
    threads: Threads,
    out: &mut [T],
) -> Result<()> {
    let row = layout.len_with(scalar_term);
    check_len("sig2", sig2, sig1.len())?;
    check_len("out", out, sig1.len())?;
    let batch = batch_of(sig1, row, "sig1")?;
    let skip = usize::from(scalar_term);
    for_each_item(
        threads,
        batch,
        [out],
        [row],
        || Ok(()),
        |b, [out], _| {
            let (a, c) = (levels_of(sig1, b, row, skip), levels_of(sig2, b, row, skip));
            product(layout, a, c, split_scalar(out, scalar_term));
        },
    )
}

/// The gradients of `Σ_b <grad_b, sig1_b ⊗ sig2_b>` with respect to `sig1` and `sig2`, written
/// into `d_sig1` and `d_sig2` (same format as the inputs; the scalar entries, which
/// [`sig_combine`] ignores, get gradient 0).
#[allow(clippy::too_many_arguments)]
pub fn sig_combine_backprop<T: Scalar>(
    layout: Layout,
    grad: &[T],
    sig1: &[T],
    sig2: &[T],
    scalar_term: bool,
    threads: Threads,
    d_sig1: &mut [T],
    d_sig2: &mut [T],
) -> Result<()> {
    let row = layout.len_with(scalar_term);
    let batch = batch_of(sig1, row, "sig1")?;
    check_len("sig2", sig2, sig1.len())?;
    check_len("sig_combined_deriv", grad, sig1.len())?;
    check_len("d_sig1", d_sig1, sig1.len())?;
    check_len("d_sig2", d_sig2, sig1.len())?;
    let skip = usize::from(scalar_term);
    for_each_item(
        threads,
        batch,
        [d_sig1, d_sig2],
        [row, row],
        || Ok(()),
        |b, [d1, d2], _| {
            let at = |buf| levels_of(buf, b, row, skip);
            if scalar_term {
                d1[0] = T::ZERO;
                d2[0] = T::ZERO;
            }
            product_backward(
                layout,
                at(grad),
                at(sig1),
                at(sig2),
                &mut d1[skip..],
                &mut d2[skip..],
            );
        },
    )
}

/// Writes the transformed paths (row-major `batch × transform.len(len) × transform.dim(dim)`)
/// into `out`.
pub fn transform_path<T: Scalar>(
    paths: &Paths<'_, T>,
    transform: &PathTransform,
    threads: Threads,
    out: &mut [T],
) -> Result<()> {
    let row = transform.len(paths.len()) * transform.dim(paths.dim());
    check_len("out", out, paths.batch() * row)?;
    for_each_item(
        threads,
        paths.batch(),
        [out],
        [row],
        || Ok(()),
        |b, [out], _| transform.materialise(&paths.path(b), out),
    )
}

/// The adjoint of [`transform_path`]: folds `grad`, the gradient with respect to a batch of
/// transformed paths (row-major `batch × transform.len(len) × transform.dim(dim)`), into `out`,
/// the gradient with respect to the original paths (`batch × len × dim`).
pub fn transform_path_backprop<T: Scalar>(
    grad: &[T],
    batch: usize,
    len: usize,
    dim: usize,
    transform: &PathTransform,
    threads: Threads,
    out: &mut [T],
) -> Result<()> {
    let row = transform.len(len) * transform.dim(dim);
    check_len("derivs", grad, batch * row)?;
    check_len("out", out, batch * len * dim)?;
    for_each_item(
        threads,
        batch,
        [out],
        [len * dim],
        || Ok(()),
        |b, [out], _| transform.materialise_backward(&grad[b * row..(b + 1) * row], dim, out),
    )
}

/// The levels `1..=N` of a row, after setting its scalar term to 1 when it has one.
fn split_scalar<T: Scalar>(row: &mut [T], scalar_term: bool) -> &mut [T] {
    if scalar_term {
        row[0] = T::ONE;
        &mut row[1..]
    } else {
        row
    }
}

/// Levels `1..=N` of row `b` of a batch of rows of length `row`, `skip` being 1 when the rows
/// start with a scalar term.
fn levels_of<T>(buf: &[T], b: usize, row: usize, skip: usize) -> &[T] {
    &buf[b * row + skip..(b + 1) * row]
}

/// The number of rows of length `row` in `buf`.
fn batch_of<T>(buf: &[T], row: usize, name: &'static str) -> Result<usize> {
    if row == 0 {
        return Ok(0);
    }
    if !buf.len().is_multiple_of(row) {
        return Err(Error::Shape {
            name,
            expected: buf.len().div_ceil(row) * row,
            got: buf.len(),
        });
    }
    Ok(buf.len() / row)
}
