//! The fused multiply-exponentiate and its backward pass on several tensors at once, one per
//! SIMD lane.
//!
//! A *lane-interleaved* buffer holds `L` tensors (`L` = [`Vectorize::LANES`]) with coefficient
//! `e` of tensor `l` at `e·L + l`, so that one vector register holds coefficient `e` of every
//! tensor. The Horner recurrence of [`super::exp_mul`] then runs coefficient by coefficient, each
//! update one full vector operation whatever the level's length: no short rows, tails or
//! horizontal sums. This is what small signatures need, where per-row overheads would otherwise
//! dominate; independent paths (or pieces of one path) fill the lanes.

use super::layout::Levels;
use crate::scalar::Scalar;
use crate::simd::{Simd, Vectorize};

/// `v!(op)` is `T`'s vector operation `op` at level `S` (the generic parameters in scope).
macro_rules! v {
    ($op:ident) => {
        <T as Vectorize<S>>::$op
    };
}

/// The widest lane count of any level (`f32` in 256-bit vectors).
pub(crate) const MAX_LANES: usize = 8;

/// Interleaved views of a buffer: vector `e` starts at element `e · lanes`.
struct Interleaved<T> {
    ptr: *mut T,
    lanes: usize,
}

impl<T> Interleaved<T> {
    /// # Safety
    /// Vector `e` must lie inside the buffer the pointer came from.
    #[inline(always)]
    unsafe fn at(&self, e: usize) -> *mut T {
        // SAFETY: forwarded to the caller.
        unsafe { self.ptr.add(e * self.lanes) }
    }
}

/// `out[a·m + i] = addend[a·m + i] + left[a] ⊙ right[i]` (or `+=` when `addend` is `out`), on
/// interleaved vectors, `a < left_len`, `i < m`.
///
/// # Safety
/// Every addressed vector must lie inside its buffer; `addend` is `out` or does not overlap it.
#[inline(always)]
unsafe fn outer<S: Simd, T: Scalar + Vectorize<S>>(
    out: *mut T,
    addend: *const T,
    left: *const T,
    left_len: usize,
    right: *const T,
    m: usize,
) {
    let l = <T as Vectorize<S>>::LANES;
    // SAFETY: all offsets stay below (left_len·m)·l, left_len·l and m·l respectively.
    unsafe {
        for a in 0..left_len {
            let za = v!(load)(left.add(a * l));
            let (o, c) = (out.add(a * m * l), addend.add(a * m * l));
            for i in 0..m {
                let at = i * l;
                v!(store)(
                    o.add(at),
                    v!(mul_add)(za, v!(load)(right.add(at)), v!(load)(c.add(at))),
                );
            }
        }
    }
}

/// The adjoint of [`outer`]: `d_left[a] += Σ_i grad[a·m + i] ⊙ right[i]`,
/// `d_right[i] += Σ_a left[a] ⊙ grad[a·m + i]`, per lane.
///
/// # Safety
/// As for [`outer`]; `d_left` and `d_right` do not overlap the inputs or each other.
#[inline(always)]
unsafe fn outer_adjoint<S: Simd, T: Scalar + Vectorize<S>>(
    grad: *const T,
    left: *const T,
    left_len: usize,
    right: *const T,
    m: usize,
    d_left: *mut T,
    d_right: *mut T,
) {
    let l = <T as Vectorize<S>>::LANES;
    // SAFETY: as for `outer`.
    unsafe {
        for a in 0..left_len {
            let za = v!(load)(left.add(a * l));
            let g = grad.add(a * m * l);
            let mut dot = v!(splat)(T::ZERO);
            for i in 0..m {
                let at = i * l;
                let gv = v!(load)(g.add(at));
                dot = v!(mul_add)(gv, v!(load)(right.add(at)), dot);
                v!(store)(
                    d_right.add(at),
                    v!(mul_add)(za, gv, v!(load)(d_right.add(at))),
                );
            }
            v!(store)(d_left.add(a * l), v!(add)(dot, v!(load)(d_left.add(a * l))));
        }
    }
}

/// Scratch for the lane-interleaved multiply-exponentiate, sized for one layout and
/// [`MAX_LANES`] lanes.
#[derive(Debug, Clone)]
pub(crate) struct LaneScratch<T> {
    /// `z / m` for `m = 1..=N`: `N·d` interleaved vectors.
    scaled: Vec<T>,
    /// The chain `s_1 … s_{N-1}` (backward: all levels at their offsets; forward: ping-pong).
    chain: Vec<T>,
    /// Gradients of two consecutive chain levels.
    grad_a: Vec<T>,
    grad_b: Vec<T>,
    /// `-z`, or the gradient of one scaled copy of `z`.
    spare_z: Vec<T>,
}

impl<T: Scalar> LaneScratch<T> {
    pub(crate) fn new(levels: &Levels, dim: usize, degree: usize) -> crate::Result<Self> {
        let zeroed = |n: usize| crate::error::try_zeroed::<T>("a lane workspace", n * MAX_LANES);
        let top = if degree >= 1 {
            levels.len(degree - 1)
        } else {
            0
        };
        let chain = if degree >= 1 {
            levels.offset(degree).max(2 * top)
        } else {
            0
        };
        Ok(LaneScratch {
            scaled: zeroed(dim * degree)?,
            chain: zeroed(chain)?,
            grad_a: zeroed(top)?,
            grad_b: zeroed(top)?,
            spare_z: zeroed(dim)?,
        })
    }
}

/// `a ← exp(z) ⊗ a` for every lane: `a` interleaved levels `1..=N`, `z` `d` interleaved vectors,
/// `reciprocals[m-1] = 1/m`.
#[inline(always)]
pub(crate) fn exp_mul_lanes<S: Simd, T: Scalar + Vectorize<S>>(
    lv: &Levels,
    dim: usize,
    degree: usize,
    reciprocals: &[T],
    z: &[T],
    a: &mut [T],
    ws: &mut LaneScratch<T>,
) {
    let l = <T as Vectorize<S>>::LANES;
    let (d, n) = (dim, degree);
    if n == 0 {
        return;
    }
    assert!(z.len() >= d * l && a.len() >= lv.offset(n + 1) * l && l <= MAX_LANES);
    scale::<S, T>(reciprocals, z, d, n, &mut ws.scaled);
    let top = lv.len(n - 1);
    let (ping, pong) = ws.chain.split_at_mut(top * MAX_LANES);
    let state = Interleaved {
        ptr: a.as_mut_ptr(),
        lanes: l,
    };
    let scaled = Interleaved {
        ptr: ws.scaled.as_mut_ptr(),
        lanes: l,
    };
    let scaled_z = |m: usize| scaled.ptr.wrapping_add((m - 1) * d * l) as *const T;
    // SAFETY: levels lie at their offsets inside `a` (asserted above), chain levels `< N` fit in
    // `ping`/`pong` (`d^(N-1)` vectors each), `z`/`scaled` hold `d` / `N·d` vectors.
    unsafe {
        for k in (2..=n).rev() {
            let (mut cur, mut next) = (ping.as_mut_ptr(), pong.as_mut_ptr());
            // s_1 = A_1 + z/k
            for c in 0..d {
                let at = c * l;
                v!(store)(
                    cur.add(at),
                    v!(add)(v!(load)(state.at(0).add(at)), v!(load)(scaled_z(k).add(at))),
                );
            }
            for j in 1..k - 1 {
                // s_{j+1} = A_{j+1} + z/(k-j) ⊗ s_j
                outer::<S, T>(
                    next,
                    state.at(lv.offset(j + 1)),
                    scaled_z(k - j),
                    d,
                    cur,
                    lv.len(j),
                );
                std::mem::swap(&mut cur, &mut next);
            }
            // A_k += z ⊗ s_{k-1}
            let top = state.at(lv.offset(k));
            outer::<S, T>(top, top, z.as_ptr(), d, cur, lv.len(k - 1));
        }
        for c in 0..d {
            let (at, zc) = (state.at(c), z.as_ptr().add(c * l));
            v!(store)(at, v!(add)(v!(load)(at), v!(load)(zc)));
        }
    }
}

/// The backward pass of [`exp_mul_lanes`], in place, for every lane: `a` holds `exp(z) ⊗ A` and
/// `grad` its gradient on entry; on return `a` holds `A` (all but the top level, which nothing
/// reads, unless `recover_top`), `grad` the gradient with respect to `A`, and `z`'s gradient has
/// been added to `d_z`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn exp_mul_backward_lanes<S: Simd, T: Scalar + Vectorize<S>>(
    lv: &Levels,
    dim: usize,
    degree: usize,
    reciprocals: &[T],
    z: &[T],
    a: &mut [T],
    grad: &mut [T],
    d_z: &mut [T],
    recover_top: bool,
    ws: &mut LaneScratch<T>,
) {
    let l = <T as Vectorize<S>>::LANES;
    let (d, n) = (dim, degree);
    if n == 0 {
        return;
    }
    let len = lv.offset(n + 1);
    assert!(z.len() >= d * l && d_z.len() >= d * l && l <= MAX_LANES);
    assert!(a.len() >= len * l && grad.len() >= len * l);
    scale::<S, T>(reciprocals, z, d, n, &mut ws.scaled);
    let state = Interleaved {
        ptr: a.as_mut_ptr(),
        lanes: l,
    };
    let grads = Interleaved {
        ptr: grad.as_mut_ptr(),
        lanes: l,
    };
    let chain = Interleaved {
        ptr: ws.chain.as_mut_ptr(),
        lanes: l,
    };
    let scaled = ws.scaled.as_ptr();
    let scaled_z = |m: usize| scaled.wrapping_add((m - 1) * d * l);
    let (zp, dzp) = (z.as_ptr(), d_z.as_mut_ptr());
    let spare = ws.spare_z.as_mut_ptr();
    // SAFETY: as in `exp_mul_lanes`; the chain buffer holds levels `1..N-1` at their offsets,
    // `grad_a`/`grad_b` `d^(N-1)` vectors each, `spare_z` `d` vectors.
    unsafe {
        // Level 1: A_1 += z.
        for c in 0..d {
            let at = c * l;
            v!(store)(
                state.at(c),
                v!(sub)(v!(load)(state.at(c)), v!(load)(zp.add(at))),
            );
            v!(store)(
                dzp.add(at),
                v!(add)(v!(load)(dzp.add(at)), v!(load)(grads.at(c))),
            );
        }
        for k in 2..=n {
            // Recompute the chain s_1..s_{k-1} from the (already recovered) old levels.
            for c in 0..d {
                let at = c * l;
                v!(store)(
                    chain.at(c),
                    v!(add)(v!(load)(state.at(c)), v!(load)(scaled_z(k).add(at))),
                );
            }
            for j in 1..k - 1 {
                let (src, dst) = (chain.at(lv.offset(j)), chain.at(lv.offset(j + 1)));
                outer::<S, T>(
                    dst,
                    state.at(lv.offset(j + 1)),
                    scaled_z(k - j),
                    d,
                    src,
                    lv.len(j),
                );
            }
            let last = chain.at(lv.offset(k - 1));
            if k < n || recover_top {
                // Recover the old A_k = A_k - z ⊗ s_{k-1}.
                for c in 0..d {
                    v!(store)(
                        spare.add(c * l),
                        v!(sub)(v!(splat)(T::ZERO), v!(load)(zp.add(c * l))),
                    );
                }
                let top = state.at(lv.offset(k));
                outer::<S, T>(top, top, spare, d, last, lv.len(k - 1));
            }
            // Adjoint of A_k += z ⊗ s_{k-1}.
            let (mut ds, mut ds_next) = (ws.grad_a.as_mut_ptr(), ws.grad_b.as_mut_ptr());
            std::ptr::write_bytes(ds, 0, lv.len(k - 1) * l);
            outer_adjoint::<S, T>(grads.at(lv.offset(k)), zp, d, last, lv.len(k - 1), dzp, ds);
            for j in (1..k).rev() {
                let len = lv.len(j);
                // s_j = A_j + h_j: the gradient reaches A_j and h_j alike.
                let g = grads.at(lv.offset(j));
                for e in 0..len {
                    let at = e * l;
                    v!(store)(
                        g.add(at),
                        v!(add)(v!(load)(g.add(at)), v!(load)(ds.add(at))),
                    );
                }
                if j == 1 {
                    // h_1 = z / k
                    let inv = v!(splat)(reciprocals[k - 1]);
                    for c in 0..d {
                        let at = c * l;
                        v!(store)(
                            dzp.add(at),
                            v!(mul_add)(v!(load)(ds.add(at)), inv, v!(load)(dzp.add(at))),
                        );
                    }
                } else {
                    // h_j = z/m ⊗ s_{j-1}, m = k-j+1
                    let (prev, m) = (lv.len(j - 1), k - j + 1);
                    std::ptr::write_bytes(ds_next, 0, prev * l);
                    std::ptr::write_bytes(spare, 0, d * l);
                    let src = chain.at(lv.offset(j - 1));
                    outer_adjoint::<S, T>(ds, scaled_z(m), d, src, prev, spare, ds_next);
                    let inv = v!(splat)(reciprocals[m - 1]);
                    for c in 0..d {
                        let at = c * l;
                        v!(store)(
                            dzp.add(at),
                            v!(mul_add)(v!(load)(spare.add(at)), inv, v!(load)(dzp.add(at))),
                        );
                    }
                    std::mem::swap(&mut ds, &mut ds_next);
                }
            }
        }
    }
}

/// `scaled[m-1] = z / m` for `m = 1..=n`, interleaved.
#[inline(always)]
fn scale<S: Simd, T: Scalar + Vectorize<S>>(
    reciprocals: &[T],
    z: &[T],
    d: usize,
    n: usize,
    scaled: &mut [T],
) {
    let l = <T as Vectorize<S>>::LANES;
    assert!(scaled.len() >= n * d * l && z.len() >= d * l && reciprocals.len() >= n);
    for (m, &inv) in reciprocals[..n].iter().enumerate() {
        let inv = v!(splat)(inv);
        for c in 0..d {
            // SAFETY: indices checked by the assertion above.
            unsafe {
                let zc = v!(load)(z.as_ptr().add(c * l));
                v!(store)(scaled.as_mut_ptr().add((m * d + c) * l), v!(mul)(zc, inv));
            }
        }
    }
}
