//! Right multiplication by an exponential in the natural word order, `out = a ⊗ exp(z)`, and
//! its backward pass given `a`.
//!
//! Level `k` of `A ⊗ exp(z)` is `Σ_j A_j ⊗ z^{⊗(k-j)}/(k-j)!`, in Horner form
//! `A_k + (A_{k-1} + (… (A_1 + z/k) ⊗ z/(k-1) …) ⊗ z/2) ⊗ z`: the chain
//! `s_1 = A_1 + z/k`, `s_{j+1} = A_{j+1} + s_j ⊗ z/(k-j)` grows one level per link, and
//! `out_k = A_k + s_{k-1} ⊗ z`. The result goes to its own buffer, so the input is read once and
//! never copied.
//!
//! [`crate::algebra::exp_mul`] computes the mirror image, `exp(z) ⊗ a`, with the long operand on
//! the right of its outer products, and the signature code runs it on word-reversed tensors; for
//! one join, reversing a tensor twice costs more than the step itself, so this version keeps the
//! natural order and runs its outer products `s ⊗ z` as rows of `d` (vectorised by the compiler
//! inside a function compiled for the CPU's vector width).

use crate::algebra::Layout;
use crate::error::{Result, try_zeroed};
use crate::scalar::Scalar;
use crate::simd::{Simd, Vectorize, simd_dispatch};

/// Scratch for [`mul_exp_right`] and [`mul_exp_right_backward`], sized for one [`Layout`].
#[derive(Debug, Clone)]
pub(crate) struct RightWorkspace<T> {
    layout: Layout,
    /// `z / m` at row `m - 1`, `m = 1..=N`.
    scaled: Vec<T>,
    /// The chain `s_1 … s_{N-1}`, level `j` at the layout's offset of level `j`.
    chain: Vec<T>,
    /// Backward: gradients of two consecutive chain links.
    grad_a: Vec<T>,
    grad_b: Vec<T>,
    /// Backward: the gradient with respect to each row of `scaled`.
    d_scaled: Vec<T>,
}

impl<T: Scalar> RightWorkspace<T> {
    pub(crate) fn new(layout: Layout) -> Result<Self> {
        let (d, n) = (layout.dim(), layout.degree());
        let what = "a sig_join workspace";
        let top = if n >= 1 { layout.level_len(n - 1) } else { 0 };
        Ok(RightWorkspace {
            layout,
            scaled: try_zeroed(what, d * n)?,
            chain: try_zeroed(what, if n >= 1 { layout.level_offset(n) } else { 0 })?,
            grad_a: try_zeroed(what, top)?,
            grad_b: try_zeroed(what, top)?,
            d_scaled: try_zeroed(what, d * n)?,
        })
    }

    fn scale(&mut self, z: &[T]) {
        let d = z.len().max(1);
        for (m, row) in self.scaled.chunks_exact_mut(d).enumerate() {
            let inv = T::from_f64(1.0 / (m + 1) as f64);
            for (s, &v) in row.iter_mut().zip(z) {
                *s = v * inv;
            }
        }
    }
}

/// Calls `$f::<T, D>` with the constant `D = $d` for the small widths (its rows then unroll and
/// its accumulators stay in registers), else `$f::<T, 0>`, which reads the width at run time.
macro_rules! by_width {
    ($d:expr, $f:ident($($arg:expr),* $(,)?)) => {
        match $d {
            1 => $f::<T, 1>($($arg),*),
            2 => $f::<T, 2>($($arg),*),
            3 => $f::<T, 3>($($arg),*),
            4 => $f::<T, 4>($($arg),*),
            5 => $f::<T, 5>($($arg),*),
            6 => $f::<T, 6>($($arg),*),
            7 => $f::<T, 7>($($arg),*),
            8 => $f::<T, 8>($($arg),*),
            _ => $f::<T, 0>($($arg),*),
        }
    };
}

/// `out[w·d + c] = addend[w·d + c] + left[w]·right[c]`, `d = right.len()`.
#[inline(always)]
fn outer_rows_add<T: Scalar>(out: &mut [T], addend: &[T], left: &[T], right: &[T]) {
    by_width!(right.len(), outer_rows_add_n(out, addend, left, right))
}

#[inline(always)]
fn outer_rows_add_n<T: Scalar, const D: usize>(
    out: &mut [T],
    addend: &[T],
    left: &[T],
    right: &[T],
) {
    if D == 0 {
        let d = right.len();
        for ((row, add), &l) in out
            .chunks_exact_mut(d)
            .zip(addend.chunks_exact(d))
            .zip(left)
        {
            for ((o, &a), &r) in row.iter_mut().zip(add).zip(right) {
                *o = a + l * r;
            }
        }
        return;
    }
    let r: [T; D] = std::array::from_fn(|c| right[c]);
    let (rows, _) = out.as_chunks_mut::<D>();
    let (adds, _) = addend.as_chunks::<D>();
    for ((row, add), &l) in rows.iter_mut().zip(adds).zip(left) {
        for c in 0..D {
            row[c] = add[c] + l * r[c];
        }
    }
}

/// The adjoint of `out = left ⊗ right` (rows of `d = right.len()`): given the gradient `grad`
/// of `out`, writes the gradient of `left` into `d_left` and adds that of `right` to `d_right`.
#[inline(always)]
fn outer_rows_adjoint<T: Scalar>(
    grad: &[T],
    left: &[T],
    right: &[T],
    d_left: &mut [T],
    d_right: &mut [T],
) {
    by_width!(
        right.len(),
        outer_rows_adjoint_n(grad, left, right, d_left, d_right)
    )
}

#[inline(always)]
fn outer_rows_adjoint_n<T: Scalar, const D: usize>(
    grad: &[T],
    left: &[T],
    right: &[T],
    d_left: &mut [T],
    d_right: &mut [T],
) {
    if D == 0 {
        let d = right.len();
        for ((row, &l), dl) in grad.chunks_exact(d).zip(left).zip(d_left.iter_mut()) {
            let mut acc = T::ZERO;
            for ((&g, &r), dr) in row.iter().zip(right).zip(d_right.iter_mut()) {
                acc += g * r;
                *dr += g * l;
            }
            *dl = acc;
        }
        return;
    }
    let r: [T; D] = std::array::from_fn(|c| right[c]);
    let mut acc = [T::ZERO; D];
    let (rows, _) = grad.as_chunks::<D>();
    for ((row, &l), dl) in rows.iter().zip(left).zip(d_left.iter_mut()) {
        let mut sum = T::ZERO;
        for c in 0..D {
            sum += row[c] * r[c];
            acc[c] += row[c] * l;
        }
        *dl = sum;
    }
    for (dr, a) in d_right.iter_mut().zip(acc) {
        *dr += a;
    }
}

/// Writes level `k`'s chain `s_1 … s_{k-1}` into `chain` (level `j` at its layout offset),
/// reading the levels `1..k` of `a`.
#[inline(always)]
fn chain_of<T: Scalar>(layout: Layout, a: &[T], scaled: &[T], k: usize, chain: &mut [T]) {
    let d = layout.dim();
    let z_over = |m: usize| &scaled[(m - 1) * d..m * d];
    for ((c, &x), &s) in chain[..d].iter_mut().zip(&a[..d]).zip(z_over(k)) {
        *c = x + s;
    }
    for j in 1..k - 1 {
        let (prev, next) = chain.split_at_mut(layout.level_offset(j + 1));
        outer_rows_add(
            &mut next[..layout.level_len(j + 1)],
            &a[layout.level_range(j + 1)],
            &prev[layout.level_range(j)],
            z_over(k - j),
        );
    }
}

/// `out = a ⊗ exp(z)`, in the natural word order.
pub(crate) fn mul_exp_right<T: Scalar>(
    a: &[T],
    z: &[T],
    out: &mut [T],
    ws: &mut RightWorkspace<T>,
) {
    simd_dispatch!(<'a, T: Scalar> |S| {
        a: &'a [T],
        z: &'a [T],
        out: &'a mut [T],
        ws: &'a mut RightWorkspace<T>,
    } -> () {
        mul_exp_right_at::<S, T>(a, z, out, ws)
    })
}

/// The body of [`mul_exp_right`] at level `S`.
#[inline(always)]
fn mul_exp_right_at<'a, S: Simd, T: Scalar + Vectorize<S>>(
    a: &'a [T],
    z: &'a [T],
    out: &'a mut [T],
    ws: &'a mut RightWorkspace<T>,
) {
    let layout = ws.layout;
    let (d, n) = (layout.dim(), layout.degree());
    if n == 0 {
        return;
    }
    ws.scale(z);
    for ((o, &x), &v) in out[..d].iter_mut().zip(&a[..d]).zip(z) {
        *o = x + v;
    }
    for k in 2..=n {
        chain_of(layout, a, &ws.scaled, k, &mut ws.chain);
        let range = layout.level_range(k);
        let top = &ws.chain[layout.level_range(k - 1)];
        outer_rows_add(&mut out[range.clone()], &a[range], top, z);
    }
}

/// The backward pass of [`mul_exp_right`] given the tensor before the step, `a` (read only):
/// `grad` goes from the gradient with respect to `a ⊗ exp(z)` to the gradient with respect to
/// `a`, and the gradient with respect to `z` is added to `d_z`.
pub(crate) fn mul_exp_right_backward<T: Scalar>(
    a: &[T],
    z: &[T],
    grad: &mut [T],
    d_z: &mut [T],
    ws: &mut RightWorkspace<T>,
) {
    simd_dispatch!(<'a, T: Scalar> |S| {
        a: &'a [T],
        z: &'a [T],
        grad: &'a mut [T],
        d_z: &'a mut [T],
        ws: &'a mut RightWorkspace<T>,
    } -> () {
        mul_exp_right_backward_at::<S, T>(a, z, grad, d_z, ws)
    })
}

/// The body of [`mul_exp_right_backward`] at level `S`.
#[inline(always)]
fn mul_exp_right_backward_at<'a, S: Simd, T: Scalar + Vectorize<S>>(
    a: &'a [T],
    z: &'a [T],
    grad: &'a mut [T],
    d_z: &'a mut [T],
    ws: &'a mut RightWorkspace<T>,
) {
    let layout = ws.layout;
    let (d, n) = (layout.dim(), layout.degree());
    if n == 0 {
        return;
    }
    ws.scale(z);
    ws.d_scaled.fill(T::ZERO);
    let RightWorkspace {
        scaled,
        chain,
        grad_a,
        grad_b,
        d_scaled,
        ..
    } = ws;
    // Level 1: out_1 = a_1 + z.
    for (s, &g) in d_scaled[..d].iter_mut().zip(&grad[..d]) {
        *s += g;
    }
    // Ascending: level k's own gradient is read before any higher level adds to it.
    for k in 2..=n {
        chain_of(layout, a, scaled, k, chain);
        let (lower, upper) = grad.split_at_mut(layout.level_offset(k));
        let (mut ds, mut ds_next) = (&mut grad_a[..], &mut grad_b[..]);
        // out_k = a_k + s_{k-1} ⊗ z (the gradient of a_k is G_k itself).
        outer_rows_adjoint(
            &upper[..layout.level_len(k)],
            &chain[layout.level_range(k - 1)],
            z,
            &mut ds[..layout.level_len(k - 1)],
            &mut d_scaled[..d],
        );
        // s_j = a_j + s_{j-1} ⊗ z/m, m = k - j + 1, down to s_1 = a_1 + z/k.
        for j in (1..k).rev() {
            let len = layout.level_len(j);
            for (g, &v) in lower[layout.level_range(j)].iter_mut().zip(&ds[..len]) {
                *g += v;
            }
            let m = k - j + 1;
            let d_scale = &mut d_scaled[(m - 1) * d..m * d];
            if j == 1 {
                for (s, &v) in d_scale.iter_mut().zip(&ds[..d]) {
                    *s += v;
                }
            } else {
                outer_rows_adjoint(
                    &ds[..len],
                    &chain[layout.level_range(j - 1)],
                    &scaled[(m - 1) * d..m * d],
                    &mut ds_next[..layout.level_len(j - 1)],
                    d_scale,
                );
                std::mem::swap(&mut ds, &mut ds_next);
            }
        }
    }
    for (m, row) in d_scaled.chunks_exact(d.max(1)).enumerate() {
        let inv = T::from_f64(1.0 / (m + 1) as f64);
        for (dz, &s) in d_z.iter_mut().zip(row) {
            *dz += s * inv;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algebra::{MulExpWorkspace, exp_mul_backward_given_input, reverse_words};

    #[test]
    fn agrees_with_the_reversed_left_multiplication_and_its_backward() {
        for (d, n) in [(2, 4), (3, 3), (1, 5), (5, 2), (4, 1), (3, 0), (5, 4)] {
            let layout = Layout::new(d, n).unwrap();
            let start: Vec<f64> = (0..layout.len())
                .map(|i| ((i * 7 % 11) as f64 - 5.0) / 7.0)
                .collect();
            let g: Vec<f64> = (0..layout.len())
                .map(|i| ((i * 5 % 13) as f64 - 6.0) / 9.0)
                .collect();
            let z: Vec<f64> = (0..d).map(|i| 0.4 - 0.3 * i as f64).collect();
            let mut ws = RightWorkspace::new(layout).unwrap();
            let mut left_ws = MulExpWorkspace::new(layout).unwrap();

            let mut right = vec![f64::NAN; layout.len()];
            mul_exp_right(&start, &z, &mut right, &mut ws);
            let mut reversed = start.clone();
            reverse_words(layout, &mut reversed);
            crate::algebra::exp_mul(layout, &z, &mut reversed, &mut left_ws);
            reverse_words(layout, &mut reversed);
            for (x, y) in right.iter().zip(&reversed) {
                assert!((x - y).abs() < 1e-14, "d={d} N={n}: {x} vs {y}");
            }

            let (mut grad, mut dz) = (g.clone(), vec![0.0; d]);
            mul_exp_right_backward(&start, &z, &mut grad, &mut dz, &mut ws);
            let (mut rev_a, mut rev_g, mut rev_dz) = (start.clone(), g.clone(), vec![0.0; d]);
            reverse_words(layout, &mut rev_a);
            reverse_words(layout, &mut rev_g);
            exp_mul_backward_given_input(
                layout,
                &z,
                &mut rev_a,
                &mut rev_g,
                &mut rev_dz,
                &mut left_ws,
            );
            reverse_words(layout, &mut rev_g);
            for (x, y) in grad.iter().chain(&dz).zip(rev_g.iter().chain(&rev_dz)) {
                assert!((x - y).abs() < 1e-13, "d={d} N={n}: {x} vs {y}");
            }
        }
    }
}
