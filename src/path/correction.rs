//! Corrected increments: segment `t` of a path enters its signature as
//! `exp(Δx_t + c_t^(2) + … + c_t^(m))` instead of `exp(Δx_t)`, the `c_t^(k)` being given
//! higher-level terms (pysiglib's `correction`; `c^(2) = -½ Σ Δt` gives the Itô signature of a
//! sampled Brownian path with covariance `Σ`).
//!
//! The fused multiply-exponentiate only knows exponentials of vectors. A corrected step folds
//! `exp(y)`, `y` a tensor with levels `1..=m`, into the running signature by Horner's scheme on
//! whole tensors: on the word-reversed state `R` (see [`super::forward`]),
//!
//! ```text
//! exp(y') ⊗ R = R + y' ⊗ (R + y'/2 ⊗ (R + … + y'/N ⊗ R))      y' = rev(y)
//! ```
//!
//! evaluated from the inside out, `U_(N+1) = R`, `U_j = R + y'/j ⊗ U_(j+1)`, the result being
//! `U_1`. Each `y' ⊗` raises the level by at least one, so `U_j` is needed through level
//! `N - j + 1` only, and multiplying by `y'` costs `m` outer products per level: a step costs
//! about `m` times a plain one, without materialising `exp(y')` or a Chen product. Going
//! backwards the step is undone by the same scheme with `-y'` (`exp(-y') ⊗ exp(y') = 1`), the
//! chain `U_N … U_2` is recomputed and the gradient pushed through it; the correction is a
//! constant, only `Δx` gets a gradient.

use super::paths::Paths;
use super::transform::PathTransform;
use crate::algebra::rank_one::{add_assign, outer_adjoint, tensor_acc};
use crate::algebra::{Layout, Levels};
use crate::buffer::AlignedBuf;
use crate::error::{Error, Result, try_zeroed};
use crate::scalar::Scalar;
use crate::simd::{Simd, Vectorize};

/// Which correction row each segment of each path reads (pysiglib's three shapes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CorrectionRows {
    /// One row for every segment of every path: shape `(C,)`.
    Shared,
    /// One row per segment, shared by the batch: shape `(L - 1, C)`.
    PerSegment,
    /// One row per segment of each path: shape `(batch, L - 1, C)`.
    PerPath,
}

/// Higher-level terms added to each segment's increment before it is exponentiated.
///
/// A row holds levels `2..=m` of a tensor over the path's own `d` channels (`2 ≤ m ≤ N`),
/// concatenated in the signature's layout: `C = d² + … + d^m` values, the word `(i1, …, ik)` of
/// level `k` at `d² + … + d^(k-1) + i1·d^(k-1) + … + ik`. Levels above `m` are zero. Segment `t`
/// of a path then contributes `exp(Δx_t + c_t)` to the signature. With time augmentation the
/// rows stay over the original channels (time gets no correction); lead-lag is refused.
///
/// ```
/// use tensorsig::{Correction, CorrectionRows, Paths, SigOptions, SigParams, Threads};
/// // One segment (0,0) → (1,2) with the level-2 term c = (0, 0.5, -0.5, 0): exp(z + c).
/// let path = [0.0, 0.0, 1.0, 2.0];
/// let c = [0.0, 0.5, -0.5, 0.0];
/// let options = SigOptions {
///     correction: Some(Correction::new(&c, 4, CorrectionRows::Shared)),
///     ..SigOptions::default()
/// };
/// let mut out = [0.0; 6];
/// let paths = Paths::new(&path, 1, 2, 2)?;
/// tensorsig::sig_with(&paths, &SigParams::new(2), &options, Threads::SERIAL, &mut out)?;
/// assert_eq!(out, [1.0, 2.0, 0.5, 1.5, 0.5, 2.0]); // level 2 is z⊗z/2 + c
/// # Ok::<(), tensorsig::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Correction<'a, T> {
    data: &'a [T],
    width: usize,
    rows: CorrectionRows,
}

impl<'a, T: Copy> Correction<'a, T> {
    /// Rows of `width` values, row-major in `data`, laid out as `rows` says. A width of 0 means
    /// no correction.
    pub fn new(data: &'a [T], width: usize, rows: CorrectionRows) -> Self {
        Correction { data, width, rows }
    }

    /// Values per row, `C`.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Which row each segment reads.
    pub fn rows(&self) -> CorrectionRows {
        self.rows
    }

    /// Checks the correction against the paths it corrects and returns its highest level `m`,
    /// or `None` when it is empty (no correction).
    pub(crate) fn check(
        &self,
        paths: &Paths<'_, T>,
        degree: usize,
        transform: &PathTransform,
    ) -> Result<Option<usize>> {
        if self.width == 0 && self.data.is_empty() {
            return Ok(None);
        }
        if transform.lead_lag {
            return Err(Error::invalid(
                "correction",
                "cannot be combined with lead_lag (a lead-lag segment has no correction rows)",
            ));
        }
        let level = correction_degree(paths.dim(), degree, self.width)?;
        let segments = paths.len().saturating_sub(1);
        let rows = match self.rows {
            CorrectionRows::Shared => Some(1),
            CorrectionRows::PerSegment => Some(segments),
            CorrectionRows::PerPath => segments.checked_mul(paths.batch()),
        };
        let expected = rows
            .and_then(|r| r.checked_mul(self.width))
            .ok_or_else(|| Error::TooLarge {
                what: "a correction",
                detail: format!("{segments} segments of {} paths", paths.batch()),
            })?;
        if self.data.len() != expected {
            return Err(Error::Shape {
                name: "correction",
                expected,
                got: self.data.len(),
            });
        }
        Ok(Some(level))
    }

    /// The rows of path `b`, whose paths have `segments` segments at most.
    pub(crate) fn of_path(&self, b: usize, segments: usize) -> PathCorrection<'a, T> {
        let (start, stride) = match self.rows {
            CorrectionRows::Shared => (0, 0),
            CorrectionRows::PerSegment => (0, self.width),
            CorrectionRows::PerPath => (b * segments * self.width, self.width),
        };
        PathCorrection {
            data: &self.data[start..],
            width: self.width,
            stride,
        }
    }
}

/// The highest level `m` of correction rows of `width` values over `dim` channels, or an error
/// unless `width = d² + … + d^m` for some `2 ≤ m ≤ degree`.
fn correction_degree(dim: usize, degree: usize, width: usize) -> Result<usize> {
    if degree < 2 {
        return Err(Error::invalid(
            "correction",
            format!("must be empty when degree < 2, got {width} values per row at degree {degree}"),
        ));
    }
    let (mut total, mut level) = (0usize, dim);
    for m in 2..=degree {
        level = level.saturating_mul(dim);
        total = total.saturating_add(level);
        if total == width {
            return Ok(m);
        }
        if total > width {
            break;
        }
    }
    Err(Error::invalid(
        "correction",
        format!(
            "length must be a prefix of tensor levels 2..degree: d² + … + d^m values with \
             2 ≤ m ≤ {degree} for d = {dim}, got {width}"
        ),
    ))
}

/// The correction rows of one path: segment `t` reads `row(t)`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PathCorrection<'a, T> {
    data: &'a [T],
    width: usize,
    stride: usize,
}

impl<'a, T> PathCorrection<'a, T> {
    /// The row of segment `t`.
    #[inline]
    pub(crate) fn row(&self, t: usize) -> &'a [T] {
        &self.data[t * self.stride..t * self.stride + self.width]
    }
}

/// Scratch and tables for corrected steps on word-reversed tensors of one layout.
#[derive(Debug, Clone)]
pub(crate) struct CorrectedStep<T> {
    levels: Levels,
    /// The layout's degree.
    degree: usize,
    /// The correction's highest level `m`.
    top: usize,
    /// Where correction value `i` goes in `lift`: levels `2..=m` of the layout, word-reversed,
    /// the correction's letters being the first of the layout's.
    targets: Vec<usize>,
    /// `y' = z + rev(c)`, levels `1..=m` at the layout's offsets.
    lift: Vec<T>,
    /// `y' / j`.
    scaled: AlignedBuf<T>,
    /// `U_j` for `j = 2..=N`, levels `1..=N-j+1` each, `U_j` from `chain_starts[j]`.
    chain: AlignedBuf<T>,
    chain_starts: Vec<usize>,
    /// Gradients of two consecutive chain tensors, levels `1..=N-1`.
    grad_a: AlignedBuf<T>,
    grad_b: AlignedBuf<T>,
    /// The gradient of `y'_1 / j`, and a sink for the correction's own (unused) gradients.
    grad_lift: Vec<T>,
    discarded: Vec<T>,
}

impl<T: Scalar> CorrectedStep<T> {
    /// Scratch for corrections of levels `2..=top` over the first `correction_dim` letters of
    /// `layout` (fewer than the layout's when time is appended).
    pub(crate) fn new(layout: Layout, correction_dim: usize, top: usize) -> Result<Self> {
        let (d, n) = (layout.dim(), layout.degree());
        assert!(2 <= top && top <= n && correction_dim <= d);
        let what = "a corrected-step workspace";
        let levels = Levels::new(layout);
        let mut targets = Vec::new();
        for k in 2..=top {
            for word in 0..correction_dim.pow(k as u32) {
                // The word's letters, first to last, read off in base `correction_dim`; its
                // reversal read back in base `d`.
                let (mut rest, mut reversed) = (word, 0);
                for _ in 0..k {
                    reversed = reversed * d + rest % correction_dim;
                    rest /= correction_dim;
                }
                targets.push(levels.offset(k) + reversed);
            }
        }
        // U_2 first (the longest), U_N last; `chain_starts[N + 1]` is the end.
        let mut chain_starts = vec![0; n + 2];
        let mut start = 0;
        for (j, at) in chain_starts.iter_mut().enumerate().skip(2) {
            *at = start;
            if j <= n {
                start += levels.offset(n - j + 2);
            }
        }
        let below_top = if n >= 1 { levels.offset(n) } else { 0 };
        Ok(CorrectedStep {
            degree: n,
            top,
            targets,
            lift: try_zeroed(what, levels.offset(top + 1))?,
            scaled: AlignedBuf::zeroed(what, levels.offset(top + 1))?,
            chain: AlignedBuf::zeroed(what, start)?,
            chain_starts,
            grad_a: AlignedBuf::zeroed(what, below_top)?,
            grad_b: AlignedBuf::zeroed(what, below_top)?,
            grad_lift: try_zeroed(what, d)?,
            discarded: try_zeroed(what, levels.len(top.min(n - 1).max(1)))?,
            levels,
        })
    }

    /// Sets `lift` to `sign·(z + rev(c))`.
    fn load(&mut self, z: &[T], correction: &[T], sign: T) {
        self.lift.fill(T::ZERO);
        for (l, &v) in self.lift.iter_mut().zip(z) {
            *l = sign * v;
        }
        for (&at, &v) in self.targets.iter().zip(correction) {
            self.lift[at] = sign * v;
        }
    }

    /// Writes the chain `U_N … U_2` of `exp(y') ⊗ R` truncated at level `n ≤ N` (`U_j` through
    /// level `n - j + 1`), reading levels `1..n` of `state`.
    #[inline(always)]
    fn chain<S: Simd>(&mut self, state: &[T], n: usize)
    where
        T: Vectorize<S>,
    {
        let lv = &self.levels;
        for j in (2..=n).rev() {
            scale(&mut self.scaled, &self.lift, j);
            let through = n - j + 1;
            // U_j, then U_(j+1) from the start of `tail`.
            let (head, tail) = self.chain.split_at_mut(self.chain_starts[j + 1]);
            let here = &mut head[self.chain_starts[j]..];
            here[..lv.offset(through + 1)].copy_from_slice(&state[..lv.offset(through + 1)]);
            for q in 1..=through {
                let out = &mut here[lv.range(q)];
                for l in 1..=self.top.min(q) {
                    let left = &self.scaled[lv.range(l)];
                    if l == q {
                        add_assign(out, left);
                    } else {
                        outer_acc::<S, T>(out, left, &tail[lv.range(q - l)]);
                    }
                }
            }
        }
    }

    /// `state ← exp(y') ⊗ state` through level `n ≤ N`.
    #[inline(always)]
    fn apply<S: Simd>(&mut self, state: &mut [T], n: usize)
    where
        T: Vectorize<S>,
    {
        self.chain::<S>(state, n);
        scale(&mut self.scaled, &self.lift, 1);
        let (lv, u2) = (&self.levels, &self.chain[self.chain_starts[2]..]);
        // U_1 = R + y' ⊗ U_2 in place: level q reads only R_q and U_2.
        for q in 1..=n {
            let out = &mut state[lv.range(q)];
            for l in 1..=self.top.min(q) {
                let left = &self.scaled[lv.range(l)];
                if l == q {
                    add_assign(out, left);
                } else {
                    outer_acc::<S, T>(out, left, &u2[lv.range(q - l)]);
                }
            }
        }
    }

    /// `state ← exp(z + rev(c)) ⊗ state`: one corrected step on a word-reversed signature (levels
    /// `1..=N`), `z` the increment (`dim` values) and `correction` the segment's row.
    #[inline(always)]
    pub(crate) fn step<S: Simd>(&mut self, z: &[T], correction: &[T], state: &mut [T])
    where
        T: Vectorize<S>,
    {
        self.load(z, correction, T::ONE);
        self.apply::<S>(state, self.degree);
    }

    /// The backward pass of [`Self::step`], in place: `state` holds the tensor after the step and
    /// `grad` its gradient on entry; on return `state` holds the tensor before the step (all but
    /// the top level, which nothing reads), `grad` the gradient with respect to it, and `z`'s
    /// gradient has been added to `d_z`.
    #[inline(always)]
    pub(crate) fn step_backward<S: Simd>(
        &mut self,
        z: &[T],
        correction: &[T],
        state: &mut [T],
        grad: &mut [T],
        d_z: &mut [T],
    ) where
        T: Vectorize<S>,
    {
        let n = self.degree;
        if n == 0 {
            return;
        }
        // The levels below the top of the state before the step: exp(-y') ⊗ (exp(y') ⊗ R).
        self.load(z, correction, -T::ONE);
        self.apply::<S>(state, n - 1);
        // The chain U_N … U_2 from R, then the gradient down it: U_j = R + y'/j ⊗ U_(j+1), so
        // dR gets every dU_j, dU_(j+1) the adjoint of the product, and z (level 1 of y') its
        // share of the adjoint with respect to y'.
        self.load(z, correction, T::ONE);
        self.chain::<S>(state, n);
        let lv = &self.levels;
        let (mut current, mut next) = (&mut self.grad_a, &mut self.grad_b);
        for j in 1..=n {
            scale(&mut self.scaled, &self.lift, j);
            let through = n - j + 1;
            let below = lv.offset(through);
            next[..below].fill(T::ZERO);
            self.grad_lift.fill(T::ZERO);
            let source: &[T] = if j == 1 { &*grad } else { &current[..] };
            let u_next = &self.chain[self.chain_starts[(j + 1).min(n + 1)]..];
            for q in 1..=through {
                let g = &source[lv.range(q)];
                for l in 1..=self.top.min(q) {
                    if l == q {
                        // The correction's own levels get no gradient.
                        if l == 1 {
                            add_assign(&mut self.grad_lift, g);
                        }
                        continue;
                    }
                    let d_left = if l == 1 {
                        &mut self.grad_lift[..]
                    } else {
                        &mut self.discarded[..lv.len(l)]
                    };
                    outer_adjoint::<S, T>(
                        g,
                        &self.scaled[lv.range(l)],
                        &u_next[lv.range(q - l)],
                        d_left,
                        &mut next[lv.range(q - l)],
                    );
                }
            }
            let inv = T::from_f64(1.0 / j as f64);
            for (d, &g) in d_z.iter_mut().zip(self.grad_lift.iter()) {
                *d += g * inv;
            }
            add_assign(&mut grad[..below], &next[..below]);
            std::mem::swap(&mut current, &mut next);
        }
    }
}

/// Rows shorter than this take a plain loop in [`outer_acc`].
const SHORT_ROWS: usize = 16;

/// `out[w·m + a] += left[w] · right[a]`, `m = right.len()`: the library's kernel, or for short
/// rows a plain loop (the kernel serves them several rows at a time, with tables it builds per
/// call, which costs more than a corrected step's many small products).
#[inline(always)]
fn outer_acc<S: Simd, T: Scalar + Vectorize<S>>(out: &mut [T], left: &[T], right: &[T]) {
    if right.len() >= SHORT_ROWS {
        return tensor_acc::<S, T>(out, left, right);
    }
    for (row, &l) in out.chunks_exact_mut(right.len()).zip(left) {
        for (o, &r) in row.iter_mut().zip(right) {
            *o += l * r;
        }
    }
}

/// `scaled = lift / j`.
#[inline(always)]
fn scale<T: Scalar>(scaled: &mut [T], lift: &[T], j: usize) {
    let inv = T::from_f64(1.0 / j as f64);
    for (s, &v) in scaled.iter_mut().zip(lift) {
        *s = v * inv;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algebra::{MulExpWorkspace, exp_mul};
    use crate::simd::{SimdTask, dispatch};

    /// The corrected step's forward or backward pass, at the active SIMD level.
    enum Pass<'a> {
        Forward {
            z: &'a [f64],
            c: &'a [f64],
            state: &'a mut [f64],
        },
        Backward {
            z: &'a [f64],
            c: &'a [f64],
            state: &'a mut [f64],
            grad: &'a mut [f64],
            d_z: &'a mut [f64],
        },
    }
    struct Run<'a>(&'a mut CorrectedStep<f64>, Pass<'a>);
    impl SimdTask for Run<'_> {
        type Elem = f64;
        type Output = ();
        #[inline(always)]
        fn run<S: Simd>(self)
        where
            f64: Vectorize<S>,
        {
            match self.1 {
                Pass::Forward { z, c, state } => self.0.step::<S>(z, c, state),
                Pass::Backward {
                    z,
                    c,
                    state,
                    grad,
                    d_z,
                } => self.0.step_backward::<S>(z, c, state, grad, d_z),
            }
        }
    }

    fn values(n: usize, seed: f64) -> Vec<f64> {
        (0..n)
            .map(|i| ((i as f64 + seed) * 0.7).sin() * 0.5)
            .collect()
    }

    #[test]
    fn widths_are_prefixes_of_levels_two_and_up() {
        assert_eq!(correction_degree(3, 4, 9).unwrap(), 2);
        assert_eq!(correction_degree(3, 4, 36).unwrap(), 3);
        assert_eq!(correction_degree(3, 4, 117).unwrap(), 4);
        assert_eq!(correction_degree(1, 3, 2).unwrap(), 3);
        for (d, n, width) in [(3, 4, 10), (3, 2, 36), (3, 1, 9), (2, 3, 3)] {
            assert!(correction_degree(d, n, width).is_err(), "{d} {n} {width}");
        }
    }

    #[test]
    fn a_zero_correction_is_the_plain_step() {
        let layout = Layout::new(3, 4).unwrap();
        let mut step = CorrectedStep::new(layout, 3, 3).unwrap();
        let (z, c) = (values(3, 1.0), vec![0.0; 36]);
        let mut corrected = values(layout.len(), 2.0);
        let mut plain = corrected.clone();
        dispatch(Run(
            &mut step,
            Pass::Forward {
                z: &z,
                c: &c,
                state: &mut corrected,
            },
        ));
        exp_mul(
            layout,
            &z,
            &mut plain,
            &mut MulExpWorkspace::new(layout).unwrap(),
        );
        for (a, b) in corrected.iter().zip(&plain) {
            assert!((a - b).abs() < 1e-14, "{a} vs {b}");
        }
    }

    #[test]
    fn a_level_two_correction_adds_to_level_two_of_a_line() {
        // From the identity, exp(z + c) through level 2 is (z, z⊗z/2 + c); rev(c) is c's transpose.
        let layout = Layout::new(2, 2).unwrap();
        let mut step = CorrectedStep::new(layout, 2, 2).unwrap();
        let (z, c) = ([1.0, 2.0], [0.0, 0.25, -0.5, 0.0]);
        let mut state = vec![0.0; 6];
        dispatch(Run(
            &mut step,
            Pass::Forward {
                z: &z,
                c: &c,
                state: &mut state,
            },
        ));
        assert_eq!(state, [1.0, 2.0, 0.5, 1.0 - 0.5, 1.0 + 0.25, 2.0]);
    }

    #[test]
    fn time_channels_get_no_correction() {
        // Letters 0, 1 corrected, letter 2 (time) not: the word (1, 0) lands at (0, 1) reversed.
        let layout = Layout::new(3, 2).unwrap();
        let step = CorrectedStep::<f64>::new(layout, 2, 2).unwrap();
        assert_eq!(step.targets, [3, 3 + 3, 3 + 1, 3 + 4]);
    }

    #[test]
    fn the_backward_pass_inverts_the_step_and_matches_finite_differences() {
        let layout = Layout::new(2, 4).unwrap();
        let mut step = CorrectedStep::new(layout, 2, 3).unwrap();
        let (z, c) = (values(2, 3.0), values(12, 4.0));
        let before = values(layout.len(), 5.0);
        let weights = values(layout.len(), 6.0);
        let forward = |step: &mut CorrectedStep<f64>, z: &[f64], state: &mut Vec<f64>| {
            dispatch(Run(step, Pass::Forward { z, c: &c, state }));
        };
        let mut after = before.clone();
        forward(&mut step, &z, &mut after);
        let mut state = after.clone();
        let mut grad = weights.clone();
        let mut d_z = vec![0.0; 2];
        dispatch(Run(
            &mut step,
            Pass::Backward {
                z: &z,
                c: &c,
                state: &mut state,
                grad: &mut grad,
                d_z: &mut d_z,
            },
        ));
        let below_top = layout.level_offset(4);
        for (a, b) in state[..below_top].iter().zip(&before) {
            assert!((a - b).abs() < 1e-13, "recovered {a} vs {b}");
        }
        // <weights, exp(y') ⊗ R> as a function of z and of R.
        let loss = |step: &mut CorrectedStep<f64>, z: &[f64], r: &[f64]| {
            let mut s = r.to_vec();
            forward(step, z, &mut s);
            s.iter().zip(&weights).map(|(a, b)| a * b).sum::<f64>()
        };
        let eps = 1e-6;
        for a in 0..2 {
            let (mut plus, mut minus) = (z.clone(), z.clone());
            plus[a] += eps;
            minus[a] -= eps;
            let fd =
                (loss(&mut step, &plus, &before) - loss(&mut step, &minus, &before)) / (2.0 * eps);
            assert!((fd - d_z[a]).abs() < 1e-8, "d_z[{a}]: {} vs {fd}", d_z[a]);
        }
        for e in 0..layout.len() {
            let (mut plus, mut minus) = (before.clone(), before.clone());
            plus[e] += eps;
            minus[e] -= eps;
            let fd = (loss(&mut step, &z, &plus) - loss(&mut step, &z, &minus)) / (2.0 * eps);
            assert!(
                (fd - grad[e]).abs() < 1e-8,
                "grad[{e}]: {} vs {fd}",
                grad[e]
            );
        }
    }
}
