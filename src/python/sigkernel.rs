//! The CPU entry points of the signature kernels: numpy arrays in, numpy arrays (allocated by
//! the caller) out.
//!
//! The facade (`tensorsig._sigkernel`) validates arguments, applies the path transforms and
//! allocates outputs; these functions borrow the arrays, release the GIL and run the core,
//! which checks every size again before any work.

use numpy::Element;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

use super::arrays::{DType, PathArray, contiguous, dtype_of, output};
use super::errors::{fill_checking_finite, guarded, to_py_err};
use crate::sigkernel::Real;
use crate::{KernelGradient, Method, StaticKernel, Threads};

/// Calls `$f::<f32>` or `$f::<f64>` by the element type of the numpy array `$array`.
macro_rules! by_dtype {
    ($array:expr, $name:expr, $f:ident($($arg:expr),* $(,)?)) => {
        match dtype_of($array, $name)? {
            DType::F32 => $f::<f32>($($arg),*),
            DType::F64 => $f::<f64>($($arg),*),
        }
    };
}

fn slice_err(e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(e.to_string())
}

fn threads(n_jobs: i64) -> PyResult<Threads> {
    Threads::from_n_jobs(n_jobs).map_err(to_py_err)
}

/// A static kernel from its facade description: a name and its parameters.
fn static_kernel(name: &str, params: &[f64]) -> PyResult<StaticKernel> {
    let arity = |n: usize| {
        if params.len() == n {
            Ok(())
        } else {
            Err(PyValueError::new_err(format!(
                "static kernel {name:?} takes {n} parameters, got {}",
                params.len()
            )))
        }
    };
    let kernel = match name {
        "linear" => arity(0).map(|_| StaticKernel::Linear),
        "scaled_linear" => arity(1).map(|_| StaticKernel::ScaledLinear { scale: params[0] }),
        "rbf" => arity(1).map(|_| StaticKernel::Rbf { sigma: params[0] }),
        "matern12" => arity(1).map(|_| StaticKernel::Matern12 { sigma: params[0] }),
        "matern32" => arity(1).map(|_| StaticKernel::Matern32 { sigma: params[0] }),
        "matern52" => arity(1).map(|_| StaticKernel::Matern52 { sigma: params[0] }),
        "polynomial" => arity(3).map(|_| StaticKernel::Polynomial {
            degree: params[0],
            gamma: params[1],
            scale: params[2],
        }),
        "rational_quadratic" => arity(2).map(|_| StaticKernel::RationalQuadratic {
            sigma: params[0],
            alpha: params[1],
        }),
        _ => Err(PyValueError::new_err(format!(
            "unknown static kernel {name:?}"
        ))),
    }?;
    kernel.validate().map_err(to_py_err)?;
    Ok(kernel)
}

/// The solver from the facade's `method`, `dyadic_order` and `order`.
fn method(name: &str, dyadic_order: (u32, u32), order: usize) -> PyResult<Method> {
    match name {
        "finite_difference" => Ok(Method::FiniteDifference { dyadic_order }),
        "polynomial" => Ok(Method::Polynomial { order }),
        _ => Err(PyValueError::new_err(
            "method must be one of finite_difference, polynomial",
        )),
    }
}

/// Parsed solver arguments.
struct Solver {
    kernel: StaticKernel,
    method: Method,
    threads: Threads,
}

impl Solver {
    fn new(
        kernel: (String, Vec<f64>),
        method_name: &str,
        dyadic_order: (u32, u32),
        order: usize,
        n_jobs: i64,
    ) -> PyResult<Self> {
        Ok(Solver {
            kernel: static_kernel(&kernel.0, &kernel.1)?,
            method: method(method_name, dyadic_order, order)?,
            threads: threads(n_jobs)?,
        })
    }
}

/// Signature kernels of paired `(batch, length, channels)` arrays into `out` (`(batch,)`, or
/// `(batch, grid1, grid2)` with `return_grid`); with `gram`, of every pair of the two batches
/// (`path2 = None`: of `path1` with itself, the symmetric half solved) into `(batch1, batch2)`
/// (plus the grid). Returns (whether every value is finite, whether a fractional polynomial
/// kernel clamped a negative base).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (path1, path2, out, kernel, method, dyadic_order, order, return_grid, gram, n_jobs))]
pub(crate) fn sig_kernel(
    py: Python<'_>,
    path1: &Bound<'_, PyAny>,
    path2: Option<&Bound<'_, PyAny>>,
    out: &Bound<'_, PyAny>,
    kernel: (String, Vec<f64>),
    method: &str,
    dyadic_order: (u32, u32),
    order: usize,
    return_grid: bool,
    gram: bool,
    n_jobs: i64,
) -> PyResult<(bool, bool)> {
    let solver = Solver::new(kernel, method, dyadic_order, order, n_jobs)?;
    by_dtype!(
        path1,
        "path1",
        sig_kernel_typed(py, path1, path2, out, &solver, return_grid, gram)
    )
}

fn sig_kernel_typed<T: Real + Element>(
    py: Python<'_>,
    path1: &Bound<'_, PyAny>,
    path2: Option<&Bound<'_, PyAny>>,
    out: &Bound<'_, PyAny>,
    solver: &Solver,
    return_grid: bool,
    gram: bool,
) -> PyResult<(bool, bool)> {
    let x = PathArray::<T>::extract(path1)?;
    let y = path2.map(PathArray::<T>::extract).transpose()?;
    let (mut x_copy, mut y_copy) = (None, None);
    let x = x.view(&mut x_copy)?;
    let y = y.as_ref().map(|y| y.view(&mut y_copy)).transpose()?;
    let mut out = output::<T>(out, "out")?;
    let out = out.as_slice_mut().map_err(slice_err)?;
    let (kernel, method, threads) = (&solver.kernel, solver.method, solver.threads);
    py.detach(|| {
        guarded(|| {
            let report = if gram {
                crate::sig_kernel_gram(&x, y.as_ref(), kernel, method, return_grid, threads, out)?
            } else {
                let y = y.as_ref().unwrap_or(&x);
                crate::sig_kernel(&x, y, kernel, method, return_grid, threads, out)?
            };
            Ok((crate::scalar::all_finite(out), report.clamped_negative_base))
        })
    })
}

/// Gradients of [`sig_kernel`] with respect to the paths, into `out1` / `out2` (each when not
/// None, shaped like its path). `derivs` is shaped like the kernels (with `grid_derivs`, like
/// their grids); `k_grid`, when given, holds the finite-difference grids to reuse.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (path1, path2, derivs, k_grid, out1, out2, kernel, method, dyadic_order, order, grid_derivs, gram, n_jobs))]
pub(crate) fn sig_kernel_backprop(
    py: Python<'_>,
    path1: &Bound<'_, PyAny>,
    path2: Option<&Bound<'_, PyAny>>,
    derivs: &Bound<'_, PyAny>,
    k_grid: Option<&Bound<'_, PyAny>>,
    out1: Option<&Bound<'_, PyAny>>,
    out2: Option<&Bound<'_, PyAny>>,
    kernel: (String, Vec<f64>),
    method: &str,
    dyadic_order: (u32, u32),
    order: usize,
    grid_derivs: bool,
    gram: bool,
    n_jobs: i64,
) -> PyResult<()> {
    let solver = Solver::new(kernel, method, dyadic_order, order, n_jobs)?;
    by_dtype!(
        path1,
        "path1",
        sig_kernel_backprop_typed(
            py,
            path1,
            path2,
            derivs,
            k_grid,
            [out1, out2],
            &solver,
            grid_derivs,
            gram
        )
    )
}

#[allow(clippy::too_many_arguments)]
fn sig_kernel_backprop_typed<T: Real + Element>(
    py: Python<'_>,
    path1: &Bound<'_, PyAny>,
    path2: Option<&Bound<'_, PyAny>>,
    derivs: &Bound<'_, PyAny>,
    k_grid: Option<&Bound<'_, PyAny>>,
    outs: [Option<&Bound<'_, PyAny>>; 2],
    solver: &Solver,
    grid_derivs: bool,
    gram: bool,
) -> PyResult<()> {
    let x = PathArray::<T>::extract(path1)?;
    let y = path2.map(PathArray::<T>::extract).transpose()?;
    let (mut x_copy, mut y_copy) = (None, None);
    let x = x.view(&mut x_copy)?;
    let y = y.as_ref().map(|y| y.view(&mut y_copy)).transpose()?;
    let derivs = contiguous::<T>(derivs, "derivs")?;
    let derivs = derivs.as_slice().map_err(slice_err)?;
    let k_grid = k_grid.map(|g| contiguous::<T>(g, "k_grid")).transpose()?;
    let k_grid = k_grid
        .as_ref()
        .map(|g| g.as_slice())
        .transpose()
        .map_err(slice_err)?;
    let [out1, out2] = outs;
    let mut out1 = out1.map(|o| output::<T>(o, "out1")).transpose()?;
    let mut out2 = out2.map(|o| output::<T>(o, "out2")).transpose()?;
    let d1 = out1
        .as_mut()
        .map(|o| o.as_slice_mut())
        .transpose()
        .map_err(slice_err)?;
    let d2 = out2
        .as_mut()
        .map(|o| o.as_slice_mut())
        .transpose()
        .map_err(slice_err)?;
    let derivs = if grid_derivs {
        KernelGradient::Grids(derivs)
    } else {
        KernelGradient::Values(derivs)
    };
    let (kernel, method, threads) = (&solver.kernel, solver.method, solver.threads);
    py.detach(|| {
        guarded(|| {
            if gram {
                crate::sig_kernel_gram_backprop(
                    &x,
                    y.as_ref(),
                    kernel,
                    method,
                    derivs,
                    k_grid,
                    threads,
                    d1,
                    d2,
                )
            } else {
                let y = y.as_ref().unwrap_or(&x);
                crate::sig_kernel_backprop(&x, y, kernel, method, derivs, k_grid, threads, d1, d2)
            }
        })
    })
}

/// The lengths of the paths a `(batch, len1 - 1, len2 - 1)` array of increments came from.
fn increment_shape(increments: &Bound<'_, PyAny>) -> PyResult<(usize, usize, usize)> {
    let shape: Vec<usize> = increments.getattr("shape")?.extract()?;
    match shape[..] {
        [b, r, c] => Ok((b, r + 1, c + 1)),
        _ => Err(PyTypeError::new_err(
            "increments must have shape (batch, length1 - 1, length2 - 1)",
        )),
    }
}

/// Signature kernels from an array of increments `(batch, len1 - 1, len2 - 1)` (a static
/// kernel computed elsewhere), into `out` (`(batch,)` or with `return_grid` the grids).
/// Returns whether every value is finite.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (increments, out, method, dyadic_order, order, return_grid, n_jobs))]
pub(crate) fn sig_kernel_increments(
    py: Python<'_>,
    increments: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    method: &str,
    dyadic_order: (u32, u32),
    order: usize,
    return_grid: bool,
    n_jobs: i64,
) -> PyResult<bool> {
    let method = self::method(method, dyadic_order, order)?;
    let threads = threads(n_jobs)?;
    by_dtype!(
        increments,
        "increments",
        sig_kernel_increments_typed(py, increments, out, method, return_grid, threads)
    )
}

fn sig_kernel_increments_typed<T: Real + Element>(
    py: Python<'_>,
    increments: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    method: Method,
    return_grid: bool,
    threads: Threads,
) -> PyResult<bool> {
    let (batch, len1, len2) = increment_shape(increments)?;
    let increments = contiguous::<T>(increments, "increments")?;
    let increments = increments.as_slice().map_err(slice_err)?;
    let mut out = output::<T>(out, "out")?;
    let out = out.as_slice_mut().map_err(slice_err)?;
    fill_checking_finite(py, out, |out| {
        crate::sig_kernel_from_increments(
            increments,
            batch,
            len1,
            len2,
            method,
            return_grid,
            threads,
            out,
        )
    })
}

/// Gradients of [`sig_kernel_increments`] with respect to the increments, into `out`.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (increments, derivs, k_grid, out, method, dyadic_order, order, grid_derivs, n_jobs))]
pub(crate) fn sig_kernel_increments_backprop(
    py: Python<'_>,
    increments: &Bound<'_, PyAny>,
    derivs: &Bound<'_, PyAny>,
    k_grid: Option<&Bound<'_, PyAny>>,
    out: &Bound<'_, PyAny>,
    method: &str,
    dyadic_order: (u32, u32),
    order: usize,
    grid_derivs: bool,
    n_jobs: i64,
) -> PyResult<()> {
    let method = self::method(method, dyadic_order, order)?;
    let threads = threads(n_jobs)?;
    by_dtype!(
        increments,
        "increments",
        sig_kernel_increments_backprop_typed(
            py,
            increments,
            derivs,
            k_grid,
            out,
            method,
            grid_derivs,
            threads
        )
    )
}

#[allow(clippy::too_many_arguments)]
fn sig_kernel_increments_backprop_typed<T: Real + Element>(
    py: Python<'_>,
    increments: &Bound<'_, PyAny>,
    derivs: &Bound<'_, PyAny>,
    k_grid: Option<&Bound<'_, PyAny>>,
    out: &Bound<'_, PyAny>,
    method: Method,
    grid_derivs: bool,
    threads: Threads,
) -> PyResult<()> {
    let (batch, len1, len2) = increment_shape(increments)?;
    let increments = contiguous::<T>(increments, "increments")?;
    let increments = increments.as_slice().map_err(slice_err)?;
    let derivs = contiguous::<T>(derivs, "derivs")?;
    let derivs = derivs.as_slice().map_err(slice_err)?;
    let k_grid = k_grid.map(|g| contiguous::<T>(g, "k_grid")).transpose()?;
    let k_grid = k_grid
        .as_ref()
        .map(|g| g.as_slice())
        .transpose()
        .map_err(slice_err)?;
    let mut out = output::<T>(out, "out")?;
    let out = out.as_slice_mut().map_err(slice_err)?;
    let derivs = if grid_derivs {
        KernelGradient::Grids(derivs)
    } else {
        KernelGradient::Values(derivs)
    };
    py.detach(|| {
        guarded(|| {
            crate::sig_kernel_from_increments_backprop(
                increments, batch, len1, len2, method, derivs, k_grid, threads, out,
            )
        })
    })
}
