//! The polynomial solver (pysiglib's `method="polynomial"`) and its exact adjoint, for a lane
//! group of pairs at a time.
//!
//! On a cell with constant `ρ = G[i, j]`, the Goursat problem `∂²k/∂s∂t = ρ k` has the power
//! series solution `k(s, t) = Σ c_{mn} s^m t^n`. Each cell receives its bottom edge `k(s, 0)` and
//! its left edge `k(0, t)` as polynomials of degree `order` (`order + 1` monomial coefficients)
//! and passes on its top edge `k(s, 1)` and right edge `k(1, t)`, truncated at the same degree:
//!
//! ```text
//! top[0]   = Σ_k left[k]
//! top[n]   = bottom[n] + Σ_{0<k<n} k!/(n!(n-k)!) ρ^(n-k) bottom[k] + ρ^n Σ_k k!/(n!(n+k)!) left[k]
//! ```
//!
//! and symmetrically for the right edge (`bottom` and `left` swapped). The grid value at a
//! cell's far corner is `(Σ top + Σ right) / 2`, and `k = 1` on both axes. A single cell with
//! constant `ρ` gives `Σ_{n ≤ order} ρ^n / (n!)²`.
//!
//! The adjoint recomputes the cells' inputs a block of rows at a time from checkpointed
//! frontiers (the left edges entering a row), so memory stays `O(√rows × columns × order)` per
//! pair.

use super::increments::Increments;
use super::math::Real;
use super::pack::Pack;
use super::{RowSink, RowSource};
use crate::buffer::AlignedBuf;
use crate::error::Result;
use crate::simd::{Simd, Vectorize};

/// Bytes of stored cell inputs a group may keep for the adjoint before it recomputes them
/// from checkpoints instead.
const STATE_BUDGET_BYTES: usize = 8 << 20;

/// The coefficient tables of the cell update for one order.
#[derive(Debug, Clone)]
pub(crate) struct Tables<T> {
    size: usize,
    /// `k!/(n!(n-k)!)` at `[n][k]`, `0 < k < n`.
    same: Vec<T>,
    /// `(n-k) k!/(n!(n-k)!)`: the same, differentiated in `ρ` (times `ρ^(n-k-1)`).
    same_slope: Vec<T>,
    /// `k!/(n!(n+k)!)` at `[n][k]`, `n > 0`.
    opposite: Vec<T>,
}

impl<T: Real> Tables<T> {
    /// The tables for `order` (`order + 1` coefficients per edge).
    pub(crate) fn new(order: usize) -> Self {
        let size = order + 1;
        let (mut same, mut same_slope, mut opposite) = (
            vec![T::ZERO; size * size],
            vec![T::ZERO; size * size],
            vec![T::ZERO; size * size],
        );
        let mut inv_factorial = 1.0f64;
        for n in 1..size {
            let inv_prev = inv_factorial;
            inv_factorial /= n as f64;
            // k!/(n!(n+k)!) from 1/(n!)², each step multiplying by k/(n+k).
            let mut value = inv_factorial * inv_factorial;
            opposite[n * size] = T::from_f64(value);
            for k in 1..size {
                value *= k as f64 / (n + k) as f64;
                opposite[n * size + k] = T::from_f64(value);
            }
            // k!/(n!(n-k)!) from 1/(n!(n-1)!), each step multiplying by k(n-k+1).
            let mut value = inv_factorial * inv_prev;
            for k in 1..n {
                if k > 1 {
                    value *= (k * (n - k + 1)) as f64;
                }
                same[n * size + k] = T::from_f64(value);
                same_slope[n * size + k] = T::from_f64((n - k) as f64 * value);
            }
        }
        Tables {
            size,
            same,
            same_slope,
            opposite,
        }
    }
}

/// One cell: top and right edges from the bottom and left ones; returns the sums of the top
/// and right coefficients (the edges' values at the far corner). `powers` is scratch for
/// `ρ^n`. Every buffer holds `size` lane-major coefficients.
///
/// # Safety
/// Every pointer must be valid for `size × WIDTH` values; the outputs overlap nothing.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn cell<S: Simd, T: Real + Vectorize<S>>(
    tables: &Tables<T>,
    rho: Pack<S, T>,
    bottom: *const T,
    left: *const T,
    top: *mut T,
    right: *mut T,
    powers: *mut T,
) -> (Pack<S, T>, Pack<S, T>) {
    let (size, w) = (tables.size, Pack::<S, T>::WIDTH);
    // SAFETY: all offsets are coefficients < size of the caller's buffers.
    unsafe {
        let mut power = Pack::<S, T>::splat(T::ONE);
        power.store(powers);
        for n in 1..size {
            power = power * rho;
            power.store(powers.add(n * w));
        }
        let (mut top_sum, mut right_sum) = (Pack::<S, T>::at(left, 0), Pack::<S, T>::at(bottom, 0));
        for k in 1..size {
            top_sum = top_sum + Pack::<S, T>::at(left, k);
            right_sum = right_sum + Pack::<S, T>::at(bottom, k);
        }
        top_sum.store(top);
        right_sum.store(right);
        for n in 1..size {
            let row = n * size;
            let (mut top_opposite, mut right_opposite) =
                (Pack::<S, T>::splat(T::ZERO), Pack::<S, T>::splat(T::ZERO));
            for k in 0..size {
                let m = Pack::<S, T>::splat(tables.opposite[row + k]);
                top_opposite = m.mul_add(Pack::<S, T>::at(left, k), top_opposite);
                right_opposite = m.mul_add(Pack::<S, T>::at(bottom, k), right_opposite);
            }
            let (mut top_same, mut right_same) =
                (Pack::<S, T>::at(bottom, n), Pack::<S, T>::at(left, n));
            for k in 1..n {
                let factor =
                    Pack::<S, T>::splat(tables.same[row + k]) * Pack::<S, T>::at(powers, n - k);
                top_same = factor.mul_add(Pack::<S, T>::at(bottom, k), top_same);
                right_same = factor.mul_add(Pack::<S, T>::at(left, k), right_same);
            }
            let p = Pack::<S, T>::at(powers, n);
            let (t, r) = (
                p.mul_add(top_opposite, top_same),
                p.mul_add(right_opposite, right_same),
            );
            t.store(top.add(n * w));
            r.store(right.add(n * w));
            top_sum = top_sum + t;
            right_sum = right_sum + r;
        }
        (top_sum, right_sum)
    }
}

/// The adjoint of [`cell`]: from the gradients of the top and right edges, the gradients of
/// the bottom and left edges (overwritten) and of `ρ` (returned).
///
/// # Safety
/// As for [`cell`].
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn cell_adjoint<S: Simd, T: Real + Vectorize<S>>(
    tables: &Tables<T>,
    rho: Pack<S, T>,
    bottom: *const T,
    left: *const T,
    d_top: *const T,
    d_right: *const T,
    d_bottom: *mut T,
    d_left: *mut T,
    powers: *mut T,
) -> Pack<S, T> {
    let (size, w) = (tables.size, Pack::<S, T>::WIDTH);
    // SAFETY: all offsets are coefficients < size of the caller's buffers.
    unsafe {
        let mut power = Pack::<S, T>::splat(T::ONE);
        power.store(powers);
        for n in 1..size {
            power = power * rho;
            power.store(powers.add(n * w));
        }
        // top[0] sums the left edge, right[0] the bottom one.
        let (dt0, dr0) = (Pack::<S, T>::at(d_top, 0), Pack::<S, T>::at(d_right, 0));
        for k in 0..size {
            dr0.store(d_bottom.add(k * w));
            dt0.store(d_left.add(k * w));
        }
        let mut d_rho = Pack::<S, T>::splat(T::ZERO);
        for n in 1..size {
            let row = n * size;
            let (tn, rn) = (Pack::<S, T>::at(d_top, n), Pack::<S, T>::at(d_right, n));
            (Pack::<S, T>::at(d_bottom, n) + tn).store(d_bottom.add(n * w));
            (Pack::<S, T>::at(d_left, n) + rn).store(d_left.add(n * w));
            for k in 1..n {
                let factor =
                    Pack::<S, T>::splat(tables.same[row + k]) * Pack::<S, T>::at(powers, n - k);
                factor
                    .mul_add(tn, Pack::<S, T>::at(d_bottom, k))
                    .store(d_bottom.add(k * w));
                factor
                    .mul_add(rn, Pack::<S, T>::at(d_left, k))
                    .store(d_left.add(k * w));
                let slope = Pack::<S, T>::splat(tables.same_slope[row + k])
                    * Pack::<S, T>::at(powers, n - k - 1);
                let both = Pack::<S, T>::at(bottom, k).mul_add(tn, Pack::<S, T>::at(left, k) * rn);
                d_rho = slope.mul_add(both, d_rho);
            }
            let p = Pack::<S, T>::at(powers, n);
            let (pt, pr) = (p * tn, p * rn);
            let (mut top_opposite, mut right_opposite) =
                (Pack::<S, T>::splat(T::ZERO), Pack::<S, T>::splat(T::ZERO));
            for k in 0..size {
                let m = Pack::<S, T>::splat(tables.opposite[row + k]);
                top_opposite = m.mul_add(Pack::<S, T>::at(left, k), top_opposite);
                right_opposite = m.mul_add(Pack::<S, T>::at(bottom, k), right_opposite);
                m.mul_add(pt, Pack::<S, T>::at(d_left, k))
                    .store(d_left.add(k * w));
                m.mul_add(pr, Pack::<S, T>::at(d_bottom, k))
                    .store(d_bottom.add(k * w));
            }
            let slope =
                Pack::<S, T>::splat(T::from_f64(n as f64)) * Pack::<S, T>::at(powers, n - 1);
            d_rho = slope.mul_add(top_opposite.mul_add(tn, right_opposite * rn), d_rho);
        }
        d_rho
    }
}

/// Scratch for one lane group.
#[derive(Debug)]
pub(crate) struct Workspace<T> {
    width: usize,
    rows: usize,
    cols: usize,
    tables: Tables<T>,
    /// Rows of cells between checkpoints (the adjoint's blocks).
    block: usize,
    /// A row of increments (per block row, going backwards).
    increments: AlignedBuf<T>,
    /// The left edges entering the next row (`cols × size × width`), and checkpoints of them.
    frontier: AlignedBuf<T>,
    checkpoints: AlignedBuf<T>,
    /// One cell's edges and `ρ` powers (`size × width` each): bottom, top, right, powers.
    edges: AlignedBuf<T>,
    /// A row of grid values (`(cols + 1) × width`).
    values: AlignedBuf<T>,
    /// Going backwards: each block row's cell inputs (left and bottom edges).
    lefts: AlignedBuf<T>,
    bottoms: AlignedBuf<T>,
    /// The gradients of the left edges entering the row above, of one bottom edge (two), of
    /// one left edge, of a row of `ρ`, and a row of the grid's given gradient.
    d_frontier: AlignedBuf<T>,
    d_edges: AlignedBuf<T>,
    rho_grad: AlignedBuf<T>,
    extra: AlignedBuf<T>,
}

impl<T: Real> Workspace<T> {
    /// Scratch for pairs with `rows × cols` cells solved to `order`, `width` pairs at a time,
    /// for the forward pass or (`backward`) both.
    pub(crate) fn new(
        rows: usize,
        cols: usize,
        order: usize,
        width: usize,
        backward: bool,
    ) -> Result<Self> {
        let size = order + 1;
        let edge_row = cols * size * width;
        let row_bytes = 2 * edge_row * std::mem::size_of::<T>();
        let block = if !backward || rows == 0 {
            1
        } else if rows * row_bytes <= STATE_BUDGET_BYTES {
            rows
        } else {
            let root = (rows as f64).sqrt().ceil() as usize;
            root.max(STATE_BUDGET_BYTES / 2 / row_bytes.max(1))
                .clamp(1, rows)
        };
        let blocks = rows.div_ceil(block).max(1);
        let buf = |n: usize| AlignedBuf::zeroed("signature kernel polynomial state", n);
        let back = |n: usize| buf(if backward { n } else { 0 });
        Ok(Workspace {
            width,
            rows,
            cols,
            tables: Tables::new(order),
            block,
            increments: buf(if backward { block } else { 1 } * cols * width)?,
            frontier: buf(edge_row)?,
            checkpoints: back(if blocks > 1 { blocks * edge_row } else { 0 })?,
            edges: buf(4 * size * width)?,
            values: buf((cols + 1) * width)?,
            lefts: back(block * edge_row)?,
            bottoms: back(block * edge_row)?,
            d_frontier: back(edge_row)?,
            d_edges: back(3 * size * width)?,
            rho_grad: back(cols * width)?,
            extra: back((cols + 1) * width)?,
        })
    }

    /// Every edge a fresh row starts from: the constant 1.
    fn reset_frontier(&mut self) {
        let (size, w) = (self.tables.size, self.width);
        for (c, v) in self.frontier.iter_mut().enumerate() {
            *v = if (c / w) % size == 0 { T::ONE } else { T::ZERO };
        }
    }
}

/// Sweeps cell row `i` from the frontier (updated to the row's right edges), writing the grid
/// values of row `i + 1` into `values`; with `record`, also the cells' inputs (block row
/// `record.2`).
#[inline(always)]
fn sweep_row<S: Simd, T: Real + Vectorize<S>>(
    tables: &Tables<T>,
    cols: usize,
    rho: &[T],
    frontier: &mut [T],
    edges: &mut [T],
    values: &mut [T],
    mut record: Option<(&mut [T], &mut [T])>,
) {
    let (size, w) = (tables.size, Pack::<S, T>::WIDTH);
    let edge = size * w;
    assert!(rho.len() >= cols * w && frontier.len() >= cols * edge);
    assert!(edges.len() >= 4 * edge && values.len() >= (cols + 1) * w);
    if let Some((lefts, bottoms)) = &record {
        assert!(lefts.len() >= cols * edge && bottoms.len() >= cols * edge);
    }
    let half = Pack::<S, T>::splat(T::from_f64(0.5));
    let (mut bottom, mut top) = (0, edge);
    let (right, powers) = (2 * edge, 3 * edge);
    edges[..edge].fill(T::ZERO);
    edges[..w].fill(T::ONE);
    values[..w].fill(T::ONE);
    let e = edges.as_mut_ptr();
    for j in 0..cols {
        let left = &mut frontier[j * edge..(j + 1) * edge];
        if let Some((lefts, bottoms)) = record.as_mut() {
            lefts[j * edge..(j + 1) * edge].copy_from_slice(left);
            bottoms[j * edge..(j + 1) * edge].copy_from_slice(&edges[bottom..bottom + edge]);
        }
        // SAFETY: four disjoint edges of `edge` values in `edges`, one in `frontier`, point j
        // of `rho` and j + 1 of `values` (asserted).
        unsafe {
            let r = Pack::<S, T>::load(rho.as_ptr().add(j * w));
            let (t, rt) = cell::<S, T>(
                tables,
                r,
                e.add(bottom),
                left.as_ptr(),
                e.add(top),
                e.add(right),
                e.add(powers),
            );
            std::ptr::copy_nonoverlapping(e.add(right), left.as_mut_ptr(), edge);
            (half * (t + rt)).store(values.as_mut_ptr().add((j + 1) * w));
        }
        std::mem::swap(&mut bottom, &mut top);
    }
}

/// Solves the PDE for a lane group, handing every grid row (`cols + 1` points, lane-major) to
/// `row_out` when given, and returns the last row.
#[inline(always)]
pub(crate) fn forward<'w, S: Simd, T: Real + Vectorize<S>>(
    increments: &mut impl Increments<T>,
    ws: &'w mut Workspace<T>,
    mut row_out: Option<&mut RowSink<'_, T>>,
) -> &'w [T] {
    let (cols, w) = (ws.cols, ws.width);
    ws.reset_frontier();
    ws.values.fill(T::ONE);
    if let Some(out) = row_out.as_mut() {
        out(0, &ws.values[..(cols + 1) * w]);
    }
    for i in 0..ws.rows {
        increments.row::<S>(i, &mut ws.increments);
        let Workspace {
            tables,
            increments: rho,
            frontier,
            edges,
            values,
            ..
        } = &mut *ws;
        sweep_row::<S, T>(tables, cols, rho, frontier, edges, values, None);
        if let Some(out) = row_out.as_mut() {
            out(i + 1, &ws.values[..(cols + 1) * w]);
        }
    }
    &ws.values[..(cols + 1) * w]
}

/// The gradient of the lane group's kernels (`seed`: `None` for `∂F/∂k = 1`, else a reader of
/// the grid's given gradient row by row) with respect to their increments, handed row by row
/// to `increments` (then [`Increments::finish`]).
#[inline(always)]
pub(crate) fn backward<S: Simd, T: Real + Vectorize<S>>(
    increments: &mut impl Increments<T>,
    ws: &mut Workspace<T>,
    seed: Option<&RowSource<'_, T>>,
) {
    let (rows, cols, w, block) = (ws.rows, ws.cols, ws.width, ws.block);
    if rows == 0 || cols == 0 {
        increments.finish::<S>();
        return;
    }
    let size = ws.tables.size;
    let edge = size * w;
    let edge_row = cols * edge;
    let blocks = rows.div_ceil(block);
    ws.reset_frontier();
    if blocks > 1 {
        for i in 0..rows {
            if i % block == 0 {
                ws.checkpoints[(i / block) * edge_row..][..edge_row].copy_from_slice(&ws.frontier);
            }
            increments.row::<S>(i, &mut ws.increments[..cols * w]);
            let Workspace {
                tables,
                increments: rho,
                frontier,
                edges,
                values,
                ..
            } = &mut *ws;
            sweep_row::<S, T>(tables, cols, rho, frontier, edges, values, None);
        }
    }
    ws.d_frontier.fill(T::ZERO);
    let half = Pack::<S, T>::splat(T::from_f64(0.5));
    for b in (0..blocks).rev() {
        let (i0, i1) = (b * block, ((b + 1) * block).min(rows));
        if b > 0 {
            ws.frontier
                .copy_from_slice(&ws.checkpoints[b * edge_row..][..edge_row]);
        } else {
            ws.reset_frontier();
        }
        for i in i0..i1 {
            let k = i - i0;
            increments.row::<S>(i, &mut ws.increments[k * cols * w..][..cols * w]);
            let Workspace {
                tables,
                increments: rho,
                frontier,
                edges,
                values,
                lefts,
                bottoms,
                ..
            } = &mut *ws;
            let record = (
                &mut lefts[k * edge_row..][..edge_row],
                &mut bottoms[k * edge_row..][..edge_row],
            );
            let rho = &rho[k * cols * w..][..cols * w];
            sweep_row::<S, T>(tables, cols, rho, frontier, edges, values, Some(record));
        }
        for i in (i0..i1).rev() {
            let k = i - i0;
            let Workspace {
                tables,
                increments: rho,
                edges,
                lefts,
                bottoms,
                d_frontier,
                d_edges,
                rho_grad,
                extra,
                ..
            } = &mut *ws;
            // The grid value at (i + 1, j + 1) is half the sum of both edges' coefficients.
            let given = match seed {
                Some(read) => {
                    read(i + 1, extra);
                    true
                }
                None => {
                    extra.fill(T::ZERO);
                    if i + 1 == rows {
                        extra[cols * w..(cols + 1) * w].fill(T::ONE);
                    }
                    i + 1 == rows
                }
            };
            d_edges[..edge].fill(T::ZERO);
            let (d_top, rest) = d_edges.split_at_mut(edge);
            let (d_bottom, d_left) = rest.split_at_mut(edge);
            for j in (0..cols).rev() {
                let d_right = &mut d_frontier[j * edge..(j + 1) * edge];
                if given {
                    // SAFETY: point j + 1 of the row of given gradients.
                    let g = half * unsafe { Pack::<S, T>::load(extra.as_ptr().add((j + 1) * w)) };
                    for c in 0..size {
                        // SAFETY: coefficient c < size of two edges.
                        unsafe {
                            let (t, r) = (
                                d_top.as_mut_ptr().add(c * w),
                                d_right.as_mut_ptr().add(c * w),
                            );
                            (Pack::<S, T>::load(t) + g).store(t);
                            (Pack::<S, T>::load(r) + g).store(r);
                        }
                    }
                }
                // SAFETY: edges of `edge` values each; point j of the ρ row.
                unsafe {
                    let r = Pack::<S, T>::load(rho.as_ptr().add((k * cols + j) * w));
                    let d_rho = cell_adjoint::<S, T>(
                        tables,
                        r,
                        bottoms.as_ptr().add(k * edge_row + j * edge),
                        lefts.as_ptr().add(k * edge_row + j * edge),
                        d_top.as_ptr(),
                        d_right.as_ptr(),
                        d_bottom.as_mut_ptr(),
                        d_left.as_mut_ptr(),
                        edges.as_mut_ptr(),
                    );
                    d_rho.store(rho_grad.as_mut_ptr().add(j * w));
                }
                d_right.copy_from_slice(d_left);
                d_top.copy_from_slice(d_bottom);
            }
            Increments::<T>::add_row_gradient::<S>(increments, i, rho_grad);
        }
    }
    increments.finish::<S>();
}
