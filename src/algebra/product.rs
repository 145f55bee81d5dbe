//! The Chen (tensor) product of two truncated tensors with scalar term 1, and its adjoint.
//!
//! `(A ⊗ B)_k = A_k + B_k + Σ_{l=1}^{k-1} A_l ⊗ B_{k-l}`: for signatures, the signature of the
//! concatenation of two paths (Chen's identity).

use super::layout::Layout;
use super::rank_one::{MAX_LANES, ROW_OF, add_into, outer_acc, outer_adjoint, tensor_acc, v};
use crate::scalar::Scalar;
use crate::simd::simd_dispatch;
use crate::simd::{Simd, Vectorize};

/// `out = a ⊗ b`, all three truncated tensors of `layout` with implied scalar term 1.
pub fn product<T: Scalar>(layout: Layout, a: &[T], b: &[T], out: &mut [T]) {
    simd_dispatch!(<'a, T: Scalar> |S| {
        layout: Layout,
        a: &'a [T],
        b: &'a [T],
        out: &'a mut [T],
    } -> () {
        product_with::<S, T>(layout, a, b, out)
    })
}

/// The adjoint of [`product`]: given the gradient `grad` of a scalar loss with respect to
/// `a ⊗ b`, writes the gradients with respect to `a` and `b` into `d_a` and `d_b`.
///
/// `d_a_l[u] = G_l[u] + Σ_{r≥1} Σ_v G_{l+r}[uv]·B_r[v]` and
/// `d_b_r[v] = G_r[v] + Σ_{l≥1} Σ_u A_l[u]·G_{l+r}[uv]`, both from one pass over each block of `G`.
pub fn product_backward<T: Scalar>(
    layout: Layout,
    grad: &[T],
    a: &[T],
    b: &[T],
    d_a: &mut [T],
    d_b: &mut [T],
) {
    simd_dispatch!(<'a, T: Scalar> |S| {
        layout: Layout,
        grad: &'a [T],
        a: &'a [T],
        b: &'a [T],
        d_a: &'a mut [T],
        d_b: &'a mut [T],
    } -> () {
        product_backward_with::<S, T>(layout, grad, a, b, d_a, d_b)
    })
}

/// [`product`] at a given [`Simd`] level.
#[inline(always)]
fn product_with<S: Simd, T: Scalar + Vectorize<S>>(
    layout: Layout,
    a: &[T],
    b: &[T],
    out: &mut [T],
) {
    debug_assert_eq!(a.len(), layout.len());
    debug_assert_eq!(b.len(), layout.len());
    debug_assert_eq!(out.len(), layout.len());
    let d = layout.dim();
    if layout.degree() >= 2 && BlockPlan::<S, T>::suits(d) {
        // Level offsets summed once (`Layout::level_offset` divides). `d ≥ 2` here, and `Layout`
        // keeps `d^N` addressable, so `N < 64`.
        let mut starts = [0; 66];
        let starts = &mut starts[..layout.degree() + 2];
        for k in 1..=layout.degree() {
            starts[k + 1] = starts[k] + layout.level_len(k);
        }
        let plan = BlockPlan::<S, T>::new(&b[..d]);
        add_into(&mut out[..d], &a[..d], &b[..d]);
        for k in 2..=layout.degree() {
            let out_k = &mut out[starts[k]..starts[k + 1]];
            plan.level(starts, k, a, b, out_k);
            for l in FUSED_TERMS + 1..=k - 2 {
                let right = &b[starts[k - l]..starts[k - l + 1]];
                outer_acc::<S, T>(out_k, &a[starts[l]..starts[l + 1]], right, right.len());
            }
        }
        return;
    }
    // Every level's `a_k + b_k` in one pass: the inputs stream in once, then stay in cache for
    // the outer products.
    add_into(out, a, b);
    for k in 2..=layout.degree() {
        let out_k = &mut out[layout.level_range(k)];
        for l in 1..k {
            tensor_acc::<S, T>(
                out_k,
                &a[layout.level_range(l)],
                &b[layout.level_range(k - l)],
            );
        }
    }
}

/// [`product_backward`] at a given [`Simd`] level.
#[inline(always)]
fn product_backward_with<S: Simd, T: Scalar + Vectorize<S>>(
    layout: Layout,
    grad: &[T],
    a: &[T],
    b: &[T],
    d_a: &mut [T],
    d_b: &mut [T],
) {
    debug_assert_eq!(grad.len(), layout.len());
    d_a.copy_from_slice(grad);
    d_b.copy_from_slice(grad);
    for k in 2..=layout.degree() {
        let grad_k = &grad[layout.level_range(k)];
        for l in 1..k {
            let (left, right) = (layout.level_range(l), layout.level_range(k - l));
            outer_adjoint::<S, T>(
                grad_k,
                &a[left.clone()],
                &b[right.clone()],
                &mut d_a[left],
                &mut d_b[right],
            );
        }
    }
}

/// Largest dimension [`BlockPlan`] takes: a block of `d²` values, its chunks and its tiled copy
/// of `b_1` fit fixed arrays.
const BLOCK_DIM: usize = 8;
/// Most vectors one block spans (`d² ≤ 64` values, at least 4 lanes).
const MAX_CHUNKS: usize = BLOCK_DIM * BLOCK_DIM / 4;
/// Terms `a_l ⊗ b_{k-l}` with `l ≤ k - 2` that a block pass adds itself; the rest of a deeper
/// level's (degree above `FUSED_TERMS + 2`) take a separate rank-1 pass each.
const FUSED_TERMS: usize = 4;

/// Level `k ≥ 2` of `a ⊗ b` block by block, every term in one pass.
///
/// A block is the `d²` words that share their first `k - 2` letters `q`:
///
/// `out_k[q··] = a_k[q··] + b_k[q··] + Σ_{l ≤ k-2} a_l[q_1…q_l] · b_{k-l}[q_{l+1}…··] + a_{k-1}[q·] ⊗ b_1`
///
/// Each `l ≤ k - 2` term is a scalar times a contiguous run of `d²` values of `b`, and the last
/// is the same `d × d` outer product in every block, so a block is a few vectors that each take
/// every term in registers and are stored once. No row is shorter than a vector (the plain
/// row-by-row product has rows of length `d` at every level), and a block that is not whole
/// vectors ends with a vector shifted back to end at the block's end: it recomputes lanes of the
/// vector before it, writing the same values.
struct BlockPlan<S: Simd, T: Vectorize<S>> {
    dim: usize,
    /// Vector `c` of a block, from [`vector_start`] `s`, multiplies the values of `a_{k-1}[q·]`
    /// from `s / d` on, lane `i` taking value `(s + i) / d - s / d` ...
    selectors: [<T as Vectorize<S>>::Lanes; MAX_CHUNKS],
    /// ... by `b_1[(s + i) % d]`, vector `c` at `c·LANES`.
    tiled: [T; MAX_CHUNKS * MAX_LANES],
}

/// Where vector `c` of a block of `block ≥ lanes` values starts: `c·lanes`, but for the last,
/// shifted back to end at the block's end.
#[inline(always)]
fn vector_start(c: usize, block: usize, lanes: usize) -> usize {
    (c * lanes).min(block - lanes)
}

impl<S: Simd, T: Scalar + Vectorize<S>> BlockPlan<S, T> {
    /// Whether blocks suit dimension `d`: not where a block is narrower than a vector (`d = 1`,
    /// and `d = 2` at 8 lanes) or wider than the tables (`d > BLOCK_DIM`).
    #[inline(always)]
    fn suits(dim: usize) -> bool {
        dim <= BLOCK_DIM && dim * dim >= <T as Vectorize<S>>::LANES
    }

    /// The plan for `b_1` (`d` values, with [`BlockPlan::suits`]`(d)`).
    #[inline(always)]
    fn new(b_1: &[T]) -> Self {
        let (dim, lanes) = (b_1.len(), <T as Vectorize<S>>::LANES);
        assert!(Self::suits(dim));
        let block = dim * dim;
        let mut plan = BlockPlan {
            dim,
            selectors: [v!(lanes)(&[0; MAX_LANES]); MAX_CHUNKS],
            tiled: [T::ZERO; MAX_CHUNKS * MAX_LANES],
        };
        // Rows and columns from a table: per-item divisions would cost as much as a level.
        let row_of = &ROW_OF[dim];
        for c in 0..block.div_ceil(lanes) {
            let start = vector_start(c, block, lanes);
            let mut from = [0u8; MAX_LANES];
            for (i, lane) in from[..lanes].iter_mut().enumerate() {
                let row = row_of[start + i];
                *lane = row - row_of[start];
                plan.tiled[c * lanes + i] = b_1[start + i - usize::from(row) * dim];
            }
            plan.selectors[c] = v!(lanes)(&from);
        }
        plan
    }

    /// Writes level `k ≥ 2` of `a ⊗ b` into `out_k`, but for the terms `a_l ⊗ b_{k-l}` with
    /// `FUSED_TERMS < l ≤ k - 2`, which the caller adds. `starts[j]` is where level `j` starts in
    /// `a` and `b`, for `j = 1..=N+1` (`N + 1`: their length).
    #[inline(always)]
    fn level(&self, starts: &[usize], k: usize, a: &[T], b: &[T], out_k: &mut [T]) {
        // The dimension and the term count as constants: a block's vectors unroll, their
        // offsets become immediates, and selectors, tiles and coefficients stay in registers.
        match self.dim {
            2 => self.level_for::<2>(starts, k, a, b, out_k),
            3 => self.level_for::<3>(starts, k, a, b, out_k),
            4 => self.level_for::<4>(starts, k, a, b, out_k),
            5 => self.level_for::<5>(starts, k, a, b, out_k),
            6 => self.level_for::<6>(starts, k, a, b, out_k),
            7 => self.level_for::<7>(starts, k, a, b, out_k),
            8 => self.level_for::<8>(starts, k, a, b, out_k),
            d => unreachable!("blocks do not suit d = {d}"),
        }
    }

    /// [`BlockPlan::level`] for `d = D`.
    #[inline(always)]
    fn level_for<const D: usize>(
        &self,
        starts: &[usize],
        k: usize,
        a: &[T],
        b: &[T],
        out_k: &mut [T],
    ) {
        assert!(k >= 2);
        match (k - 2).min(FUSED_TERMS) {
            0 => self.level_with::<D, 0>(starts, k, a, b, out_k),
            1 => self.level_with::<D, 1>(starts, k, a, b, out_k),
            2 => self.level_with::<D, 2>(starts, k, a, b, out_k),
            3 => self.level_with::<D, 3>(starts, k, a, b, out_k),
            _ => self.level_with::<D, FUSED_TERMS>(starts, k, a, b, out_k),
        }
    }

    /// [`BlockPlan::level`] for `d = D` and `TERMS = min(k - 2, FUSED_TERMS)`.
    #[inline(always)]
    fn level_with<const D: usize, const TERMS: usize>(
        &self,
        starts: &[usize],
        k: usize,
        a: &[T],
        b: &[T],
        out_k: &mut [T],
    ) {
        let lanes = <T as Vectorize<S>>::LANES;
        let (block, chunks) = (D * D, (D * D).div_ceil(lanes));
        let len = |j: usize| starts[j + 1] - starts[j];
        assert!(k >= 2 && k + 1 < starts.len());
        assert!(a.len() == starts[starts.len() - 1] && b.len() == a.len());
        assert!(out_k.len() == len(k) && len(1) == D && self.dim == D && chunks <= MAX_CHUNKS);
        assert_eq!(TERMS, (k - 2).min(FUSED_TERMS));
        // Term `l = t + 1`: its coefficient `a_l[q_1…q_l]` changes every `d^{k-2-l}` blocks, when
        // its run through `b_{k-l}` (`d^{k-l}` values, `d²` per block) wraps around.
        let mut coefficient = [v!(splat)(T::ZERO); TERMS];
        let mut coefficient_at = [std::ptr::null::<T>(); TERMS];
        let mut run = [std::ptr::null::<T>(); TERMS];
        let mut run_end = [std::ptr::null::<T>(); TERMS];
        let mut run_len = [0; TERMS];
        for t in 0..TERMS {
            let l = t + 1;
            run_len[t] = len(k - l);
            // SAFETY (every pointer here and below): offsets inside `a` and `b`, whose lengths
            // are checked above; `a_{k-1}` windows end at most `LANES - 1` values past the
            // level, inside level `k` of `a` (`d^k ≥ d² ≥ LANES` values).
            unsafe {
                coefficient_at[t] = a.as_ptr().add(starts[l]);
                coefficient[t] = v!(splat)(*coefficient_at[t]);
                run[t] = b.as_ptr().add(starts[k - l]);
                run_end[t] = run[t].add(run_len[t]);
            }
        }
        let selectors: [_; MAX_CHUNKS] = std::array::from_fn(|c| self.selectors[c]);
        unsafe {
            let tiles: [_; MAX_CHUNKS] =
                std::array::from_fn(|c| v!(load)(self.tiled.as_ptr().add(c * lanes)));
            let (mut a_k, mut b_k) = (a.as_ptr().add(starts[k]), b.as_ptr().add(starts[k]));
            let mut a_row = a.as_ptr().add(starts[k - 1]);
            let mut o = out_k.as_mut_ptr();
            for _ in 0..out_k.len() / block {
                for c in 0..chunks {
                    let s = vector_start(c, block, lanes);
                    let mut acc = v!(add)(v!(load)(a_k.add(s)), v!(load)(b_k.add(s)));
                    let left = v!(permute)(v!(load)(a_row.add(s / D)), selectors[c]);
                    acc = v!(mul_add)(left, tiles[c], acc);
                    for t in 0..TERMS {
                        acc = v!(mul_add)(coefficient[t], v!(load)(run[t].add(s)), acc);
                    }
                    v!(store)(o.add(s), acc);
                }
                a_k = a_k.add(block);
                b_k = b_k.add(block);
                o = o.add(block);
                a_row = a_row.add(D);
                for t in 0..TERMS {
                    run[t] = run[t].add(block);
                    // The last block moves every coefficient one past its level, onto the
                    // next level's first value: read, never used.
                    if run[t] == run_end[t] {
                        run[t] = run[t].sub(run_len[t]);
                        coefficient_at[t] = coefficient_at[t].add(1);
                        coefficient[t] = v!(splat)(*coefficient_at[t]);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::mul_exp::{MulExpWorkspace, mul_exp, mul_exp_backward};
    use super::*;
    use crate::simd::Portable;

    fn exp(layout: Layout, z: &[f64]) -> Vec<f64> {
        let mut a = vec![0.0; layout.len()];
        mul_exp(
            layout,
            &mut a,
            z,
            &mut MulExpWorkspace::new(layout).unwrap(),
        );
        a
    }

    #[test]
    fn exp_z_times_exp_minus_z_is_one() {
        let layout = Layout::new(3, 5).unwrap();
        let z = [0.5, -1.5, 2.0];
        let minus: Vec<f64> = z.iter().map(|v| -v).collect();
        let mut out = vec![1.0; layout.len()];
        product(layout, &exp(layout, &z), &exp(layout, &minus), &mut out);
        assert!(out.iter().all(|v| v.abs() < 1e-12), "{out:?}");
    }

    #[test]
    fn product_of_exps_equals_mul_exp() {
        let layout = Layout::new(2, 4).unwrap();
        let (z1, z2) = ([0.3, 0.8], [-1.1, 0.25]);
        let mut chained = exp(layout, &z1);
        mul_exp(
            layout,
            &mut chained,
            &z2,
            &mut MulExpWorkspace::new(layout).unwrap(),
        );
        let mut out = vec![0.0; layout.len()];
        product(layout, &exp(layout, &z1), &exp(layout, &z2), &mut out);
        for (x, y) in out.iter().zip(&chained) {
            assert!((x - y).abs() < 1e-14);
        }
    }

    /// `a ⊗ b` straight from the definition, word by word.
    fn product_by_definition<T: Scalar>(layout: Layout, a: &[T], b: &[T]) -> Vec<T> {
        let mut out = vec![T::ZERO; layout.len()];
        for k in 1..=layout.degree() {
            let level = layout.level_range(k);
            out[level.clone()].copy_from_slice(&a[level.clone()]);
            for (o, &x) in out[level.clone()].iter_mut().zip(&b[level.clone()]) {
                *o += x;
            }
            for l in 1..k {
                let (left, right) = (&a[layout.level_range(l)], &b[layout.level_range(k - l)]);
                for (w, &x) in left.iter().enumerate() {
                    for (v, &y) in right.iter().enumerate() {
                        out[level.start + w * right.len() + v] += x * y;
                    }
                }
            }
        }
        out
    }

    /// Dimensions 1-8 give rows of every length up to two vectors in both precisions, blocks
    /// (`d²`) that are and are not whole vectors, and too narrow for one; from degree 7 on, levels
    /// have more terms than a block pass fuses.
    const DEEP_SHAPES: [(usize, usize); 5] = [(1, 10), (2, 10), (3, 9), (4, 6), (5, 7)];
    /// Dimensions above `BLOCK_DIM`, which the block plan leaves to one rank-1 pass per term:
    /// rows of whole vectors and rows with a tail, at either width of vector.
    const WIDE_SHAPES: [(usize, usize); 5] = [(9, 2), (12, 3), (13, 3), (16, 2), (10, 4)];

    fn check_product_by_definition<T: Scalar + Into<f64>>(
        multiply: impl Fn(Layout, &[T], &[T], &mut [T]),
        tolerance: f64,
    ) {
        let shapes = (1..=8).flat_map(|dim| (1..=5).map(move |degree| (dim, degree)));
        for (dim, degree) in shapes.chain(DEEP_SHAPES).chain(WIDE_SHAPES) {
            let layout = Layout::new(dim, degree).unwrap();
            let value = |i: usize, s: f64| T::from_f64((i as f64 * s).sin());
            let a: Vec<T> = (0..layout.len()).map(|i| value(i, 0.37)).collect();
            let b: Vec<T> = (0..layout.len()).map(|i| value(i, 0.91)).collect();
            let mut out = vec![T::ZERO; layout.len()];
            multiply(layout, &a, &b, &mut out);
            for (i, (x, y)) in out
                .iter()
                .zip(product_by_definition(layout, &a, &b))
                .enumerate()
            {
                let (x, y): (f64, f64) = ((*x).into(), y.into());
                assert!(
                    (x - y).abs() <= tolerance * (1.0 + y.abs()),
                    "d = {dim}, N = {degree}, [{i}]: {x} vs {y}"
                );
            }
        }
    }

    #[test]
    fn product_matches_definition_f64() {
        check_product_by_definition::<f64>(product, 1e-13);
        check_product_by_definition::<f64>(product_with::<Portable, f64>, 1e-13);
    }

    #[test]
    fn product_matches_definition_f32() {
        check_product_by_definition::<f32>(product, 1e-5);
        check_product_by_definition::<f32>(product_with::<Portable, f32>, 1e-5);
    }

    #[test]
    fn hand_checked_degree_two() {
        // d = 1, N = 2: (1, a1, a2)(1, b1, b2) = (1, a1 + b1, a2 + b2 + a1 b1).
        let layout = Layout::new(1, 2).unwrap();
        let mut out = [0.0; 2];
        product(layout, &[2.0, 3.0], &[5.0, 7.0], &mut out);
        assert_eq!(out, [7.0, 20.0]);
        let (mut da, mut db) = ([0.0; 2], [0.0; 2]);
        product_backward(
            layout,
            &[1.0, 1.0],
            &[2.0, 3.0],
            &[5.0, 7.0],
            &mut da,
            &mut db,
        );
        assert_eq!(da, [6.0, 1.0]);
        assert_eq!(db, [3.0, 1.0]);
    }

    #[test]
    fn backward_of_mul_exp_agrees_with_product_backward() {
        // mul_exp(a, z) = a ⊗ exp(z): its gradient with respect to a is product_backward's d_a.
        let layout = Layout::new(3, 4).unwrap();
        let a: Vec<f64> = (0..layout.len()).map(|i| (i as f64 * 0.37).sin()).collect();
        let g: Vec<f64> = (0..layout.len()).map(|i| (i as f64 * 0.91).cos()).collect();
        let z = [0.2, -0.4, 0.9];
        let e = exp(layout, &z);
        let (mut da, mut de) = (vec![0.0; layout.len()], vec![0.0; layout.len()]);
        product_backward(layout, &g, &a, &e, &mut da, &mut de);
        let mut after = a.clone();
        let mut ws = MulExpWorkspace::new(layout).unwrap();
        mul_exp(layout, &mut after, &z, &mut ws);
        let mut grad = g.clone();
        let mut dz = [0.0; 3];
        mul_exp_backward(layout, &mut after, &mut grad, &z, &mut dz, &mut ws);
        for (x, y) in grad.iter().zip(&da) {
            assert!((x - y).abs() < 1e-12);
        }
        // The step undone: every level recovered, the top one too.
        for (x, y) in after.iter().zip(&a) {
            assert!((x - y).abs() < 1e-12);
        }
    }
}
