//! Runtime instruction-set dispatch and the vector operations the hot loops use.
//!
//! The hot loops are written once, generic over a [`Simd`] level and a [`Vectorize`] element
//! type. [`dispatch`] runs a [`SimdTask`] instantiated for the best level the CPU has, inside a
//! function compiled with those target features, so that one portable wheel still gets AVX2 or
//! AVX-512 vectors and fused multiply-adds: 4/8 `f64` or 8/16 `f32` lanes. Everything a task
//! calls is `#[inline(always)]` so that it is compiled into that function. [`simd_dispatch!`]
//! writes the task for a block of code and the locals it takes, so that an entry point is its
//! locals and one call of its `…_with`/`…_at` body at level `S`.
//!
//! The vector operations are explicit intrinsics rather than loops left to LLVM's vectoriser:
//! vectorisation of short, data-dependent rows proved fragile (and a helper that escaped
//! inlining silently fell back to scalar libm `fma` calls), and masked loads and stores make the
//! tail of every row one vector operation.

use std::sync::atomic::{AtomicU8, Ordering};

use crate::scalar::Scalar;

// The traits below are `pub` but live in a private module: the public `Scalar` trait can name
// them as supertraits (sealing it) while no other crate can reach them.

/// An instruction-set level the vectorised code is compiled for.
pub trait Simd: Copy + Send + Sync + 'static {
    /// Vector registers the level has: how many values a loop can keep at hand.
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
/// The loads and stores take raw pointers: the hot loops check their slices' lengths once per call
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
    /// The `LANES`×`LANES` transpose of the vectors at `src[k]`, `k < LANES`: stores at
    /// `dst[i] + at` the `LANES` elements that are lane `i` of each vector, in order. This is
    /// how the lane layout is written back out as one row per lane.
    ///
    /// # Safety
    /// `src` and `dst` hold at least `LANES` pointers; each `src[k]` must be valid for reading
    /// `LANES` elements and each `dst[i] + at` for writing `LANES` elements.
    unsafe fn transpose(src: &[*const Self], dst: &[*mut Self], at: usize);
}

mod portable;
#[cfg(target_arch = "x86_64")]
mod x86;

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
pub(crate) trait SimdTask {
    /// The element type the computation works on.
    type Elem: Scalar;
    /// What the computation returns.
    type Output;
    /// The computation, for level `S`. Must be `#[inline(always)]`, as must all it calls.
    fn run<S: Simd>(self) -> Self::Output
    where
        Self::Elem: Vectorize<S>;
}

/// Runs a block at the best [`Simd`] level for element type `T`: writes the [`SimdTask`] that
/// carries the named locals into the function compiled for that level, and [`dispatch`]es it.
///
/// `simd_dispatch!(<'a, T: Scalar> |S| { z: &'a [T], out: &'a mut [T] } -> () { body })`
/// moves the locals `z` and `out` (of the types given) into the task; inside `body` they are
/// locals again, `S` is the level and `T: Vectorize<S>`. Further type parameters follow `T`
/// with their bounds (`<'a, T: Real, I: Increments<T>>`). Everything the body calls must
/// be `#[inline(always)]`, as [`SimdTask::run`] says; a long body is best one call of such a
/// function, which rustfmt formats (it leaves macro arguments alone).
macro_rules! simd_dispatch {
    (
        <$($lt:lifetime,)* $T:ident: $bound:path $(, $G:ident: $gbound:path)* $(,)?>
        |$S:ident| { $($field:ident: $ty:ty),* $(,)? } -> $out:ty $body:block
    ) => {{
        struct Task<$($lt,)* $T $(, $G)*> {
            $($field: $ty,)*
            _elem: ::std::marker::PhantomData<fn() -> $T>,
        }
        impl<$($lt,)* $T: $bound $(, $G: $gbound)*> $crate::simd::SimdTask
            for Task<$($lt,)* $T $(, $G)*>
        {
            type Elem = $T;
            type Output = $out;
            #[inline(always)]
            fn run<$S: $crate::simd::Simd>(self) -> Self::Output
            where
                $T: $crate::simd::Vectorize<$S>,
            {
                let Task { $($field,)* _elem } = self;
                $body
            }
        }
        // `$T` here is the caller's own element type, which the task takes.
        $crate::simd::dispatch(Task {
            $($field,)*
            _elem: ::std::marker::PhantomData::<fn() -> $T>,
        })
    }};
}
pub(crate) use simd_dispatch;

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

/// Runs `task` at the best level this CPU supports.
#[inline]
pub(crate) fn dispatch<K: SimdTask>(task: K) -> K::Output {
    #[cfg(target_arch = "x86_64")]
    match level() {
        // SAFETY: `level` only reports features that `is_x86_feature_detected!` confirmed.
        AVX512 => return unsafe { run_avx512(task) },
        AVX2 => return unsafe { run_avx2(task) },
        _ => {}
    }
    task.run::<Portable>()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn run_avx2<K: SimdTask>(task: K) -> K::Output {
    task.run::<Avx2>()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
unsafe fn run_avx512<K: SimdTask>(task: K) -> K::Output {
    task.run::<Avx512>()
}

/// The instruction-set level the vectorised code runs at on this CPU: `"avx512"`, `"avx2"` or
/// `"portable"` (for benchmarks and bug reports).
pub fn simd_level() -> &'static str {
    match level() {
        AVX512 => "avx512",
        AVX2 => "avx2",
        _ => "portable",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Transposes a square block of `T` at level `S` through [`Vectorize::transpose`], and the
    /// same rows back through [`Vectorize::transposed_differences`] (differences against
    /// zeros one row on): both must give the block's transpose.
    struct Transposes<T>(std::marker::PhantomData<T>);

    impl<T: Scalar> SimdTask for Transposes<T> {
        type Elem = T;
        type Output = (Vec<T>, Vec<T>, Vec<T>);
        #[inline(always)]
        fn run<S: Simd>(self) -> Self::Output
        where
            T: Vectorize<S>,
        {
            let n = <T as Vectorize<S>>::LANES;
            let block: Vec<T> = (0..n * n).map(|i| T::from_f64(i as f64 + 1.0)).collect();
            let expected: Vec<T> = (0..n * n).map(|i| block[(i % n) * n + i / n]).collect();
            // `transposed_differences` reads `row[at + i + ahead] - row[at + i]`: with
            // `ahead = n` and every row followed by `n` zeros, the negated transpose.
            let mut out = vec![T::ZERO; n * n];
            let mut padded = vec![T::ZERO; 2 * n * n];
            for (r, row) in block.chunks_exact(n).enumerate() {
                padded[2 * n * r..2 * n * r + n].copy_from_slice(row);
            }
            let src: Vec<*const T> = block.chunks_exact(n).map(|row| row.as_ptr()).collect();
            let dst: Vec<*mut T> = out
                .chunks_exact_mut(n)
                .map(|row| row.as_mut_ptr())
                .collect();
            let rows: Vec<*const T> = padded.chunks_exact(2 * n).map(|row| row.as_ptr()).collect();
            let mut differences = vec![T::ZERO; n * n];
            // SAFETY: `n` rows of `n` elements each (of `2n` for the padded ones).
            unsafe {
                <T as Vectorize<S>>::transpose(&src, &dst, 0);
                <T as Vectorize<S>>::transposed_differences(
                    &rows,
                    0,
                    n,
                    differences.as_mut_ptr(),
                    n,
                );
            }
            let negated = differences.into_iter().map(|x| T::ZERO - x).collect();
            (out, negated, expected)
        }
    }

    fn check<T: Scalar>() {
        let task = || Transposes::<T>(std::marker::PhantomData);
        let mut results = vec![("portable", task().run::<Portable>())];
        #[cfg(target_arch = "x86_64")]
        if detect() >= AVX2 {
            // SAFETY: the CPU has AVX2 and FMA.
            results.push(("avx2", unsafe { run_avx2(task()) }));
        }
        #[cfg(target_arch = "x86_64")]
        if detect() == AVX512 {
            // SAFETY: the CPU has AVX-512 F and VL.
            results.push(("avx512", unsafe { run_avx512(task()) }));
        }
        for (level, (transposed, differences, expected)) in results {
            assert_eq!(transposed, expected, "transpose at {level}");
            assert_eq!(differences, expected, "transposed_differences at {level}");
        }
    }

    #[test]
    fn transposes_move_every_lane_to_its_row() {
        check::<f64>();
        check::<f32>();
    }
}
