//! The rank-1 updates that carry almost all of the arithmetic.
//!
//! Every product in the truncated tensor algebra reduces to an outer product of two levels,
//! `out[w·m + a] (+)= left[w] · right[a]`, where `out` is a level viewed as a
//! `left.len() × right.len()` row-major matrix, and every backward pass to its adjoint.
//! Keeping them here, behind three functions, is what lets the SIMD work specialise them
//! without touching the algorithms built on top.

use crate::scalar::Scalar;

/// `out[w·m + a] = left[w] · right[a]` with `m = right.len()`.
#[inline]
pub(crate) fn outer<T: Scalar>(out: &mut [T], left: &[T], right: &[T]) {
    debug_assert_eq!(out.len(), left.len() * right.len());
    for (row, &l) in out.chunks_exact_mut(right.len()).zip(left) {
        for (o, &r) in row.iter_mut().zip(right) {
            *o = l * r;
        }
    }
}

/// `out[w·m + a] += left[w] · right[a]` with `m = right.len()`.
#[inline]
pub(crate) fn outer_acc<T: Scalar>(out: &mut [T], left: &[T], right: &[T]) {
    debug_assert_eq!(out.len(), left.len() * right.len());
    for (row, &l) in out.chunks_exact_mut(right.len()).zip(left) {
        for (o, &r) in row.iter_mut().zip(right) {
            *o += l * r;
        }
    }
}

/// The adjoint of [`outer_acc`]: given the gradient `grad` of `out`, accumulates
/// `d_left[w] += Σ_a grad[w·m + a] · right[a]` and `d_right[a] += Σ_w left[w] · grad[w·m + a]`
/// in one pass over `grad`.
#[inline]
pub(crate) fn outer_adjoint<T: Scalar>(
    grad: &[T],
    left: &[T],
    right: &[T],
    d_left: &mut [T],
    d_right: &mut [T],
) {
    debug_assert_eq!(grad.len(), left.len() * right.len());
    debug_assert_eq!(d_left.len(), left.len());
    debug_assert_eq!(d_right.len(), right.len());
    for ((row, &l), dl) in grad.chunks_exact(right.len()).zip(left).zip(d_left) {
        let mut dot = T::ZERO;
        for ((&g, &r), dr) in row.iter().zip(right).zip(d_right.iter_mut()) {
            dot += g * r;
            *dr += l * g;
        }
        *dl += dot;
    }
}

/// `out[i] += x[i]`.
#[inline]
pub(crate) fn add_assign<T: Scalar>(out: &mut [T], x: &[T]) {
    debug_assert_eq!(out.len(), x.len());
    for (o, &v) in out.iter_mut().zip(x) {
        *o += v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outer_matches_definition() {
        let left = [1.0, 2.0, 3.0];
        let right = [10.0, 20.0];
        let mut out = [0.0; 6];
        outer(&mut out, &left, &right);
        assert_eq!(out, [10.0, 20.0, 20.0, 40.0, 30.0, 60.0]);
        outer_acc(&mut out, &left, &right);
        assert_eq!(out, [20.0, 40.0, 40.0, 80.0, 60.0, 120.0]);
    }

    #[test]
    fn adjoint_is_the_transpose() {
        // <grad, left ⊗ right> is bilinear: its gradients are grad·right and leftᵀ·grad.
        let left = [1.0, -2.0, 0.5];
        let right = [3.0, 4.0];
        let grad = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let (mut dl, mut dr) = ([0.0; 3], [0.0; 2]);
        outer_adjoint(&grad, &left, &right, &mut dl, &mut dr);
        assert_eq!(dl, [11.0, 25.0, 39.0]);
        assert_eq!(dr, [1.0 - 6.0 + 2.5, 2.0 - 8.0 + 3.0]);
    }
}
