//! Where a lane group's increments `G[i, j]` come from, one row at a time, and where their
//! gradients go: from two batches of paths through a [`StaticKernel`] evaluated in place, or
//! from a tensor of increments computed elsewhere (a user's own static kernel).
//!
//! `G[i, j] = κ(x_{i+1}, y_{j+1}) - κ(x_i, y_{j+1}) - κ(x_{i+1}, y_j) + κ(x_i, y_j)`, which for
//! the linear kernels is `c ⟨x_{i+1} - x_i, y_{j+1} - y_j⟩` and is computed that way.

use super::math::Real;
use super::pack::Pack;
use super::static_kernel::{Form, StaticKernel};
use crate::buffer::AlignedBuf;
use crate::error::Result;
use crate::path::Paths;
use crate::simd::{Simd, Vectorize};

/// The increments of a lane group, row by row, and the adjoint that takes their gradients.
pub(crate) trait Increments<T: Real> {
    /// Writes row `i` of every lane's increments, lane-major (`cols × width` values).
    fn row<S: Simd>(&mut self, i: usize, out: &mut [T])
    where
        T: Vectorize<S>;
    /// Takes the gradient with respect to row `i` of the increments (lane-major). Rows arrive
    /// from the last to the first, each once; [`Increments::finish`] follows the first row.
    fn add_row_gradient<S: Simd>(&mut self, i: usize, grad: &[T])
    where
        T: Vectorize<S>;
    /// Completes the gradients once every row's has been taken.
    fn finish<S: Simd>(&mut self)
    where
        T: Vectorize<S>;
}

/// Which pair each lane of a group holds: indices into the two batches of paths (or into a
/// batch of increments, for [`GivenIncrements`]).
pub(crate) type LanePairs<'a> = &'a [(usize, usize)];

/// A lane group's paths, lane-major, and the static kernel evaluated on them.
#[derive(Debug)]
pub(crate) struct KernelIncrements<T> {
    kernel: StaticKernel,
    form: Form,
    width: usize,
    dim: usize,
    len1: usize,
    len2: usize,
    /// Points (`len × dim × width`), or increments for the linear kernels (`len - 1` of them).
    x: AlignedBuf<T>,
    y: AlignedBuf<T>,
    /// Two rows of `κ(x_p, y_q)` over `q` (`len2 × width`), and the `p` each holds.
    kappa: [AlignedBuf<T>; 2],
    kappa_row: [usize; 2],
    /// Whether a fractional-degree polynomial kernel clamped a negative base to 0.
    clamped: bool,
    /// Gradients with respect to `x` and `y` (shaped like them), the previous row's increment
    /// gradient and a row of scratch, for the adjoint.
    d_x: AlignedBuf<T>,
    d_y: AlignedBuf<T>,
    prev_grad: AlignedBuf<T>,
    scratch: AlignedBuf<T>,
}

const NO_ROW: usize = usize::MAX;

impl<T: Real> KernelIncrements<T> {
    /// Buffers for groups of `width` pairs of paths of `len1` and `len2` points in `R^dim`.
    pub(crate) fn new(
        kernel: StaticKernel,
        width: usize,
        dim: usize,
        len1: usize,
        len2: usize,
        backward: bool,
    ) -> Result<Self> {
        let form = kernel.form();
        let stored = |len: usize| match form {
            Form::Increments(_) => len.saturating_sub(1),
            _ => len,
        };
        let buf = |n: usize| AlignedBuf::zeroed("signature kernel lanes", n * width);
        let grads = |n: usize| if backward { buf(n) } else { buf(0) };
        let points = !matches!(form, Form::Increments(_));
        let row = |n: usize| if points { buf(n) } else { buf(0) };
        Ok(KernelIncrements {
            kernel,
            form,
            width,
            dim,
            len1,
            len2,
            x: buf(stored(len1) * dim)?,
            y: buf(stored(len2) * dim)?,
            kappa: [row(len2)?, row(len2)?],
            kappa_row: [NO_ROW; 2],
            clamped: false,
            d_x: grads(stored(len1) * dim)?,
            d_y: grads(stored(len2) * dim)?,
            prev_grad: grads(len2.saturating_sub(1))?,
            scratch: if backward && points {
                buf(2 * len2)?
            } else {
                buf(0)?
            },
        })
    }

    /// Fills the lanes with `pairs` (lanes past the last pair get zeros) and clears the
    /// gradients.
    pub(crate) fn load(&mut self, x: &Paths<'_, T>, y: &Paths<'_, T>, pairs: LanePairs<'_>) {
        let (w, d) = (self.width, self.dim);
        let increments = matches!(self.form, Form::Increments(_));
        let gather = |dst: &mut [T], paths: &Paths<'_, T>, pick: &dyn Fn(usize) -> usize| {
            dst.fill(T::ZERO);
            for (lane, pair) in (0..pairs.len()).map(|l| (l, pick(l))) {
                let path = paths.path(pair);
                let points = if increments {
                    path.len().saturating_sub(1)
                } else {
                    path.len()
                };
                for t in 0..points {
                    for k in 0..d {
                        let v = if increments {
                            path.at(t + 1, k) - path.at(t, k)
                        } else {
                            path.at(t, k)
                        };
                        dst[(t * d + k) * w + lane] = v;
                    }
                }
            }
        };
        gather(&mut self.x, x, &|l| pairs[l].0);
        gather(&mut self.y, y, &|l| pairs[l].1);
        self.kappa_row = [NO_ROW; 2];
        self.d_x.fill(T::ZERO);
        self.d_y.fill(T::ZERO);
        self.prev_grad.fill(T::ZERO);
    }

    /// Whether a fractional-degree polynomial kernel has clamped a negative base since the
    /// buffers were made.
    pub(crate) fn clamped(&self) -> bool {
        self.clamped
    }

    /// Adds `weight` times lane `lane`'s gradient with respect to its `x` path into `out`
    /// (`len1 × dim`).
    pub(crate) fn add_x_gradient(&self, lane: usize, weight: T, out: &mut [T]) {
        self.add_gradient(&self.d_x, self.len1, lane, weight, out);
    }

    /// As [`Self::add_x_gradient`], for the `y` path (`len2 × dim`).
    pub(crate) fn add_y_gradient(&self, lane: usize, weight: T, out: &mut [T]) {
        self.add_gradient(&self.d_y, self.len2, lane, weight, out);
    }

    fn add_gradient(&self, grad: &[T], len: usize, lane: usize, weight: T, out: &mut [T]) {
        let (w, d) = (self.width, self.dim);
        let at = |t: usize, k: usize| grad[(t * d + k) * w + lane];
        for t in 0..len {
            for k in 0..d {
                let g = match self.form {
                    // Point t ends increment t - 1 and starts increment t.
                    Form::Increments(_) => {
                        let before = if t > 0 { at(t - 1, k) } else { T::ZERO };
                        let after = if t + 1 < len { at(t, k) } else { T::ZERO };
                        before - after
                    }
                    _ => at(t, k),
                };
                out[t * d + k] += weight * g;
            }
        }
    }

    /// Makes kappa slot `slot` hold `κ(x_p, y_q)` for every `q`.
    #[inline(always)]
    fn kappa_row<S: Simd>(&mut self, p: usize, slot: usize)
    where
        T: Vectorize<S>,
    {
        let shape = Shape::of(self);
        let row = &mut self.kappa[slot];
        pairwise::<S, T>(shape, &self.x, p, &self.y, row);
        match self.form {
            Form::Distance => self.kernel.values_of_distances(row),
            Form::Inner => self.clamped |= self.kernel.values_of_inner_products(row),
            Form::Increments(_) => unreachable!("the linear kernels use increments"),
        }
        self.kappa_row[slot] = p;
    }
}

/// The sizes [`pairwise`] needs.
#[derive(Clone, Copy)]
struct Shape {
    width: usize,
    dim: usize,
    len2: usize,
    distance: bool,
}

impl Shape {
    fn of<T>(lanes: &KernelIncrements<T>) -> Self {
        Shape {
            width: lanes.width,
            dim: lanes.dim,
            len2: lanes.len2,
            distance: matches!(lanes.form, Form::Distance),
        }
    }
}

/// `‖x_p - y_q‖²` (distance kernels) or `⟨x_p, y_q⟩` (inner-product kernels) for every `q`,
/// lane-major into `out`.
#[inline(always)]
fn pairwise<S: Simd, T: Real + Vectorize<S>>(
    shape: Shape,
    x: &[T],
    p: usize,
    y: &[T],
    out: &mut [T],
) {
    let Shape {
        width: w,
        dim: d,
        len2,
        distance,
    } = shape;
    debug_assert_eq!(w, Pack::<S, T>::WIDTH);
    assert!(out.len() >= len2 * w && x.len() >= (p + 1) * d * w && y.len() >= len2 * d * w);
    let (x, y, o) = (x.as_ptr(), y.as_ptr(), out.as_mut_ptr());
    // SAFETY: the assert bounds every offset: point p of x, points q < len2 of y, d channels.
    unsafe {
        let xp = x.add(p * d * w);
        for q in 0..len2 {
            let yq = y.add(q * d * w);
            let mut acc = Pack::<S, T>::splat(T::ZERO);
            for k in 0..d {
                let (a, b) = (Pack::load(xp.add(k * w)), Pack::load(yq.add(k * w)));
                acc = if distance {
                    let diff = a - b;
                    diff.mul_add(diff, acc)
                } else {
                    a.mul_add(b, acc)
                };
            }
            acc.store(o.add(q * w));
        }
    }
}

impl<T: Real> KernelIncrements<T> {
    /// The kappa slot holding row `p`, if any.
    fn slot_of(&self, p: usize) -> Option<usize> {
        self.kappa_row.iter().position(|&r| r == p)
    }

    /// Adds to the gradients of `x_p` and of every `y_q` the contributions of `∂F/∂κ(x_p, y_q)`,
    /// given in the first `len2 × width` values of the scratch row.
    #[inline(always)]
    fn add_point_gradients<S: Simd>(&mut self, p: usize)
    where
        T: Vectorize<S>,
    {
        let shape = Shape::of(self);
        let (w, d, len2) = (self.width, self.dim, self.len2);
        let (dkappa, weights) = self.scratch.split_at_mut(len2 * w);
        pairwise::<S, T>(shape, &self.x, p, &self.y, weights);
        match self.form {
            Form::Distance => self.kernel.weights_of_distances(weights),
            _ => self.kernel.slopes_of_inner_products(weights),
        }
        assert!(self.x.len() >= (p + 1) * d * w && self.y.len() >= len2 * d * w);
        assert!(self.d_x.len() == self.x.len() && self.d_y.len() == self.y.len());
        let (x, y) = (self.x.as_ptr(), self.y.as_ptr());
        let (dx, dy) = (self.d_x.as_mut_ptr(), self.d_y.as_mut_ptr());
        let (m, wt) = (dkappa.as_ptr(), weights.as_ptr());
        // SAFETY: the asserts bound every offset: point p of x and of d_x, points q < len2 of y
        // and of d_y, d channels each; q < len2 of the two scratch rows.
        unsafe {
            let (xp, dxp) = (x.add(p * d * w), dx.add(p * d * w));
            for q in 0..len2 {
                let mq = Pack::<S, T>::load(m.add(q * w)) * Pack::load(wt.add(q * w));
                let (yq, dyq) = (y.add(q * d * w), dy.add(q * d * w));
                for k in 0..d {
                    let (a, b) = (Pack::load(xp.add(k * w)), Pack::load(yq.add(k * w)));
                    let (ga, gb) = (Pack::load(dxp.add(k * w)), Pack::load(dyq.add(k * w)));
                    if matches!(self.form, Form::Distance) {
                        // ∂κ/∂x = -w (x - y), ∂κ/∂y = w (x - y).
                        let t = mq * (a - b);
                        (ga - t).store(dxp.add(k * w));
                        (gb + t).store(dyq.add(k * w));
                    } else {
                        // ∂κ/∂x = κ' y, ∂κ/∂y = κ' x.
                        mq.mul_add(b, ga).store(dxp.add(k * w));
                        mq.mul_add(a, gb).store(dyq.add(k * w));
                    }
                }
            }
        }
    }
}

/// `∂F/∂κ(x_p, ·)` (`len2 × width`, lane-major into `out`) from the increment gradients of
/// rows `p - 1` (`lower`) and `p` (`upper`), either absent at the grid's edges: `G[i, j]` holds
/// `κ(x_p, y_q)` with sign `+` at `(i, j) = (p-1, q-1), (p, q)` and `-` at `(p-1, q), (p, q-1)`.
#[inline(always)]
fn kappa_gradient<S: Simd, T: Real + Vectorize<S>>(
    len2: usize,
    lower: Option<&[T]>,
    upper: Option<&[T]>,
    out: &mut [T],
) {
    let w = Pack::<S, T>::WIDTH;
    let cols = len2 - 1;
    let zero = Pack::<S, T>::splat(T::ZERO);
    assert!(out.len() >= len2 * w);
    assert!([lower, upper].iter().flatten().all(|r| r.len() >= cols * w));
    let o = out.as_mut_ptr();
    let mut before = zero;
    for q in 0..len2 {
        // Column q of `lower - upper`, 0 outside the grid.
        let here = if q < cols {
            // SAFETY: q < cols and both rows hold cols points (asserted).
            unsafe { Pack::<S, T>::at_or_zero(lower, q) - Pack::at_or_zero(upper, q) }
        } else {
            zero
        };
        // SAFETY: q < len2 points of `out` (asserted).
        unsafe { (before - here).store_at(o, q) };
        before = here;
    }
}

impl<T: Real> Increments<T> for KernelIncrements<T> {
    #[inline(always)]
    fn row<S: Simd>(&mut self, i: usize, out: &mut [T])
    where
        T: Vectorize<S>,
    {
        let (w, d, cols) = (self.width, self.dim, self.len2 - 1);
        assert!(out.len() >= cols * w);
        let o = out.as_mut_ptr();
        if let Form::Increments(c) = self.form {
            assert!(self.x.len() >= (i + 1) * d * w && self.y.len() >= cols * d * w);
            let (x, y) = (self.x.as_ptr(), self.y.as_ptr());
            let c = Pack::<S, T>::splat(T::from_f64(c));
            // SAFETY: increment i of x, increments j < cols of y, d channels (asserted).
            unsafe {
                let xi = x.add(i * d * w);
                for j in 0..cols {
                    let yj = y.add(j * d * w);
                    let mut acc = Pack::<S, T>::splat(T::ZERO);
                    for k in 0..d {
                        acc = Pack::load(xi.add(k * w)).mul_add(Pack::load(yj.add(k * w)), acc);
                    }
                    (acc * c).store(o.add(j * w));
                }
            }
            return;
        }
        let (lo, hi) = match (self.slot_of(i), self.slot_of(i + 1)) {
            (Some(lo), Some(hi)) => (lo, hi),
            (Some(lo), None) => {
                self.kappa_row::<S>(i + 1, 1 - lo);
                (lo, 1 - lo)
            }
            (None, Some(hi)) => {
                self.kappa_row::<S>(i, 1 - hi);
                (1 - hi, hi)
            }
            (None, None) => {
                self.kappa_row::<S>(i, 0);
                self.kappa_row::<S>(i + 1, 1);
                (0, 1)
            }
        };
        let (lo, hi) = (self.kappa[lo].as_ptr(), self.kappa[hi].as_ptr());
        assert!(self.kappa.iter().all(|r| r.len() >= (cols + 1) * w));
        // SAFETY: points j, j + 1 <= cols of two rows of len2 = cols + 1 points (asserted).
        unsafe {
            let mut before = Pack::<S, T>::at(hi, 0) - Pack::at(lo, 0);
            for j in 0..cols {
                let after = Pack::<S, T>::at(hi, j + 1) - Pack::at(lo, j + 1);
                (after - before).store(o.add(j * w));
                before = after;
            }
        }
    }

    #[inline(always)]
    fn add_row_gradient<S: Simd>(&mut self, i: usize, grad: &[T])
    where
        T: Vectorize<S>,
    {
        let (w, d, cols) = (self.width, self.dim, self.len2 - 1);
        assert!(grad.len() >= cols * w);
        if let Form::Increments(c) = self.form {
            assert!(self.x.len() >= (i + 1) * d * w && self.y.len() >= cols * d * w);
            assert!(self.d_x.len() == self.x.len() && self.d_y.len() == self.y.len());
            let (x, y, g) = (self.x.as_ptr(), self.y.as_ptr(), grad.as_ptr());
            let (dx, dy) = (self.d_x.as_mut_ptr(), self.d_y.as_mut_ptr());
            let c = Pack::<S, T>::splat(T::from_f64(c));
            // SAFETY: increment i of x and d_x, increments j < cols of y and d_y, d channels
            // (asserted); point j < cols of the gradient row.
            unsafe {
                let (xi, dxi) = (x.add(i * d * w), dx.add(i * d * w));
                for j in 0..cols {
                    let gj = Pack::<S, T>::load(g.add(j * w)) * c;
                    let (yj, dyj) = (y.add(j * d * w), dy.add(j * d * w));
                    for k in 0..d {
                        let a = gj.mul_add(Pack::load(yj.add(k * w)), Pack::load(dxi.add(k * w)));
                        a.store(dxi.add(k * w));
                        let b = gj.mul_add(Pack::load(xi.add(k * w)), Pack::load(dyj.add(k * w)));
                        b.store(dyj.add(k * w));
                    }
                }
            }
            return;
        }
        // Point i + 1 sees row i below it and row i + 1 (the previous call's) above.
        let upper = (i + 2 < self.len1).then_some(&self.prev_grad[..]);
        kappa_gradient::<S, T>(self.len2, Some(grad), upper, &mut self.scratch);
        self.add_point_gradients::<S>(i + 1);
        self.prev_grad[..cols * w].copy_from_slice(&grad[..cols * w]);
    }

    #[inline(always)]
    fn finish<S: Simd>(&mut self)
    where
        T: Vectorize<S>,
    {
        if matches!(self.form, Form::Increments(_)) || self.len1 == 0 {
            return;
        }
        let upper = (self.len1 >= 2).then_some(&self.prev_grad[..]);
        kappa_gradient::<S, T>(self.len2, None, upper, &mut self.scratch);
        self.add_point_gradients::<S>(0);
    }
}

/// A lane group's increments read from a tensor of them, `batch × (len1-1) × (len2-1)`, and
/// their gradients written to one of the same shape.
pub(crate) struct GivenIncrements<'a, T> {
    /// The tensor, and which of its items each lane holds.
    pub(crate) increments: &'a [T],
    pub(crate) items: &'a [usize],
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    pub(crate) width: usize,
    /// The gradient of each lane's item (`rows × cols`) and the weight it is scaled by; empty
    /// going forwards.
    pub(crate) grads: Vec<(&'a mut [T], T)>,
}

impl<T: Real> Increments<T> for GivenIncrements<'_, T> {
    #[inline(always)]
    fn row<S: Simd>(&mut self, i: usize, out: &mut [T])
    where
        T: Vectorize<S>,
    {
        let (w, cols) = (self.width, self.cols);
        out[..cols * w].fill(T::ZERO);
        let size = self.rows * cols;
        for (lane, &item) in self.items.iter().enumerate() {
            let src = &self.increments[item * size + i * cols..][..cols];
            for (j, &v) in src.iter().enumerate() {
                out[j * w + lane] = v;
            }
        }
    }

    #[inline(always)]
    fn add_row_gradient<S: Simd>(&mut self, i: usize, grad: &[T])
    where
        T: Vectorize<S>,
    {
        let (w, cols) = (self.width, self.cols);
        for (lane, (dst, weight)) in self.grads.iter_mut().enumerate() {
            for (j, d) in dst[i * cols..(i + 1) * cols].iter_mut().enumerate() {
                *d = *weight * grad[j * w + lane];
            }
        }
    }

    fn finish<S: Simd>(&mut self)
    where
        T: Vectorize<S>,
    {
    }
}
