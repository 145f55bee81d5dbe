//! The elementary functions the static kernels need, written so that a loop over a row of
//! values vectorises: no branches, no library calls (a libm `exp` per value would cost more
//! than the whole PDE cell update it feeds).

use crate::scalar::Scalar;

/// A [`Scalar`] with the functions the signature kernels evaluate (implemented for `f32` and
/// `f64`; sealed, like [`Scalar`]).
pub trait Real: Scalar {
    /// `e^self`, to about one ulp; 0 below the smallest normal result, `inf` above the largest.
    fn exp(self) -> Self;
    /// The square root.
    fn sqrt(self) -> Self;
    /// `self^e` for a real exponent (a library call: only for kernels with fractional powers).
    fn powf(self, e: Self) -> Self;
    /// The larger of the two (`self` when `other` is NaN).
    fn max(self, other: Self) -> Self;
}

impl Real for f64 {
    #[inline(always)]
    fn exp(self) -> f64 {
        // e^x = 2^n e^r with n = round(x / ln 2) and |r| <= ln(2) / 2; e^r by its Taylor series
        // to degree 13 (truncation below 0.05 ulp); 2^n applied in two halves so that
        // subnormal results and overflow come out right.
        const SHIFT: f64 = 6755399441055744.0; // 1.5 * 2^52: adding it rounds to an integer
        const LN2_HI: f64 = 0.693_147_180_369_123_8; // n * LN2_HI is exact
        const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
        let x = self.clamp(-746.0, 710.0);
        let t = x * std::f64::consts::LOG2_E + SHIFT;
        let n = t.to_bits().wrapping_sub(SHIFT.to_bits()) as i64;
        let k = t - SHIFT;
        let r = (x - k * LN2_HI) - k * LN2_LO;
        let mut p = 1.0 / 6_227_020_800.0; // 1/13!
        for m in (1..13u32).rev() {
            p = p * r + INV_FACTORIALS[m as usize];
        }
        let p = p * r + 1.0;
        let half = n >> 1;
        let scale = |e: i64| f64::from_bits((e.wrapping_add(1023) as u64) << 52);
        p * scale(half) * scale(n - half)
    }
    #[inline(always)]
    fn sqrt(self) -> f64 {
        f64::sqrt(self)
    }
    #[inline(always)]
    fn powf(self, e: f64) -> f64 {
        f64::powf(self, e)
    }
    #[inline(always)]
    fn max(self, other: f64) -> f64 {
        if other > self { other } else { self }
    }
}

/// `1/m!` for `m < 13`.
const INV_FACTORIALS: [f64; 13] = {
    let mut out = [1.0; 13];
    let mut m = 1;
    while m < 13 {
        out[m] = out[m - 1] / m as f64;
        m += 1;
    }
    out
};

impl Real for f32 {
    #[inline(always)]
    fn exp(self) -> f32 {
        // As for f64, with the Taylor series to degree 7.
        const SHIFT: f32 = 12_582_912.0; // 1.5 * 2^23
        const LN2_HI: f32 = 0.693_359_4; // 355 / 512, exactly
        const LN2_LO: f32 = -2.121_944_4e-4;
        let x = self.clamp(-104.0, 89.0);
        let t = x * std::f32::consts::LOG2_E + SHIFT;
        let n = t.to_bits().wrapping_sub(SHIFT.to_bits()) as i32;
        let k = t - SHIFT;
        let r = (x - k * LN2_HI) - k * LN2_LO;
        let mut p = 1.0 / 5040.0; // 1/7!
        for m in (1..7u32).rev() {
            p = p * r + INV_FACTORIALS[m as usize] as f32;
        }
        let p = p * r + 1.0;
        let half = n >> 1;
        let scale = |e: i32| f32::from_bits((e.wrapping_add(127) as u32) << 23);
        p * scale(half) * scale(n - half)
    }
    #[inline(always)]
    fn sqrt(self) -> f32 {
        f32::sqrt(self)
    }
    #[inline(always)]
    fn powf(self, e: f32) -> f32 {
        f32::powf(self, e)
    }
    #[inline(always)]
    fn max(self, other: f32) -> f32 {
        if other > self { other } else { self }
    }
}

#[cfg(test)]
mod tests {
    use super::Real;

    fn ulps64(a: f64, b: f64) -> u64 {
        (a.to_bits() as i64).abs_diff(b.to_bits() as i64)
    }

    #[test]
    fn exp_f64_is_within_two_ulps_of_libm() {
        let mut x = -745.0;
        while x < 709.7 {
            let (ours, libm) = (Real::exp(x), f64::exp(x));
            if libm > 2.3e-308 {
                assert!(ulps64(ours, libm) <= 2, "exp({x}) = {ours}, libm {libm}");
            } else {
                assert!(ours <= 2.3e-308, "exp({x}) = {ours}");
            }
            x += 0.0137;
        }
        assert_eq!(Real::exp(0.0f64), 1.0);
        assert_eq!(Real::exp(-1e6f64), 0.0);
        assert_eq!(Real::exp(1e6f64), f64::INFINITY);
        assert!(Real::exp(f64::NAN).is_nan());
    }

    #[test]
    fn exp_f32_is_within_two_ulps_of_libm() {
        let mut x = -87.0f32;
        while x < 88.7 {
            let (ours, libm) = (Real::exp(x), f32::exp(x));
            let ulps = (ours.to_bits() as i32).abs_diff(libm.to_bits() as i32);
            assert!(ulps <= 2, "exp({x}) = {ours}, libm {libm}");
            x += 0.00731;
        }
        assert_eq!(Real::exp(-200.0f32), 0.0);
        assert_eq!(Real::exp(200.0f32), f32::INFINITY);
        assert!(Real::exp(f32::NAN).is_nan());
    }
}
