//! The signature-kernel ops: the Goursat PDE solved for pairs of paths or all pairs of two
//! batches (`sig_kernel`), for a precomputed static kernel's increments
//! (`sig_kernel_increments`), and their exact adjoints. CPU kernels only.
//!
//! The facade (`tensorsig._sigkernel`) validates arguments, applies the path transforms and
//! allocates outputs; the core checks every size again before any work.

use pyo3::prelude::*;

use super::threads;
use crate::python::arrays::{
    PathArray, contiguous, read_paths, read_rows, slice_err, with_dtype, write_rows,
};
use crate::python::device::{Launch, cpu_dtype};
use crate::python::errors::{
    argument_type_error, detached, fill_checking_finite, invalid_argument, to_py_err,
};
use crate::{KernelGradient, Method, StaticKernel, Threads};

/// A static kernel from its facade description: a name and its parameters.
fn static_kernel(name: &str, params: &[f64]) -> PyResult<StaticKernel> {
    let arity = |n: usize| {
        if params.len() == n {
            Ok(())
        } else {
            Err(invalid_argument(format!(
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
        _ => Err(invalid_argument(format!("unknown static kernel {name:?}"))),
    }?;
    kernel.validate().map_err(to_py_err)?;
    Ok(kernel)
}

/// The solver from the facade's `method`, `dyadic_order` and `order`.
fn method(name: &str, dyadic_order: (u32, u32), order: usize) -> PyResult<Method> {
    match name {
        "finite_difference" => Ok(Method::FiniteDifference { dyadic_order }),
        "polynomial" => Ok(Method::Polynomial { order }),
        _ => Err(invalid_argument(
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
#[pyo3(signature = (
    path1, path2, out, kernel, method, dyadic_order, order, return_grid, gram, n_jobs, *,
    launch=None
))]
#[allow(clippy::too_many_arguments)] // the facade's flat call
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
    launch: Option<Launch>,
) -> PyResult<(bool, bool)> {
    let solver = Solver::new(kernel, method, dyadic_order, order, n_jobs)?;
    let (kernel, method, threads) = (&solver.kernel, solver.method, solver.threads);
    with_dtype!(cpu_dtype(path1, "path1", launch, "sig_kernel")?, |T| {
        read_paths!(T: path1);
        let path2 = path2
            .map(|p| PathArray::<T>::extract(p, "path2"))
            .transpose()?;
        let mut copy = None;
        let path2 = path2.as_ref().map(|y| y.view(&mut copy)).transpose()?;
        write_rows!(T: out);
        detached(py, || {
            let report = if gram {
                crate::sig_kernel_gram(
                    &path1,
                    path2.as_ref(),
                    kernel,
                    method,
                    return_grid,
                    threads,
                    out,
                )?
            } else {
                let path2 = path2.as_ref().unwrap_or(&path1);
                crate::sig_kernel(&path1, path2, kernel, method, return_grid, threads, out)?
            };
            Ok((crate::scalar::all_finite(out), report.clamped_negative_base))
        })
    })
}

/// Borrows an optional numpy array argument as an optional read-only C-contiguous slice.
macro_rules! read_optional_rows {
    ($t:ty: $name:ident) => {
        let $name = $name
            .map(|a| contiguous::<$t>(a, stringify!($name)))
            .transpose()?;
        let $name = $name
            .as_ref()
            .map(|a| a.as_slice())
            .transpose()
            .map_err(slice_err)?;
    };
}

/// The gradients given for kernel values, or with `grid_derivs` for their whole grids.
fn kernel_gradient<T>(derivs: &[T], grid_derivs: bool) -> KernelGradient<'_, T> {
    if grid_derivs {
        KernelGradient::Grids(derivs)
    } else {
        KernelGradient::Values(derivs)
    }
}

/// Gradients of [`sig_kernel`] with respect to the paths, into `out1` / `out2` (each when not
/// None, shaped like its path). `derivs` is shaped like the kernels (with `grid_derivs`, like
/// their grids); `k_grid`, when given, holds the finite-difference grids to reuse.
#[pyfunction]
#[pyo3(signature = (
    path1, path2, derivs, k_grid, out1, out2, kernel, method, dyadic_order, order, grid_derivs,
    gram, n_jobs, *, launch=None
))]
#[allow(clippy::too_many_arguments)] // the facade's flat call
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
    launch: Option<Launch>,
) -> PyResult<()> {
    let solver = Solver::new(kernel, method, dyadic_order, order, n_jobs)?;
    let (kernel, method, threads) = (&solver.kernel, solver.method, solver.threads);
    with_dtype!(
        cpu_dtype(path1, "path1", launch, "sig_kernel_backprop")?,
        |T| {
            read_paths!(T: path1);
            let path2 = path2
                .map(|p| PathArray::<T>::extract(p, "path2"))
                .transpose()?;
            let mut copy = None;
            let path2 = path2.as_ref().map(|y| y.view(&mut copy)).transpose()?;
            read_rows!(T: derivs);
            read_optional_rows!(T: k_grid);
            let mut out1 = out1
                .map(|o| crate::python::arrays::output::<T>(o, "out1"))
                .transpose()?;
            let mut out2 = out2
                .map(|o| crate::python::arrays::output::<T>(o, "out2"))
                .transpose()?;
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
            let derivs = kernel_gradient(derivs, grid_derivs);
            detached(py, || {
                if gram {
                    crate::sig_kernel_gram_backprop(
                        &path1,
                        path2.as_ref(),
                        kernel,
                        method,
                        derivs,
                        k_grid,
                        threads,
                        d1,
                        d2,
                    )
                } else {
                    let path2 = path2.as_ref().unwrap_or(&path1);
                    crate::sig_kernel_backprop(
                        &path1, path2, kernel, method, derivs, k_grid, threads, d1, d2,
                    )
                }
            })
        }
    )
}

/// The lengths of the paths a `(batch, len1 - 1, len2 - 1)` array of increments came from.
fn increment_shape(increments: &Bound<'_, PyAny>) -> PyResult<(usize, usize, usize)> {
    let shape: Vec<usize> = increments.getattr("shape")?.extract()?;
    match shape[..] {
        [b, r, c] => Ok((b, r + 1, c + 1)),
        _ => Err(argument_type_error(
            "increments must have shape (batch, length1 - 1, length2 - 1)",
        )),
    }
}

/// Signature kernels from an array of increments `(batch, len1 - 1, len2 - 1)` (a static
/// kernel computed elsewhere), into `out` (`(batch,)` or with `return_grid` the grids).
/// Returns whether every value is finite.
#[pyfunction]
#[pyo3(signature = (
    increments, out, method, dyadic_order, order, return_grid, n_jobs, *, launch=None
))]
#[allow(clippy::too_many_arguments)] // the facade's flat call
pub(crate) fn sig_kernel_increments(
    py: Python<'_>,
    increments: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    method: &str,
    dyadic_order: (u32, u32),
    order: usize,
    return_grid: bool,
    n_jobs: i64,
    launch: Option<Launch>,
) -> PyResult<bool> {
    let (method, threads) = (self::method(method, dyadic_order, order)?, threads(n_jobs)?);
    let dtype = cpu_dtype(increments, "increments", launch, "sig_kernel_increments")?;
    with_dtype!(dtype, |T| {
        let (batch, len1, len2) = increment_shape(increments)?;
        read_rows!(T: increments);
        write_rows!(T: out);
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
    })
}

/// Gradients of [`sig_kernel_increments`] with respect to the increments, into `out`.
#[pyfunction]
#[pyo3(signature = (
    increments, derivs, k_grid, out, method, dyadic_order, order, grid_derivs, n_jobs, *,
    launch=None
))]
#[allow(clippy::too_many_arguments)] // the facade's flat call
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
    launch: Option<Launch>,
) -> PyResult<()> {
    let (method, threads) = (self::method(method, dyadic_order, order)?, threads(n_jobs)?);
    let dtype = cpu_dtype(
        increments,
        "increments",
        launch,
        "sig_kernel_increments_backprop",
    )?;
    with_dtype!(dtype, |T| {
        let (batch, len1, len2) = increment_shape(increments)?;
        read_rows!(T: increments, derivs);
        read_optional_rows!(T: k_grid);
        write_rows!(T: out);
        let derivs = kernel_gradient(derivs, grid_derivs);
        detached(py, || {
            crate::sig_kernel_from_increments_backprop(
                increments, batch, len1, len2, method, derivs, k_grid, threads, out,
            )
        })
    })
}

/// Adds the family's bindings to the extension module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(sig_kernel, m)?)?;
    m.add_function(wrap_pyfunction!(sig_kernel_backprop, m)?)?;
    m.add_function(wrap_pyfunction!(sig_kernel_increments, m)?)?;
    m.add_function(wrap_pyfunction!(sig_kernel_increments_backprop, m)?)?;
    Ok(())
}
