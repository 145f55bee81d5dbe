//! Static kernels `κ: R^d × R^d → R`, the base the signature kernel lifts to paths, with
//! pysiglib's parameterisations.
//!
//! The solvers never form the `(L1-1) × (L2-1)` increments of a pair up front: they evaluate
//! `κ` row by row as they sweep the grid. Kernels of the distance (RBF, Matérn, rational
//! quadratic) are evaluated from the differences `x - y`, never from
//! `‖x‖² - 2⟨x, y⟩ + ‖y‖²`, which cancels catastrophically for points far from the origin (in
//! `f32`, prices of a few thousand lose every digit).

use super::math::Real;
use crate::error::{Error, Result};

/// A static kernel, with pysiglib 4.0's definitions (`r = ‖x - y‖`):
///
/// | kernel | `κ(x, y)` |
/// |---|---|
/// | `Linear` | `⟨x, y⟩` |
/// | `ScaledLinear { scale }` | `scale² ⟨x, y⟩` |
/// | `Rbf { sigma }` | `exp(-r² / σ)` (σ not squared, no factor 2) |
/// | `Matern12 { sigma }` | `exp(-r / σ)` |
/// | `Matern32 { sigma }` | `(1 + √3 r/σ) exp(-√3 r/σ)` |
/// | `Matern52 { sigma }` | `(1 + √5 r/σ + 5r²/(3σ²)) exp(-√5 r/σ)` |
/// | `Polynomial { degree, gamma, scale }` | `scale (⟨x, y⟩ + γ)^degree` |
/// | `RationalQuadratic { sigma, alpha }` | `(1 + r² / (2ασ²))^(-α)` |
///
/// A `Polynomial` kernel of non-integer degree clamps a negative base `⟨x, y⟩ + γ` to 0
/// (fractional powers of negative numbers are not real); integer degrees are exact powers.
/// Matérn-1/2 is not differentiable where `x = y`: its gradient there is taken to be 0 (a
/// subgradient: the kernel is symmetric about the point, so 0 lies in its subdifferential).
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum StaticKernel {
    /// `⟨x, y⟩`.
    Linear,
    /// `scale² ⟨x, y⟩`.
    ScaledLinear {
        /// The scale (≥ 0).
        scale: f64,
    },
    /// `exp(-‖x - y‖² / σ)`.
    Rbf {
        /// σ > 0.
        sigma: f64,
    },
    /// `exp(-‖x - y‖ / σ)`.
    Matern12 {
        /// σ > 0.
        sigma: f64,
    },
    /// `(1 + √3 r/σ) exp(-√3 r/σ)`.
    Matern32 {
        /// σ > 0.
        sigma: f64,
    },
    /// `(1 + √5 r/σ + 5r²/(3σ²)) exp(-√5 r/σ)`.
    Matern52 {
        /// σ > 0.
        sigma: f64,
    },
    /// `scale (⟨x, y⟩ + γ)^degree`.
    Polynomial {
        /// The degree (≥ 0).
        degree: f64,
        /// γ.
        gamma: f64,
        /// The scale (≥ 0).
        scale: f64,
    },
    /// `(1 + ‖x - y‖² / (2ασ²))^(-α)`.
    RationalQuadratic {
        /// σ > 0.
        sigma: f64,
        /// α > 0.
        alpha: f64,
    },
}

/// How a kernel's increments are computed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Form {
    /// `G[i, j] = c ⟨Δx_i, Δy_j⟩`: the linear kernels, straight from the increments.
    Increments(f64),
    /// A function of the squared distance `‖x - y‖²`.
    Distance,
    /// A function of the inner product `⟨x, y⟩`.
    Inner,
}

impl StaticKernel {
    /// Checks the parameters (pysiglib's constraints), naming the one out of range.
    pub fn validate(&self) -> Result<()> {
        let positive = |name: &'static str, v: f64| {
            if v > 0.0 && v.is_finite() {
                Ok(())
            } else {
                Err(Error::invalid(
                    name,
                    format!("must be > 0 and finite, got {v}"),
                ))
            }
        };
        let non_negative = |name: &'static str, v: f64| {
            if v >= 0.0 && v.is_finite() {
                Ok(())
            } else {
                Err(Error::invalid(
                    name,
                    format!("must be >= 0 and finite, got {v}"),
                ))
            }
        };
        match *self {
            StaticKernel::Linear => Ok(()),
            StaticKernel::ScaledLinear { scale } => non_negative("scale", scale),
            StaticKernel::Rbf { sigma }
            | StaticKernel::Matern12 { sigma }
            | StaticKernel::Matern32 { sigma }
            | StaticKernel::Matern52 { sigma } => positive("sigma", sigma),
            StaticKernel::Polynomial {
                degree,
                gamma,
                scale,
            } => {
                non_negative("degree", degree)?;
                non_negative("scale", scale)?;
                if gamma.is_finite() {
                    Ok(())
                } else {
                    Err(Error::invalid(
                        "gamma",
                        format!("must be finite, got {gamma}"),
                    ))
                }
            }
            StaticKernel::RationalQuadratic { sigma, alpha } => {
                positive("sigma", sigma)?;
                positive("alpha", alpha)
            }
        }
    }

    /// How the increments are computed.
    pub(crate) fn form(&self) -> Form {
        match *self {
            StaticKernel::Linear => Form::Increments(1.0),
            StaticKernel::ScaledLinear { scale } => Form::Increments(scale * scale),
            StaticKernel::Polynomial { .. } => Form::Inner,
            _ => Form::Distance,
        }
    }

    /// Replaces squared distances `s` by `κ` (a distance kernel).
    #[inline(always)]
    pub(crate) fn values_of_distances<T: Real>(&self, s: &mut [T]) {
        let c = |v: f64| T::from_f64(v);
        match *self {
            StaticKernel::Rbf { sigma } => {
                let k = c(-1.0 / sigma);
                s.iter_mut().for_each(|v| *v = (*v * k).exp());
            }
            StaticKernel::Matern12 { sigma } => {
                let k = c(-1.0 / sigma);
                s.iter_mut().for_each(|v| *v = (v.sqrt() * k).exp());
            }
            StaticKernel::Matern32 { sigma } => {
                let k = c(3f64.sqrt() / sigma);
                s.iter_mut().for_each(|v| {
                    let u = v.sqrt() * k;
                    *v = (T::ONE + u) * (-u).exp();
                });
            }
            StaticKernel::Matern52 { sigma } => {
                let (k, third) = (c(5f64.sqrt() / sigma), c(1.0 / 3.0));
                s.iter_mut().for_each(|v| {
                    let u = v.sqrt() * k;
                    *v = (T::ONE + u + u * u * third) * (-u).exp();
                });
            }
            StaticKernel::RationalQuadratic { sigma, alpha } => {
                let k = c(1.0 / (2.0 * alpha * sigma * sigma));
                let power = IntegerPower::of(-alpha);
                s.iter_mut()
                    .for_each(|v| *v = power.apply(T::ONE + *v * k, c(-alpha)));
            }
            _ => unreachable!("not a distance kernel"),
        }
    }

    /// Replaces squared distances `s` by the weights `w` with `∂κ/∂x = -w (x - y)` and
    /// `∂κ/∂y = w (x - y)` (a distance kernel).
    #[inline(always)]
    pub(crate) fn weights_of_distances<T: Real>(&self, s: &mut [T]) {
        let c = |v: f64| T::from_f64(v);
        match *self {
            StaticKernel::Rbf { sigma } => {
                let (k, w) = (c(-1.0 / sigma), c(2.0 / sigma));
                s.iter_mut().for_each(|v| *v = w * (*v * k).exp());
            }
            StaticKernel::Matern12 { sigma } => {
                // w = κ / (σ r): 0 at r = 0, where the kernel has a kink (see the type's docs).
                let (k, inv) = (c(-1.0 / sigma), c(1.0 / sigma));
                s.iter_mut().for_each(|v| {
                    let r = v.sqrt();
                    let w = (r * k).exp() * inv / r;
                    *v = if r > T::ZERO { w } else { T::ZERO };
                });
            }
            StaticKernel::Matern32 { sigma } => {
                let (k, w) = (c(3f64.sqrt() / sigma), c(3.0 / (sigma * sigma)));
                s.iter_mut().for_each(|v| *v = w * (-(v.sqrt() * k)).exp());
            }
            StaticKernel::Matern52 { sigma } => {
                let (k, w) = (c(5f64.sqrt() / sigma), c(5.0 / (3.0 * sigma * sigma)));
                s.iter_mut().for_each(|v| {
                    let u = v.sqrt() * k;
                    *v = w * (T::ONE + u) * (-u).exp();
                });
            }
            StaticKernel::RationalQuadratic { sigma, alpha } => {
                let (k, w) = (
                    c(1.0 / (2.0 * alpha * sigma * sigma)),
                    c(1.0 / (sigma * sigma)),
                );
                let power = IntegerPower::of(-alpha - 1.0);
                s.iter_mut()
                    .for_each(|v| *v = w * power.apply(T::ONE + *v * k, c(-alpha - 1.0)));
            }
            _ => unreachable!("not a distance kernel"),
        }
    }

    /// Replaces inner products `t` by `κ` (an inner-product kernel); returns whether a negative
    /// base was clamped to 0 (a fractional degree).
    #[inline(always)]
    pub(crate) fn values_of_inner_products<T: Real>(&self, t: &mut [T]) -> bool {
        let StaticKernel::Polynomial {
            degree,
            gamma,
            scale,
        } = *self
        else {
            unreachable!("not an inner-product kernel")
        };
        let (gamma, scale) = (T::from_f64(gamma), T::from_f64(scale));
        match IntegerPower::of(degree) {
            IntegerPower::Exact(n) => {
                t.iter_mut().for_each(|v| *v = scale * powi(*v + gamma, n));
                false
            }
            IntegerPower::Fractional => {
                let degree = T::from_f64(degree);
                let mut clamped = false;
                for v in t.iter_mut() {
                    let base = *v + gamma;
                    clamped |= base < T::ZERO;
                    *v = scale * base.max(T::ZERO).powf(degree);
                }
                clamped
            }
        }
    }

    /// Replaces inner products `t` by `κ'` (so that `∂κ/∂x = κ' y`, `∂κ/∂y = κ' x`); 0 where a
    /// fractional degree clamped the base.
    #[inline(always)]
    pub(crate) fn slopes_of_inner_products<T: Real>(&self, t: &mut [T]) {
        let StaticKernel::Polynomial {
            degree,
            gamma,
            scale,
        } = *self
        else {
            unreachable!("not an inner-product kernel")
        };
        let (gamma, factor) = (T::from_f64(gamma), T::from_f64(scale * degree));
        match IntegerPower::of(degree) {
            IntegerPower::Exact(0) => t.fill(T::ZERO),
            IntegerPower::Exact(n) => {
                t.iter_mut()
                    .for_each(|v| *v = factor * powi(*v + gamma, n - 1));
            }
            IntegerPower::Fractional => {
                let power = T::from_f64(degree - 1.0);
                for v in t.iter_mut() {
                    let base = *v + gamma;
                    *v = if base > T::ZERO {
                        factor * base.powf(power)
                    } else {
                        T::ZERO
                    };
                }
            }
        }
    }
}

/// An exponent, by whether it is a (modest) integer: those are exact repeated products.
#[derive(Clone, Copy, Debug, PartialEq)]
enum IntegerPower {
    Exact(i32),
    Fractional,
}

impl IntegerPower {
    fn of(e: f64) -> Self {
        if e == e.trunc() && e.abs() <= 64.0 {
            IntegerPower::Exact(e as i32)
        } else {
            IntegerPower::Fractional
        }
    }

    /// `base^e` (`e` as a real when fractional).
    #[inline(always)]
    fn apply<T: Real>(self, base: T, e: T) -> T {
        match self {
            IntegerPower::Exact(n) => powi(base, n),
            IntegerPower::Fractional => base.powf(e),
        }
    }
}

/// `base^n` by repeated squaring (`1/base^|n|` for negative `n`; `base^0 = 1`, also at 0).
#[inline(always)]
fn powi<T: Real>(base: T, n: i32) -> T {
    let (mut acc, mut b, mut e) = (T::ONE, base, n.unsigned_abs());
    while e > 0 {
        if e & 1 == 1 {
            acc *= b;
        }
        b *= b;
        e >>= 1;
    }
    if n < 0 { T::ONE / acc } else { acc }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(kernel: StaticKernel, x: &[f64], y: &[f64]) -> f64 {
        match kernel.form() {
            Form::Increments(c) => c * x.iter().zip(y).map(|(a, b)| a * b).sum::<f64>(),
            Form::Distance => {
                let mut s = [x.iter().zip(y).map(|(a, b)| (a - b) * (a - b)).sum::<f64>()];
                kernel.values_of_distances(&mut s);
                s[0]
            }
            Form::Inner => {
                let mut t = [x.iter().zip(y).map(|(a, b)| a * b).sum::<f64>()];
                kernel.values_of_inner_products(&mut t);
                t[0]
            }
        }
    }

    #[test]
    fn values_follow_pysiglib_definitions() {
        let (x, y) = ([0.3, -1.2], [1.1, 0.4]);
        let r2: f64 = 0.8 * 0.8 + 1.6 * 1.6;
        let r = r2.sqrt();
        let cases = [
            (StaticKernel::Rbf { sigma: 0.7 }, (-r2 / 0.7).exp()),
            (StaticKernel::Matern12 { sigma: 0.7 }, (-r / 0.7).exp()),
            (
                StaticKernel::Matern32 { sigma: 0.7 },
                (1.0 + 3f64.sqrt() * r / 0.7) * (-(3f64.sqrt()) * r / 0.7).exp(),
            ),
            (
                StaticKernel::Matern52 { sigma: 0.7 },
                (1.0 + 5f64.sqrt() * r / 0.7 + 5.0 * r2 / (3.0 * 0.49))
                    * (-(5f64.sqrt()) * r / 0.7).exp(),
            ),
            (
                StaticKernel::RationalQuadratic {
                    sigma: 0.7,
                    alpha: 1.5,
                },
                (1.0 + r2 / (2.0 * 1.5 * 0.49)).powf(-1.5),
            ),
            (
                StaticKernel::Polynomial {
                    degree: 3.0,
                    gamma: 1.0,
                    scale: 2.0,
                },
                2.0 * (0.33f64 - 0.48 + 1.0).powi(3),
            ),
            (
                StaticKernel::ScaledLinear { scale: 2.0 },
                4.0 * (0.33 - 0.48),
            ),
        ];
        for (kernel, expected) in cases {
            let got = value(kernel, &x, &y);
            assert!(
                (got - expected).abs() < 1e-14,
                "{kernel:?}: {got} vs {expected}"
            );
        }
    }

    #[test]
    fn fractional_degrees_clamp_negative_bases_and_say_so() {
        let kernel = StaticKernel::Polynomial {
            degree: 2.5,
            gamma: -1.0,
            scale: 1.0,
        };
        let mut t = [0.5, 3.0];
        assert!(kernel.values_of_inner_products(&mut t));
        assert_eq!(t[0], 0.0);
        assert!((t[1] - 2f64.powf(2.5)).abs() < 1e-14);
        // An integer degree takes negative bases as they are.
        let cubic = StaticKernel::Polynomial {
            degree: 3.0,
            gamma: -1.0,
            scale: 1.0,
        };
        let mut t = [0.5];
        assert!(!cubic.values_of_inner_products(&mut t));
        assert_eq!(t[0], -0.125);
    }

    #[test]
    fn matern12_weight_is_zero_at_coincident_points() {
        let kernel = StaticKernel::Matern12 { sigma: 1.0 };
        let mut s = [0.0, 0.25];
        kernel.weights_of_distances(&mut s);
        assert_eq!(s[0], 0.0);
        assert!((s[1] - (-0.5f64).exp() / 0.5).abs() < 1e-15);
    }

    #[test]
    fn parameters_are_validated() {
        assert!(StaticKernel::Rbf { sigma: 0.0 }.validate().is_err());
        assert!(
            StaticKernel::ScaledLinear { scale: -1.0 }
                .validate()
                .is_err()
        );
        assert!(
            StaticKernel::RationalQuadratic {
                sigma: 1.0,
                alpha: 0.0
            }
            .validate()
            .is_err()
        );
        assert!(StaticKernel::Matern52 { sigma: 2.0 }.validate().is_ok());
    }
}
