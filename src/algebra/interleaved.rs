//! The fused multiply-exponentiate and its backward pass on several tensors at once, one per
//! SIMD lane, over real numbers or dual numbers.
//!
//! A *lane-interleaved* buffer holds `L` tensors (`L` = [`Vectorize::LANES`]) with coefficient
//! `e` of tensor `l` at `e·L + l`, so that one vector register holds coefficient `e` of every
//! tensor. The Horner recurrence of [`super::exp_mul`] then runs coefficient by coefficient, each
//! update one full vector operation whatever the level's length: no short rows, tails or
//! horizontal sums. This is what small signatures need, where per-row overheads would otherwise
//! dominate; independent paths (or pieces of one path) fill the lanes.
//!
//! The recurrences are written once against [`Coefficient`]: [`Real`] coefficients are one
//! vector, [`Wide`] ones two vectors of real lanes, [`Dual`] ones a vector of values and a
//! vector of tangents (`a + εȧ`, `ε² = 0`), whose arithmetic is the product rule. Running the
//! same code over dual numbers gives exact directional derivatives of the signature (forward
//! mode) and of its backward pass (forward-over-reverse: Hessian-vector products, hence second
//! derivatives).

use std::marker::PhantomData;

use super::layout::Levels;
use crate::buffer::AlignedBuf;
use crate::scalar::Scalar;
use crate::simd::{Simd, Vectorize};

/// The most scalars one coefficient of every lane takes: two 256-bit vectors of `f32` (a dual or
/// wide coefficient).
pub(crate) const MAX_WIDTH: usize = 16;

/// One coefficient of every lane: how it is stored and combined.
pub(crate) trait Coefficient<S: Simd>: Copy {
    /// The real number type.
    type T: Scalar + Vectorize<S>;
    /// One coefficient of every lane, in registers.
    type E: Copy;
    /// Scalars one coefficient takes in memory.
    const WIDTH: usize;
    /// Independent tensors one coefficient holds.
    const LANES: usize;
    /// Loads a coefficient.
    ///
    /// # Safety
    /// `src` must be valid for reading `WIDTH` scalars.
    unsafe fn load(src: *const Self::T) -> Self::E;
    /// Stores a coefficient.
    ///
    /// # Safety
    /// `dst` must be valid for writing `WIDTH` scalars.
    unsafe fn store(dst: *mut Self::T, e: Self::E);
    /// Zero.
    fn zero() -> Self::E;
    /// `a · b + c`.
    fn mul_add(a: Self::E, b: Self::E, c: Self::E) -> Self::E;
    /// `a + b`.
    fn add(a: Self::E, b: Self::E) -> Self::E;
    /// `a - b`.
    fn sub(a: Self::E, b: Self::E) -> Self::E;
    /// `a · s` for a real `s`.
    fn scale(a: Self::E, s: Self::T) -> Self::E;
}

/// Real coefficients: one vector.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Real<T>(PhantomData<T>);

/// Dual coefficients `a + εȧ`: a vector of values, then a vector of tangents.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Dual<T>(PhantomData<T>);

impl<S: Simd, T: Scalar + Vectorize<S>> Coefficient<S> for Real<T> {
    type T = T;
    type E = <T as Vectorize<S>>::V;
    const WIDTH: usize = <T as Vectorize<S>>::LANES;
    const LANES: usize = <T as Vectorize<S>>::LANES;
    #[inline(always)]
    unsafe fn load(src: *const T) -> <T as Vectorize<S>>::V {
        // SAFETY: forwarded to the caller.
        unsafe { <T as Vectorize<S>>::load(src) }
    }
    #[inline(always)]
    unsafe fn store(dst: *mut T, e: <T as Vectorize<S>>::V) {
        // SAFETY: forwarded to the caller.
        unsafe { <T as Vectorize<S>>::store(dst, e) }
    }
    #[inline(always)]
    fn zero() -> <T as Vectorize<S>>::V {
        <T as Vectorize<S>>::splat(T::ZERO)
    }
    #[inline(always)]
    fn mul_add(
        a: <T as Vectorize<S>>::V,
        b: <T as Vectorize<S>>::V,
        c: <T as Vectorize<S>>::V,
    ) -> <T as Vectorize<S>>::V {
        <T as Vectorize<S>>::mul_add(a, b, c)
    }
    #[inline(always)]
    fn add(a: <T as Vectorize<S>>::V, b: <T as Vectorize<S>>::V) -> <T as Vectorize<S>>::V {
        <T as Vectorize<S>>::add(a, b)
    }
    #[inline(always)]
    fn sub(a: <T as Vectorize<S>>::V, b: <T as Vectorize<S>>::V) -> <T as Vectorize<S>>::V {
        <T as Vectorize<S>>::sub(a, b)
    }
    #[inline(always)]
    fn scale(a: <T as Vectorize<S>>::V, s: T) -> <T as Vectorize<S>>::V {
        <T as Vectorize<S>>::mul(a, <T as Vectorize<S>>::splat(s))
    }
}

impl<S: Simd, T: Scalar + Vectorize<S>> Coefficient<S> for Dual<T> {
    type T = T;
    type E = (<T as Vectorize<S>>::V, <T as Vectorize<S>>::V);
    const WIDTH: usize = 2 * <T as Vectorize<S>>::LANES;
    const LANES: usize = <T as Vectorize<S>>::LANES;
    #[inline(always)]
    unsafe fn load(src: *const T) -> (<T as Vectorize<S>>::V, <T as Vectorize<S>>::V) {
        // SAFETY: forwarded to the caller (values, then tangents, `LANES` each).
        unsafe {
            (
                <T as Vectorize<S>>::load(src),
                <T as Vectorize<S>>::load(src.add(<T as Vectorize<S>>::LANES)),
            )
        }
    }
    #[inline(always)]
    unsafe fn store(dst: *mut T, e: (<T as Vectorize<S>>::V, <T as Vectorize<S>>::V)) {
        // SAFETY: as for `load`.
        unsafe {
            <T as Vectorize<S>>::store(dst, e.0);
            <T as Vectorize<S>>::store(dst.add(<T as Vectorize<S>>::LANES), e.1);
        }
    }
    #[inline(always)]
    fn zero() -> (<T as Vectorize<S>>::V, <T as Vectorize<S>>::V) {
        let z = <T as Vectorize<S>>::splat(T::ZERO);
        (z, z)
    }
    #[inline(always)]
    fn mul_add(
        a: (<T as Vectorize<S>>::V, <T as Vectorize<S>>::V),
        b: (<T as Vectorize<S>>::V, <T as Vectorize<S>>::V),
        c: (<T as Vectorize<S>>::V, <T as Vectorize<S>>::V),
    ) -> (<T as Vectorize<S>>::V, <T as Vectorize<S>>::V) {
        let fma = <T as Vectorize<S>>::mul_add;
        (fma(a.0, b.0, c.0), fma(a.0, b.1, fma(a.1, b.0, c.1)))
    }
    #[inline(always)]
    fn add(
        a: (<T as Vectorize<S>>::V, <T as Vectorize<S>>::V),
        b: (<T as Vectorize<S>>::V, <T as Vectorize<S>>::V),
    ) -> (<T as Vectorize<S>>::V, <T as Vectorize<S>>::V) {
        let add = <T as Vectorize<S>>::add;
        (add(a.0, b.0), add(a.1, b.1))
    }
    #[inline(always)]
    fn sub(
        a: (<T as Vectorize<S>>::V, <T as Vectorize<S>>::V),
        b: (<T as Vectorize<S>>::V, <T as Vectorize<S>>::V),
    ) -> (<T as Vectorize<S>>::V, <T as Vectorize<S>>::V) {
        let sub = <T as Vectorize<S>>::sub;
        (sub(a.0, b.0), sub(a.1, b.1))
    }
    #[inline(always)]
    fn scale(
        a: (<T as Vectorize<S>>::V, <T as Vectorize<S>>::V),
        s: T,
    ) -> (<T as Vectorize<S>>::V, <T as Vectorize<S>>::V) {
        let s = <T as Vectorize<S>>::splat(s);
        let mul = <T as Vectorize<S>>::mul;
        (mul(a.0, s), mul(a.1, s))
    }
}

/// Real coefficients two vectors wide: twice the tensors per pass, and half the loop and
/// address arithmetic per multiply-add.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Wide<T>(PhantomData<T>);

impl<S: Simd, T: Scalar + Vectorize<S>> Coefficient<S> for Wide<T> {
    type T = T;
    type E = (<T as Vectorize<S>>::V, <T as Vectorize<S>>::V);
    const WIDTH: usize = 2 * <T as Vectorize<S>>::LANES;
    const LANES: usize = 2 * <T as Vectorize<S>>::LANES;
    #[inline(always)]
    unsafe fn load(src: *const T) -> Self::E {
        // SAFETY: forwarded to the caller.
        unsafe { <Dual<T> as Coefficient<S>>::load(src) }
    }
    #[inline(always)]
    unsafe fn store(dst: *mut T, e: Self::E) {
        // SAFETY: forwarded to the caller.
        unsafe { <Dual<T> as Coefficient<S>>::store(dst, e) }
    }
    #[inline(always)]
    fn zero() -> Self::E {
        <Dual<T> as Coefficient<S>>::zero()
    }
    #[inline(always)]
    fn mul_add(a: Self::E, b: Self::E, c: Self::E) -> Self::E {
        let fma = <T as Vectorize<S>>::mul_add;
        (fma(a.0, b.0, c.0), fma(a.1, b.1, c.1))
    }
    #[inline(always)]
    fn add(a: Self::E, b: Self::E) -> Self::E {
        <Dual<T> as Coefficient<S>>::add(a, b)
    }
    #[inline(always)]
    fn sub(a: Self::E, b: Self::E) -> Self::E {
        <Dual<T> as Coefficient<S>>::sub(a, b)
    }
    #[inline(always)]
    fn scale(a: Self::E, s: T) -> Self::E {
        <Dual<T> as Coefficient<S>>::scale(a, s)
    }
}

/// Rows shorter than this are updated all letters at once (see [`outer`]).
const REGISTER_ROWS: usize = 32;

/// `c!(op)` is coefficient type `C`'s operation `op` at level `S` (the generic parameters in
/// scope).
macro_rules! c {
    ($op:ident) => {
        <C as Coefficient<S>>::$op
    };
}

/// A lane-interleaved buffer: coefficient `e` at `e · WIDTH`.
struct Interleaved<T> {
    ptr: *mut T,
    width: usize,
}

impl<T> Interleaved<T> {
    /// # Safety
    /// Coefficient `e` must lie inside the buffer the pointer came from.
    #[inline(always)]
    unsafe fn at(&self, e: usize) -> *mut T {
        // SAFETY: forwarded to the caller.
        unsafe { self.ptr.add(e * self.width) }
    }
}

/// `out[a·m + i] = addend[a·m + i] + left[a] · right[i]` (or `+=` when `addend` is `out`), on
/// interleaved coefficients, `a < left_len`, `i < m`. With `D > 0` (`= left_len`) and short
/// rows the letters unroll and `left` stays in registers; long rows are streamed one at a time,
/// which keeps the stores sequential (interleaving rows whose distance is near a multiple of
/// 4 KiB makes loads wait on unrelated stores).
///
/// # Safety
/// Every addressed coefficient must lie inside its buffer; `addend` is `out` or does not overlap
/// it.
#[inline(always)]
unsafe fn outer<S: Simd, C: Coefficient<S>, const D: usize>(
    out: *mut C::T,
    addend: *const C::T,
    left: *const C::T,
    left_len: usize,
    right: *const C::T,
    m: usize,
) {
    let w = C::WIDTH;
    // SAFETY: all offsets stay below (left_len·m)·w, left_len·w and m·w respectively.
    unsafe {
        if D > 0 && m < REGISTER_ROWS {
            debug_assert_eq!(left_len, D);
            let za: [C::E; D] = std::array::from_fn(|a| c!(load)(left.add(a * w)));
            for i in 0..m {
                let r = c!(load)(right.add(i * w));
                for (a, &za) in za.iter().enumerate() {
                    let at = (a * m + i) * w;
                    c!(store)(out.add(at), c!(mul_add)(za, r, c!(load)(addend.add(at))));
                }
            }
            return;
        }
        for a in 0..left_len {
            let za = c!(load)(left.add(a * w));
            let (o, c) = (out.add(a * m * w), addend.add(a * m * w));
            // Two coefficients per iteration: short rows are loop overhead otherwise.
            let mut i = 0;
            while i + 1 < m {
                let (at, next) = (i * w, (i + 1) * w);
                let first = c!(mul_add)(za, c!(load)(right.add(at)), c!(load)(c.add(at)));
                let second = c!(mul_add)(za, c!(load)(right.add(next)), c!(load)(c.add(next)));
                c!(store)(o.add(at), first);
                c!(store)(o.add(next), second);
                i += 2;
            }
            if i < m {
                let at = i * w;
                c!(store)(
                    o.add(at),
                    c!(mul_add)(za, c!(load)(right.add(at)), c!(load)(c.add(at))),
                );
            }
        }
    }
}

/// The adjoint of [`outer`]: `d_left[a] += Σ_i grad[a·m + i] · right[i]` and
/// `d_right[i] = Σ_a left[a] · grad[a·m + i]` (overwritten: every caller's `d_right` is the
/// gradient of a fresh chain level, so it is neither cleared nor read), per lane. With `D > 0`
/// the letters unroll whatever the row length: `grad`'s rows are only read, so walking them side
/// by side costs none of the stalls it costs [`outer`], and `d_right` is stored once.
///
/// With `SINK`, `grad` is also added into `sink` (same length) as it streams by: the chain's
/// backward pass hands a level's gradient to `A_j` and down the chain in one read.
///
/// # Safety
/// As for [`outer`]; `d_left` and `d_right` do not overlap the inputs or each other; with
/// `SINK`, `sink` is valid for `left_len · m` coefficients and overlaps nothing else.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn outer_adjoint<S: Simd, C: Coefficient<S>, const D: usize, const SINK: bool>(
    grad: *const C::T,
    left: *const C::T,
    left_len: usize,
    right: *const C::T,
    m: usize,
    d_left: *mut C::T,
    d_right: *mut C::T,
    sink: *mut C::T,
) {
    let w = C::WIDTH;
    // SAFETY: as for `outer`.
    unsafe {
        if D > 0 {
            debug_assert_eq!(left_len, D);
            let za: [C::E; D] = std::array::from_fn(|a| c!(load)(left.add(a * w)));
            let mut dots: [C::E; D] = [c!(zero)(); D];
            for i in 0..m {
                let (r, mut dr) = (c!(load)(right.add(i * w)), c!(zero)());
                for a in 0..D {
                    let at = (a * m + i) * w;
                    let g = c!(load)(grad.add(at));
                    dots[a] = c!(mul_add)(g, r, dots[a]);
                    dr = c!(mul_add)(za[a], g, dr);
                    if SINK {
                        c!(store)(sink.add(at), c!(add)(c!(load)(sink.add(at)), g));
                    }
                }
                c!(store)(d_right.add(i * w), dr);
            }
            for (a, dot) in dots.into_iter().enumerate() {
                c!(store)(d_left.add(a * w), c!(add)(dot, c!(load)(d_left.add(a * w))));
            }
            return;
        }
        for a in 0..left_len {
            let za = c!(load)(left.add(a * w));
            let g = grad.add(a * m * w);
            let mut dot = c!(zero)();
            for i in 0..m {
                let at = i * w;
                let gv = c!(load)(g.add(at));
                dot = c!(mul_add)(gv, c!(load)(right.add(at)), dot);
                if SINK {
                    let sk = sink.add((a * m + i) * w);
                    c!(store)(sk, c!(add)(c!(load)(sk), gv));
                }
                let sum = if a == 0 {
                    c!(zero)()
                } else {
                    c!(load)(d_right.add(at))
                };
                c!(store)(d_right.add(at), c!(mul_add)(za, gv, sum));
            }
            c!(store)(d_left.add(a * w), c!(add)(dot, c!(load)(d_left.add(a * w))));
        }
    }
}

/// `out[i] = a[i] ± b[i]` over `n` coefficients (`out` may be `a`).
///
/// # Safety
/// All three must be valid for `n` coefficients.
#[inline(always)]
unsafe fn combine<S: Simd, C: Coefficient<S>>(
    out: *mut C::T,
    a: *const C::T,
    b: *const C::T,
    n: usize,
    plus: bool,
) {
    let w = C::WIDTH;
    for e in 0..n {
        // SAFETY: forwarded to the caller.
        unsafe {
            let (x, y) = (c!(load)(a.add(e * w)), c!(load)(b.add(e * w)));
            c!(store)(
                out.add(e * w),
                if plus { c!(add)(x, y) } else { c!(sub)(x, y) },
            );
        }
    }
}

/// Scratch for the lane-interleaved multiply-exponentiate, sized for one layout and the widest
/// coefficients.
#[derive(Debug, Clone)]
pub(crate) struct LaneScratch<T> {
    /// `z / m` at row `m - 1` for `m = 2..=N` (row 0 unused): `N·d` coefficients.
    scaled: AlignedBuf<T>,
    /// The chain `s_1 … s_{N-1}` (backward: all levels at their offsets; forward: a ping-pong
    /// pair of level-`N-1` slots, then one more per fused step for the top level's chains).
    chain: AlignedBuf<T>,
    /// Gradients of two consecutive chain levels.
    grad_a: AlignedBuf<T>,
    grad_b: AlignedBuf<T>,
    /// `-z`, or the gradient of one scaled copy of `z`.
    spare_z: AlignedBuf<T>,
}

impl<T> LaneScratch<T> {
    /// The scalars its buffers hold.
    pub(crate) fn scalars(&self) -> usize {
        [
            &self.scaled,
            &self.chain,
            &self.grad_a,
            &self.grad_b,
            &self.spare_z,
        ]
        .iter()
        .map(|buf| buf.len())
        .sum()
    }
}

impl<T: Scalar> LaneScratch<T> {
    /// Scratch for `levels`; with `gradients` also for [`exp_mul_backward_lanes`].
    pub(crate) fn new(
        levels: &Levels,
        dim: usize,
        degree: usize,
        gradients: bool,
    ) -> crate::Result<Self> {
        let zeroed = |n: usize| AlignedBuf::<T>::zeroed("a lane workspace", n * MAX_WIDTH);
        let backward = |n: usize| if gradients { n } else { 0 };
        let top = if degree >= 1 {
            levels.len(degree - 1)
        } else {
            0
        };
        let chain = if degree >= 1 {
            levels.offset(degree).max((2 + FUSED_LANE_STEPS) * top)
        } else {
            0
        };
        Ok(LaneScratch {
            scaled: zeroed(dim * degree)?,
            chain: zeroed(chain)?,
            grad_a: zeroed(backward(top))?,
            grad_b: zeroed(backward(top))?,
            spare_z: zeroed(backward(dim))?,
        })
    }
}

/// `a ← exp(z)` for every lane: level `k` is level `k - 1` ⊗ `z` / `k`, about one multiply per
/// coefficient, where folding `z` into the identity with [`exp_mul_steps_lanes`] would cost a
/// whole Horner step (a path of one increment is all first step). `a` interleaved levels
/// `1..=N`, `z` one increment (`d` interleaved coefficients), `reciprocals[m-1] = 1/m`.
///
/// Either word order: the coefficient of a word in `exp(z)` is the product of its letters'
/// increments over `k!`, the same for the word reversed, so the recurrence on flat indices
/// (`q = p·d + i`, prefix `p`, last letter `i`) writes the natural and the reversed layout alike.
#[inline(always)]
pub(crate) fn exp_lanes<S: Simd, C: Coefficient<S>, const D: usize>(
    lv: &Levels,
    dim: usize,
    degree: usize,
    reciprocals: &[C::T],
    z: &[C::T],
    a: &mut [C::T],
) {
    let w = C::WIDTH;
    assert!(D == 0 || D == dim);
    let (d, n) = (if D > 0 { D } else { dim }, degree);
    if n == 0 {
        return;
    }
    assert!(z.len() >= d * w && a.len() >= lv.offset(n + 1) * w && reciprocals.len() >= n);
    a[lv.offset(1) * w..lv.offset(2) * w].copy_from_slice(&z[..d * w]);
    let state = Interleaved {
        ptr: a.as_mut_ptr(),
        width: w,
    };
    // SAFETY: level `k - 1`'s `d^(k-1)` and level `k`'s `d^k` coefficients lie at their offsets
    // inside `a` (asserted above), and `z` holds `d` coefficients.
    unsafe {
        for k in 2..=n {
            let (prev, level) = (state.at(lv.offset(k - 1)), state.at(lv.offset(k)));
            for p in 0..lv.len(k - 1) {
                let s = c!(scale)(c!(load)(prev.add(p * w)), reciprocals[k - 1]);
                for i in 0..d {
                    let zi = c!(load)(z.as_ptr().add(i * w));
                    c!(store)(level.add((p * d + i) * w), c!(mul_add)(s, zi, c!(zero)()));
                }
            }
        }
    }
}

/// Steps [`exp_mul_steps_lanes`] folds at once.
pub(crate) const FUSED_LANE_STEPS: usize = 4;

/// `a ← exp(z_F) ⊗ … ⊗ exp(z_1) ⊗ a` for every lane, `F ≤` [`FUSED_LANE_STEPS`] (that many
/// for whole signatures, but for their last block, as long as the steps left; 1 where every
/// step's state is wanted): `a` interleaved
/// levels `1..=N`, `steps` the `F` increments (`d` interleaved coefficients each, `z_1` first),
/// `reciprocals[m-1] = 1/m`. `D` is `dim` when the caller specialised on it (the loops over
/// letters then unroll), else 0.
///
/// No chain reads the top level, so its updates `A_N += z_t ⊗ s_(N-1)^(t)` wait until every
/// step's chain is known and then go in as one pass: each top coefficient is loaded and stored
/// once per `F` steps instead of once per step (with one store per multiply-add, the stores
/// bound the whole computation).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn exp_mul_steps_lanes<S: Simd, C: Coefficient<S>, const D: usize, const F: usize>(
    lv: &Levels,
    dim: usize,
    degree: usize,
    reciprocals: &[C::T],
    steps: &[C::T],
    a: &mut [C::T],
    ws: &mut LaneScratch<C::T>,
) {
    const { assert!(F >= 1 && F <= FUSED_LANE_STEPS) };
    let w = C::WIDTH;
    assert!(D == 0 || D == dim);
    let (d, n) = (if D > 0 { D } else { dim }, degree);
    if n == 0 {
        return;
    }
    assert!(steps.len() >= F * d * w && a.len() >= lv.offset(n + 1) * w && w <= MAX_WIDTH);
    let top = lv.len(n - 1);
    let state = Interleaved {
        ptr: a.as_mut_ptr(),
        width: w,
    };
    let (ping, rest) = ws.chain.split_at_mut(top * MAX_WIDTH);
    let (pong, block) = rest.split_at_mut(top * MAX_WIDTH);
    assert!(block.len() >= F * top * w);
    // SAFETY: levels lie at their offsets inside `a` (asserted above), chain levels `< N` fit in
    // `ping`/`pong` (`d^(N-1)` coefficients each) and `block` holds `F` of them, `steps` and
    // `scaled` hold `F·d` / `N·d` coefficients.
    unsafe {
        for (t, z) in steps.chunks_exact(d * w).take(F).enumerate() {
            scale::<S, C>(reciprocals, z, d, n, &mut ws.scaled);
            let scaled = ws.scaled.as_ptr();
            let scaled_z = |m: usize| scaled.add((m - 1) * d * w);
            // The top level's chain goes to this step's slot of the block.
            let slot = block.as_mut_ptr().add(t * top * w);
            for k in (2..=n).rev() {
                // Consecutive chain levels alternate between `ping` and `pong`.
                let place = |j: usize| match (k == n && j == k - 1, j % 2) {
                    (true, _) => slot,
                    (false, 1) => ping.as_mut_ptr(),
                    (false, _) => pong.as_mut_ptr(),
                };
                let cur = chain::<S, C, D>(lv, &state, scaled_z, d, k, place);
                if k < n {
                    // A_k += z ⊗ s_{k-1}
                    let level = state.at(lv.offset(k));
                    outer::<S, C, D>(level, level, z.as_ptr(), d, cur, lv.len(k - 1));
                }
            }
            combine::<S, C>(state.at(0), state.at(0), z.as_ptr(), d, true);
        }
        if n >= 2 {
            outer_steps::<S, C, D, F>(
                state.at(lv.offset(n)),
                steps.as_ptr(),
                d,
                block.as_ptr(),
                top,
            );
        }
    }
}

/// Writes level `k`'s Horner chain `s_1 = A_1 + z/k`, `s_(j+1) = A_(j+1) + z/(k-j) ⊗ s_j` for
/// `j < k - 1`, each `s_j` to `place(j)`, and returns where `s_(k-1)` went. `scaled_z(m)` is
/// `z/m`.
///
/// # Safety
/// `state` holds levels `1..k` at their offsets; `place(j)` has room for level `j` and differs
/// from `place(j - 1)`; `scaled_z(m)` holds `d` coefficients for `m ≤ k`.
#[inline(always)]
unsafe fn chain<S: Simd, C: Coefficient<S>, const D: usize>(
    lv: &Levels,
    state: &Interleaved<C::T>,
    scaled_z: impl Fn(usize) -> *const C::T,
    d: usize,
    k: usize,
    mut place: impl FnMut(usize) -> *mut C::T,
) -> *mut C::T {
    // SAFETY: forwarded to the caller.
    unsafe {
        let mut cur = place(1);
        combine::<S, C>(cur, state.at(0), scaled_z(k), d, true);
        for j in 1..k - 1 {
            let next = place(j + 1);
            outer::<S, C, D>(
                next,
                state.at(lv.offset(j + 1)),
                scaled_z(k - j),
                d,
                cur,
                lv.len(j),
            );
            cur = next;
        }
        cur
    }
}

/// `out[a·m + i] += Σ_t lefts[t·d + a] · rights[t·m + i]` over `F` outer products, on
/// interleaved coefficients, `a < d`, `i < m`: each output coefficient is loaded and stored once.
///
/// # Safety
/// `out` must hold `d·m` coefficients, `lefts` `F·d` and `rights` `F·m`, none overlapping `out`.
#[inline(always)]
unsafe fn outer_steps<S: Simd, C: Coefficient<S>, const D: usize, const F: usize>(
    out: *mut C::T,
    lefts: *const C::T,
    d: usize,
    rights: *const C::T,
    m: usize,
) {
    let w = C::WIDTH;
    let d = if D > 0 { D } else { d };
    let vectors = w / <C::T as Vectorize<S>>::LANES;
    // SAFETY: offsets stay below d·m, F·d and F·m coefficients respectively.
    unsafe {
        if D > 0 && (D * F + D + F) * vectors <= S::REGISTERS {
            // Every left coefficient in registers: each loaded column of `rights` serves all
            // `D` rows, so there are 0.75 loads and stores per multiply-add instead of 1.5.
            let mut za = [[c!(zero)(); F]; D];
            for (a, za) in za.iter_mut().enumerate() {
                for (t, za) in za.iter_mut().enumerate() {
                    *za = c!(load)(lefts.add((t * d + a) * w));
                }
            }
            for i in 0..m {
                let mut column = [c!(zero)(); F];
                for (t, r) in column.iter_mut().enumerate() {
                    *r = c!(load)(rights.add((t * m + i) * w));
                }
                for (a, za) in za.iter().enumerate() {
                    let o = out.add((a * m + i) * w);
                    let mut acc = c!(load)(o);
                    for (&za, &r) in za.iter().zip(&column) {
                        acc = c!(mul_add)(za, r, acc);
                    }
                    c!(store)(o, acc);
                }
            }
            return;
        }
        for a in 0..d {
            let za: [C::E; F] = std::array::from_fn(|t| c!(load)(lefts.add((t * d + a) * w)));
            let o = out.add(a * m * w);
            for i in 0..m {
                let mut acc = c!(load)(o.add(i * w));
                for (t, &za) in za.iter().enumerate() {
                    acc = c!(mul_add)(za, c!(load)(rights.add((t * m + i) * w)), acc);
                }
                c!(store)(o.add(i * w), acc);
            }
        }
    }
}

/// The backward pass of one step of [`exp_mul_steps_lanes`], in place, for every lane: `a` holds `exp(z) ⊗ A` and
/// `grad` its gradient on entry; on return `a` holds `A` (all but the top level, which nothing
/// reads, unless `recover_top`), `grad` the gradient with respect to `A`, and `z`'s gradient has
/// been added to `d_z`. `D` as for [`exp_mul_steps_lanes`].
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn exp_mul_backward_lanes<S: Simd, C: Coefficient<S>, const D: usize>(
    lv: &Levels,
    dim: usize,
    degree: usize,
    reciprocals: &[C::T],
    z: &[C::T],
    a: &mut [C::T],
    grad: &mut [C::T],
    d_z: &mut [C::T],
    recover_top: bool,
    ws: &mut LaneScratch<C::T>,
) {
    let w = C::WIDTH;
    assert!(D == 0 || D == dim);
    let (d, n) = (if D > 0 { D } else { dim }, degree);
    if n == 0 {
        return;
    }
    let len = lv.offset(n + 1);
    assert!(z.len() >= d * w && d_z.len() >= d * w && w <= MAX_WIDTH);
    assert!(a.len() >= len * w && grad.len() >= len * w);
    // Scratch made without `gradients` has none of the walk-back buffers.
    let top = if n >= 1 { lv.len(n - 1) } else { 0 };
    assert!(ws.grad_a.len() >= top * w && ws.grad_b.len() >= top * w && ws.spare_z.len() >= d * w);
    scale::<S, C>(reciprocals, z, d, n, &mut ws.scaled);
    let state = Interleaved {
        ptr: a.as_mut_ptr(),
        width: w,
    };
    let grads = Interleaved {
        ptr: grad.as_mut_ptr(),
        width: w,
    };
    let chains = Interleaved {
        ptr: ws.chain.as_mut_ptr(),
        width: w,
    };
    let scaled = ws.scaled.as_ptr();
    let scaled_z = |m: usize| scaled.wrapping_add((m - 1) * d * w);
    let (zp, dzp) = (z.as_ptr(), d_z.as_mut_ptr());
    let spare = ws.spare_z.as_mut_ptr();
    // SAFETY: as in `exp_mul_steps_lanes`; the chain buffer holds levels `1..N-1` at their offsets,
    // `grad_a`/`grad_b` `d^(N-1)` coefficients each, `spare_z` `d`.
    unsafe {
        // Level 1: A_1 += z.
        combine::<S, C>(state.at(0), state.at(0), zp, d, false);
        combine::<S, C>(dzp, dzp, grads.at(0), d, true);
        for k in 2..=n {
            // Recompute the chain s_1..s_{k-1} from the (already recovered) old levels.
            let last = chain::<S, C, D>(lv, &state, scaled_z, d, k, |j| chains.at(lv.offset(j)));
            if k < n || recover_top {
                // Recover the old A_k = A_k - z ⊗ s_{k-1}.
                std::ptr::write_bytes(spare, 0, d * w);
                combine::<S, C>(spare, spare, zp, d, false);
                let top = state.at(lv.offset(k));
                outer::<S, C, D>(top, top, spare, d, last, lv.len(k - 1));
            }
            // Adjoint of A_k += z ⊗ s_{k-1}.
            let (mut ds, mut ds_next) = (ws.grad_a.as_mut_ptr(), ws.grad_b.as_mut_ptr());
            let grad_k = grads.at(lv.offset(k));
            let nowhere = std::ptr::null_mut();
            outer_adjoint::<S, C, D, false>(grad_k, zp, d, last, lv.len(k - 1), dzp, ds, nowhere);
            for j in (1..k).rev() {
                // s_j = A_j + h_j: the gradient reaches A_j and h_j alike.
                let g = grads.at(lv.offset(j));
                let (m, src) = if j == 1 {
                    combine::<S, C>(g, g, ds, d, true);
                    // h_1 = z / k
                    (k, ds)
                } else {
                    // h_j = z/m ⊗ s_{j-1}, m = k-j+1; A_j's share added on the same pass.
                    let (prev, m) = (lv.len(j - 1), k - j + 1);
                    std::ptr::write_bytes(spare, 0, d * w);
                    let s_prev = chains.at(lv.offset(j - 1));
                    outer_adjoint::<S, C, D, true>(
                        ds,
                        scaled_z(m),
                        d,
                        s_prev,
                        prev,
                        spare,
                        ds_next,
                        g,
                    );
                    (m, spare)
                };
                let inv = reciprocals[m - 1];
                for c in 0..d {
                    let (at, dz) = (c * w, c!(load)(src.add(c * w)));
                    c!(store)(
                        dzp.add(at),
                        c!(add)(c!(scale)(dz, inv), c!(load)(dzp.add(at))),
                    );
                }
                if j > 1 {
                    std::mem::swap(&mut ds, &mut ds_next);
                }
            }
        }
    }
}

/// `scaled[m-1] = z / m` for `m = 2..=n`, interleaved (`z / 1` is `z`: row 0 is left alone).
#[inline(always)]
fn scale<S: Simd, C: Coefficient<S>>(
    reciprocals: &[C::T],
    z: &[C::T],
    d: usize,
    n: usize,
    scaled: &mut [C::T],
) {
    let w = C::WIDTH;
    assert!(scaled.len() >= n * d * w && z.len() >= d * w && reciprocals.len() >= n);
    for (m, &inv) in reciprocals[..n].iter().enumerate().skip(1) {
        for c in 0..d {
            // SAFETY: indices checked by the assertion above.
            unsafe {
                let zc = c!(load)(z.as_ptr().add(c * w));
                c!(store)(scaled.as_mut_ptr().add((m * d + c) * w), c!(scale)(zc, inv));
            }
        }
    }
}
