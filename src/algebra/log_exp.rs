//! The truncated tensor logarithm and exponential, and their backward passes.
//!
//! **Logarithm.** For a group-like `S = 1 + x` (`x` without scalar term),
//! `log S = Σ_{n=1}^{N} (−1)^{n+1} xⁿ / n`, evaluated in Horner form
//! `x ⊗ (1 − x ⊗ (1/2 − x ⊗ (1/3 − …)))`. Scaled so that every factor has scalar term 1, the
//! nested terms are `r_n = 1 + q_n` with
//!
//! ```text
//! q_N = 0,    q_n = −n/(n+1) · (x + x ⊗' q_{n+1}),    log S = x + x ⊗' q_1,
//! ```
//!
//! `⊗'` the product without the scalar terms (`(a ⊗' b)_k = Σ_{0<l<k} a_l ⊗ b_{k−l}`). As `xⁿ`
//! has no levels below `n`, `q_n` is needed only up to level `N − n`: the `n`-th product is
//! truncated there, so all of them together cost about as much as one full Chen product.
//! `x + x ⊗' q` is [`product`]`(x, q) − q` for `q` zero in its top level, which is how each is
//! computed: on the Chen product's fast kernels.
//!
//! **Exponential.** For `L` without scalar term, `exp L = 1 + f_1` with
//!
//! ```text
//! f_{N+1} = 0,    f_n = (L + L ⊗' f_{n+1}) / n   (needed up to level N − n + 1).
//! ```
//!
//! **Backward passes** run the recurrences in reverse with [`product_backward`], from the terms
//! the forward pass kept in the workspace (the callers recompute the forward first).

use super::layout::Layout;
use super::product::{product, product_backward};
use crate::error::{Result, try_zeroed};
use crate::scalar::Scalar;

/// Scratch for [`log`], [`exp`] and their backward passes, sized for one [`Layout`]: the Horner
/// terms of the last forward pass and a few level-`N` buffers.
#[derive(Clone, Debug)]
pub struct LogExpWorkspace<T> {
    layout: Layout,
    /// `layouts[m]`: the layout of degree `m ≤ N` (a prefix of the full one).
    layouts: Vec<Layout>,
    /// Term `n` (`q_n` or `f_n`) at `terms[starts[n]..]`, its `len(N − n + 2)` slot holding its
    /// levels and zeros above them; `n = 1..=N+1`.
    starts: Vec<usize>,
    terms: Vec<T>,
    product: Vec<T>,
    grad: Vec<T>,
    grad_a: Vec<T>,
    grad_b: Vec<T>,
    /// Whether an exponential has written its terms since the logarithm last zeroed the
    /// padding levels it needs zero.
    exp_dirty: bool,
}

impl<T: Scalar> LogExpWorkspace<T> {
    /// A workspace for tensors of `layout`.
    pub fn new(layout: Layout) -> Result<Self> {
        let n = layout.degree();
        let layouts = (0..=n)
            .map(|m| Layout::new(layout.dim(), m))
            .collect::<Result<Vec<_>>>()?;
        // Slot n holds degree N - n + 1 (the top level as zero padding); slot 1 is not used by the
        // logarithm and holds exp's f_1 only when the caller wants it kept.
        let slot = |t: usize| layouts[(n + 2).saturating_sub(t).min(n)].len();
        let mut starts = vec![0; n + 3];
        for t in 1..=n + 1 {
            starts[t + 1] = starts[t] + slot(t);
        }
        let what = "a log/exp workspace";
        Ok(LogExpWorkspace {
            layout,
            terms: try_zeroed(what, starts[n + 2])?,
            starts,
            product: try_zeroed(what, layout.len())?,
            grad: try_zeroed(what, layout.len())?,
            grad_a: try_zeroed(what, layout.len())?,
            grad_b: try_zeroed(what, layout.len())?,
            layouts,
            exp_dirty: false,
        })
    }

    /// The layout the workspace is sized for.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Term `t`'s first `len` values.
    fn term(&self, t: usize, len: usize) -> &[T] {
        &self.terms[self.starts[t]..self.starts[t] + len]
    }

    /// `q_1` of the last [`LogExpWorkspace::log_terms`]: levels `1..N−1`, then a zero level `N`.
    pub(crate) fn log_series(&self) -> &[T] {
        self.term(1, self.layout.len())
    }

    /// The Horner terms `q_{N−1}, …, q_1` of `log(1 + x)`.
    pub(crate) fn log_terms(&mut self, x: &[T]) {
        let n = self.layout.degree();
        assert_eq!(x.len(), self.layout.len());
        if n == 0 {
            return;
        }
        // Term N is q_N = 0 and term t ≤ N - 1 has degree N - t, with a zero level above it: the
        // exponential leaves its own terms (one level longer) in the same slots.
        if self.exp_dirty {
            for t in 1..=n {
                let padding = self.starts[t] + self.layouts[n - t].len()..self.starts[t + 1];
                self.terms[padding].fill(T::ZERO);
            }
            self.exp_dirty = false;
        }
        for t in (1..n).rev() {
            let alpha = T::from_f64(t as f64 / (t + 1) as f64);
            let m = self.layouts[n - t];
            let len = m.len();
            let (below, above) = self.terms.split_at_mut(self.starts[t + 1]);
            let out = &mut below[self.starts[t]..self.starts[t] + len];
            if t + 1 == n {
                // q_{N-1} = -α x at degree 1: no product needed.
                for (o, &v) in out.iter_mut().zip(x) {
                    *o = -alpha * v;
                }
                continue;
            }
            let next = &above[..len];
            product(m, &x[..len], next, &mut self.product[..len]);
            for ((o, &p), &q) in out.iter_mut().zip(&self.product[..len]).zip(next) {
                *o = alpha * (q - p);
            }
        }
    }

    /// Adds to `d_x` the gradient that reaches `x` through `q_1`, given `grad` with respect to
    /// `q_1` in `grad[..len(N−1)]`, from the terms of the last [`LogExpWorkspace::log_terms`]
    /// (`grad` is used as scratch).
    pub(crate) fn log_terms_backward(&mut self, x: &[T], grad: &mut [T], d_x: &mut [T]) {
        let n = self.layout.degree();
        for t in 1..n {
            // q_t = -α (product(x, q_{t+1}) - q_{t+1}) at degree m = N - t.
            let m = self.layouts[n - t];
            let len = m.len();
            let alpha = T::from_f64(t as f64 / (t + 1) as f64);
            for g in &mut grad[..len] {
                *g = -alpha * *g;
            }
            let next = &self.terms[self.starts[t + 1]..self.starts[t + 1] + len];
            product_backward(
                m,
                &grad[..len],
                &x[..len],
                next,
                &mut self.grad_a[..len],
                &mut self.grad_b[..len],
            );
            for (d, &a) in d_x[..len].iter_mut().zip(&self.grad_a[..len]) {
                *d += a;
            }
            // The gradient of q_{t+1}: through the product, less the direct -q_{t+1} term.
            for (g, &b) in grad[..len].iter_mut().zip(&self.grad_b[..len]) {
                *g = b - *g;
            }
        }
    }
}

/// `out = log(1 + x)` in `layout`, every level: the expanded tensor logarithm of the group-like
/// element whose levels `1..=N` are `x`.
pub fn log<T: Scalar>(layout: Layout, x: &[T], out: &mut [T], ws: &mut LogExpWorkspace<T>) {
    assert_eq!(ws.layout, layout);
    assert_eq!(out.len(), layout.len());
    ws.log_terms(x);
    let q = ws.log_series();
    product(layout, x, q, out);
    for (o, &q) in out.iter_mut().zip(q) {
        *o -= q;
    }
}

/// The backward pass of [`log`]: `d_x` (overwritten) is the gradient with respect to `x` of a
/// scalar loss whose gradient with respect to `log(1 + x)` is `grad`.
pub fn log_backward<T: Scalar>(
    layout: Layout,
    x: &[T],
    grad: &[T],
    d_x: &mut [T],
    ws: &mut LogExpWorkspace<T>,
) {
    assert_eq!(ws.layout, layout);
    assert_eq!(grad.len(), layout.len());
    ws.log_terms(x);
    let mut g_q = std::mem::take(&mut ws.grad);
    // log = product(x, q_1) - q_1.
    product_backward(layout, grad, x, ws.log_series(), d_x, &mut g_q);
    for (g, &o) in g_q.iter_mut().zip(grad) {
        *g -= o;
    }
    ws.log_terms_backward(x, &mut g_q, d_x);
    ws.grad = g_q;
}

/// The Horner terms `f_{N}, …, f_2` of `exp(lie)` into the workspace, and `f_1 = exp(lie) − 1`
/// into `out`.
fn exp_terms<T: Scalar>(lie: &[T], out: &mut [T], ws: &mut LogExpWorkspace<T>) {
    let n = ws.layout.degree();
    assert_eq!(lie.len(), ws.layout.len());
    assert_eq!(out.len(), ws.layout.len());
    // Term N + 1 (f_{N+1} = 0) stays zero; term t has degree N - t + 1.
    ws.exp_dirty = true;
    for t in (1..=n).rev() {
        let m = ws.layouts[n + 1 - t];
        let len = m.len();
        let (below, above) = ws.terms.split_at_mut(ws.starts[t + 1]);
        let next = &above[..len];
        product(m, &lie[..len], next, &mut ws.product[..len]);
        let inv = T::from_f64(1.0 / t as f64);
        let dest = if t == 1 {
            &mut out[..len]
        } else {
            &mut below[ws.starts[t]..ws.starts[t] + len]
        };
        for ((o, &p), &f) in dest.iter_mut().zip(&ws.product[..len]).zip(next) {
            *o = (p - f) * inv;
        }
    }
}

/// `out = exp(lie) − 1` in `layout`: levels `1..=N` of the truncated exponential of a tensor
/// without scalar term (a signature when `lie` is a Lie element).
pub fn exp<T: Scalar>(layout: Layout, lie: &[T], out: &mut [T], ws: &mut LogExpWorkspace<T>) {
    assert_eq!(ws.layout, layout);
    exp_terms(lie, out, ws);
}

/// The backward pass of [`exp`]: `d_lie` (overwritten) is the gradient with respect to `lie` of a
/// scalar loss whose gradient with respect to `exp(lie)` is `grad`. `scratch` (the layout's
/// length) receives `exp(lie) − 1`.
pub fn exp_backward<T: Scalar>(
    layout: Layout,
    lie: &[T],
    grad: &[T],
    d_lie: &mut [T],
    scratch: &mut [T],
    ws: &mut LogExpWorkspace<T>,
) {
    assert_eq!(ws.layout, layout);
    assert_eq!(grad.len(), layout.len());
    assert_eq!(d_lie.len(), layout.len());
    exp_terms(lie, scratch, ws);
    let n = layout.degree();
    d_lie.fill(T::ZERO);
    let mut g = std::mem::take(&mut ws.grad);
    g.copy_from_slice(grad);
    for t in 1..=n {
        // f_t = (product(L, f_{t+1}) - f_{t+1}) / t at degree m = N - t + 1.
        let m = ws.layouts[n + 1 - t];
        let len = m.len();
        let inv = T::from_f64(1.0 / t as f64);
        for x in &mut g[..len] {
            *x *= inv;
        }
        let next = &ws.terms[ws.starts[t + 1]..ws.starts[t + 1] + len];
        product_backward(
            m,
            &g[..len],
            &lie[..len],
            next,
            &mut ws.grad_a[..len],
            &mut ws.grad_b[..len],
        );
        for (d, &a) in d_lie[..len].iter_mut().zip(&ws.grad_a[..len]) {
            *d += a;
        }
        for (x, &b) in g[..len].iter_mut().zip(&ws.grad_b[..len]) {
            *x = b - *x;
        }
    }
    ws.grad = g;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Full truncated product with arbitrary scalar terms: `a` and `b` carry level 0 at index 0.
    fn mul(d: usize, n: usize, a: &[f64], b: &[f64]) -> Vec<f64> {
        let layout = Layout::new(d, n).unwrap();
        let lvl = |k: usize| {
            if k == 0 {
                0..1
            } else {
                let r = layout.level_range(k);
                r.start + 1..r.end + 1
            }
        };
        let mut out = vec![0.0; layout.len() + 1];
        for k in 0..=n {
            for l in 0..=k {
                let (x, y) = (&a[lvl(l)], &b[lvl(k - l)]);
                for (i, &u) in x.iter().enumerate() {
                    for (j, &v) in y.iter().enumerate() {
                        out[lvl(k).start + i * y.len() + j] += u * v;
                    }
                }
            }
        }
        out
    }

    fn sample(len: usize, s: f64) -> Vec<f64> {
        (0..len)
            .map(|i| ((i as f64 + 1.0) * s).sin() * 0.6)
            .collect()
    }

    #[test]
    fn log_matches_the_power_series_and_exp_inverts_it() {
        for (d, n) in [(1, 4), (2, 5), (3, 4), (4, 3), (2, 1), (5, 2)] {
            let layout = Layout::new(d, n).unwrap();
            let x = sample(layout.len(), 0.37);
            // Σ (-1)^{k+1} x^k / k with full products.
            let mut xs = vec![0.0];
            xs.extend_from_slice(&x);
            let (mut power, mut series) = (xs.clone(), vec![0.0; layout.len() + 1]);
            for k in 1..=n {
                let sign = if k % 2 == 1 { 1.0 } else { -1.0 };
                for (s, &p) in series.iter_mut().zip(&power) {
                    *s += sign * p / k as f64;
                }
                power = mul(d, n, &power, &xs);
            }
            let mut ws = LogExpWorkspace::new(layout).unwrap();
            let mut out = vec![f64::NAN; layout.len()];
            log(layout, &x, &mut out, &mut ws);
            for (a, b) in out.iter().zip(&series[1..]) {
                assert!((a - b).abs() < 1e-13, "d={d} n={n}: {a} vs {b}");
            }
            let mut back = vec![f64::NAN; layout.len()];
            exp(layout, &out, &mut back, &mut ws);
            for (a, b) in back.iter().zip(&x) {
                assert!((a - b).abs() < 1e-13, "d={d} n={n}");
            }
        }
    }

    #[test]
    fn backward_passes_match_finite_differences() {
        let (d, n) = (2, 4);
        let layout = Layout::new(d, n).unwrap();
        let mut ws = LogExpWorkspace::new(layout).unwrap();
        let x = sample(layout.len(), 0.53);
        let w = sample(layout.len(), 1.91);
        let mut scratch = vec![0.0; layout.len()];
        type Forward = fn(Layout, &[f64], &mut [f64], &mut LogExpWorkspace<f64>);
        for (name, forward) in [("log", log as Forward), ("exp", exp as Forward)] {
            let mut loss = |x: &[f64], ws: &mut LogExpWorkspace<f64>| {
                forward(layout, x, &mut scratch, ws);
                scratch.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>()
            };
            let mut grad = vec![0.0; layout.len()];
            let mut scratch2 = vec![0.0; layout.len()];
            if name == "log" {
                log_backward(layout, &x, &w, &mut grad, &mut ws);
            } else {
                exp_backward(layout, &x, &w, &mut grad, &mut scratch2, &mut ws);
            }
            for i in 0..layout.len() {
                let (mut p, mut m) = (x.clone(), x.clone());
                p[i] += 1e-6;
                m[i] -= 1e-6;
                let fd = (loss(&p, &mut ws) - loss(&m, &mut ws)) / 2e-6;
                assert!(
                    (fd - grad[i]).abs() < 1e-7,
                    "{name}[{i}]: {fd} vs {}",
                    grad[i]
                );
            }
        }
    }
}
