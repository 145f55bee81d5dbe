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
        unsafe { _mm256_cmpgt_epi64(_mm256_set1_epi64x(n as i64), _mm256_setr_epi64x(0, 1, 2, 3)) }
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
            let columns = transpose_pd([row(0), row(1), row(2), row(3)]);
            for (i, c) in columns.into_iter().enumerate() {
                _mm256_storeu_pd(dst.add(i * stride), c);
            }
        }
    }
    #[inline(always)]
    unsafe fn transpose(src: &[*const f64], dst: &[*mut f64], at: usize) {
        unsafe {
            let row = |k: usize| _mm256_loadu_pd(src[k]);
            let columns = transpose_pd([row(0), row(1), row(2), row(3)]);
            for (i, c) in columns.into_iter().enumerate() {
                _mm256_storeu_pd(dst[i].add(at), c);
            }
        }
    }
}

/// The 4×4 transpose of four rows of `f64`: pairs of rows interleaved within 128-bit halves,
/// then the halves swapped.
#[inline(always)]
fn transpose_pd([r0, r1, r2, r3]: [__m256d; 4]) -> [__m256d; 4] {
    unsafe {
        let (even01, odd01) = (_mm256_unpacklo_pd(r0, r1), _mm256_unpackhi_pd(r0, r1));
        let (even23, odd23) = (_mm256_unpacklo_pd(r2, r3), _mm256_unpackhi_pd(r2, r3));
        [
            _mm256_permute2f128_pd(even01, even23, 0x20),
            _mm256_permute2f128_pd(odd01, odd23, 0x20),
            _mm256_permute2f128_pd(even01, even23, 0x31),
            _mm256_permute2f128_pd(odd01, odd23, 0x31),
        ]
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
            let rows = [
                row(0),
                row(1),
                row(2),
                row(3),
                row(4),
                row(5),
                row(6),
                row(7),
            ];
            for (i, c) in transpose_ps(rows).into_iter().enumerate() {
                _mm256_storeu_ps(dst.add(i * stride), c);
            }
        }
    }
    #[inline(always)]
    unsafe fn transpose(src: &[*const f32], dst: &[*mut f32], at: usize) {
        unsafe {
            let row = |k: usize| _mm256_loadu_ps(src[k]);
            let rows = [
                row(0),
                row(1),
                row(2),
                row(3),
                row(4),
                row(5),
                row(6),
                row(7),
            ];
            for (i, c) in transpose_ps(rows).into_iter().enumerate() {
                _mm256_storeu_ps(dst[i].add(at), c);
            }
        }
    }
}

/// The 8×8 transpose of eight rows of `f32`: pairs of rows interleaved, then quadruples, within
/// 128-bit halves; then the halves swapped: element `i` of every row ends in column `i`.
#[inline(always)]
fn transpose_ps([r0, r1, r2, r3, r4, r5, r6, r7]: [__m256; 8]) -> [__m256; 8] {
    unsafe {
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
        let half = |i: usize| {
            let (lo, hi) = (quads[i % 4], quads[4 + i % 4]);
            if i < 4 {
                _mm256_permute2f128_ps::<0x20>(lo, hi)
            } else {
                _mm256_permute2f128_ps::<0x31>(lo, hi)
            }
        };
        [
            half(0),
            half(1),
            half(2),
            half(3),
            half(4),
            half(5),
            half(6),
            half(7),
        ]
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
            unsafe { <$t as Vectorize<Avx2>>::transposed_differences(rows, at, ahead, dst, stride) }
        }
        #[inline(always)]
        unsafe fn transpose(src: &[*const $t], dst: &[*mut $t], at: usize) {
            // SAFETY: forwarded to the caller.
            unsafe { <$t as Vectorize<Avx2>>::transpose(src, dst, at) }
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
