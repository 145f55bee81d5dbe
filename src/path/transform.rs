//! Time augmentation and the lead-lag transform, applied to increments on the fly.
//!
//! Signatures only ever need the increments of the transformed path, and both transforms have
//! increments that are cheap to generate from the original points, so the transformed path is
//! never materialised (except by [`transform_path`](crate::transform_path), which exists to
//! return it).

use super::paths::PathRef;
use crate::scalar::Scalar;

/// Which transforms to apply to a path before taking its signature (pysiglib's `time_aug`,
/// `lead_lag` and `end_time`).
///
/// - Lead-lag maps the points `x_0 … x_{L-1}` to the `2L - 1` points
///   `(x_0, x_0), (x_0, x_1), (x_1, x_1), (x_1, x_2), …` — lag channels first, then lead.
/// - Time augmentation then appends time as the last channel, `t_i = i · end_time / (L' - 1)`
///   over the `L'` points of the (lead-lagged) path.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PathTransform {
    /// Append a time channel spanning `[0, end_time]`.
    pub time_aug: bool,
    /// Apply the lead-lag transform.
    pub lead_lag: bool,
    /// The time at the last point when `time_aug` is set.
    pub end_time: f64,
}

impl Default for PathTransform {
    fn default() -> Self {
        PathTransform {
            time_aug: false,
            lead_lag: false,
            end_time: 1.0,
        }
    }
}

impl PathTransform {
    /// Number of channels of the transformed path, given `dim` channels in the original.
    pub fn dim(&self, dim: usize) -> usize {
        (if self.lead_lag { 2 * dim } else { dim }) + usize::from(self.time_aug)
    }

    /// Number of points of the transformed path, given `len` points in the original.
    pub fn len(&self, len: usize) -> usize {
        if self.lead_lag && len > 0 {
            2 * len - 1
        } else {
            len
        }
    }

    /// Number of increments of the transformed path.
    pub fn increments(&self, len: usize) -> usize {
        self.len(len).saturating_sub(1)
    }

    /// The time step between consecutive points of a transformed path of `len` points.
    #[inline(always)]
    fn time_step<T: Scalar>(&self, len: usize) -> T {
        T::from_f64(self.end_time / self.increments(len).max(1) as f64)
    }

    /// Writes increment `step` of the transformed path into `z` (of length `self.dim(path.dim())`).
    ///
    /// # Panics
    /// If `step` is not below `self.increments(path.len())`.
    #[inline(always)]
    pub(crate) fn increment<T: Scalar>(&self, path: &PathRef<'_, T>, step: usize, z: &mut [T]) {
        assert!(
            step < self.increments(path.len()),
            "increment {step} of a path of {} points",
            path.len()
        );
        let z = &mut z[..self.dim(path.dim())];
        // SAFETY: `step` checked above.
        unsafe { self.increment_unchecked(path, step, |c, v| z[c] = v) };
    }

    /// Calls `put(c, z_c)` for every channel `c` of increment `step` of the transformed path.
    ///
    /// # Safety
    /// `step < self.increments(path.len())`.
    #[inline(always)]
    pub(crate) unsafe fn increment_unchecked<T: Scalar>(
        &self,
        path: &PathRef<'_, T>,
        step: usize,
        mut put: impl FnMut(usize, T),
    ) {
        let d = path.dim();
        let t = if self.lead_lag { step >> 1 } else { step };
        // Lead-lag: even steps move the lead channels (the second half), odd steps the lag ones.
        let moving = if self.lead_lag && step.is_multiple_of(2) {
            d
        } else {
            0
        };
        // SAFETY: `t + 1 < path.len()` by the caller's contract.
        unsafe { path.for_each_difference(t, |i, v| put(moving + i, v)) };
        if self.lead_lag {
            let still = d - moving;
            for i in 0..d {
                put(still + i, T::ZERO);
            }
        }
        if self.time_aug {
            put(self.dim(d) - 1, self.time_step(path.len()));
        }
    }

    /// Adds the gradient `d_z` of increment `step` to the gradient `d_path` of the original path
    /// (row-major, `len × dim`). The time channel does not depend on the path and is dropped.
    #[inline(always)]
    pub(crate) fn scatter_increment_grad<T: Scalar>(
        &self,
        d_z: &[T],
        step: usize,
        d_path: &mut [T],
    ) {
        let d = if self.lead_lag {
            (d_z.len() - usize::from(self.time_aug)) / 2
        } else {
            d_z.len() - usize::from(self.time_aug)
        };
        let (t, moved) = if self.lead_lag {
            let channels = if step.is_multiple_of(2) {
                &d_z[d..2 * d]
            } else {
                &d_z[..d]
            };
            (step / 2, channels)
        } else {
            (step, &d_z[..d])
        };
        let (before, after) = d_path[t * d..(t + 2) * d].split_at_mut(d);
        for ((b, a), &g) in before.iter_mut().zip(after.iter_mut()).zip(moved) {
            *b -= g;
            *a += g;
        }
    }

    /// Writes the transformed path (`self.len(len) × self.dim(dim)`, row-major) into `out`.
    pub(crate) fn materialise<T: Scalar>(&self, path: &PathRef<'_, T>, out: &mut [T]) {
        let (len, d) = (path.len(), path.dim());
        let width = self.dim(d);
        let dt = self.time_step::<T>(len);
        for (p, row) in out.chunks_exact_mut(width).enumerate() {
            let (lag, lead) = if self.lead_lag {
                (p / 2, p.div_ceil(2))
            } else {
                (p, p)
            };
            for i in 0..d {
                row[i] = path.at(lag, i);
                if self.lead_lag {
                    row[d + i] = path.at(lead, i);
                }
            }
            if self.time_aug {
                row[width - 1] = T::from_f64(p as f64) * dt;
            }
        }
    }

    /// The adjoint of [`Self::materialise`]: folds the gradient of the transformed path
    /// (`self.len(len) × self.dim(dim)`) into the gradient of the original (`len × dim`).
    pub(crate) fn materialise_backward<T: Scalar>(&self, grad: &[T], dim: usize, out: &mut [T]) {
        let width = self.dim(dim);
        out.fill(T::ZERO);
        for (p, row) in grad.chunks_exact(width).enumerate() {
            let (lag, lead) = if self.lead_lag {
                (p / 2, p.div_ceil(2))
            } else {
                (p, p)
            };
            for i in 0..dim {
                out[lag * dim + i] += row[i];
                if self.lead_lag {
                    out[lead * dim + i] += row[dim + i];
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::paths::Paths;
    use super::*;

    #[test]
    fn lead_lag_with_time_matches_the_definition() {
        let data = [0.0, 1.0, 2.0, 3.0];
        let paths = Paths::new(&data, 1, 2, 2).unwrap();
        let t = PathTransform {
            time_aug: true,
            lead_lag: true,
            end_time: 1.0,
        };
        let mut out = vec![0.0; 3 * 5];
        t.materialise(&paths.path(0), &mut out);
        assert_eq!(
            out,
            [0., 1., 0., 1., 0., 0., 1., 2., 3., 0.5, 2., 3., 2., 3., 1.]
        );
        // Its increments are the differences of consecutive rows.
        for step in 0..2 {
            let mut z = [0.0; 5];
            t.increment(&paths.path(0), step, &mut z);
            let expected: Vec<f64> = (0..5)
                .map(|i| out[(step + 1) * 5 + i] - out[step * 5 + i])
                .collect();
            assert_eq!(z.to_vec(), expected);
        }
    }

    #[test]
    fn scatter_is_the_adjoint_of_increment() {
        let data = [0.5, -1.0, 2.0, 0.25, 3.0, 1.5];
        let paths = Paths::new(&data, 1, 3, 2).unwrap();
        for (time_aug, lead_lag) in [(false, false), (true, false), (false, true), (true, true)] {
            let t = PathTransform {
                time_aug,
                lead_lag,
                end_time: 2.0,
            };
            let width = t.dim(2);
            for step in 0..t.increments(3) {
                // <w, increment(x)> is linear in x: its gradient is the scattered w.
                let w: Vec<f64> = (0..width).map(|i| i as f64 + 1.0).collect();
                let mut grad = vec![0.0; 6];
                t.scatter_increment_grad(&w, step, &mut grad);
                let mut z = vec![0.0; width];
                t.increment(&paths.path(0), step, &mut z);
                let lhs: f64 = z[..width - usize::from(time_aug)]
                    .iter()
                    .zip(&w)
                    .map(|(a, b)| a * b)
                    .sum();
                let rhs: f64 = grad.iter().zip(&data).map(|(a, b)| a * b).sum();
                assert!((lhs - rhs).abs() < 1e-14, "{time_aug} {lead_lag} {step}");
            }
        }
    }
}
