//! Runtime instruction-set dispatch and the vector operations the kernels use.
//!
//! The hot loops are written once, generic over a [`Simd`] level and a [`Vectorize`] element
//! type. [`dispatch`] runs a [`Kernel`] instantiated for the best level the CPU has, inside a
//! function compiled with those target features, so that one portable wheel still gets AVX2 or
//! AVX-512 vectors and fused multiply-adds: 4/8 `f64` or 8/16 `f32` lanes. Everything a kernel
//! calls is `#[inline(always)]` so that it is compiled into that function.
//!
//! The vector operations are explicit intrinsics rather than loops left to LLVM's vectoriser:
//! vectorisation of short, data-dependent rows proved fragile (and a helper that escaped
//! inlining silently fell back to scalar libm `fma` calls), and masked loads and stores make the
//! tail of every row one vector operation.

use std::sync::atomic::{AtomicU8, Ordering};

use crate::scalar::Scalar;

// The traits below are `pub` but live in a private module: the public `Scalar` trait can name
// them as supertraits (sealing it) while no other crate can reach them.

/// An instruction-set level the kernels are compiled for.
pub trait Simd: Copy + Send + Sync + 'static {
    /// Vector registers the level has: how many values a kernel can keep at hand.
    const REGISTERS: usize;
}

/// Any CPU: short arrays that LLVM maps to whatever vectors the target has (SSE2, NEON).
#[derive(Clone, Copy, Debug)]
pub struct Portable;

/// x86-64 with AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, Debug)]
pub struct Avx2;

/// x86-64 with AVX-512 (F, VL) and FMA: 256-bit vectors with mask registers.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, Debug)]
pub struct Avx512;

impl Simd for Portable {
    const REGISTERS: usize = 16;
}
#[cfg(target_arch = "x86_64")]
impl Simd for Avx2 {
    const REGISTERS: usize = 16;
}
#[cfg(target_arch = "x86_64")]
impl Simd for Avx512 {
    // AVX-512VL encodes 256-bit operations on all 32 registers.
    const REGISTERS: usize = 32;
}

/// Vectors of `Self` at level `S`.
///
/// The loads and stores take raw pointers: the kernels check their slices' lengths once per call
/// and then address vectors inside them, which keeps bounds checks out of the innermost loops.
///
/// # Safety
/// Implementations must read or write exactly the lanes documented; callers must pass pointers
/// valid for those lanes.
pub trait Vectorize<S: Simd>: Copy {
    /// One vector register of `Self`.
    type V: Copy;
    /// Which lanes a partial load or store touches.
    type Mask: Copy;
    /// Where each lane of a [`Vectorize::permute`] comes from.
    type Lanes: Copy;
    /// Elements per vector.
    const LANES: usize;
    /// Every lane `x`.
    fn splat(x: Self) -> Self::V;
    /// The mask selecting the first `n < LANES` lanes.
    fn mask(n: usize) -> Self::Mask;
    /// Loads `LANES` elements from `src`.
    ///
    /// # Safety
    /// `src` must be valid for reading `LANES` elements.
    unsafe fn load(src: *const Self) -> Self::V;
    /// Stores `LANES` elements to `dst`.
    ///
    /// # Safety
    /// `dst` must be valid for writing `LANES` elements.
    unsafe fn store(dst: *mut Self, v: Self::V);
    /// Loads the lanes selected by `mask` (zero elsewhere).
    ///
    /// # Safety
    /// `src` must be valid for reading the selected lanes.
    unsafe fn load_masked(src: *const Self, mask: Self::Mask) -> Self::V;
    /// Stores the lanes selected by `mask`.
    ///
    /// # Safety
    /// `dst` must be valid for writing the selected lanes.
    unsafe fn store_masked(dst: *mut Self, v: Self::V, mask: Self::Mask);
    /// `a · b + c`, fused.
    fn mul_add(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    /// `a + b`.
    fn add(a: Self::V, b: Self::V) -> Self::V;
    /// `a - b`.
    fn sub(a: Self::V, b: Self::V) -> Self::V;
    /// `a · b`.
    fn mul(a: Self::V, b: Self::V) -> Self::V;
    /// The sum of the lanes.
    fn sum(v: Self::V) -> Self;
    /// The selector that takes lane `from[i]` into lane `i` (`from[i] < LANES`, and `from`
    /// holds at least `LANES` entries).
    fn lanes(from: &[u8]) -> Self::Lanes;
    /// Lane `i` of the result is the lane of `v` that `sel` names for `i`.
    fn permute(v: Self::V, sel: Self::Lanes) -> Self::V;
    /// `LANES` consecutive differences `rows[l][at + i + ahead] - rows[l][at + i]`,
    /// `i < LANES`, of each of the `LANES` rows `l`, transposed: vector `i`, stored at
    /// `dst + i·stride`, holds difference `i` of every row. This is how path increments reach
    /// the lane layout.
    ///
    /// # Safety
    /// `rows.len() == LANES`; every row must be valid for reading `at + ahead + LANES` elements
    /// and `dst` for writing `LANES` elements at each of `dst + i·stride`.
    unsafe fn transposed_differences(
        rows: &[*const Self],
        at: usize,
        ahead: usize,
        dst: *mut Self,
        stride: usize,
    );
}

macro_rules! portable_vectors {
    ($($t:ty),*) => {$(
        impl Vectorize<Portable> for $t {
            type V = [$t; 4];
            type Mask = usize;
            type Lanes = [u8; 4];
            const LANES: usize = 4;
            #[inline(always)]
            fn splat(x: $t) -> [$t; 4] {
                [x; 4]
            }
            #[inline(always)]
            fn mask(n: usize) -> usize {
                n
            }
            #[inline(always)]
            unsafe fn load(src: *const $t) -> [$t; 4] {
                // SAFETY: the caller guarantees four readable elements.
                unsafe { src.cast::<[$t; 4]>().read_unaligned() }
            }
            #[inline(always)]
            unsafe fn store(dst: *mut $t, v: [$t; 4]) {
                // SAFETY: the caller guarantees four writable elements.
                unsafe { dst.cast::<[$t; 4]>().write_unaligned(v) }
            }
            #[inline(always)]
            unsafe fn load_masked(src: *const $t, n: usize) -> [$t; 4] {
                let mut v = [0.0; 4];
                // SAFETY: the caller guarantees `n` readable elements.
                unsafe { std::ptr::copy_nonoverlapping(src, v.as_mut_ptr(), n) };
                v
            }
            #[inline(always)]
            unsafe fn store_masked(dst: *mut $t, v: [$t; 4], n: usize) {
                // SAFETY: the caller guarantees `n` writable elements.
                unsafe { std::ptr::copy_nonoverlapping(v.as_ptr(), dst, n) };
            }
            #[inline(always)]
            fn mul_add(a: [$t; 4], b: [$t; 4], c: [$t; 4]) -> [$t; 4] {
                // Not `mul_add`: without the FMA instruction set that is a libm call.
                [a[0] * b[0] + c[0], a[1] * b[1] + c[1], a[2] * b[2] + c[2], a[3] * b[3] + c[3]]
            }
            #[inline(always)]
            fn add(a: [$t; 4], b: [$t; 4]) -> [$t; 4] {
                [a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3]]
            }
            #[inline(always)]
            fn sub(a: [$t; 4], b: [$t; 4]) -> [$t; 4] {
                [a[0] - b[0], a[1] - b[1], a[2] - b[2], a[3] - b[3]]
            }
            #[inline(always)]
            fn mul(a: [$t; 4], b: [$t; 4]) -> [$t; 4] {
                [a[0] * b[0], a[1] * b[1], a[2] * b[2], a[3] * b[3]]
            }
            #[inline(always)]
            fn sum(v: [$t; 4]) -> $t {
                (v[0] + v[2]) + (v[1] + v[3])
            }
            #[inline(always)]
            fn lanes(from: &[u8]) -> [u8; 4] {
                [from[0], from[1], from[2], from[3]]
            }
            #[inline(always)]
            fn permute(v: [$t; 4], sel: [u8; 4]) -> [$t; 4] {
                sel.map(|i| v[usize::from(i)])
            }
            #[inline(always)]
            unsafe fn transposed_differences(
                rows: &[*const $t],
                at: usize,
                ahead: usize,
                dst: *mut $t,
                stride: usize,
            ) {
                // SAFETY: the caller guarantees the rows' and `dst`'s extents.
                unsafe {
                    for (l, &row) in rows.iter().enumerate().take(4) {
                        for i in 0..4 {
                            let (here, next) = (row.add(at + i), row.add(at + i + ahead));
                            *dst.add(i * stride + l) = *next - *here;
                        }
                    }
                }
            }
        }
    )*};
}

portable_vectors!(f32, f64);

#[cfg(target_arch = "x86_64")]
mod x86 {
    //! AVX2 and AVX-512 vectors. Every function here only ever executes inside
    //! [`super::dispatch`]'s `run_avx2` / `run_avx512`, after the CPU reported the features, so
    //! the intrinsics' target-feature requirements hold; pointer validity is the caller's
    //! contract (see [`Vectorize`]).
    #![allow(clippy::undocumented_unsafe_blocks)]
    use std::arch::x86_64::*;

    use super::{Avx2, Avx512, Vectorize};

    impl Vectorize<Avx2> for f64 {
        type V = __m256d;
        type Mask = __m256i;
        type Lanes = __m256i;
        const LANES: usize = 4;
        #[inline(always)]
        fn splat(x: f64) -> __m256d {
            unsafe { _mm256_set1_pd(x) }
        }
        #[inline(always)]
        fn mask(n: usize) -> __m256i {
            unsafe {
                _mm256_cmpgt_epi64(_mm256_set1_epi64x(n as i64), _mm256_setr_epi64x(0, 1, 2, 3))
            }
        }
        #[inline(always)]
        unsafe fn load(src: *const f64) -> __m256d {
            unsafe { _mm256_loadu_pd(src) }
        }
        #[inline(always)]
        unsafe fn store(dst: *mut f64, v: __m256d) {
            unsafe { _mm256_storeu_pd(dst, v) }
        }
        #[inline(always)]
        unsafe fn load_masked(src: *const f64, mask: __m256i) -> __m256d {
            unsafe { _mm256_maskload_pd(src, mask) }
        }
        #[inline(always)]
        unsafe fn store_masked(dst: *mut f64, v: __m256d, mask: __m256i) {
            unsafe { _mm256_maskstore_pd(dst, mask, v) }
        }
        #[inline(always)]
        fn mul_add(a: __m256d, b: __m256d, c: __m256d) -> __m256d {
            unsafe { _mm256_fmadd_pd(a, b, c) }
        }
        #[inline(always)]
        fn add(a: __m256d, b: __m256d) -> __m256d {
            unsafe { _mm256_add_pd(a, b) }
        }
        #[inline(always)]
        fn sub(a: __m256d, b: __m256d) -> __m256d {
            unsafe { _mm256_sub_pd(a, b) }
        }
        #[inline(always)]
        fn mul(a: __m256d, b: __m256d) -> __m256d {
            unsafe { _mm256_mul_pd(a, b) }
        }
        #[inline(always)]
        fn sum(v: __m256d) -> f64 {
            unsafe {
                let pair = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
                _mm_cvtsd_f64(_mm_add_sd(pair, _mm_unpackhi_pd(pair, pair)))
            }
        }
        #[inline(always)]
        fn lanes(from: &[u8]) -> __m256i {
            assert!(from.len() >= 4);
            unsafe {
                let x = _mm256_cvtepu8_epi64(_mm_cvtsi32_si128(i32::from_le_bytes([
                    from[0], from[1], from[2], from[3],
                ])));
                // One `f64` lane is two 32-bit lanes of `vpermps`: `2x` and `2x + 1`.
                let low = _mm256_add_epi64(x, x);
                let high = _mm256_slli_epi64(_mm256_add_epi64(low, _mm256_set1_epi64x(1)), 32);
                _mm256_or_si256(low, high)
            }
        }
        #[inline(always)]
        fn permute(v: __m256d, sel: __m256i) -> __m256d {
            unsafe { _mm256_castps_pd(_mm256_permutevar8x32_ps(_mm256_castpd_ps(v), sel)) }
        }
        #[inline(always)]
        unsafe fn transposed_differences(
            rows: &[*const f64],
            at: usize,
            ahead: usize,
            dst: *mut f64,
            stride: usize,
        ) {
            unsafe {
                let row = |l: usize| {
                    let p: *const f64 = rows[l].add(at);
                    _mm256_sub_pd(_mm256_loadu_pd(p.add(ahead)), _mm256_loadu_pd(p))
                };
                let (r0, r1, r2, r3) = (row(0), row(1), row(2), row(3));
                // Pairs of rows interleaved within 128-bit halves, then the halves swapped.
                let (even01, odd01) = (_mm256_unpacklo_pd(r0, r1), _mm256_unpackhi_pd(r0, r1));
                let (even23, odd23) = (_mm256_unpacklo_pd(r2, r3), _mm256_unpackhi_pd(r2, r3));
                let columns = [
                    _mm256_permute2f128_pd(even01, even23, 0x20),
                    _mm256_permute2f128_pd(odd01, odd23, 0x20),
                    _mm256_permute2f128_pd(even01, even23, 0x31),
                    _mm256_permute2f128_pd(odd01, odd23, 0x31),
                ];
                for (i, c) in columns.into_iter().enumerate() {
                    _mm256_storeu_pd(dst.add(i * stride), c);
                }
            }
        }
    }

    impl Vectorize<Avx2> for f32 {
        type V = __m256;
        type Mask = __m256i;
        type Lanes = __m256i;
        const LANES: usize = 8;
        #[inline(always)]
        fn splat(x: f32) -> __m256 {
            unsafe { _mm256_set1_ps(x) }
        }
        #[inline(always)]
        fn mask(n: usize) -> __m256i {
            unsafe {
                _mm256_cmpgt_epi32(
                    _mm256_set1_epi32(n as i32),
                    _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                )
            }
        }
        #[inline(always)]
        unsafe fn load(src: *const f32) -> __m256 {
            unsafe { _mm256_loadu_ps(src) }
        }
        #[inline(always)]
        unsafe fn store(dst: *mut f32, v: __m256) {
            unsafe { _mm256_storeu_ps(dst, v) }
        }
        #[inline(always)]
        unsafe fn load_masked(src: *const f32, mask: __m256i) -> __m256 {
            unsafe { _mm256_maskload_ps(src, mask) }
        }
        #[inline(always)]
        unsafe fn store_masked(dst: *mut f32, v: __m256, mask: __m256i) {
            unsafe { _mm256_maskstore_ps(dst, mask, v) }
        }
        #[inline(always)]
        fn mul_add(a: __m256, b: __m256, c: __m256) -> __m256 {
            unsafe { _mm256_fmadd_ps(a, b, c) }
        }
        #[inline(always)]
        fn add(a: __m256, b: __m256) -> __m256 {
            unsafe { _mm256_add_ps(a, b) }
        }
        #[inline(always)]
        fn sub(a: __m256, b: __m256) -> __m256 {
            unsafe { _mm256_sub_ps(a, b) }
        }
        #[inline(always)]
        fn mul(a: __m256, b: __m256) -> __m256 {
            unsafe { _mm256_mul_ps(a, b) }
        }
        #[inline(always)]
        fn sum(v: __m256) -> f32 {
            unsafe {
                let quad = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
                let pair = _mm_add_ps(quad, _mm_movehl_ps(quad, quad));
                _mm_cvtss_f32(_mm_add_ss(pair, _mm_shuffle_ps(pair, pair, 1)))
            }
        }
        #[inline(always)]
        fn lanes(from: &[u8]) -> __m256i {
            assert!(from.len() >= 8);
            unsafe { _mm256_cvtepu8_epi32(_mm_loadl_epi64(from.as_ptr().cast())) }
        }
        #[inline(always)]
        fn permute(v: __m256, sel: __m256i) -> __m256 {
            unsafe { _mm256_permutevar8x32_ps(v, sel) }
        }
        #[inline(always)]
        unsafe fn transposed_differences(
            rows: &[*const f32],
            at: usize,
            ahead: usize,
            dst: *mut f32,
            stride: usize,
        ) {
            unsafe {
                let row = |l: usize| {
                    let p: *const f32 = rows[l].add(at);
                    _mm256_sub_ps(_mm256_loadu_ps(p.add(ahead)), _mm256_loadu_ps(p))
                };
                // (No `array::from_fn`: it escapes inlining, and with it the intrinsics.)
                let (r0, r1, r2, r3) = (row(0), row(1), row(2), row(3));
                let (r4, r5, r6, r7) = (row(4), row(5), row(6), row(7));
                // Pairs of rows interleaved, then quadruples, within 128-bit halves; then the
                // halves swapped: element `i` of every row ends in column `i`.
                let (lo01, hi01) = (_mm256_unpacklo_ps(r0, r1), _mm256_unpackhi_ps(r0, r1));
                let (lo23, hi23) = (_mm256_unpacklo_ps(r2, r3), _mm256_unpackhi_ps(r2, r3));
                let (lo45, hi45) = (_mm256_unpacklo_ps(r4, r5), _mm256_unpackhi_ps(r4, r5));
                let (lo67, hi67) = (_mm256_unpacklo_ps(r6, r7), _mm256_unpackhi_ps(r6, r7));
                // quads[q] (rows 0-3) and quads[4 + q] (rows 4-7): elements q and q + 4.
                let quads = [
                    _mm256_shuffle_ps::<0x44>(lo01, lo23),
                    _mm256_shuffle_ps::<0xEE>(lo01, lo23),
                    _mm256_shuffle_ps::<0x44>(hi01, hi23),
                    _mm256_shuffle_ps::<0xEE>(hi01, hi23),
                    _mm256_shuffle_ps::<0x44>(lo45, lo67),
                    _mm256_shuffle_ps::<0xEE>(lo45, lo67),
                    _mm256_shuffle_ps::<0x44>(hi45, hi67),
                    _mm256_shuffle_ps::<0xEE>(hi45, hi67),
                ];
                for i in 0..8 {
                    let (lo, hi) = (quads[i % 4], quads[4 + i % 4]);
                    let c = if i < 4 {
                        _mm256_permute2f128_ps::<0x20>(lo, hi)
                    } else {
                        _mm256_permute2f128_ps::<0x31>(lo, hi)
                    };
                    _mm256_storeu_ps(dst.add(i * stride), c);
                }
            }
        }
    }

    // The AVX-512 level keeps 256-bit vectors and adds AVX-512VL's mask registers for the tails:
    // on AMD's Zen 4 a 512-bit store takes two cycles (no gain over two 256-bit ones), Intel
    // lowers its clock for 512-bit work, and AVX2's own masked stores are slow everywhere.

    /// The operations the AVX-512 level shares with AVX2 (same 256-bit vectors): forwarded.
    macro_rules! avx2_operations {
        ($t:ty, $v:ty) => {
            #[inline(always)]
            fn splat(x: $t) -> $v {
                <$t as Vectorize<Avx2>>::splat(x)
            }
            #[inline(always)]
            unsafe fn load(src: *const $t) -> $v {
                // SAFETY: forwarded to the caller.
                unsafe { <$t as Vectorize<Avx2>>::load(src) }
            }
            #[inline(always)]
            unsafe fn store(dst: *mut $t, v: $v) {
                // SAFETY: forwarded to the caller.
                unsafe { <$t as Vectorize<Avx2>>::store(dst, v) }
            }
            #[inline(always)]
            fn mul_add(a: $v, b: $v, c: $v) -> $v {
                <$t as Vectorize<Avx2>>::mul_add(a, b, c)
            }
            #[inline(always)]
            fn add(a: $v, b: $v) -> $v {
                <$t as Vectorize<Avx2>>::add(a, b)
            }
            #[inline(always)]
            fn sub(a: $v, b: $v) -> $v {
                <$t as Vectorize<Avx2>>::sub(a, b)
            }
            #[inline(always)]
            fn mul(a: $v, b: $v) -> $v {
                <$t as Vectorize<Avx2>>::mul(a, b)
            }
            #[inline(always)]
            fn sum(v: $v) -> $t {
                <$t as Vectorize<Avx2>>::sum(v)
            }
            #[inline(always)]
            fn lanes(from: &[u8]) -> __m256i {
                <$t as Vectorize<Avx2>>::lanes(from)
            }
            #[inline(always)]
            fn permute(v: $v, sel: __m256i) -> $v {
                <$t as Vectorize<Avx2>>::permute(v, sel)
            }
            #[inline(always)]
            unsafe fn transposed_differences(
                rows: &[*const $t],
                at: usize,
                ahead: usize,
                dst: *mut $t,
                stride: usize,
            ) {
                // SAFETY: forwarded to the caller.
                unsafe {
                    <$t as Vectorize<Avx2>>::transposed_differences(rows, at, ahead, dst, stride)
                }
            }
        };
    }

    impl Vectorize<Avx512> for f64 {
        type V = __m256d;
        type Mask = __mmask8;
        type Lanes = __m256i;
        const LANES: usize = 4;
        avx2_operations!(f64, __m256d);
        #[inline(always)]
        fn mask(n: usize) -> __mmask8 {
            ((1u32 << n) - 1) as __mmask8
        }
        #[inline(always)]
        unsafe fn load_masked(src: *const f64, mask: __mmask8) -> __m256d {
            unsafe { _mm256_maskz_loadu_pd(mask, src) }
        }
        #[inline(always)]
        unsafe fn store_masked(dst: *mut f64, v: __m256d, mask: __mmask8) {
            unsafe { _mm256_mask_storeu_pd(dst, mask, v) }
        }
    }

    impl Vectorize<Avx512> for f32 {
        type V = __m256;
        type Mask = __mmask8;
        type Lanes = __m256i;
        const LANES: usize = 8;
        avx2_operations!(f32, __m256);
        #[inline(always)]
        fn mask(n: usize) -> __mmask8 {
            ((1u32 << n) - 1) as __mmask8
        }
        #[inline(always)]
        unsafe fn load_masked(src: *const f32, mask: __mmask8) -> __m256 {
            unsafe { _mm256_maskz_loadu_ps(mask, src) }
        }
        #[inline(always)]
        unsafe fn store_masked(dst: *mut f32, v: __m256, mask: __mmask8) {
            unsafe { _mm256_mask_storeu_ps(dst, mask, v) }
        }
    }
}

/// An element type with vectors at every level the crate dispatches to.
#[cfg(target_arch = "x86_64")]
pub trait Element: Vectorize<Portable> + Vectorize<Avx2> + Vectorize<Avx512> {}
#[cfg(target_arch = "x86_64")]
impl<T: Vectorize<Portable> + Vectorize<Avx2> + Vectorize<Avx512>> Element for T {}

/// An element type with vectors at every level the crate dispatches to.
#[cfg(not(target_arch = "x86_64"))]
pub trait Element: Vectorize<Portable> {}
#[cfg(not(target_arch = "x86_64"))]
impl<T: Vectorize<Portable>> Element for T {}

/// A computation on elements of type `Self::Elem`, to run at the best available [`Simd`] level.
pub(crate) trait Kernel {
    /// The element type the computation works on.
    type Elem: Scalar;
    /// What the computation returns.
    type Output;
    /// The computation, for level `S`. Must be `#[inline(always)]`, as must all it calls.
    fn run<S: Simd>(self) -> Self::Output
    where
        Self::Elem: Vectorize<S>;
}

const UNKNOWN: u8 = 0;
const PORTABLE: u8 = 1;
const AVX2: u8 = 2;
const AVX512: u8 = 3;

static LEVEL: AtomicU8 = AtomicU8::new(UNKNOWN);

/// The best level this CPU supports, detected once. `TENSORSIG_SIMD=portable|avx2` caps it
/// (for comparisons, and to rule the vector code out when debugging).
fn level() -> u8 {
    match LEVEL.load(Ordering::Relaxed) {
        UNKNOWN => {
            let cap = match std::env::var("TENSORSIG_SIMD").as_deref() {
                Ok("portable") => PORTABLE,
                Ok("avx2") => AVX2,
                _ => AVX512,
            };
            let level = detect().min(cap);
            LEVEL.store(level, Ordering::Relaxed);
            level
        }
        known => known,
    }
}

#[cfg(target_arch = "x86_64")]
fn detect() -> u8 {
    let avx2 = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
    if avx2 && is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512vl") {
        AVX512
    } else if avx2 {
        AVX2
    } else {
        PORTABLE
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn detect() -> u8 {
    PORTABLE
}

/// Runs `kernel` at the best level this CPU supports.
#[inline]
pub(crate) fn dispatch<K: Kernel>(kernel: K) -> K::Output {
    #[cfg(target_arch = "x86_64")]
    match level() {
        // SAFETY: `level` only reports features that `is_x86_feature_detected!` confirmed.
        AVX512 => return unsafe { run_avx512(kernel) },
        AVX2 => return unsafe { run_avx2(kernel) },
        _ => {}
    }
    kernel.run::<Portable>()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn run_avx2<K: Kernel>(kernel: K) -> K::Output {
    kernel.run::<Avx2>()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
unsafe fn run_avx512<K: Kernel>(kernel: K) -> K::Output {
    kernel.run::<Avx512>()
}

/// The instruction-set level the kernels run at on this CPU: `"avx512"`, `"avx2"` or
/// `"portable"` (for benchmarks and bug reports).
pub fn simd_level() -> &'static str {
    match level() {
        AVX512 => "avx512",
        AVX2 => "avx2",
        _ => "portable",
    }
}
