//! The Chen (tensor) product of two truncated tensors with scalar term 1, and its adjoint.
//!
//! `(A ⊗ B)_k = A_k + B_k + Σ_{l=1}^{k-1} A_l ⊗ B_{k-l}`: for signatures, the signature of the
//! concatenation of two paths (Chen's identity).

use super::kernels::{add_into, outer_adjoint, tensor_acc};
use super::layout::Layout;
use crate::scalar::Scalar;
use crate::simd::{Kernel, Simd, Vectorize, dispatch};

/// `out = a ⊗ b`, all three truncated tensors of `layout` with implied scalar term 1.
pub fn product<T: Scalar>(layout: Layout, a: &[T], b: &[T], out: &mut [T]) {
    struct Task<'a, T> {
        layout: Layout,
        a: &'a [T],
        b: &'a [T],
        out: &'a mut [T],
    }
    impl<T: Scalar> Kernel for Task<'_, T> {
        type Elem = T;
        type Output = ();
        #[inline(always)]
        fn run<S: Simd>(self)
        where
            T: Vectorize<S>,
        {
            product_with::<S, T>(self.layout, self.a, self.b, self.out)
        }
    }
    dispatch(Task { layout, a, b, out })
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
    struct Task<'a, T> {
        layout: Layout,
        grad: &'a [T],
        a: &'a [T],
        b: &'a [T],
        d_a: &'a mut [T],
        d_b: &'a mut [T],
    }
    impl<T: Scalar> Kernel for Task<'_, T> {
        type Elem = T;
        type Output = ();
        #[inline(always)]
        fn run<S: Simd>(self)
        where
            T: Vectorize<S>,
        {
            product_backward_with::<S, T>(
                self.layout,
                self.grad,
                self.a,
                self.b,
                self.d_a,
                self.d_b,
            )
        }
    }
    dispatch(Task {
        layout,
        grad,
        a,
        b,
        d_a,
        d_b,
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

#[cfg(test)]
mod tests {
    use super::super::mul_exp::{MulExpWorkspace, mul_exp, mul_exp_backward};
    use super::*;

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

    fn check_product_by_definition<T: Scalar + Into<f64>>(tolerance: f64) {
        // Dimensions 1-7 give rows of every length up to two vectors, in both precisions, at the
        // level this CPU dispatches to.
        for dim in 1..=7 {
            for degree in 1..=4 {
                let layout = Layout::new(dim, degree).unwrap();
                let value = |i: usize, s: f64| T::from_f64((i as f64 * s).sin());
                let a: Vec<T> = (0..layout.len()).map(|i| value(i, 0.37)).collect();
                let b: Vec<T> = (0..layout.len()).map(|i| value(i, 0.91)).collect();
                let mut out = vec![T::ZERO; layout.len()];
                product(layout, &a, &b, &mut out);
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
    }

    #[test]
    fn product_matches_definition_f64() {
        check_product_by_definition::<f64>(1e-13);
    }

    #[test]
    fn product_matches_definition_f32() {
        check_product_by_definition::<f32>(1e-5);
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
