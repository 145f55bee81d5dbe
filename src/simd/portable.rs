//! Vectors for any CPU: arrays of four that LLVM maps to whatever the target has (SSE2, NEON).

use super::{Portable, Vectorize};

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
            #[inline(always)]
            unsafe fn transpose(src: &[*const $t], dst: &[*mut $t], at: usize) {
                // SAFETY: the caller guarantees the four sources' and destinations' extents.
                unsafe {
                    for (k, &from) in src.iter().enumerate().take(4) {
                        for (i, &to) in dst.iter().enumerate().take(4) {
                            *to.add(at + k) = *from.add(i);
                        }
                    }
                }
            }
        }
    )*};
}

portable_vectors!(f32, f64);
