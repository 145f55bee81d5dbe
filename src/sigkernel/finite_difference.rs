//! The finite-difference solver of the Goursat problem `∂²k/∂s∂t = k · ∂²κ` on a dyadically
//! refined grid, and its exact adjoint, for a lane group of pairs at a time.
//!
//! Each coarse cell `(i, j)` of the two paths' grid is cut into `2^λ1 × 2^λ2` fine cells that
//! share `ρ = G[i, j] / 2^(λ1 + λ2)`, and every fine cell is updated by the explicit
//! second-order scheme of Salvi et al. (the `sigkernel` package), as pysiglib does:
//!
//! ```text
//! K[r+1, c+1] = (K[r+1, c] + K[r, c+1]) A - K[r, c] B,   A = 1 + ρ/2 + ρ²/12,  B = 1 - ρ²/12
//! ```
//!
//! from `K = 1` on both axes. Written as `A K[r+1, c] + (A K[r, c+1] - B K[r, c])`, only one
//! multiply-add per cell waits on the cell before it.
//!
//! The adjoint runs the same kind of sweep backwards: the gradient `Λ` with respect to the grid
//! obeys `Λ[r, c] = E[r, c] + A_{r-1,c} Λ[r, c+1] + A_{r,c-1} Λ[r+1, c] - B_{r,c} Λ[r+1, c+1]`
//! (`E` the gradient given for the grid itself, `X_{r,c}` cell `(r, c)`'s coefficient), and each
//! cell's `ρ` collects `Λ[r+1, c+1] ((K[r+1, c] + K[r, c+1])(1/2 + ρ/6) + K[r, c] ρ/6)`. It needs
//! `K` again, row by row from the top: rows are recomputed from checkpoints a block at a time
//! (or read from a stored grid), so memory stays `O(√rows × columns)` per pair rather than the
//! whole grid's.

use super::increments::Increments;
use super::math::Real;
use super::pack::Pack;
use super::{RowSink, RowSource};
use crate::buffer::AlignedBuf;
use crate::error::Result;
use crate::simd::{Simd, Vectorize};

/// The refined grid of one pair of paths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Dyadic {
    /// Coarse cells along each path: one fewer than its points.
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    /// The dyadic orders λ1, λ2.
    pub(crate) orders: (u32, u32),
}

impl Dyadic {
    /// Fine cells along the first path.
    pub(crate) fn fine_rows(&self) -> usize {
        self.rows << self.orders.0
    }
    /// Fine cells along the second path.
    pub(crate) fn fine_cols(&self) -> usize {
        self.cols << self.orders.1
    }
    /// Fine cells per coarse cell, along each path.
    fn sub(&self) -> (usize, usize) {
        (1 << self.orders.0, 1 << self.orders.1)
    }
}

/// Values stored per coarse column of a coefficient row: `A`, `-B`, `1/2 + ρ/6`, `ρ/6`.
const COEFFICIENTS: usize = 4;

/// Bytes of grid rows a group may keep for the adjoint before it recomputes rows from
/// checkpoints instead: below this, one forward pass stores every row.
const GRID_BUDGET_BYTES: usize = 8 << 20;

/// Scratch for one lane group.
#[derive(Debug)]
pub(crate) struct Workspace<T> {
    width: usize,
    grid: Dyadic,
    /// Fine rows between checkpoints (the adjoint's blocks).
    block: usize,
    /// One row of raw increments.
    increments: AlignedBuf<T>,
    /// Coefficient rows: `slots` coarse rows of `cols × COEFFICIENTS × width`.
    coefficients: AlignedBuf<T>,
    /// Grid rows: two going forwards; checkpoints then one block going backwards.
    checkpoints: AlignedBuf<T>,
    rows: AlignedBuf<T>,
    /// The adjoint's two rows of `Λ`, a row of `E` and the `ρ` gradients of a coarse row.
    lambda: [AlignedBuf<T>; 2],
    extra: AlignedBuf<T>,
    rho_grad: AlignedBuf<T>,
}

impl<T: Real> Workspace<T> {
    /// Scratch for `grid`s of `width` pairs, for the forward pass or (`backward`) both.
    pub(crate) fn new(grid: Dyadic, width: usize, backward: bool) -> Result<Self> {
        let points = grid.fine_cols() + 1;
        let fine_rows = grid.fine_rows();
        let row_bytes = points * width * std::mem::size_of::<T>();
        let block = if !backward || fine_rows == 0 {
            1
        } else if (fine_rows + 1) * row_bytes <= GRID_BUDGET_BYTES {
            fine_rows
        } else {
            let root = (fine_rows as f64).sqrt().ceil() as usize;
            root.max(GRID_BUDGET_BYTES / 2 / row_bytes)
                .clamp(1, fine_rows)
        };
        let blocks = fine_rows.div_ceil(block).max(1);
        let buf = |n: usize| AlignedBuf::zeroed("signature kernel grid rows", n * width);
        let coefficient_rows = if backward {
            (block >> grid.orders.0) + 3
        } else {
            1
        };
        Ok(Workspace {
            width,
            grid,
            block,
            increments: buf(grid.cols)?,
            coefficients: buf(coefficient_rows * grid.cols * COEFFICIENTS)?,
            checkpoints: buf(if backward && blocks > 1 {
                blocks * points
            } else {
                0
            })?,
            rows: buf(if backward {
                (block + 1) * points
            } else {
                2 * points
            })?,
            lambda: [
                buf(if backward { points } else { 0 })?,
                buf(if backward { points } else { 0 })?,
            ],
            extra: buf(if backward { points } else { 0 })?,
            rho_grad: buf(if backward { grid.cols } else { 0 })?,
        })
    }
}

/// Coefficients of coarse row `i` into `out` (`cols × COEFFICIENTS × width`).
#[inline(always)]
fn coefficients<S: Simd, T: Real + Vectorize<S>>(
    increments: &mut impl Increments<T>,
    i: usize,
    grid: Dyadic,
    raw: &mut [T],
    out: &mut [T],
) {
    let w = Pack::<S, T>::WIDTH;
    increments.row::<S>(i, raw);
    assert!(raw.len() >= grid.cols * w && out.len() >= grid.cols * COEFFICIENTS * w);
    let scale = Pack::<S, T>::splat(T::from_f64(
        (-f64::from(grid.orders.0 + grid.orders.1)).exp2(),
    ));
    let (one, half) = (Pack::splat(T::ONE), Pack::splat(T::from_f64(0.5)));
    let (sixth, twelfth) = (
        Pack::splat(T::from_f64(1.0 / 6.0)),
        Pack::splat(T::from_f64(1.0 / 12.0)),
    );
    let (src, dst) = (raw.as_ptr(), out.as_mut_ptr());
    for j in 0..grid.cols {
        // SAFETY: j < cols points of both rows (asserted).
        unsafe {
            let rho = Pack::<S, T>::load(src.add(j * w)) * scale;
            let rho2 = rho * rho * twelfth;
            let at = dst.add(j * COEFFICIENTS * w);
            (rho.mul_add(half, one) + rho2).store(at);
            (rho2 - one).store(at.add(w));
            rho.mul_add(sixth, half).store(at.add(2 * w));
            (rho * sixth).store(at.add(3 * w));
        }
    }
}

/// Fine row `r + 1` (`above`) from fine row `r` (`below`), with the coefficients of its
/// coarse row.
#[inline(always)]
fn advance<S: Simd, T: Real + Vectorize<S>>(
    grid: Dyadic,
    coefficients: &[T],
    below: &[T],
    above: &mut [T],
) {
    let w = Pack::<S, T>::WIDTH;
    let (_, sub) = grid.sub();
    let points = grid.fine_cols() + 1;
    assert!(below.len() >= points * w && above.len() >= points * w);
    assert!(coefficients.len() >= grid.cols * COEFFICIENTS * w);
    let (coef, lo, hi) = (coefficients.as_ptr(), below.as_ptr(), above.as_mut_ptr());
    // SAFETY: every offset is a point c <= fine_cols of a row of `points`, or a coarse column
    // < cols of the coefficients (asserted).
    unsafe {
        let mut left = Pack::<S, T>::splat(T::ONE);
        left.store(hi);
        let mut below_left = Pack::<S, T>::load(lo);
        for jc in 0..grid.cols {
            let a = Pack::<S, T>::load(coef.add(jc * COEFFICIENTS * w));
            let neg_b = Pack::<S, T>::load(coef.add((jc * COEFFICIENTS + 1) * w));
            for f in 0..sub {
                let c = jc * sub + f + 1;
                let below_here = Pack::<S, T>::load(lo.add(c * w));
                let rest = a.mul_add(below_here, neg_b * below_left);
                left = a.mul_add(left, rest);
                left.store(hi.add(c * w));
                below_left = below_here;
            }
        }
    }
}

/// Solves the PDE for a lane group, handing every fine row (lane-major, `fine_cols + 1`
/// points) to `row_out` when given, and returns the last row (whose last point is the kernel).
#[inline(always)]
pub(crate) fn forward<'w, S: Simd, T: Real + Vectorize<S>>(
    increments: &mut impl Increments<T>,
    ws: &'w mut Workspace<T>,
    mut row_out: Option<&mut RowSink<'_, T>>,
) -> &'w [T] {
    let (grid, w) = (ws.grid, ws.width);
    let (sub_rows, _) = grid.sub();
    let points = grid.fine_cols() + 1;
    let (first, second) = ws.rows.split_at_mut(points * w);
    let (mut below, mut above) = (first, &mut second[..points * w]);
    below.fill(T::ONE);
    if let Some(out) = row_out.as_mut() {
        out(0, below);
    }
    for i in 0..grid.rows {
        coefficients::<S, T>(
            increments,
            i,
            grid,
            &mut ws.increments,
            &mut ws.coefficients,
        );
        for f in 0..sub_rows {
            advance::<S, T>(grid, &ws.coefficients, below, above);
            if let Some(out) = row_out.as_mut() {
                out(i * sub_rows + f + 1, above);
            }
            std::mem::swap(&mut below, &mut above);
        }
    }
    // After the last swap, `below` holds the last row; it is one of the two halves.
    let last_is_first = grid.fine_rows() % 2 == 0;
    if last_is_first {
        &ws.rows[..points * w]
    } else {
        &ws.rows[points * w..2 * points * w]
    }
}

/// The gradient the adjoint starts from.
#[derive(Clone, Copy)]
pub(crate) enum Seed<'a, T> {
    /// `∂F/∂k = 1` for every lane's kernel value (the grid's last point).
    Corner,
    /// `∂F/∂K` for the whole grid: writes fine row `r` of every lane's, lane-major.
    Grid(&'a RowSource<'a, T>),
}

/// Adds to `acc` (one coarse row's `ρ` gradients, `cols × width`) the contributions of the
/// fine cells of row `r`, from grid rows `r` (`k_lo`) and `r + 1` (`k_hi`) and the gradient
/// `lam_hi` of row `r + 1`.
#[inline(always)]
fn cell_gradients<S: Simd, T: Real + Vectorize<S>>(
    grid: Dyadic,
    coefficients: &[T],
    k_lo: &[T],
    k_hi: &[T],
    lam_hi: &[T],
    acc: &mut [T],
) {
    let w = Pack::<S, T>::WIDTH;
    let (_, sub) = grid.sub();
    let points = grid.fine_cols() + 1;
    assert!([k_lo, k_hi, lam_hi].iter().all(|r| r.len() >= points * w));
    assert!(coefficients.len() >= grid.cols * COEFFICIENTS * w && acc.len() >= grid.cols * w);
    let (coef, lo, hi, lam, out) = (
        coefficients.as_ptr(),
        k_lo.as_ptr(),
        k_hi.as_ptr(),
        lam_hi.as_ptr(),
        acc.as_mut_ptr(),
    );
    // SAFETY: points c + 1 <= fine_cols of rows of `points`, coarse columns < cols (asserted).
    unsafe {
        for jc in 0..grid.cols {
            let at = coef.add(jc * COEFFICIENTS * w);
            let (p, q) = (Pack::<S, T>::load(at.add(2 * w)), Pack::load(at.add(3 * w)));
            let mut sum = Pack::<S, T>::load(out.add(jc * w));
            for f in 0..sub {
                let c = jc * sub + f;
                let sides = Pack::<S, T>::load(hi.add(c * w)) + Pack::load(lo.add((c + 1) * w));
                let t = p.mul_add(sides, q * Pack::load(lo.add(c * w)));
                sum = Pack::<S, T>::load(lam.add((c + 1) * w)).mul_add(t, sum);
            }
            sum.store(out.add(jc * w));
        }
    }
}

/// Row `r` of the grid's gradient `Λ` into `lam`: from its own given gradient `extra`, the
/// cells of row `r - 1` (`below`: their `A`) and, unless `r` is the top row (`lam_hi` absent),
/// row `r + 1`'s gradient and the cells of row `r` (`current`).
#[inline(always)]
fn adjoint_row<S: Simd, T: Real + Vectorize<S>>(
    grid: Dyadic,
    below: &[T],
    current: &[T],
    lam_hi: Option<&[T]>,
    extra: Option<&[T]>,
    lam: &mut [T],
) {
    let w = Pack::<S, T>::WIDTH;
    let (_, sub) = grid.sub();
    let last = grid.fine_cols();
    let coefficient_len = grid.cols * COEFFICIENTS * w;
    assert!(below.len() >= coefficient_len && current.len() >= coefficient_len);
    assert!(lam.len() > last * w);
    assert!([lam_hi, extra].iter().flatten().all(|r| r.len() > last * w));
    let zero = Pack::<S, T>::splat(T::ZERO);
    let (below, current, out) = (below.as_ptr(), current.as_ptr(), lam.as_mut_ptr());
    let above = lam_hi.is_some();
    // SAFETY (every block below): points c <= last of rows of last + 1 points, coarse columns
    // < cols of the coefficient rows (asserted).
    unsafe {
        let mut right = Pack::<S, T>::at_or_zero(extra, last);
        if above && grid.cols > 0 {
            let a = coefficient::<S, T>(current, grid.cols - 1, 0);
            right = a.mul_add(Pack::at_or_zero(lam_hi, last), right);
        }
        right.store_at(out, last);
        for jc in (0..grid.cols).rev() {
            let a_below = coefficient::<S, T>(below, jc, 0);
            let a_here = coefficient::<S, T>(current, jc, 0);
            let neg_b_here = coefficient::<S, T>(current, jc, 1);
            let a_before = if jc > 0 {
                coefficient::<S, T>(current, jc - 1, 0)
            } else {
                zero
            };
            for f in (0..sub).rev() {
                let c = jc * sub + f;
                if c == 0 {
                    break;
                }
                let mut v = Pack::<S, T>::at_or_zero(extra, c);
                if above {
                    let a_left = if f > 0 { a_here } else { a_before };
                    let up = Pack::<S, T>::at_or_zero(lam_hi, c);
                    let up_right = Pack::<S, T>::at_or_zero(lam_hi, c + 1);
                    v = a_left.mul_add(up, neg_b_here.mul_add(up_right, v));
                }
                right = a_below.mul_add(right, v);
                right.store_at(out, c);
            }
        }
        zero.store(out);
    }
}

/// Value `k` of coarse column `jc` of a coefficient row.
///
/// # Safety
/// The coefficient row must hold column `jc`.
#[inline(always)]
unsafe fn coefficient<S: Simd, T: Real + Vectorize<S>>(
    row: *const T,
    jc: usize,
    k: usize,
) -> Pack<S, T> {
    // SAFETY: forwarded to the caller.
    unsafe { Pack::at(row, jc * COEFFICIENTS + k) }
}

/// Hands the `ρ` gradients of coarse row `ic`, scaled to increment gradients, to `increments`.
#[inline(always)]
fn flush<S: Simd, T: Real + Vectorize<S>>(
    increments: &mut impl Increments<T>,
    ic: usize,
    scale: T,
    acc: &mut [T],
) {
    acc.iter_mut().for_each(|v| *v *= scale);
    increments.add_row_gradient::<S>(ic, acc);
}

/// The gradient of the lane group's kernels (`seed`) with respect to their increments, handed
/// row by row to `increments` (then [`Increments::finish`]). Grid rows come from `stored`
/// when given (pysiglib's `k_grid`), else they are recomputed.
#[inline(always)]
pub(crate) fn backward<S: Simd, T: Real + Vectorize<S>>(
    increments: &mut impl Increments<T>,
    ws: &mut Workspace<T>,
    seed: Seed<'_, T>,
    stored: Option<&RowSource<'_, T>>,
) {
    let Workspace {
        width: w,
        grid,
        block,
        increments: raw,
        coefficients: coef,
        checkpoints,
        rows,
        lambda,
        extra,
        rho_grad,
    } = ws;
    let (grid, w, block) = (*grid, *w, *block);
    if grid.rows == 0 || grid.cols == 0 {
        increments.finish::<S>();
        return;
    }
    let (l1, _) = grid.orders;
    let (sub_rows, _) = grid.sub();
    let fine_rows = grid.fine_rows();
    let points = grid.fine_cols() + 1;
    let row_len = points * w;
    let coef_len = grid.cols * COEFFICIENTS * w;
    let blocks = fine_rows.div_ceil(block);

    // Checkpoints: every `block`-th row, from one forward pass.
    if stored.is_none() && blocks > 1 {
        let (first, rest) = rows.split_at_mut(row_len);
        let (mut below, mut above) = (first, &mut rest[..row_len]);
        below.fill(T::ONE);
        for i in 0..grid.rows {
            coefficients::<S, T>(increments, i, grid, raw, &mut coef[..coef_len]);
            for f in 0..sub_rows {
                let r = i * sub_rows + f;
                if r % block == 0 {
                    checkpoints[(r / block) * row_len..][..row_len].copy_from_slice(below);
                }
                advance::<S, T>(grid, &coef[..coef_len], below, above);
                std::mem::swap(&mut below, &mut above);
            }
        }
    }

    let scale = T::from_f64((-f64::from(grid.orders.0 + grid.orders.1)).exp2());
    let [lam_hi, lam] = lambda;
    let mut acc_row: Option<usize> = None;
    for b in (0..blocks).rev() {
        let (r0, r1) = (b * block, ((b + 1) * block).min(fine_rows));
        let ic_lo = (r0.max(1) - 1) >> l1;
        let ic_hi = (r1 - 1) >> l1;
        for ic in ic_lo..=ic_hi {
            let slot = &mut coef[(ic - ic_lo) * coef_len..][..coef_len];
            coefficients::<S, T>(increments, ic, grid, raw, slot);
        }
        let coef_of = |ic: usize| &coef[(ic - ic_lo) * coef_len..][..coef_len];
        // Grid rows r0..=r1.
        match stored {
            Some(read) => {
                for r in r0..=r1 {
                    read(r, &mut rows[(r - r0) * row_len..][..row_len]);
                }
            }
            None => {
                let start = &mut rows[..row_len];
                if b == 0 {
                    start.fill(T::ONE);
                } else {
                    start.copy_from_slice(&checkpoints[b * row_len..][..row_len]);
                }
                for r in r0..r1 {
                    let (done, next) = rows.split_at_mut((r + 1 - r0) * row_len);
                    let below = &done[(r - r0) * row_len..];
                    advance::<S, T>(grid, coef_of(r >> l1), below, &mut next[..row_len]);
                }
            }
        }
        if b == blocks - 1 {
            // The top row: its given gradient, passed along the row by the cells below.
            let given = match seed {
                Seed::Corner => {
                    extra.fill(T::ZERO);
                    extra[(points - 1) * w..row_len].fill(T::ONE);
                    &extra[..]
                }
                Seed::Grid(read) => {
                    read(fine_rows, extra);
                    &extra[..]
                }
            };
            let below = coef_of((fine_rows - 1) >> l1);
            adjoint_row::<S, T>(grid, below, below, None, Some(given), lam_hi);
        }
        for r in (r0..r1).rev() {
            let ic = r >> l1;
            if acc_row != Some(ic) {
                if let Some(done) = acc_row {
                    flush::<S, T>(increments, done, scale, &mut rho_grad[..grid.cols * w]);
                }
                rho_grad.fill(T::ZERO);
                acc_row = Some(ic);
            }
            let k_lo = &rows[(r - r0) * row_len..][..row_len];
            let k_hi = &rows[(r + 1 - r0) * row_len..][..row_len];
            cell_gradients::<S, T>(grid, coef_of(ic), k_lo, k_hi, lam_hi, rho_grad);
            if r >= 1 {
                let given = match seed {
                    Seed::Corner => None,
                    Seed::Grid(read) => {
                        read(r, extra);
                        Some(&extra[..])
                    }
                };
                let below = coef_of((r - 1) >> l1);
                adjoint_row::<S, T>(grid, below, coef_of(ic), Some(lam_hi), given, lam);
                std::mem::swap(lam_hi, lam);
            }
        }
    }
    if let Some(done) = acc_row {
        flush::<S, T>(increments, done, scale, &mut rho_grad[..grid.cols * w]);
    }
    increments.finish::<S>();
}
