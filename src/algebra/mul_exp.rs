//! The fused multiply-exponentiate and its backward pass.
//!
//! Level `k` of `exp(z) ⊗ A` is `Σ_{j≤k} z^{⊗(k-j)} / (k-j)! ⊗ A_j`, which Horner's scheme
//! evaluates as
//!
//! ```text
//! A_k + z ⊗ (A_{k-1} + z/2 ⊗ (A_{k-2} + … + z/(k-1) ⊗ (A_1 + z/k) …))
//! ```
//!
//! The partial sums `s_1 = A_1 + z/k`, `s_{j+1} = A_{j+1} + z/(k-j) ⊗ s_j` grow one level per
//! step, so level `k` costs about `d^k` multiply-adds and a whole step about `d^N·d/(d-1)`.
//! Levels are updated from the top down, so each reads the old values of the levels below it and
//! the update happens in place. Multiplying by `exp(z)` on the *left* puts the long operand on the
//! right of every outer product (`z ⊗ s`: `d` contiguous rows of `len(s)`), which is what the
//! kernels vectorise. Right multiplication, `A ⊗ exp(z)`, is the same computation on
//! word-reversed tensors (see [`super::reverse_words`]); signatures use it that way.
//!
//! The backward pass runs the recurrence from the bottom up: knowing the old levels `1..k-1`, it
//! recomputes `s_1..s_{k-1}`, recovers the old `A_k = A_k - z ⊗ s_{k-1}` (this *is*
//! `exp(-z) ⊗ A`, the step's inverse), then pushes the gradient of level `k` back through the
//! chain. Nothing from the forward pass is stored, and the cost is about twice the forward's.

use super::layout::{Layout, Levels};
use super::rank_one::{
    FUSED_STEPS, add_assign, add_into, outer_acc, outer_acc_add, outer_acc_steps, outer_add,
    outer_add_acc, outer_adjoint, outer_adjoint_sink,
};
use super::reverse::reverse_words;
use crate::buffer::AlignedBuf;
use crate::error::Result;
use crate::scalar::Scalar;
use crate::simd::{Simd, Vectorize, simd_dispatch};

/// Elements between consecutive scratch buffers of one level (see where the chain is split).
const PAD: usize = 16;

/// Scratch space for the multiply-exponentiate and its backward pass, sized for one [`Layout`].
///
/// Allocate one per thread and reuse it for every step of every path.
#[derive(Debug, Clone)]
pub struct MulExpWorkspace<T> {
    /// The layout's level offsets.
    levels: Levels,
    /// `1 / m` for `m = 1..=N`, at `m - 1` (divisions are slow; every step needs them).
    reciprocals: Vec<T>,
    /// `z / m` for `m = 1..=N`, row `m - 1`.
    scaled: AlignedBuf<T>,
    /// The chain `s_1 … s_{N-1}`, level `j` at `layout.level_offset(j)` (the backward pass needs
    /// them all; the forward pass uses two level-`N-1` slots as a ping-pong pair).
    chain: AlignedBuf<T>,
    /// Gradients of two consecutive chain levels.
    grad_a: AlignedBuf<T>,
    grad_b: AlignedBuf<T>,
    /// Gradient of one scaled copy of `z`, or `-z`.
    grad_z: AlignedBuf<T>,
    /// The increments of a block of fused steps, row-major `FUSED_STEPS × d` (in the backward
    /// pass, `-z`).
    block_z: AlignedBuf<T>,
    /// Each fused step's last top-level chain vector `s_{N-1}`, row-major `FUSED_STEPS × d^(N-1)`
    /// (in the backward pass, level `N-1`'s chain end `s_{N-2}` while its recovery waits).
    block_chain: AlignedBuf<T>,
}

impl<T: Scalar> MulExpWorkspace<T> {
    /// A workspace for tensors of `layout`.
    pub fn new(layout: Layout) -> Result<Self> {
        let (d, n) = (layout.dim(), layout.degree());
        let top = if n >= 1 { layout.level_len(n - 1) } else { 0 };
        let chain_len = if n >= 1 {
            layout.level_offset(n).max(3 * (top + PAD))
        } else {
            0
        };
        let what = "a multiply-exponentiate workspace";
        Ok(MulExpWorkspace {
            levels: Levels::new(layout),
            reciprocals: (1..=n).map(|m| T::from_f64(1.0 / m as f64)).collect(),
            scaled: AlignedBuf::zeroed(what, d * n)?,
            chain: AlignedBuf::zeroed(what, chain_len)?,
            grad_a: AlignedBuf::zeroed(what, top)?,
            grad_b: AlignedBuf::zeroed(what, top)?,
            grad_z: AlignedBuf::zeroed(what, d)?,
            block_z: AlignedBuf::zeroed(what, FUSED_STEPS * d)?,
            block_chain: AlignedBuf::zeroed(what, FUSED_STEPS * (top + PAD))?,
        })
    }

    #[inline(always)]
    fn scale(&mut self, z: &[T]) {
        for (row, &inv) in self
            .scaled
            .chunks_exact_mut(z.len().max(1))
            .zip(&self.reciprocals)
        {
            for (s, &v) in row.iter_mut().zip(z) {
                *s = v * inv;
            }
        }
    }
}

/// `a ← exp(z)` for a vector `z` of `R^d`: level `k` is level `k - 1` ⊗ `z` / `k`, one multiply
/// per coefficient, where [`exp_mul`] on the identity would cost a whole multiply-exponentiate.
/// The coefficient of a word is the product of its letters' increments over `k!`, whatever
/// their order: `a` is its own word-reversed layout too, and level `k` may as well be written
/// as `z ⊗ level_(k-1) / k`, `d` scaled copies of the level below (long runs that vectorise,
/// where the other order would interleave `d` values at a time).
#[inline(always)] // compiled into the caller's SIMD level: its runs vectorise at full width
pub(crate) fn exp_into<T: Scalar>(layout: Layout, z: &[T], a: &mut [T]) {
    let (d, n) = (layout.dim(), layout.degree());
    assert!(z.len() == d && a.len() == layout.len());
    if n == 0 {
        return;
    }
    a[..d].copy_from_slice(z);
    let (mut start, mut len) = (0, d);
    for k in 2..=n {
        let inv = T::from_f64(1.0 / k as f64);
        let (lower, upper) = a.split_at_mut(start + len);
        let prev = &lower[start..];
        for (block, &letter) in upper[..len * d].chunks_exact_mut(len).zip(z) {
            let scale = letter * inv;
            for (o, &p) in block.iter_mut().zip(prev) {
                *o = p * scale;
            }
        }
        (start, len) = (start + len, len * d);
    }
}

/// `a ← exp(z) ⊗ a` in place, `a` a truncated tensor of `layout` (scalar term 1, not stored) and
/// `z` a vector of `R^d`.
pub fn exp_mul<T: Scalar>(layout: Layout, z: &[T], a: &mut [T], ws: &mut MulExpWorkspace<T>) {
    simd_dispatch!(<'a, T: Scalar> |S| {
        layout: Layout,
        z: &'a [T],
        a: &'a mut [T],
        ws: &'a mut MulExpWorkspace<T>,
    } -> () {
        exp_mul_with::<S, T>(layout, z, a, ws)
    })
}

/// The backward pass of [`exp_mul`], in place.
///
/// On entry `a` is the tensor after the step (`exp(z) ⊗ A`) and `grad` the gradient of a scalar
/// loss with respect to it. On return `a` holds the tensor before the step (`A`), `grad` the
/// gradient with respect to it, and the gradient with respect to `z` has been added to `d_z`.
pub fn exp_mul_backward<T: Scalar>(
    layout: Layout,
    z: &[T],
    a: &mut [T],
    grad: &mut [T],
    d_z: &mut [T],
    ws: &mut MulExpWorkspace<T>,
) {
    simd_dispatch!(<'a, T: Scalar> |S| {
        layout: Layout,
        z: &'a [T],
        a: &'a mut [T],
        grad: &'a mut [T],
        d_z: &'a mut [T],
        ws: &'a mut MulExpWorkspace<T>,
    } -> () {
        exp_mul_backward_with::<S, T>(layout, z, a, grad, d_z, true, ws)
    })
}

/// `a ← a ⊗ exp(z)` in place: one step of a signature.
///
/// Computed as `rev(exp(z) ⊗ rev(a))` (word reversal is an anti-automorphism); when folding many
/// steps, keep the tensor reversed and call [`exp_mul`] instead, as the signature code does.
pub fn mul_exp<T: Scalar>(layout: Layout, a: &mut [T], z: &[T], ws: &mut MulExpWorkspace<T>) {
    reverse_words(layout, a);
    exp_mul(layout, z, a, ws);
    reverse_words(layout, a);
}

/// The backward pass of [`mul_exp`], in place: as [`exp_mul_backward`], with `a` and `grad` the
/// tensor after the step `A ⊗ exp(z)` and its gradient.
pub fn mul_exp_backward<T: Scalar>(
    layout: Layout,
    a: &mut [T],
    grad: &mut [T],
    z: &[T],
    d_z: &mut [T],
    ws: &mut MulExpWorkspace<T>,
) {
    reverse_words(layout, a);
    reverse_words(layout, grad);
    exp_mul_backward(layout, z, a, grad, d_z, ws);
    reverse_words(layout, a);
    reverse_words(layout, grad);
}

/// The segment the outer products work in: the smallest power of `d` spanning a few vectors.
///
/// Every chain level at least that long is written and read back in segments of this length,
/// each segment in whole vectors from its start plus a scalar tail, so that a vector load always
/// finds its data in exactly one earlier vector store (a load spanning several stores cannot be
/// forwarded from the store buffer and stalls until they reach the cache).
#[inline(always)]
fn segment_len<S: Simd, T: Vectorize<S>>(d: usize) -> usize {
    let mut q = d.max(1);
    while d > 1 && q < 4 * <T as Vectorize<S>>::LANES {
        q *= d;
    }
    q
}

/// [`exp_mul`] at a given [`Simd`] level, for callers already inside a dispatched kernel.
#[inline(always)]
pub(crate) fn exp_mul_with<S: Simd, T: Scalar + Vectorize<S>>(
    layout: Layout,
    z: &[T],
    a: &mut [T],
    ws: &mut MulExpWorkspace<T>,
) {
    exp_mul_steps_with::<S, T>(layout, z, a, ws)
}

/// `a ← exp(z_s) ⊗ … ⊗ exp(z_1) ⊗ a`: the increments `z_t` (the rows of `steps`, at most
/// [`FUSED_STEPS`] of them) folded in one after the other.
///
/// The top level is read by no chain, so its updates `A_N += z_t ⊗ s_(N-1)^(t)` are deferred and
/// applied together in one pass over it: the largest level is read and written once per block
/// of steps instead of once per step.
#[inline(always)]
pub(crate) fn exp_mul_steps_with<S: Simd, T: Scalar + Vectorize<S>>(
    layout: Layout,
    steps: &[T],
    a: &mut [T],
    ws: &mut MulExpWorkspace<T>,
) {
    let (d, n) = (layout.dim(), layout.degree());
    debug_assert_eq!(a.len(), layout.len());
    let count = steps.len() / d.max(1);
    debug_assert!((1..=FUSED_STEPS).contains(&count) && steps.len() == count * d);
    if n == 0 || d == 0 {
        return;
    }
    let q = segment_len::<S, T>(d);
    for (t, z) in steps.chunks_exact(d).enumerate() {
        ws.scale(z);
        let MulExpWorkspace {
            levels: lv,
            scaled,
            chain,
            block_chain,
            ..
        } = &mut *ws;
        let scaled_z = |m: usize| &scaled[(m - 1) * d..m * d];
        let top = lv.len(n - 1);
        // Padded apart: buffers a power of two long would sit at addresses the load/store unit
        // confuses modulo 4 KiB, stalling every load behind the stores to the other buffer.
        let (scratch, last) = chain[..3 * (top + PAD)].split_at_mut(2 * (top + PAD));
        let slot = t * (top + PAD)..t * (top + PAD) + top;
        let mut below_top = n;
        if n >= 3 && d >= 2 {
            // The top level's last chain link, s_(N-1) = A_(N-1) + z/2 ⊗ s_(N-2), and level
            // N-1's update both read A_(N-1): both chains up to level N-2, then one pass.
            let m = lv.len(n - 2);
            let (lower, upper) = a.split_at_mut(lv.offset(n - 1));
            // Intermediate links are at most d^(N-3) long; level N-1's chain end goes after them.
            let inter = lv.len((n - 3).max(1)) + PAD;
            let (links, rest) = scratch.split_at_mut(2 * inter);
            let (top_chain, own_chain) = (&mut last[..m], &mut rest[..m]);
            chain_into::<S, T>(lv, lower, &scaled_z, n, n - 2, q, links, top_chain);
            chain_into::<S, T>(lv, lower, &scaled_z, n - 1, n - 2, q, links, own_chain);
            outer_add_acc::<S, T>(
                &mut block_chain[slot.clone()],
                &mut upper[..top],
                scaled_z(2),
                top_chain,
                z,
                own_chain,
                q.min(m),
            );
            below_top = n - 2;
        }
        for k in (2..=below_top).rev() {
            let (lower, upper) = a.split_at_mut(lv.offset(k));
            // The top level's chain goes to this step's slot of the block; lower levels' to `last`.
            let dest = if k == n {
                &mut block_chain[slot.clone()]
            } else {
                &mut *last
            };
            let dest = &mut dest[..lv.len(k - 1)];
            chain_into::<S, T>(lv, lower, &scaled_z, k, k - 1, q, scratch, dest);
            if k < n {
                // A_k += z ⊗ s_{k-1}
                outer_acc::<S, T>(&mut upper[..lv.len(k)], z, dest, q.min(dest.len()));
            }
        }
        add_assign(&mut a[..d], z);
    }
    let MulExpWorkspace {
        levels: lv,
        block_z,
        block_chain,
        ..
    } = ws;
    let top = lv.len(n - 1);
    let a_top = &mut a[lv.range(n)];
    if n >= 2 && count == 1 {
        outer_acc::<S, T>(a_top, &steps[..d], &block_chain[..top], q.min(top));
    } else if n >= 2 {
        block_z[..count * d].copy_from_slice(steps);
        // Unused rows contribute 0 ⊗ 0.
        block_z[count * d..].fill(T::ZERO);
        block_chain[count * (top + PAD)..].fill(T::ZERO);
        outer_acc_steps::<S, T>(a_top, block_z, block_chain, top + PAD);
    }
}

/// Writes link `links` of level `k`'s chain into `dest` (`links = k - 1`: the whole chain
/// `s_{k-1}`): `s_1 = A_1 + z/k`, `s_{j+1} = A_{j+1} + z/(k-j) ⊗ s_j`, with `lower` holding
/// levels `1..=links` of `A` and `scratch` room for two intermediate links (`2·d^(links-1)`).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn chain_into<'z, S: Simd, T: Scalar + Vectorize<S>>(
    lv: &Levels,
    lower: &[T],
    scaled_z: &impl Fn(usize) -> &'z [T],
    k: usize,
    links: usize,
    q: usize,
    scratch: &mut [T],
    dest: &mut [T],
) {
    let d = lv.len(1);
    if links == 1 {
        add_into(dest, &lower[..d], scaled_z(k));
        return;
    }
    let half = scratch.len() / 2;
    let (mut cur, mut other) = scratch.split_at_mut(half);
    add_into(&mut cur[..d], &lower[..d], scaled_z(k));
    for j in 1..links {
        let (len, addend) = (lv.len(j), &lower[lv.range(j + 1)]);
        let out = if j + 1 == links {
            &mut *dest
        } else {
            &mut other[..lv.len(j + 1)]
        };
        outer_add::<S, T>(out, scaled_z(k - j), &cur[..len], addend, q.min(len));
        std::mem::swap(&mut cur, &mut other);
    }
}

/// What the backward pass of the multiply-exponentiate finds in `a` and leaves there.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Before {
    /// `a` is the tensor after the step; every level is recovered.
    RecoverAll,
    /// `a` is the tensor after the step; every level but the top one is recovered.
    RecoverBelowTop,
    /// `a` already is the tensor before the step, and is left as it is.
    Given,
}

/// [`exp_mul_backward`] at a given [`Simd`] level. Unless `recover_top`, the top level of `a`
/// is left as it was: no chain reads it, so a walk back through many steps never needs it, and
/// recovering it would cost as much as the forward step's largest update.
#[inline(always)]
pub(crate) fn exp_mul_backward_with<S: Simd, T: Scalar + Vectorize<S>>(
    layout: Layout,
    z: &[T],
    a: &mut [T],
    grad: &mut [T],
    d_z: &mut [T],
    recover_top: bool,
    ws: &mut MulExpWorkspace<T>,
) {
    let before = if recover_top {
        Before::RecoverAll
    } else {
        Before::RecoverBelowTop
    };
    exp_mul_backward_impl::<S, T>(layout, z, a, grad, d_z, before, ws)
}

/// The backward pass of [`exp_mul`] when the tensor *before* the step is known: `a` holds it on
/// entry and is unchanged on return (it is `&mut` only to share the code of the in-place pass).
/// `grad` goes from the gradient with respect to `exp(z) ⊗ a` to the gradient with respect to
/// `a`, and the gradient with respect to `z` is added to `d_z`. Nothing is recovered, so this
/// costs about one chain evaluation less than [`exp_mul_backward`] and has no recovery round-off.
pub(crate) fn exp_mul_backward_given_input<T: Scalar>(
    layout: Layout,
    z: &[T],
    a: &mut [T],
    grad: &mut [T],
    d_z: &mut [T],
    ws: &mut MulExpWorkspace<T>,
) {
    simd_dispatch!(<'a, T: Scalar> |S| {
        layout: Layout,
        z: &'a [T],
        a: &'a mut [T],
        grad: &'a mut [T],
        d_z: &'a mut [T],
        ws: &'a mut MulExpWorkspace<T>,
    } -> () {
        exp_mul_backward_impl::<S, T>(layout, z, a, grad, d_z, Before::Given, ws)
    })
}

#[inline(always)]
fn exp_mul_backward_impl<S: Simd, T: Scalar + Vectorize<S>>(
    layout: Layout,
    z: &[T],
    a: &mut [T],
    grad: &mut [T],
    d_z: &mut [T],
    before: Before,
    ws: &mut MulExpWorkspace<T>,
) {
    let recover = before != Before::Given;
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
        if recover {
            *ai -= zi;
        }
        *dzi += *gi;
    }
    let MulExpWorkspace {
        levels: lv,
        reciprocals,
        scaled,
        chain,
        grad_a,
        grad_b,
        grad_z,
        block_z,
        block_chain: stash,
        ..
    } = ws;
    let scaled_z = |m: usize| &scaled[(m - 1) * d..m * d];
    let s = |j: usize| lv.range(j);
    let q = segment_len::<S, T>(d);
    // Level N-1's recovery waits for the top level's chain, whose last link reads the recovered
    // level: one pass over level N-1 instead of two. Its chain end is kept until then.
    let deferred = recover && n >= 3 && d >= 2;
    let minus_z = &mut block_z[..d];
    for (m, &v) in minus_z.iter_mut().zip(z) {
        *m = -v;
    }
    for k in 2..=n {
        let (lower, upper) = a.split_at_mut(lv.offset(k));
        // Recompute the chain s_1..s_{k-1} from the (already recovered) old levels.
        add_into(&mut chain[..d], &lower[..d], scaled_z(k));
        let fused_link = deferred && k == n;
        for j in 1..k - 1 {
            let (prev, next) = chain.split_at_mut(lv.offset(j + 1));
            let next = &mut next[..lv.len(j + 1)];
            if fused_link && j == k - 2 {
                // Recover A_(N-1) -= z ⊗ s_(N-2)^(N-1), then s_(N-1) = A_(N-1) + z/2 ⊗ s_(N-2).
                outer_acc_add::<S, T>(
                    next,
                    &mut lower[s(j + 1)],
                    scaled_z(2),
                    &prev[s(j)],
                    minus_z,
                    &stash[..lv.len(j)],
                    q.min(lv.len(j)),
                );
            } else {
                outer_add::<S, T>(
                    next,
                    scaled_z(k - j),
                    &prev[s(j)],
                    &lower[s(j + 1)],
                    q.min(lv.len(j)),
                );
            }
        }
        if deferred && k == n - 1 {
            stash[..lv.len(k - 1)].copy_from_slice(&chain[s(k - 1)]);
        } else if recover && (k < n || before == Before::RecoverAll) {
            // Recover the old A_k = A_k - z ⊗ s_{k-1}.
            outer_acc::<S, T>(
                &mut upper[..lv.len(k)],
                minus_z,
                &chain[s(k - 1)],
                q.min(lv.len(k - 1)),
            );
        }

        // Adjoint of A_k += z ⊗ s_{k-1}.
        let (grad_lower, grad_upper) = grad.split_at_mut(lv.offset(k));
        let (mut ds, mut ds_next) = (&mut grad_a[..], &mut grad_b[..]);
        let top = lv.len(k - 1);
        ds[..top].fill(T::ZERO);
        outer_adjoint::<S, T>(
            &grad_upper[..lv.len(k)],
            z,
            &chain[s(k - 1)],
            d_z,
            &mut ds[..top],
        );
        for j in (1..k).rev() {
            let len = lv.len(j);
            // s_j = A_j + h_j: the gradient reaches A_j and h_j alike.
            if j == 1 {
                add_assign(&mut grad_lower[s(j)], &ds[..len]);
                // h_1 = z / k
                let inv = reciprocals[k - 1];
                for (dzi, &g) in d_z.iter_mut().zip(&ds[..d]) {
                    *dzi += g * inv;
                }
            } else {
                // h_j = z/m ⊗ s_{j-1}, m = k-j+1; A_j's share added on the same pass.
                let (prev, m) = (lv.len(j - 1), k - j + 1);
                ds_next[..prev].fill(T::ZERO);
                grad_z.fill(T::ZERO);
                outer_adjoint_sink::<S, T>(
                    &ds[..len],
                    scaled_z(m),
                    &chain[s(j - 1)],
                    grad_z,
                    &mut ds_next[..prev],
                    &mut grad_lower[s(j)],
                );
                let inv = reciprocals[m - 1];
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
            let next: Vec<f64> = term
                .iter()
                .flat_map(|&t| z.iter().map(move |&v| t * v / k as f64))
                .collect();
            out[layout.level_range(k)].copy_from_slice(&next);
            term = next;
        }
        out
    }

    #[test]
    fn exp_into_is_the_power_series() {
        for (d, n) in [(1, 4), (2, 7), (3, 5), (5, 1), (4, 0)] {
            let layout = Layout::new(d, n).unwrap();
            let z: Vec<f64> = (0..d).map(|i| 0.4 * i as f64 - 0.7).collect();
            let mut a = vec![f64::NAN; layout.len()];
            exp_into(layout, &z, &mut a);
            let expected = exp_series(layout, &z);
            for (got, want) in a.iter().zip(&expected) {
                assert!(
                    (got - want).abs() <= 1e-15 * want.abs().max(1.0),
                    "d={d} N={n}"
                );
            }
        }
    }

    #[test]
    fn exp_of_zero_tensor_is_the_power_series() {
        let layout = Layout::new(3, 5).unwrap();
        let z = [0.3, -1.2, 0.7];
        let mut ws = MulExpWorkspace::new(layout).unwrap();
        let expected = exp_series(layout, &z);
        for left in [true, false] {
            let mut a = vec![0.0; layout.len()];
            if left {
                exp_mul(layout, &z, &mut a, &mut ws);
            } else {
                mul_exp(layout, &mut a, &z, &mut ws);
            }
            for (x, y) in a.iter().zip(&expected) {
                assert!((x - y).abs() < 1e-14, "{x} vs {y}");
            }
        }
    }

    fn check_backward(layout: Layout, left: bool) {
        let mut ws = MulExpWorkspace::new(layout).unwrap();
        let start: Vec<f64> = (0..layout.len())
            .map(|i| ((i * 7 % 11) as f64 - 5.0) / 7.0)
            .collect();
        let weights: Vec<f64> = (0..layout.len())
            .map(|i| ((i * 5 % 13) as f64 - 6.0) / 9.0)
            .collect();
        let z: Vec<f64> = (0..layout.dim()).map(|i| 0.4 - 0.3 * i as f64).collect();
        let step = |a: &mut Vec<f64>, z: &[f64], ws: &mut MulExpWorkspace<f64>| {
            if left {
                exp_mul(layout, z, a, ws)
            } else {
                mul_exp(layout, a, z, ws)
            }
        };
        let loss = |a0: &[f64], z: &[f64], ws: &mut MulExpWorkspace<f64>| {
            let mut a = a0.to_vec();
            step(&mut a, z, ws);
            a.iter().zip(&weights).map(|(x, w)| x * w).sum::<f64>()
        };

        let mut a = start.clone();
        step(&mut a, &z, &mut ws);
        let mut grad = weights.clone();
        let mut dz = vec![0.0; layout.dim()];
        if left {
            exp_mul_backward(layout, &z, &mut a, &mut grad, &mut dz, &mut ws);
        } else {
            mul_exp_backward(layout, &mut a, &mut grad, &z, &mut dz, &mut ws);
        }
        for (x, y) in a.iter().zip(&start) {
            assert!((x - y).abs() < 1e-13);
        }
        let eps = 1e-6;
        for i in 0..layout.dim() {
            let (mut zp, mut zm) = (z.clone(), z.clone());
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

    #[test]
    fn backward_given_the_input_equals_the_recovering_backward() {
        for (d, n) in [(2, 4), (3, 3), (1, 5), (5, 2), (4, 1), (3, 0)] {
            let layout = Layout::new(d, n).unwrap();
            let mut ws = MulExpWorkspace::new(layout).unwrap();
            let start: Vec<f64> = (0..layout.len())
                .map(|i| ((i * 7 % 11) as f64 - 5.0) / 7.0)
                .collect();
            let weights: Vec<f64> = (0..layout.len())
                .map(|i| ((i * 5 % 13) as f64 - 6.0) / 9.0)
                .collect();
            let z: Vec<f64> = (0..d).map(|i| 0.4 - 0.3 * i as f64).collect();
            let mut after = start.clone();
            exp_mul(layout, &z, &mut after, &mut ws);
            let (mut grad, mut dz) = (weights.clone(), vec![0.0; d]);
            exp_mul_backward(layout, &z, &mut after, &mut grad, &mut dz, &mut ws);
            let mut before = start.clone();
            let (mut grad_given, mut dz_given) = (weights.clone(), vec![0.0; d]);
            exp_mul_backward_given_input(
                layout,
                &z,
                &mut before,
                &mut grad_given,
                &mut dz_given,
                &mut ws,
            );
            assert_eq!(before, start, "the input is left as it was");
            for (x, y) in grad_given
                .iter()
                .chain(&dz_given)
                .zip(grad.iter().chain(&dz))
            {
                assert!((x - y).abs() < 1e-13, "d={d} N={n}: {x} vs {y}");
            }
        }
    }

    #[test]
    fn backward_recovers_the_input_and_matches_finite_differences() {
        for (d, n) in [(2, 4), (3, 3), (1, 5), (5, 2), (17, 2)] {
            let layout = Layout::new(d, n).unwrap();
            check_backward(layout, true);
            check_backward(layout, false);
        }
    }
}
