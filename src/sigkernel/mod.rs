//! Signature kernels: the Goursat PDE of a pair of paths, solved on a grid, and its exact
//! adjoint.
//!
//! For paths `x` (`L1` points) and `y` (`L2` points) in `R^d` and a static kernel `κ`, the
//! signature kernel `k(s, t) = ⟨S(x)_{[0,s]}, S(y)_{[0,t]}⟩` solves
//! `∂²k/∂s∂t = k · ∂²κ(x_s, y_t)` with `k = 1` on both axes. Over the piecewise-linear paths'
//! grid of `(L1-1) × (L2-1)` cells the forcing is constant on each cell: the increment
//! `G[i, j] = κ(x_{i+1}, y_{j+1}) - κ(x_i, y_{j+1}) - κ(x_{i+1}, y_j) + κ(x_i, y_j)`.
//!
//! Two solvers, pysiglib's ([`Method`]): explicit second-order finite differences on a
//! dyadically refined grid (`finite_difference`), and an exact power series per cell
//! truncated at an order (`polynomial`). Both run a *lane group* of pairs at once, one pair
//! per SIMD lane (`pack`), evaluate `G` row by row from the paths (`increments`: never the
//! whole `(L1-1) × (L2-1)` tensor) and have exact adjoints that recompute the grid from
//! checkpoints instead of storing it.

pub(crate) mod finite_difference;
pub(crate) mod increments;
mod math;
pub(crate) mod pack;
pub(crate) mod polynomial;
mod static_kernel;

pub use math::Real;
pub use static_kernel::StaticKernel;

use crate::error::{Error, Result};
use crate::simd::simd_dispatch;
use finite_difference::{Dyadic, Seed};
use increments::Increments;

/// Receives the solver's grid rows: `(row, its values, lane-major)`.
pub(crate) type RowSink<'a, T> = dyn FnMut(usize, &[T]) + 'a;
/// Writes grid row `r` (lane-major) into the slice: a seed or a stored grid read back.
pub(crate) type RowSource<'a, T> = dyn Fn(usize, &mut [T]) + 'a;

/// How the PDE is solved (pysiglib's `method`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Method {
    /// Explicit finite differences on the grid refined `2^λ1 × 2^λ2` times
    /// (`dyadic_order = (λ1, λ2)`).
    FiniteDifference {
        /// `(λ1, λ2)`.
        dyadic_order: (u32, u32),
    },
    /// A power series per cell truncated at degree `order` (2 to 64).
    Polynomial {
        /// The highest power kept.
        order: usize,
    },
}

/// The largest polynomial order (pysiglib's).
pub const MAX_POLYNOMIAL_ORDER: usize = 64;

impl Method {
    /// The points of a pair's grid along each axis, for paths of `len1` and `len2` points
    /// (both at least 1): `((L1-1)·2^λ1 + 1, (L2-1)·2^λ2 + 1)` for finite differences, the
    /// paths' points for the polynomial method. Errors for an order out of range or a grid
    /// too large to index.
    pub fn grid_points(&self, len1: usize, len2: usize) -> Result<(usize, usize)> {
        if len1 == 0 || len2 == 0 {
            return Err(Error::invalid(
                "path",
                "a signature kernel needs paths of at least one point",
            ));
        }
        match *self {
            Method::FiniteDifference {
                dyadic_order: (l1, l2),
            } => {
                let refine = |len: usize, order: u32| {
                    (order < usize::BITS - 1)
                        .then(|| (len - 1).checked_mul(1usize << order))
                        .flatten()
                        .and_then(|n| n.checked_add(1))
                        .filter(|&n| n < isize::MAX as usize / 64)
                };
                match (refine(len1, l1), refine(len2, l2)) {
                    (Some(a), Some(b)) if l1 + l2 < 63 => Ok((a, b)),
                    _ => Err(Error::invalid(
                        "dyadic_order",
                        format!(
                            "dyadic_order ({l1}, {l2}) is too large for paths of {len1} and \
                             {len2} points: the refined grid cannot be indexed"
                        ),
                    )),
                }
            }
            Method::Polynomial { order } => {
                if (2..=MAX_POLYNOMIAL_ORDER).contains(&order) {
                    Ok((len1, len2))
                } else {
                    Err(Error::invalid(
                        "order",
                        format!("order must be between 2 and {MAX_POLYNOMIAL_ORDER}, got {order}"),
                    ))
                }
            }
        }
    }
}

/// Scratch for solving lane groups of one shape with one method.
#[derive(Debug)]
pub(crate) enum Workspace<T> {
    FiniteDifference(finite_difference::Workspace<T>),
    Polynomial(polynomial::Workspace<T>),
}

impl<T: Real> Workspace<T> {
    /// Scratch for groups of `width` pairs of paths of `len1` and `len2` points (both ≥ 1).
    pub(crate) fn new(
        method: Method,
        len1: usize,
        len2: usize,
        width: usize,
        backward: bool,
    ) -> Result<Self> {
        let (rows, cols) = (len1 - 1, len2 - 1);
        Ok(match method {
            Method::FiniteDifference { dyadic_order } => {
                let grid = Dyadic {
                    rows,
                    cols,
                    orders: dyadic_order,
                };
                Workspace::FiniteDifference(finite_difference::Workspace::new(
                    grid, width, backward,
                )?)
            }
            Method::Polynomial { order } => Workspace::Polynomial(polynomial::Workspace::new(
                rows, cols, order, width, backward,
            )?),
        })
    }
}

/// Solves the PDE for one lane group: every grid row to `row_out` (when given) and each
/// lane's kernel into `values`.
pub(crate) fn solve_group<T: Real, I: Increments<T>>(
    increments: &mut I,
    ws: &mut Workspace<T>,
    row_out: Option<&mut RowSink<'_, T>>,
    values: &mut [T],
) {
    simd_dispatch!(<'a, 'b, T: Real, I: Increments<T>> |S| {
        increments: &'a mut I,
        ws: &'a mut Workspace<T>,
        row_out: Option<&'a mut RowSink<'b, T>>,
        values: &'a mut [T],
    } -> () {
        let row_out = row_out.map(|f| f as &mut RowSink<'_, T>);
        let last = match ws {
            Workspace::FiniteDifference(ws) => {
                finite_difference::forward::<S, T>(increments, ws, row_out)
            }
            Workspace::Polynomial(ws) => {
                polynomial::forward::<S, T>(increments, ws, row_out)
            }
        };
        let w = values.len();
        values.copy_from_slice(&last[last.len() - w..]);
    })
}

/// The adjoint for one lane group: the gradient of each lane's kernel (`grid_seed` absent:
/// `∂F/∂k = 1`) or of `Σ E·K` over its grid (`grid_seed` writes row `r` of every lane's `E`,
/// lane-major) with respect to the increments, handed to `increments`. Finite differences read
/// the grid from `stored` when given instead of recomputing it.
pub(crate) fn backprop_group<T: Real, I: Increments<T>>(
    increments: &mut I,
    ws: &mut Workspace<T>,
    grid_seed: Option<&RowSource<'_, T>>,
    stored: Option<&RowSource<'_, T>>,
) {
    simd_dispatch!(<'a, 'b, T: Real, I: Increments<T>> |S| {
        increments: &'a mut I,
        ws: &'a mut Workspace<T>,
        grid_seed: Option<&'a RowSource<'b, T>>,
        stored: Option<&'a RowSource<'b, T>>,
    } -> () {
        match ws {
            Workspace::FiniteDifference(ws) => {
                let seed = grid_seed.map_or(Seed::Corner, Seed::Grid);
                finite_difference::backward::<S, T>(increments, ws, seed, stored)
            }
            Workspace::Polynomial(ws) => {
                polynomial::backward::<S, T>(increments, ws, grid_seed)
            }
        }
    })
}
