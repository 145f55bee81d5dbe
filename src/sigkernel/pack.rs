//! One value of every pair of a lane group, in registers: the signature-kernel solvers run the
//! same cell update for `WIDTH` pairs at once, one pair per SIMD lane.
//!
//! A group's buffers are *lane-major*: the `WIDTH` values of one grid point (one per pair) are
//! contiguous, so every update is whole-vector loads, arithmetic and stores. A group spans
//! [`VECTORS`] vectors: each cell update depends on the one before it along its row, and
//! independent vectors let the CPU overlap those chains instead of waiting on each one's
//! latency.
//!
//! Hot loops use these operations directly or through `#[inline(always)]` functions, never
//! through closures: a closure is compiled without the dispatched target features, so the
//! intrinsics inside it become calls (measured: the adjoint sweep ran ten times slower).

use std::ops::{Add, Mul, Sub};

use crate::scalar::Scalar;
use crate::simd::{Simd, Vectorize, simd_dispatch};

/// Vectors per lane group.
pub(crate) const VECTORS: usize = 2;

/// The number of pairs a lane group of `T` holds on this CPU.
pub(crate) fn group_width<T: Scalar>() -> usize {
    simd_dispatch!(<T: Scalar> |S| {} -> usize { VECTORS * <T as Vectorize<S>>::LANES })
}

/// The `WIDTH` values of one grid point.
pub(crate) struct Pack<S: Simd, T: Vectorize<S>>([<T as Vectorize<S>>::V; VECTORS]);

impl<S: Simd, T: Vectorize<S>> Clone for Pack<S, T> {
    #[inline(always)]
    fn clone(&self) -> Self {
        *self
    }
}
impl<S: Simd, T: Vectorize<S>> Copy for Pack<S, T> {}

impl<S: Simd, T: Scalar + Vectorize<S>> Pack<S, T> {
    /// Values per pack.
    pub(crate) const WIDTH: usize = VECTORS * <T as Vectorize<S>>::LANES;

    /// Every lane `x`.
    #[inline(always)]
    pub(crate) fn splat(x: T) -> Self {
        Pack([<T as Vectorize<S>>::splat(x); VECTORS])
    }

    /// Loads `WIDTH` values.
    ///
    /// # Safety
    /// `src` must be valid for reading `WIDTH` values.
    #[inline(always)]
    pub(crate) unsafe fn load(src: *const T) -> Self {
        let mut out = Self::splat(T::ZERO);
        for (u, v) in out.0.iter_mut().enumerate() {
            // SAFETY: lanes u·LANES .. (u+1)·LANES lie inside the caller's WIDTH values.
            *v = unsafe { <T as Vectorize<S>>::load(src.add(u * <T as Vectorize<S>>::LANES)) };
        }
        out
    }

    /// Stores `WIDTH` values.
    ///
    /// # Safety
    /// `dst` must be valid for writing `WIDTH` values.
    #[inline(always)]
    pub(crate) unsafe fn store(self, dst: *mut T) {
        for (u, v) in self.0.into_iter().enumerate() {
            // SAFETY: as for `load`.
            unsafe { <T as Vectorize<S>>::store(dst.add(u * <T as Vectorize<S>>::LANES), v) };
        }
    }

    /// Point `j` of a lane-major row: the `WIDTH` values from `row + j·WIDTH`.
    ///
    /// # Safety
    /// Those values must be readable.
    #[inline(always)]
    pub(crate) unsafe fn at(row: *const T, j: usize) -> Self {
        // SAFETY: forwarded to the caller.
        unsafe { Self::load(row.add(j * Self::WIDTH)) }
    }

    /// Stores into point `j` of a lane-major row.
    ///
    /// # Safety
    /// Those values must be writable.
    #[inline(always)]
    pub(crate) unsafe fn store_at(self, row: *mut T, j: usize) {
        // SAFETY: forwarded to the caller.
        unsafe { self.store(row.add(j * Self::WIDTH)) }
    }

    /// Point `j` of an optional row, zero when there is none.
    ///
    /// # Safety
    /// As for [`Pack::at`], when the row is present.
    #[inline(always)]
    pub(crate) unsafe fn at_or_zero(row: Option<&[T]>, j: usize) -> Self {
        match row {
            // SAFETY: forwarded to the caller.
            Some(r) => unsafe { Self::at(r.as_ptr(), j) },
            None => Self::splat(T::ZERO),
        }
    }

    /// `self · b + c`, fused.
    #[inline(always)]
    pub(crate) fn mul_add(self, b: Self, c: Self) -> Self {
        let mut out = self;
        for u in 0..VECTORS {
            out.0[u] = <T as Vectorize<S>>::mul_add(self.0[u], b.0[u], c.0[u]);
        }
        out
    }
}

impl<S: Simd, T: Scalar + Vectorize<S>> Add for Pack<S, T> {
    type Output = Self;
    #[inline(always)]
    fn add(self, b: Self) -> Self {
        let mut out = self;
        for u in 0..VECTORS {
            out.0[u] = <T as Vectorize<S>>::add(self.0[u], b.0[u]);
        }
        out
    }
}

impl<S: Simd, T: Scalar + Vectorize<S>> Sub for Pack<S, T> {
    type Output = Self;
    #[inline(always)]
    fn sub(self, b: Self) -> Self {
        let mut out = self;
        for u in 0..VECTORS {
            out.0[u] = <T as Vectorize<S>>::sub(self.0[u], b.0[u]);
        }
        out
    }
}

impl<S: Simd, T: Scalar + Vectorize<S>> Mul for Pack<S, T> {
    type Output = Self;
    #[inline(always)]
    fn mul(self, b: Self) -> Self {
        let mut out = self;
        for u in 0..VECTORS {
            out.0[u] = <T as Vectorize<S>>::mul(self.0[u], b.0[u]);
        }
        out
    }
}
