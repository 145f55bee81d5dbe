//! The rank-1 updates that carry almost all of the arithmetic.
//!
//! Every product in the truncated tensor algebra reduces to outer products of two levels,
//! `out[w·m + a] (+)= left[w] · right[a]`, with `out` a level viewed as a `left.len() × m`
//! row-major matrix (`m = right.len()`), and every backward pass to their adjoint. The algorithms
//! arrange for `left` to be short (a vector of `R^d`) and `right` long, so that each row is a
//! contiguous `axpy`: full vector registers, then one masked vector for the tail. The Chen
//! product cannot (its `A_{k-1} ⊗ B_1` has rows of length `d`); it has a block kernel of its own
//! (`product.rs`), and where that does not apply [`tensor_acc`] packs such short rows several to
//! a vector.
//!
//! The public (crate) functions check their slices once; the row loops then address vectors by
//! pointer, so no bounds check or iterator setup sits in the innermost loops. Long rows are walked
//! block by block of `right`, so that `right` is read from L2 once rather than once per row (the
//! rows of a level sit a power of two apart, where walking them all at once thrashes L1's sets).
//!
//! All functions are `#[inline(always)]`: they must be compiled into the dispatching function
//! (see [`crate::simd`]).

use crate::scalar::Scalar;
use crate::simd::{Simd, Vectorize};

/// Elements of `right` handled per pass over the rows (a few KiB, well inside L1).
const BLOCK: usize = 1024;

/// `v!(op)` is `T`'s vector operation `op` at level `S` (the generic parameters in scope).
macro_rules! v {
    ($op:ident) => {
        <T as Vectorize<S>>::$op
    };
}
pub(super) use v;

/// `out[i] += x[i]`.
#[inline(always)]
pub(crate) fn add_assign<T: Scalar>(out: &mut [T], x: &[T]) {
    debug_assert_eq!(out.len(), x.len());
    for (o, &v) in out.iter_mut().zip(x) {
        *o += v;
    }
}

/// `out[i] = a[i] + b[i]`.
#[inline(always)]
pub(crate) fn add_into<T: Scalar>(out: &mut [T], a: &[T], b: &[T]) {
    debug_assert_eq!(out.len(), a.len());
    debug_assert_eq!(out.len(), b.len());
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        *o = x + y;
    }
}

/// `out[w·stride + i] = addend[w·stride + i] + left[w] · right[i]` for `i < len`.
///
/// # Safety
/// `out` and `addend` must be valid for `(left.len() - 1)·stride + len` elements (they may be
/// the same pointer, not otherwise overlapping) and `right` for `len`.
#[inline(always)]
unsafe fn rows<S: Simd, T: Scalar + Vectorize<S>>(
    out: *mut T,
    addend: *const T,
    stride: usize,
    left: &[T],
    right: *const T,
    len: usize,
    segment: usize,
) {
    let lanes = <T as Vectorize<S>>::LANES;
    let full = segment - segment % lanes;
    for (w, &l) in left.iter().enumerate() {
        let a = v!(splat)(l);
        // SAFETY: row `w` lies inside the regions the caller vouched for.
        unsafe {
            let (o, c) = (out.add(w * stride), addend.add(w * stride));
            let mut seg = 0;
            while seg < len {
                let (o, c, r) = (o.add(seg), c.add(seg), right.add(seg));
                let mut i = 0;
                while i < full {
                    v!(store)(
                        o.add(i),
                        v!(mul_add)(a, v!(load)(r.add(i)), v!(load)(c.add(i))),
                    );
                    i += lanes;
                }
                while i < segment {
                    *o.add(i) = *c.add(i) + l * *r.add(i);
                    i += 1;
                }
                seg += segment;
            }
        }
    }
}

/// `out = addend + left ⊗ right`, block by block; `addend` may be `out` itself.
///
/// # Safety
/// `addend` must be valid for `out.len()` elements and either be `out`'s pointer or not overlap
/// `out`; `out.len()` must be `left.len() · right.len()`.
#[inline(always)]
unsafe fn outer<S: Simd, T: Scalar + Vectorize<S>>(
    out: &mut [T],
    addend: *const T,
    left: &[T],
    right: &[T],
    segment: usize,
) {
    assert_eq!(out.len(), left.len() * right.len());
    let m = right.len();
    assert!(segment > 0 && m.is_multiple_of(segment));
    let block = segment * (BLOCK / segment).max(1);
    let mut start = 0;
    while start < m {
        let len = block.min(m - start);
        // SAFETY: rows of `len ≤ m - start` from `start`, stride `m`, inside `out.len() = rows·m`.
        unsafe {
            let (o, c) = (out.as_mut_ptr().add(start), addend.add(start));
            rows::<S, T>(o, c, m, left, right.as_ptr().add(start), len, segment);
        }
        start += block;
    }
}

/// `out[w·m + a] += left[w] · right[a]` with `m = right.len()`.
#[inline(always)]
pub(crate) fn outer_acc<S: Simd, T: Scalar + Vectorize<S>>(
    out: &mut [T],
    left: &[T],
    right: &[T],
    segment: usize,
) {
    let addend = out.as_ptr();
    // SAFETY: the addend is `out` itself.
    unsafe { outer::<S, T>(out, addend, left, right, segment) }
}

/// Rows shorter than this (and than two vectors) that are not whole vectors take
/// [`outer_acc_short`]; it bounds the per-call tables of that kernel.
const SHORT_ROW: usize = 16;

/// `out[w·m + a] += left[w] · right[a]` with `m = right.len()`, by the kernel that suits `m`:
/// rows of whole vectors, or of two vectors or more, one at a time; shorter ragged rows, whose
/// tails would leave most lanes idle, several at once.
#[inline(always)]
pub(crate) fn tensor_acc<S: Simd, T: Scalar + Vectorize<S>>(
    out: &mut [T],
    left: &[T],
    right: &[T],
) {
    let (m, lanes) = (right.len(), <T as Vectorize<S>>::LANES);
    let done = if m < SHORT_ROW.min(2 * lanes) && !m.is_multiple_of(lanes) {
        outer_acc_short::<S, T>(out, left, right)
    } else {
        0
    };
    outer_acc::<S, T>(&mut out[done * m..], &left[done..], right, m);
}

/// The most lanes a vector has at any level (8 `f32`).
pub(super) const MAX_LANES: usize = 8;

/// `ROW_OF[m][e] = e / m`: the row of element `e` of a group of rows of length `m`, for
/// [`outer_acc_short`]'s permutations (a table, since the divisions would cost more than the
/// arithmetic they set up).
pub(super) const ROW_OF: [[u8; SHORT_ROW * MAX_LANES]; SHORT_ROW] = {
    let mut table = [[0; SHORT_ROW * MAX_LANES]; SHORT_ROW];
    let mut m = 1;
    while m < SHORT_ROW {
        let mut e = 0;
        while e < SHORT_ROW * MAX_LANES {
            table[m][e] = (e / m) as u8;
            e += 1;
        }
        m += 1;
    }
    table
};

/// [`tensor_acc`] for short rows (`m < SHORT_ROW`). `LANES` rows at a time cover exactly `m`
/// vectors; lane `i` of vector `q` is element `e = q·LANES + i` of that group, which takes
/// `left` at row `e / m`, a permutation of the group's `LANES` values of `left`, times `right` at
/// column `e % m`: vector `q` of `right` repeated `LANES` times, the same for every group.
/// Returns the number of rows done: the rest do not fill a group.
#[inline(always)]
fn outer_acc_short<S: Simd, T: Scalar + Vectorize<S>>(
    out: &mut [T],
    left: &[T],
    right: &[T],
) -> usize {
    let (n, m, lanes) = (left.len(), right.len(), <T as Vectorize<S>>::LANES);
    assert!(out.len() == n * m && m < SHORT_ROW && lanes <= MAX_LANES);
    let groups = n / lanes;
    if groups > 0 {
        let mut tiled = [T::ZERO; SHORT_ROW * MAX_LANES];
        for copy in tiled[..lanes * m].chunks_exact_mut(m) {
            copy.copy_from_slice(right);
        }
        let mut selectors = [v!(lanes)(&ROW_OF[m]); SHORT_ROW];
        for (q, selector) in selectors[..m].iter_mut().enumerate() {
            *selector = v!(lanes)(&ROW_OF[m][q * lanes..]);
        }
        for g in 0..groups {
            // SAFETY: group `g < n / LANES` reads `left[g·LANES..][..LANES]` and writes
            // `out[g·LANES·m..][..LANES·m]`, inside `left` (`n`) and `out` (`n·m`); vector
            // `q < m` of `tiled` ends at `LANES·m`.
            unsafe {
                let a = v!(load)(left.as_ptr().add(g * lanes));
                let o = out.as_mut_ptr().add(g * lanes * m);
                for (q, &selector) in selectors[..m].iter().enumerate() {
                    let p = o.add(q * lanes);
                    let tile = v!(load)(tiled.as_ptr().add(q * lanes));
                    v!(store)(p, v!(mul_add)(v!(permute)(a, selector), tile, v!(load)(p)));
                }
            }
        }
    }
    groups * lanes
}

/// `out[w·m + a] = addend[w·m + a] + left[w] · right[a]` with `m = right.len()`.
#[inline(always)]
pub(crate) fn outer_add<S: Simd, T: Scalar + Vectorize<S>>(
    out: &mut [T],
    left: &[T],
    right: &[T],
    addend: &[T],
    segment: usize,
) {
    assert_eq!(out.len(), addend.len());
    // SAFETY: `addend` is a distinct slice (it is borrowed while `out` is borrowed mutably) of
    // the same length.
    unsafe { outer::<S, T>(out, addend.as_ptr(), left, right, segment) }
}

/// `chain[w·m + i] = level[w·m + i] + half[w]·s[i]`, then `level[w·m + i] += full[w]·s2[i]`, in
/// one pass over `level` (`m = s.len()`): the two updates of a multiply-exponentiate step that
/// read level `N-1`, the top level's last chain link and level `N-1`'s own update, share its
/// loads. `segment` as for [`outer_acc`].
#[inline(always)]
pub(crate) fn outer_add_acc<S: Simd, T: Scalar + Vectorize<S>>(
    chain: &mut [T],
    level: &mut [T],
    half: &[T],
    s: &[T],
    full: &[T],
    s2: &[T],
    segment: usize,
) {
    outer_pair::<S, T, false>(chain, level, half, s, full, s2, segment)
}

/// [`outer_add_acc`] the other way round: `level[w·m + i] += full[w]·s2[i]`, then
/// `chain[w·m + i] = level[w·m + i] + half[w]·s[i]` from the updated level. The backward pass
/// recovers level `N-1` this way in the same pass as the top level's last chain link, which
/// reads the recovered level.
#[inline(always)]
pub(crate) fn outer_acc_add<S: Simd, T: Scalar + Vectorize<S>>(
    chain: &mut [T],
    level: &mut [T],
    half: &[T],
    s: &[T],
    full: &[T],
    s2: &[T],
    segment: usize,
) {
    outer_pair::<S, T, true>(chain, level, half, s, full, s2, segment)
}

/// [`outer_add_acc`] (`UPDATED` false: `chain` from the level as it was) and [`outer_acc_add`]
/// (`UPDATED` true: from the updated level).
#[inline(always)]
fn outer_pair<S: Simd, T: Scalar + Vectorize<S>, const UPDATED: bool>(
    chain: &mut [T],
    level: &mut [T],
    half: &[T],
    s: &[T],
    full: &[T],
    s2: &[T],
    segment: usize,
) {
    let (n, m) = (half.len(), s.len());
    assert!(chain.len() == n * m && level.len() == n * m);
    assert!(full.len() == n && s2.len() == m);
    assert!(segment > 0 && m.is_multiple_of(segment));
    let lanes = <T as Vectorize<S>>::LANES;
    let whole = segment - segment % lanes;
    let block = segment * (BLOCK / segment).max(1);
    let mut start = 0;
    while start < m {
        let len = block.min(m - start);
        for w in 0..n {
            let (h, f) = (half[w], full[w]);
            let (hv, fv) = (v!(splat)(h), v!(splat)(f));
            // SAFETY: row `w`'s columns `start..start + len` lie inside `chain` and `level`
            // (`n·m` each), and columns `start..start + len` inside `s` and `s2` (`m` each).
            unsafe {
                let (c, a) = (
                    chain.as_mut_ptr().add(w * m + start),
                    level.as_mut_ptr().add(w * m + start),
                );
                let (r1, r2) = (s.as_ptr().add(start), s2.as_ptr().add(start));
                let mut seg = 0;
                while seg < len {
                    let (c, a, r1, r2) = (c.add(seg), a.add(seg), r1.add(seg), r2.add(seg));
                    let mut i = 0;
                    while i < whole {
                        let old = v!(load)(a.add(i));
                        let new = v!(mul_add)(fv, v!(load)(r2.add(i)), old);
                        let base = if UPDATED { new } else { old };
                        v!(store)(c.add(i), v!(mul_add)(hv, v!(load)(r1.add(i)), base));
                        v!(store)(a.add(i), new);
                        i += lanes;
                    }
                    while i < segment {
                        let old = *a.add(i);
                        let new = old + f * *r2.add(i);
                        let base = if UPDATED { new } else { old };
                        *c.add(i) = base + h * *r1.add(i);
                        *a.add(i) = new;
                        i += 1;
                    }
                    seg += segment;
                }
            }
        }
        start += block;
    }
}

/// Steps whose top-level updates [`outer_acc_steps`] fuses into one pass.
pub(crate) const FUSED_STEPS: usize = 4;

/// `out[w·m + i] += Σ_t lefts[t·n + w] · rights[t·stride + i]` over the [`FUSED_STEPS`] outer
/// products `t` (`n = lefts.len() / FUSED_STEPS`, `m = out.len() / n`): the top level of a
/// signature takes several steps' updates in one read and one write of each element. Blocks of
/// `rights` stay in L1 while the rows stream through.
#[inline(always)]
pub(crate) fn outer_acc_steps<S: Simd, T: Scalar + Vectorize<S>>(
    out: &mut [T],
    lefts: &[T],
    rights: &[T],
    stride: usize,
) {
    const K: usize = FUSED_STEPS;
    let n = lefts.len() / K;
    let m = out.len() / n.max(1);
    assert_eq!(lefts.len(), K * n);
    assert_eq!(out.len(), n * m);
    assert!(stride >= m && rights.len() >= (K - 1) * stride + m);
    let (o, l, r) = (out.as_mut_ptr(), lefts.as_ptr(), rights.as_ptr());
    let mut start = 0;
    while start < m {
        let end = m.min(start + BLOCK);
        // Rows in groups: each loaded vector of `rights` serves several rows' multiply-adds.
        let mut w = 0;
        while w + ROW_GROUP <= n {
            // SAFETY: rows `w..w + ROW_GROUP ≤ n` of `out`, columns `start..end ≤ m`; `lefts`
            // at `t·n + w` and `rights` at `t·stride + i`, `t < K`, `i < m`: inside the slices
            // checked above.
            unsafe { rows_acc_steps::<S, T, ROW_GROUP>(o, l, r, n, m, stride, w, start..end) };
            w += ROW_GROUP;
        }
        for w in w..n {
            // SAFETY: as above, one row at a time.
            unsafe { rows_acc_steps::<S, T, 1>(o, l, r, n, m, stride, w, start..end) };
        }
        start = end;
    }
}

/// Rows [`outer_acc_steps`] and [`outer_adjoint`] update together per loaded vector of the
/// shared operand: four load it half as often as two (measured on Zen 4 at d=8, N=5, at AVX2
/// and AVX-512 alike: signatures 12-16% and gradients 15-18% faster; six or eight rows run out
/// of registers).
const ROW_GROUP: usize = 4;

/// Columns `columns` of rows `w..w + R` of [`outer_acc_steps`]'s `out` (`n` rows of `m`).
///
/// # Safety
/// As checked by [`outer_acc_steps`]: `w + R ≤ n`, `columns.end ≤ m`, `lefts` holds
/// `FUSED_STEPS·n` values and `rights` `FUSED_STEPS` rows `stride` apart.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn rows_acc_steps<S: Simd, T: Scalar + Vectorize<S>, const R: usize>(
    out: *mut T,
    lefts: *const T,
    rights: *const T,
    n: usize,
    m: usize,
    stride: usize,
    w: usize,
    columns: std::ops::Range<usize>,
) {
    const K: usize = FUSED_STEPS;
    let lanes = <T as Vectorize<S>>::LANES;
    let full = columns.end - columns.len() % lanes;
    // SAFETY: forwarded to the caller.
    unsafe {
        let coef: [[T; K]; R] =
            std::array::from_fn(|row| std::array::from_fn(|t| *lefts.add(t * n + w + row)));
        let splats: [[_; K]; R] = coef.map(|c| c.map(|c| v!(splat)(c)));
        let rows: [*mut T; R] = std::array::from_fn(|row| out.add((w + row) * m));
        let mut i = columns.start;
        while i < full {
            let mut acc: [_; R] = rows.map(|row| v!(load)(row.add(i)));
            for t in 0..K {
                let rv = v!(load)(rights.add(t * stride + i));
                for (acc, splat) in acc.iter_mut().zip(&splats) {
                    *acc = v!(mul_add)(splat[t], rv, *acc);
                }
            }
            for (row, acc) in rows.iter().zip(acc) {
                v!(store)(row.add(i), acc);
            }
            i += lanes;
        }
        for (row, coef) in rows.iter().zip(&coef) {
            for i in i..columns.end {
                let mut acc = *row.add(i);
                for (t, &c) in coef.iter().enumerate() {
                    acc += c * *rights.add(t * stride + i);
                }
                *row.add(i) = acc;
            }
        }
    }
}

/// The adjoint of [`outer_acc`]: given the gradient `grad` of `out`, accumulates
/// `d_left[w] += Σ_a grad[w·m + a] · right[a]` and `d_right[a] += Σ_w left[w] · grad[w·m + a]`,
/// reading `grad` once.
#[inline(always)]
pub(crate) fn outer_adjoint<S: Simd, T: Scalar + Vectorize<S>>(
    grad: &[T],
    left: &[T],
    right: &[T],
    d_left: &mut [T],
    d_right: &mut [T],
) {
    // SAFETY: with `SINK` false the sink is never touched.
    unsafe { adjoint::<S, T, false>(grad, left, right, d_left, d_right, std::ptr::null_mut()) }
}

/// [`outer_adjoint`] that also adds `grad` into `sink` (same length) as it streams by: the
/// backward pass hands a chain level's gradient both to the level it was added to and down the
/// chain, in one read.
#[inline(always)]
pub(crate) fn outer_adjoint_sink<S: Simd, T: Scalar + Vectorize<S>>(
    grad: &[T],
    left: &[T],
    right: &[T],
    d_left: &mut [T],
    d_right: &mut [T],
    sink: &mut [T],
) {
    assert_eq!(sink.len(), grad.len());
    // SAFETY: `sink` is as long as `grad`, and borrowed mutably, so it overlaps nothing else.
    unsafe { adjoint::<S, T, true>(grad, left, right, d_left, d_right, sink.as_mut_ptr()) }
}

/// [`outer_adjoint`], and with `SINK` [`outer_adjoint_sink`].
///
/// # Safety
/// With `SINK`, `sink` must be valid for `grad.len()` elements and overlap none of the slices.
#[inline(always)]
unsafe fn adjoint<S: Simd, T: Scalar + Vectorize<S>, const SINK: bool>(
    grad: &[T],
    left: &[T],
    right: &[T],
    d_left: &mut [T],
    d_right: &mut [T],
    sink: *mut T,
) {
    let m = right.len();
    assert_eq!(grad.len(), left.len() * m);
    assert_eq!(d_left.len(), left.len());
    assert_eq!(d_right.len(), m);
    let lanes = <T as Vectorize<S>>::LANES;
    if m <= 2 * lanes && !m.is_multiple_of(lanes) {
        // SAFETY: as checked above; the sink as the caller vouched.
        unsafe { adjoint_short::<S, T, SINK>(grad, left, right, d_left, d_right, sink) };
        return;
    }
    let n = left.len();
    let mut start = 0;
    while start < m {
        let columns = start..m.min(start + BLOCK);
        // Rows in groups: each loaded vector of `right` and `d_right` serves several rows.
        let mut w = 0;
        while w + ROW_GROUP <= n {
            // SAFETY: rows `w..w + ROW_GROUP ≤ n` of `grad` (stride `m`), columns `< m`; the
            // sink as the caller vouched.
            unsafe {
                rows_adjoint::<S, T, ROW_GROUP, SINK>(
                    grad,
                    left,
                    right,
                    d_left,
                    d_right,
                    sink,
                    w,
                    columns.clone(),
                )
            };
            w += ROW_GROUP;
        }
        for w in w..n {
            // SAFETY: as above, one row at a time.
            unsafe {
                rows_adjoint::<S, T, 1, SINK>(
                    grad,
                    left,
                    right,
                    d_left,
                    d_right,
                    sink,
                    w,
                    columns.clone(),
                )
            };
        }
        start = columns.end;
    }
}

/// [`adjoint`] for rows of at most two vectors with a masked tail (`0 < m < 2·LANES`, `m` not a
/// multiple of `LANES`), row by row with `d_right` held in registers throughout: the row-group
/// kernel would store its masked tail after every group and load it back for the next, and a
/// masked store does not forward to a load (on Zen 4 that stall was a fifth of a Chen product's
/// backward pass at d = 5).
///
/// # Safety
/// As for [`adjoint`], whose checks the slices have passed.
#[inline(always)]
unsafe fn adjoint_short<S: Simd, T: Scalar + Vectorize<S>, const SINK: bool>(
    grad: &[T],
    left: &[T],
    right: &[T],
    d_left: &mut [T],
    d_right: &mut [T],
    sink: *mut T,
) {
    let (m, lanes) = (right.len(), <T as Vectorize<S>>::LANES);
    // The row as a first vector and a masked second one (empty when `m ≤ LANES`, with the first
    // masked instead when `m < LANES`).
    let (first, second) = (m.min(lanes), m.saturating_sub(lanes));
    let (head, tail) = (v!(mask)(first % lanes), v!(mask)(second));
    // SAFETY: row `w < left.len()` of `grad` and `sink` spans `w·m..w·m + m`, `right` and
    // `d_right` span `0..m`; every access below stays inside them, through masks past `m`.
    unsafe {
        let load = |p: *const T, n: usize, mask| {
            if n == lanes {
                v!(load)(p)
            } else {
                v!(load_masked)(p, mask)
            }
        };
        let store = |p: *mut T, v, n: usize, mask| {
            if n == lanes {
                v!(store)(p, v)
            } else {
                v!(store_masked)(p, v, mask)
            }
        };
        let (r, dr) = (right.as_ptr(), d_right.as_mut_ptr());
        let (r0, r1) = (load(r, first, head), load(r.add(first), second, tail));
        let (mut dr0, mut dr1) = (load(dr, first, head), load(dr.add(first), second, tail));
        for (w, &l) in left.iter().enumerate() {
            let g = grad.as_ptr().add(w * m);
            let (g0, g1) = (load(g, first, head), load(g.add(first), second, tail));
            let lv = v!(splat)(l);
            dr0 = v!(mul_add)(lv, g0, dr0);
            dr1 = v!(mul_add)(lv, g1, dr1);
            *d_left.get_unchecked_mut(w) += v!(sum)(v!(mul_add)(g1, r1, v!(mul)(g0, r0)));
            if SINK {
                let s = sink.add(w * m);
                store(s, v!(add)(load(s, first, head), g0), first, head);
                let s = s.add(first);
                store(s, v!(add)(load(s, second, tail), g1), second, tail);
            }
        }
        store(dr, dr0, first, head);
        store(dr.add(first), dr1, second, tail);
    }
}

/// Columns `columns` of rows `w..w + R` of [`adjoint`].
///
/// # Safety
/// The slices are as [`adjoint`] checks them, `w + R ≤ left.len()` and
/// `columns.end ≤ right.len()`; `sink` as for [`adjoint`].
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn rows_adjoint<S: Simd, T: Scalar + Vectorize<S>, const R: usize, const SINK: bool>(
    grad: &[T],
    left: &[T],
    right: &[T],
    d_left: &mut [T],
    d_right: &mut [T],
    sink: *mut T,
    w: usize,
    columns: std::ops::Range<usize>,
) {
    let (m, lanes) = (right.len(), <T as Vectorize<S>>::LANES);
    let (len, start) = (columns.len(), columns.start);
    let full = len - len % lanes;
    let mask = v!(mask)(len - full);
    // SAFETY: rows `w + row < left.len()` of `grad` and `sink` (stride `m`), `right` and
    // `d_right` at `start + i` with `i < len`, `start + len ≤ m`: forwarded to the caller.
    unsafe {
        let r = right.as_ptr().add(start);
        let dr = d_right.as_mut_ptr().add(start);
        let g: [*const T; R] = std::array::from_fn(|row| grad.as_ptr().add((w + row) * m + start));
        let sk: [*mut T; R] = std::array::from_fn(|row| sink.wrapping_add((w + row) * m + start));
        let lv: [_; R] = std::array::from_fn(|row| v!(splat)(*left.get_unchecked(w + row)));
        // Vectors of partial dot products, summed once at the end.
        let mut partial = [v!(splat)(T::ZERO); R];
        let mut i = 0;
        while i < full {
            let rv = v!(load)(r.add(i));
            let mut drv = v!(load)(dr.add(i));
            for row in 0..R {
                let gv = v!(load)(g[row].add(i));
                partial[row] = v!(mul_add)(gv, rv, partial[row]);
                drv = v!(mul_add)(lv[row], gv, drv);
                if SINK {
                    let p = sk[row].add(i);
                    v!(store)(p, v!(add)(v!(load)(p), gv));
                }
            }
            v!(store)(dr.add(i), drv);
            i += lanes;
        }
        if full < len {
            let rv = v!(load_masked)(r.add(full), mask);
            let mut drv = v!(load_masked)(dr.add(full), mask);
            for row in 0..R {
                let gv = v!(load_masked)(g[row].add(full), mask);
                partial[row] = v!(mul_add)(gv, rv, partial[row]);
                drv = v!(mul_add)(lv[row], gv, drv);
                if SINK {
                    let p = sk[row].add(full);
                    v!(store_masked)(p, v!(add)(v!(load_masked)(p, mask), gv), mask);
                }
            }
            v!(store_masked)(dr.add(full), drv, mask);
        }
        for (row, partial) in partial.into_iter().enumerate() {
            *d_left.get_unchecked_mut(w + row) += v!(sum)(partial);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simd::Portable;

    #[test]
    fn outer_matches_definition() {
        let left = [1.0, 2.0, 3.0];
        let right = [10.0, 20.0, 30.0];
        let mut out = [1.0; 9];
        outer_add::<Portable, f64>(&mut out, &left, &right, &[0.5; 9], 3);
        assert_eq!(out, [10.5, 20.5, 30.5, 20.5, 40.5, 60.5, 30.5, 60.5, 90.5]);
        outer_acc::<Portable, f64>(&mut out, &left, &right, 3);
        assert_eq!(
            out,
            [20.5, 40.5, 60.5, 40.5, 80.5, 120.5, 60.5, 120.5, 180.5]
        );
    }

    #[test]
    fn tensor_acc_matches_definition_for_every_row_length() {
        // Short rows (several per vector, ragged), whole vectors and long rows; row counts that
        // fill groups of LANES rows exactly, partly and not at all.
        for m in 1..=20 {
            for n in [1, 3, 4, 5, 9, 13] {
                let left: Vec<f64> = (0..n).map(|i| i as f64 + 0.25).collect();
                let right: Vec<f64> = (0..m).map(|i| (i as f64 * 0.7).sin()).collect();
                let start: Vec<f64> = (0..n * m).map(|i| i as f64 * 0.5).collect();
                let mut out = start.clone();
                tensor_acc::<Portable, f64>(&mut out, &left, &right);
                for w in 0..n {
                    for a in 0..m {
                        let expected = start[w * m + a] + left[w] * right[a];
                        assert_eq!(out[w * m + a], expected, "n = {n}, m = {m}, ({w}, {a})");
                    }
                }
            }
        }
    }

    #[test]
    fn long_rows_cross_blocks() {
        let (n, m) = (3, 2 * BLOCK + 7);
        let left: Vec<f64> = (0..n).map(|i| i as f64 + 0.5).collect();
        let right: Vec<f64> = (0..m).map(|i| (i as f64 * 0.1).cos()).collect();
        let mut out = vec![1.0; n * m];
        outer_acc::<Portable, f64>(&mut out, &left, &right, m);
        for w in 0..n {
            for a in 0..m {
                assert_eq!(out[w * m + a], 1.0 + left[w] * right[a]);
            }
        }
    }

    #[test]
    fn adjoint_with_a_sink_also_adds_the_gradient() {
        // Short rows with a masked tail take their own kernel.
        for (n, m) in [(5, BLOCK + 13), (6, 5), (3, 3)] {
            let left: Vec<f64> = (0..n).map(|i| i as f64 - 1.5).collect();
            let right: Vec<f64> = (0..m).map(|i| (i as f64 * 0.3).sin()).collect();
            let grad: Vec<f64> = (0..n * m).map(|i| (i as f64 * 0.7).cos()).collect();
            let (mut dl, mut dr) = (vec![0.5; n], vec![0.25; m]);
            outer_adjoint::<Portable, f64>(&grad, &left, &right, &mut dl, &mut dr);
            let (mut dl2, mut dr2) = (vec![0.5; n], vec![0.25; m]);
            let mut sink: Vec<f64> = (0..n * m).map(|i| i as f64).collect();
            outer_adjoint_sink::<Portable, f64>(
                &grad, &left, &right, &mut dl2, &mut dr2, &mut sink,
            );
            assert_eq!((dl, dr), (dl2, dr2));
            for (i, (&s, &g)) in sink.iter().zip(&grad).enumerate() {
                assert_eq!(s, i as f64 + g);
            }
        }
    }

    #[test]
    fn adjoint_is_the_transpose() {
        // <grad, left ⊗ right> is bilinear: its gradients are grad·right and leftᵀ·grad, added to
        // what `d_left` and `d_right` held. Rows of 2·BLOCK + 37 exercise blocks, vector chunks
        // and masked tails; rows of 1-9 the short-row kernel (4 portable lanes) and whole vectors.
        for m in (1..=9).chain([2 * BLOCK + 37]) {
            let n = 6;
            let left: Vec<f64> = (0..n).map(|i| i as f64 - 0.5).collect();
            let right: Vec<f64> = (0..m).map(|i| (i as f64 * 0.3).sin()).collect();
            let grad: Vec<f64> = (0..n * m).map(|i| (i as f64 * 0.7).cos()).collect();
            let (mut dl, mut dr) = (vec![0.5; n], vec![0.25; m]);
            outer_adjoint::<Portable, f64>(&grad, &left, &right, &mut dl, &mut dr);
            for w in 0..n {
                let expected: f64 = (0..m).map(|a| grad[w * m + a] * right[a]).sum();
                assert!(
                    (dl[w] - 0.5 - expected).abs() < 1e-9,
                    "m = {m}, d_left[{w}]"
                );
            }
            for a in 0..m {
                let expected: f64 = (0..n).map(|w| left[w] * grad[w * m + a]).sum();
                assert!(
                    (dr[a] - 0.25 - expected).abs() < 1e-12,
                    "m = {m}, d_right[{a}]"
                );
            }
        }
    }
}
