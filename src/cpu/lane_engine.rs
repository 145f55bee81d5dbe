//! Batched signatures and gradients for small signatures: jobs fill the SIMD lanes.
//!
//! Paths are dealt into groups of one vector's worth (4 `f64` / 8 `f32` with 256-bit vectors;
//! twice that for signatures of one or two letters);
//! when there are too few paths to fill the lanes (and the threads), each path is cut in time
//! into pieces, the pieces' signatures joined with Chen products and, going backwards, the
//! gradient split among the pieces with the products' adjoints.

use std::any::Any;
use std::cell::RefCell;

use rayon::prelude::*;

use super::join_pieces;
use super::threads::Threads;
use crate::algebra::{Layout, product, product_backward};
use crate::error::{Result, try_zeroed};
use crate::path::lane_groups::{
    Job, LaneWorkspace, jobs_per_pass, lane_count, signature_backwards, signature_hvps,
    signature_jvps, signature_stream_backwards, signature_streams, signatures,
};
use crate::path::{PathTransform, Paths};
use crate::scalar::Scalar;

/// Below this many increments per piece, cutting a path for its gradient costs more than it
/// saves: the pieces' signatures take a whole extra pass, and each join's adjoint two products.
const MIN_STEPS_PER_LANE_PIECE_BACKWARD: usize = 64;
/// The same for signatures, where a piece costs only its join: one Chen product, which runs
/// along whole rows at about the cost of one lane step of a full pass. Cutting one path of
/// 99 increments into 6 pieces fills 6 of a pass's lanes instead of 1 (with this and the
/// first-step exponential, 1x100x2 N=10 went from 0.76x to 2.5x pysiglib's speed, 1x100x12
/// N=3 from 0.47x to 1.3x).
const MIN_STEPS_PER_LANE_PIECE_FORWARD: usize = 16;

impl Pass {
    /// The fewest increments per piece when a path is cut for this pass.
    fn min_steps_per_piece(self) -> usize {
        match self {
            Pass::Forward => MIN_STEPS_PER_LANE_PIECE_FORWARD,
            Pass::Backward => MIN_STEPS_PER_LANE_PIECE_BACKWARD,
        }
    }
}
/// Largest lane-interleaved signature state, in bytes, that signatures are computed
/// lanes-at-a-time for. Beyond it the rows of one tensor are long enough to vectorise well on
/// their own (measured on Zen 4: one tensor at a time wins from d=8, N=4, 150 KiB, up in `f64`).
const MAX_FORWARD_STATE_BYTES: usize = 128 << 10;
/// The same for paths of at most [`SHORT_ROWS_MAX_DIM`] letters, whose rows stay too short to
/// vectorise well alone: at d=3, N=8 (315 KiB in `f64`) lanes win by 1.3-2x in either
/// precision. (At d=4-6 the `f32` runs favoured lanes up to 320 KiB too, the `f64` ones were
/// mixed: not taken.)
const MAX_FORWARD_SHORT_ROWS_STATE_BYTES: usize = 320 << 10;
/// See [`MAX_FORWARD_SHORT_ROWS_STATE_BYTES`].
const SHORT_ROWS_MAX_DIM: usize = 3;
/// The same for gradients, whose lane kernels store nothing per coefficient of the top level:
/// lanes win by 1.2-2x up to d=8, N=4, d=6, N=5 and d=3, N=8 (150-315 KiB; at d=6, N=5 in
/// `f32` only, `f64` breaks even) and lose from d=5, N=6 (625 KiB) in `f64`.
const MAX_BACKWARD_STATE_BYTES: usize = 512 << 10;

/// Which way a computation runs through the path.
#[derive(Clone, Copy, Debug)]
pub(super) enum Pass {
    /// Signatures.
    Forward,
    /// Their gradients.
    Backward,
}

/// Whether `pass` over the signatures of `paths` (transformed, of `layout`) runs
/// lanes-at-a-time.
pub(super) fn suits<T: Scalar>(
    paths: &Paths<'_, T>,
    layout: Layout,
    transform: &PathTransform,
    pass: Pass,
) -> bool {
    let limit = match pass {
        Pass::Forward if layout.dim() <= SHORT_ROWS_MAX_DIM => MAX_FORWARD_SHORT_ROWS_STATE_BYTES,
        Pass::Forward => MAX_FORWARD_STATE_BYTES,
        Pass::Backward => MAX_BACKWARD_STATE_BYTES,
    };
    let lanes = lanes_for(paths, layout, transform, pass);
    layout
        .len()
        .saturating_mul(lanes * std::mem::size_of::<T>())
        <= limit
}

/// Jobs per pass of `pass` over `paths`. Signatures count every piece their paths could be cut
/// into, since pieces cost only their joins (a Chen product each): one-letter and two-letter
/// paths too few to fill wide lanes are cut to fill them (4x2000x2 N=7: 1.15-1.2x faster).
/// Gradients count whole paths: their pieces would cost a whole extra pass for the pieces'
/// signatures.
fn lanes_for<T: Scalar>(
    paths: &Paths<'_, T>,
    layout: Layout,
    transform: &PathTransform,
    pass: Pass,
) -> usize {
    let jobs = match pass {
        Pass::Forward => {
            let steps = transform.increments(paths.len());
            paths
                .batch()
                .saturating_mul((steps / pass.min_steps_per_piece()).max(1))
        }
        Pass::Backward => paths.batch(),
    };
    jobs_per_pass::<T>(layout.dim(), jobs)
}

/// How many pieces each path is cut into so that the jobs fill every lane of every thread.
fn pieces_per_path(
    batch: usize,
    steps: usize,
    lanes: usize,
    threads: Threads,
    pass: Pass,
) -> usize {
    let wanted = (lanes * threads.count()).div_ceil(batch.max(1));
    wanted.min(steps / pass.min_steps_per_piece()).max(1)
}

/// The jobs: each path's increments (its own, in a ragged batch), cut into `pieces` consecutive
/// runs.
fn jobs<'p, T: Copy>(
    paths: &Paths<'p, T>,
    transform: &PathTransform,
    pieces: usize,
) -> Vec<Job<'p, T>> {
    (0..paths.batch())
        .flat_map(|b| {
            let path = paths.path(b);
            let steps = transform.increments(path.len());
            (0..pieces).map(move |p| Job {
                path,
                steps: steps * p / pieces..steps * (p + 1) / pieces,
            })
        })
        .collect()
}

/// How a batch goes onto the lanes of the signature and gradient passes.
struct Plan<'p, T> {
    /// Jobs per pass.
    lanes: usize,
    /// Pieces each path is cut into.
    pieces: usize,
    /// Every path's pieces, path by path.
    jobs: Vec<Job<'p, T>>,
}

/// The [`Plan`] for `paths`: as many jobs per pass as fill the lanes, and paths cut so that
/// the jobs fill every lane of every thread.
fn plan<'p, T: Scalar>(
    paths: &Paths<'p, T>,
    layout: Layout,
    transform: &PathTransform,
    threads: Threads,
    pass: Pass,
) -> Plan<'p, T> {
    let lanes = lanes_for(paths, layout, transform, pass);
    let steps = transform.increments(paths.len());
    let pieces = pieces_per_path(paths.batch(), steps, lanes, threads, pass);
    Plan {
        lanes,
        pieces,
        jobs: jobs(paths, transform, pieces),
    }
}

/// [`crate::sig()`] for layouts that [`suits`]: writes levels `1..=N` of every path's signature
/// into `tails[b]` (the caller has set any scalar term).
pub(super) fn sig<T: Scalar>(
    paths: &Paths<'_, T>,
    layout: Layout,
    transform: &PathTransform,
    threads: Threads,
    tails: &mut [&mut [T]],
) -> Result<()> {
    let Plan {
        lanes,
        pieces,
        jobs,
    } = plan(paths, layout, transform, threads, Pass::Forward);
    if pieces == 1 || layout.len() == 0 {
        return run_groups(
            threads,
            layout,
            Pass::Forward,
            &jobs,
            tails,
            lanes,
            |ws, range, outs| signatures(layout, transform, &jobs[range], outs, ws),
        );
    }
    let piece_sigs = piece_signatures(layout, transform, threads, &jobs, lanes, layout.degree())?;
    let mut joined = try_zeroed::<T>("signatures of path pieces", layout.len())?;
    for (tail, pieces) in tails
        .iter_mut()
        .zip(piece_sigs.chunks_exact(pieces * layout.len()))
    {
        join_pieces(layout, pieces, tail, &mut joined);
    }
    Ok(())
}

/// The signatures of `jobs` (pieces of paths), one row of `layout.len()` each, levels
/// `1..=through` (`through ≤ N`; the levels above stay zero).
fn piece_signatures<T: Scalar>(
    layout: Layout,
    transform: &PathTransform,
    threads: Threads,
    jobs: &[Job<'_, T>],
    lanes: usize,
    through: usize,
) -> Result<Vec<T>> {
    let mut piece_sigs = try_zeroed::<T>("signatures of path pieces", jobs.len() * layout.len())?;
    // Levels 1..=through lead every row, laid out as in `layout`.
    let lower = Layout::new(layout.dim(), through)?;
    let mut rows: Vec<&mut [T]> = piece_sigs
        .chunks_exact_mut(layout.len())
        .map(|row| &mut row[..lower.len()])
        .collect();
    run_groups(
        threads,
        lower,
        Pass::Forward,
        jobs,
        &mut rows,
        lanes,
        |ws, range, outs| signatures(lower, transform, &jobs[range], outs, ws),
    )?;
    Ok(piece_sigs)
}

/// [`crate::sig_backprop`] for layouts that [`suits`]: writes into `d_paths[b]` the gradient of
/// `<grads[b], S_b>`, where `sigs[b]` (levels `1..=N`) is path `b`'s signature.
pub(super) fn sig_backprop<T: Scalar>(
    paths: &Paths<'_, T>,
    layout: Layout,
    transform: &PathTransform,
    threads: Threads,
    sigs: &[&[T]],
    grads: &[&[T]],
    d_paths: &mut [&mut [T]],
) -> Result<()> {
    let Plan {
        lanes,
        pieces,
        jobs,
    } = plan(paths, layout, transform, threads, Pass::Backward);
    for d_path in d_paths.iter_mut() {
        d_path.fill(T::ZERO);
    }
    if pieces == 1 {
        // The given signatures are where the walk back starts.
        return run_groups(
            threads,
            layout,
            Pass::Backward,
            &jobs,
            d_paths,
            lanes,
            |ws, range, outs| {
                let (ends, grads) = (&sigs[range.clone()], &grads[range.clone()]);
                signature_backwards(layout, transform, &jobs[range], ends, grads, outs, ws)
            },
        );
    }
    // Pieces: their signatures, then each piece's share of the gradient through the joins. Both
    // read the pieces' levels below the top only (a level-k coefficient of a gradient pairs
    // with levels of the other pieces summing to at most N - k; the walks back never read the
    // top level), and the top level is most of a signature's cost: it is not computed.
    let len = layout.len();
    let through = layout.degree().saturating_sub(1).max(1);
    let piece_sigs = piece_signatures(layout, transform, threads, &jobs, lanes, through)?;
    let mut piece_grads = try_zeroed::<T>("gradients of path pieces", jobs.len() * len)?;
    let mut scratch = try_zeroed::<T>("gradients of path pieces", 5 * len)?;
    for ((sig_pieces, grad_pieces), grad) in piece_sigs
        .chunks_exact(pieces * len)
        .zip(piece_grads.chunks_exact_mut(pieces * len))
        .zip(grads)
    {
        split_gradient(layout, sig_pieces, grad, grad_pieces, &mut scratch);
    }
    // Each piece writes its own path-sized gradient; pieces of one path are summed after.
    let path_len = paths.len() * paths.dim();
    let mut piece_d = try_zeroed::<T>("gradients of path pieces", jobs.len() * path_len)?;
    let mut piece_rows: Vec<&mut [T]> = piece_d.chunks_exact_mut(path_len).collect();
    let ends: Vec<&[T]> = piece_sigs.chunks_exact(len).collect();
    let piece_g: Vec<&[T]> = piece_grads.chunks_exact(len).collect();
    run_groups(
        threads,
        layout,
        Pass::Backward,
        &jobs,
        &mut piece_rows,
        lanes,
        |ws, range, outs| {
            let (ends, grads) = (&ends[range.clone()], &piece_g[range.clone()]);
            signature_backwards(layout, transform, &jobs[range], ends, grads, outs, ws)
        },
    )?;
    for (d_path, parts) in d_paths
        .iter_mut()
        .zip(piece_d.chunks_exact(pieces * path_len))
    {
        for part in parts.chunks_exact(path_len) {
            for (o, &v) in d_path.iter_mut().zip(part) {
                *o += v;
            }
        }
    }
    Ok(())
}

/// [`crate::sig_with`]'s streams for layouts that [`suits`]: writes into `rows[b]` the signature
/// of path `b` after each increment, in rows of `stride` values (levels `1..=N` last, after a
/// scalar term 1 when `stride` leaves room). Streams are not cut in time: each prefix of a
/// piece would need a Chen product with the pieces before it.
pub(super) fn sig_stream<T: Scalar>(
    paths: &Paths<'_, T>,
    layout: Layout,
    transform: &PathTransform,
    threads: Threads,
    stride: usize,
    rows: &mut [&mut [T]],
) -> Result<()> {
    let lanes = jobs_per_pass::<T>(layout.dim(), paths.batch());
    let jobs = jobs(paths, transform, 1);
    run_groups(
        threads,
        layout,
        Pass::Forward,
        &jobs,
        rows,
        lanes,
        |ws, range, outs| signature_streams(layout, transform, &jobs[range], outs, stride, ws),
    )
}

/// The gradient of [`sig_stream`]'s rows for layouts that [`suits`]: writes into `d_paths[b]` the
/// gradient of `Σ_t <grads[b]_t, S_(b,t)>`, `sigs[b]` and `grads[b]` holding path `b`'s rows.
#[allow(clippy::too_many_arguments)]
pub(super) fn sig_stream_backprop<T: Scalar>(
    paths: &Paths<'_, T>,
    layout: Layout,
    transform: &PathTransform,
    threads: Threads,
    stride: usize,
    sigs: &[&[T]],
    grads: &[&[T]],
    d_paths: &mut [&mut [T]],
) -> Result<()> {
    let lanes = jobs_per_pass::<T>(layout.dim(), paths.batch());
    let jobs = jobs(paths, transform, 1);
    for d_path in d_paths.iter_mut() {
        d_path.fill(T::ZERO);
    }
    run_groups(
        threads,
        layout,
        Pass::Backward,
        &jobs,
        d_paths,
        lanes,
        |ws, range, outs| {
            let (sigs, grads) = (&sigs[range.clone()], &grads[range.clone()]);
            signature_stream_backwards(
                layout,
                transform,
                &jobs[range],
                sigs,
                grads,
                stride,
                outs,
                ws,
            )
        },
    )
}

/// The directional derivatives of signatures and of their gradients, one path per lane: writes
/// into `jvps[b]` `dS_b[v_b]` and into `hvps[b]` the Hessian of `<grads[b], S_b>` applied to
/// `v_b`, the direction being path `b` of `directions`.
#[allow(clippy::too_many_arguments)]
pub(super) fn sig_backprop_jvp<T: Scalar>(
    paths: &Paths<'_, T>,
    directions: &Paths<'_, T>,
    layout: Layout,
    transform: &PathTransform,
    threads: Threads,
    grads: &[&[T]],
    jvps: &mut [&mut [T]],
    hvps: &mut [&mut [T]],
) -> Result<()> {
    let (lanes, len) = (lane_count::<T>(), layout.len());
    let path_len = paths.len() * paths.dim();
    let jobs = jobs(paths, transform, 1);
    let mut outputs: Vec<(&mut [T], &mut [T])> = jvps
        .iter_mut()
        .zip(hvps.iter_mut())
        .map(|(j, h)| (&mut **j, &mut **h))
        .collect();
    run_groups(
        threads,
        layout,
        Pass::Backward,
        &jobs,
        &mut outputs,
        lanes,
        |ws, range, outs| {
            let count = range.len();
            let dirs: Vec<_> = range.clone().map(|b| directions.path(b)).collect();
            let (mut jv, mut hv): (Vec<&mut [T]>, Vec<&mut [T]>) =
                outs.iter_mut().map(|(j, h)| (&mut **j, &mut **h)).unzip();
            // The real parts the dual passes compute on the way: signatures and gradients.
            let mut ends = vec![T::ZERO; count * len];
            let mut gradients = vec![T::ZERO; count * path_len];
            let mut end_rows: Vec<&mut [T]> = ends.chunks_exact_mut(len).collect();
            signature_jvps(
                layout,
                transform,
                &jobs[range.clone()],
                &dirs,
                &mut end_rows,
                &mut jv,
                ws,
            );
            let ends: Vec<&[T]> = ends.chunks_exact(len).collect();
            let tangents: Vec<&[T]> = jv.iter().map(|t| &**t).collect();
            let mut gradient_rows: Vec<&mut [T]> = gradients.chunks_exact_mut(path_len).collect();
            for h in hv.iter_mut() {
                h.fill(T::ZERO);
            }
            let jobs = &jobs[range.clone()];
            signature_hvps(
                layout,
                transform,
                jobs,
                &dirs,
                &ends,
                &tangents,
                &grads[range],
                &mut gradient_rows,
                &mut hv,
                ws,
            );
        },
    )
}

/// Given the signatures `S_1 … S_P` of consecutive pieces of a path (`pieces`, `len` each) and
/// the gradient `grad` of `S = S_1 ⊗ … ⊗ S_P`, writes the gradient with respect to each `S_c`
/// into `out`. With prefix and suffix products `S = P_(c-1) ⊗ Q_c` and `Q_c = S_c ⊗ Q_(c+1)`,
/// it is the adjoint of the first product with respect to `Q_c`, then of the second with respect
/// to `S_c`. `scratch` holds `5·len`.
fn split_gradient<T: Scalar>(
    layout: Layout,
    pieces: &[T],
    grad: &[T],
    out: &mut [T],
    scratch: &mut [T],
) {
    let len = layout.len();
    let count = pieces.len() / len;
    let piece = |c: usize| &pieces[c * len..(c + 1) * len];
    let (prefix, rest) = scratch.split_at_mut(len);
    let (d_suffix, rest) = rest.split_at_mut(len);
    let (d_piece, rest) = rest.split_at_mut(len);
    let (unused, joined) = rest.split_at_mut(len);
    // The suffixes Q_c, kept in `out` until each has been used.
    out[(count - 1) * len..].copy_from_slice(piece(count - 1));
    for c in (0..count - 1).rev() {
        let (head, tail) = out.split_at_mut((c + 1) * len);
        product(layout, piece(c), &tail[..len], &mut head[c * len..]);
    }
    prefix.fill(T::ZERO); // P_0 = 1: every level above the scalar term zero
    for c in 0..count {
        let (head, tail) = out.split_at_mut((c + 1) * len);
        let slot = &mut head[c * len..];
        product_backward(layout, grad, prefix, slot, unused, d_suffix);
        if c + 1 < count {
            product_backward(layout, d_suffix, piece(c), &tail[..len], d_piece, unused);
            slot.copy_from_slice(d_piece);
        } else {
            slot.copy_from_slice(d_suffix);
        }
        product(layout, prefix, piece(c), joined);
        prefix.copy_from_slice(joined);
    }
}

/// Runs `work(workspace, jobs, outputs)` on consecutive groups of `lanes` jobs, each with its
/// index range in `jobs` and the matching outputs, across `threads`.
fn run_groups<'p, T, O>(
    threads: Threads,
    layout: Layout,
    pass: Pass,
    jobs: &[Job<'p, T>],
    outputs: &mut [O],
    lanes: usize,
    work: impl Fn(&mut LaneWorkspace<T>, std::ops::Range<usize>, &mut [O]) + Sync,
) -> Result<()>
where
    T: Scalar,
    O: Send,
{
    debug_assert_eq!(jobs.len(), outputs.len());
    let groups = outputs
        .chunks_mut(lanes)
        .enumerate()
        .map(|(g, outs)| (g * lanes..g * lanes + outs.len(), outs));
    // Only the gradient passes walk back, with buffers as large as the state.
    let gradients = matches!(pass, Pass::Backward);
    if threads.count() == 1 || jobs.len() <= lanes {
        return with_cached_workspace(layout, gradients, |ws| {
            groups.for_each(|(range, outs)| work(ws, range, outs))
        });
    }
    let groups: Vec<_> = groups.collect();
    threads.install(|| {
        groups.into_par_iter().try_for_each_init(
            || LaneWorkspace::new(layout, gradients),
            |ws, (range, outs)| {
                let ws = ws.as_mut().map_err(|e| e.clone())?;
                work(ws, range, outs);
                Ok(())
            },
        )
    })?
}

/// Workspaces up to this many scalars are kept for the thread's next call.
const CACHED_WORKSPACE_SCALARS: usize = 128 << 10;

thread_local! {
    /// The calling thread's last small lane workspace (of either scalar type).
    static WORKSPACE: RefCell<Option<Box<dyn Any>>> = const { RefCell::new(None) };
}

/// Runs `work` with a lane workspace for `layout`, the thread's cached one when it serves.
/// A small signature's lanes run in well under a microsecond, less than allocating and zeroing
/// their workspace (and building its word reversal) costs: keeping the last one cuts the fixed
/// cost of a one-path call by about half. A nested call finds the cache empty and allocates.
fn with_cached_workspace<T: Scalar, R>(
    layout: Layout,
    gradients: bool,
    work: impl FnOnce(&mut LaneWorkspace<T>) -> R,
) -> Result<R> {
    let cached = WORKSPACE
        .with(|cache| cache.borrow_mut().take())
        .and_then(|ws| ws.downcast::<LaneWorkspace<T>>().ok())
        .filter(|ws| ws.serves(layout, gradients));
    let mut ws = match cached {
        Some(ws) => ws,
        None => Box::new(LaneWorkspace::new(layout, gradients)?),
    };
    let result = work(&mut ws);
    if ws.scalars() <= CACHED_WORKSPACE_SCALARS {
        WORKSPACE.with(|cache| *cache.borrow_mut() = Some(ws));
    }
    Ok(result)
}
