//! The fused multiply-exponentiate `A ← A ⊗ exp(z)` and its backward pass.
//!
//! Level `k` of `A ⊗ exp(z)` is `Σ_{j≤k} A_j ⊗ z^{⊗(k-j)} / (k-j)!`, which Horner's scheme
//! evaluates as
//!
//! ```text
//! A_k + (A_{k-1} + (… (A_2 + (A_1 + z/k) ⊗ z/(k-1)) ⊗ z/(k-2) …) ⊗ z/2) ⊗ z
//! ```
//!
//! The partial sums `s_j = A_j + h_j` (with `h_1 = z/k`, `h_{j+1} = s_j ⊗ z/(k-j)`) grow one level
//! per step, so level `k` costs about `d^k` multiply-adds and a whole step about `d^N·d/(d-1)`.
//! Levels are updated from the top down, so each reads the old values of the levels below it
//! and the update happens in place.
//!
//! The backward pass runs the same recurrence from the bottom up: knowing the old levels
//! `1..k-1` it recomputes `s_1..s_{k-1}`, recovers the old `A_k = A_k - s_{k-1} ⊗ z` (this *is*
//! `A ⊗ exp(-z)`, the step's inverse), then pushes the gradient of level `k` back through the
//! chain. Recovery, recomputation and the adjoint share one pass, about three times the forward
//! cost, and nothing from the forward pass has to be stored.

use super::kernels::{add_assign, outer, outer_acc, outer_adjoint};
use super::layout::Layout;
use crate::error::{Result, try_zeroed};
use crate::scalar::Scalar;

/// Scratch space for [`mul_exp`] and [`mul_exp_backward`], sized for one [`Layout`].
///
/// Allocate one per thread and reuse it for every step of every path.
#[derive(Debug, Clone)]
pub struct MulExpWorkspace<T> {
    /// `z / m` for `m = 1..=N`, row `m - 1`.
    scaled: Vec<T>,
    /// The chain `s_1 … s_{N-1}`, level `j` at `layout.level_offset(j)` (backward only needs
    /// them all; the forward pass uses the first two level-`N-1` slots as a ping-pong pair).
    chain: Vec<T>,
    /// Gradients of two consecutive chain levels.
    grad_a: Vec<T>,
    grad_b: Vec<T>,
    /// Gradient of one scaled copy of `z`.
    grad_z: Vec<T>,
}

impl<T: Scalar> MulExpWorkspace<T> {
    /// A workspace for tensors of `layout`.
    pub fn new(layout: Layout) -> Result<Self> {
        let (d, n) = (layout.dim(), layout.degree());
        let top = if n >= 1 { layout.level_len(n - 1) } else { 0 };
        let chain_len = if n >= 1 {
            layout.level_offset(n).max(2 * top)
        } else {
            0
        };
        Ok(MulExpWorkspace {
            scaled: try_zeroed("a multiply-exponentiate workspace", d * n)?,
            chain: try_zeroed("a multiply-exponentiate workspace", chain_len)?,
            grad_a: try_zeroed("a multiply-exponentiate workspace", top)?,
            grad_b: try_zeroed("a multiply-exponentiate workspace", top)?,
            grad_z: try_zeroed("a multiply-exponentiate workspace", d)?,
        })
    }

    fn scale(&mut self, z: &[T]) {
        for (m, row) in self.scaled.chunks_exact_mut(z.len().max(1)).enumerate() {
            let inv = T::from_f64(1.0 / (m + 1) as f64);
            for (s, &v) in row.iter_mut().zip(z) {
                *s = v * inv;
            }
        }
    }
}

/// `a ← a ⊗ exp(z)` in place: one step of a signature, `a` a truncated tensor of `layout`
/// (scalar term 1, not stored) and `z` a vector of `R^d`.
pub fn mul_exp<T: Scalar>(layout: Layout, a: &mut [T], z: &[T], ws: &mut MulExpWorkspace<T>) {
    let (d, n) = (layout.dim(), layout.degree());
    debug_assert_eq!(a.len(), layout.len());
    debug_assert_eq!(z.len(), d);
    if n == 0 {
        return;
    }
    ws.scale(z);
    let scaled = &ws.scaled;
    let scaled_z = |m: usize| &scaled[(m - 1) * d..m * d];
    let top = layout.level_len(n - 1);
    let (ping, pong) = ws.chain[..2 * top].split_at_mut(top);
    for k in (2..=n).rev() {
        let (lower, upper) = a.split_at_mut(layout.level_offset(k));
        let (mut cur, mut next) = (&mut *ping, &mut *pong);
        // s_1 = A_1 + z/k
        cur[..d].copy_from_slice(&lower[..d]);
        add_assign(&mut cur[..d], scaled_z(k));
        for j in 1..k - 1 {
            // s_{j+1} = s_j ⊗ z/(k-j) + A_{j+1}
            let (len, next_len) = (layout.level_len(j), layout.level_len(j + 1));
            outer(&mut next[..next_len], &cur[..len], scaled_z(k - j));
            add_assign(&mut next[..next_len], &lower[layout.level_range(j + 1)]);
            std::mem::swap(&mut cur, &mut next);
        }
        // A_k += s_{k-1} ⊗ z
        outer_acc(
            &mut upper[..layout.level_len(k)],
            &cur[..layout.level_len(k - 1)],
            z,
        );
    }
    add_assign(&mut a[..d], z);
}

/// The backward pass of [`mul_exp`], in place.
///
/// On entry `a` is the tensor after the step (`A ⊗ exp(z)`) and `grad` the gradient of a scalar
/// loss with respect to it. On return `a` holds the tensor before the step (`A`), `grad` the
/// gradient with respect to it, and the gradient with respect to `z` has been added to `d_z`.
pub fn mul_exp_backward<T: Scalar>(
    layout: Layout,
    a: &mut [T],
    grad: &mut [T],
    z: &[T],
    d_z: &mut [T],
    ws: &mut MulExpWorkspace<T>,
) {
    let (d, n) = (layout.dim(), layout.degree());
    debug_assert_eq!(a.len(), layout.len());
    debug_assert_eq!(grad.len(), layout.len());
    debug_assert_eq!(z.len(), d);
    debug_assert_eq!(d_z.len(), d);
    if n == 0 {
        return;
    }
    ws.scale(z);
    // Level 1: A_1 += z.
    for ((ai, gi), (&zi, dzi)) in a[..d]
        .iter_mut()
        .zip(&grad[..d])
        .zip(z.iter().zip(d_z.iter_mut()))
    {
        *ai -= zi;
        *dzi += *gi;
    }
    let MulExpWorkspace {
        scaled,
        chain,
        grad_a,
        grad_b,
        grad_z,
    } = ws;
    let scaled_z = |m: usize| &scaled[(m - 1) * d..m * d];
    for k in 2..=n {
        let (lower, upper) = a.split_at_mut(layout.level_offset(k));
        // Recompute the chain s_1..s_{k-1} from the (already recovered) old levels.
        chain[..d].copy_from_slice(&lower[..d]);
        add_assign(&mut chain[..d], scaled_z(k));
        for j in 1..k - 1 {
            let (prev, next) = chain.split_at_mut(layout.level_offset(j + 1));
            let next = &mut next[..layout.level_len(j + 1)];
            outer(next, &prev[layout.level_range(j)], scaled_z(k - j));
            add_assign(next, &lower[layout.level_range(j + 1)]);
        }
        let s = |j: usize| layout.level_range(j);
        // Recover the old A_k = A_k - s_{k-1} ⊗ z, accumulating -(s_{k-1} ⊗ z) via -z.
        for (g, &v) in grad_z.iter_mut().zip(z) {
            *g = -v;
        }
        outer_acc(&mut upper[..layout.level_len(k)], &chain[s(k - 1)], grad_z);

        // Adjoint of A_k += s_{k-1} ⊗ z.
        let (grad_lower, grad_upper) = grad.split_at_mut(layout.level_offset(k));
        let (mut ds, mut ds_next) = (&mut grad_a[..], &mut grad_b[..]);
        let top = layout.level_len(k - 1);
        ds[..top].fill(T::ZERO);
        outer_adjoint(
            &grad_upper[..layout.level_len(k)],
            &chain[s(k - 1)],
            z,
            &mut ds[..top],
            d_z,
        );
        for j in (1..k).rev() {
            let len = layout.level_len(j);
            // s_j = h_j + A_j: the gradient reaches A_j and h_j alike.
            add_assign(&mut grad_lower[s(j)], &ds[..len]);
            if j == 1 {
                // h_1 = z / k
                let inv = T::from_f64(1.0 / k as f64);
                for (dzi, &g) in d_z.iter_mut().zip(&ds[..d]) {
                    *dzi += g * inv;
                }
            } else {
                // h_j = s_{j-1} ⊗ z / (k-j+1)
                let prev = layout.level_len(j - 1);
                ds_next[..prev].fill(T::ZERO);
                grad_z.fill(T::ZERO);
                let m = k - j + 1;
                outer_adjoint(
                    &ds[..len],
                    &chain[s(j - 1)],
                    scaled_z(m),
                    &mut ds_next[..prev],
                    grad_z,
                );
                let inv = T::from_f64(1.0 / m as f64);
                for (dzi, &g) in d_z.iter_mut().zip(grad_z.iter()) {
                    *dzi += g * inv;
                }
                std::mem::swap(&mut ds, &mut ds_next);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// exp(z) by its power series, levels 1..N flat.
    fn exp_series(layout: Layout, z: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; layout.len()];
        let mut term = vec![1.0];
        for k in 1..=layout.degree() {
            let mut next = vec![0.0; term.len() * z.len()];
            outer(&mut next, &term, z);
            for v in next.iter_mut() {
                *v /= k as f64;
            }
            out[layout.level_range(k)].copy_from_slice(&next);
            term = next;
        }
        out
    }

    #[test]
    fn exp_of_zero_tensor_is_the_power_series() {
        let layout = Layout::new(3, 5).unwrap();
        let z = [0.3, -1.2, 0.7];
        let mut a = vec![0.0; layout.len()];
        let mut ws = MulExpWorkspace::new(layout).unwrap();
        mul_exp(layout, &mut a, &z, &mut ws);
        let expected = exp_series(layout, &z);
        for (x, y) in a.iter().zip(&expected) {
            assert!((x - y).abs() < 1e-14, "{x} vs {y}");
        }
    }

    #[test]
    fn backward_recovers_the_input_and_matches_finite_differences() {
        let layout = Layout::new(2, 4).unwrap();
        let mut ws = MulExpWorkspace::new(layout).unwrap();
        let start: Vec<f64> = (0..layout.len())
            .map(|i| ((i * 7 % 11) as f64 - 5.0) / 7.0)
            .collect();
        let weights: Vec<f64> = (0..layout.len())
            .map(|i| ((i * 5 % 13) as f64 - 6.0) / 9.0)
            .collect();
        let z = [0.4, -0.9];
        let loss = |a0: &[f64], z: &[f64], ws: &mut MulExpWorkspace<f64>| {
            let mut a = a0.to_vec();
            mul_exp(layout, &mut a, z, ws);
            a.iter().zip(&weights).map(|(x, w)| x * w).sum::<f64>()
        };

        let mut a = start.clone();
        mul_exp(layout, &mut a, &z, &mut ws);
        let mut grad = weights.clone();
        let mut dz = [0.0; 2];
        mul_exp_backward(layout, &mut a, &mut grad, &z, &mut dz, &mut ws);
        for (x, y) in a.iter().zip(&start) {
            assert!((x - y).abs() < 1e-13);
        }
        let eps = 1e-6;
        for i in 0..2 {
            let (mut zp, mut zm) = (z, z);
            zp[i] += eps;
            zm[i] -= eps;
            let fd = (loss(&start, &zp, &mut ws) - loss(&start, &zm, &mut ws)) / (2.0 * eps);
            assert!((fd - dz[i]).abs() < 1e-8, "dz[{i}]: {fd} vs {}", dz[i]);
        }
        for i in 0..layout.len() {
            let (mut ap, mut am) = (start.clone(), start.clone());
            ap[i] += eps;
            am[i] -= eps;
            let fd = (loss(&ap, &z, &mut ws) - loss(&am, &z, &mut ws)) / (2.0 * eps);
            assert!((fd - grad[i]).abs() < 1e-8, "dA[{i}]: {fd} vs {}", grad[i]);
        }
    }
}
