//! The CPU entry points of the log-signature family: numpy arrays in, caller-allocated numpy
//! arrays out, the GIL released during the work.
//!
//! `dimension` is always the augmented dimension (after lead-lag and time augmentation) and
//! `method` pysiglib's number; the facade has validated both, and the core checks every size
//! again before any work.

use numpy::Element;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use super::arrays::{DType, PathArray, contiguous, dtype_of, output};
use super::errors::{fill_checking_finite, guarded, to_py_err};
use crate::{Layout, LogSigMethod, PathTransform, Scalar, Threads};

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

fn method(method: i64) -> PyResult<LogSigMethod> {
    LogSigMethod::from_index(method).map_err(to_py_err)
}

fn layout(dimension: usize, degree: usize) -> PyResult<Layout> {
    Layout::new(dimension, degree).map_err(to_py_err)
}

/// Borrows a read-only C-contiguous numpy array as a slice named `$name` in errors.
macro_rules! input {
    ($array:expr, $name:expr) => {
        contiguous::<T>($array, $name)?
    };
}

/// Log-signatures of a `(batch, length, channels)` array of paths into `out`. Returns whether
/// every value written is finite.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub(crate) fn log_sig(
    py: Python<'_>,
    path: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    degree: usize,
    time_aug: bool,
    lead_lag: bool,
    end_time: f64,
    method: i64,
    scalar_term: bool,
    n_jobs: i64,
) -> PyResult<bool> {
    let transform = PathTransform {
        time_aug,
        lead_lag,
        end_time,
    };
    let method = self::method(method)?;
    by_dtype!(
        path,
        "path",
        log_sig_typed(
            py,
            path,
            out,
            degree,
            &transform,
            method,
            scalar_term,
            n_jobs
        )
    )
}

#[allow(clippy::too_many_arguments)]
fn log_sig_typed<T: Scalar + Element>(
    py: Python<'_>,
    path: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    degree: usize,
    transform: &PathTransform,
    method: LogSigMethod,
    scalar_term: bool,
    n_jobs: i64,
) -> PyResult<bool> {
    let threads = threads(n_jobs)?;
    let path = PathArray::<T>::extract(path)?;
    let mut copy = None;
    let paths = path.view(&mut copy)?;
    let mut out = output::<T>(out, "out")?;
    let out = out.as_slice_mut().map_err(slice_err)?;
    fill_checking_finite(py, out, |out| {
        crate::log_sig(&paths, degree, transform, method, scalar_term, threads, out)
    })
}

/// Gradients of log-signatures with respect to their paths, into `out` `(batch, length,
/// channels)`.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub(crate) fn log_sig_backprop(
    py: Python<'_>,
    path: &Bound<'_, PyAny>,
    log_sig_derivs: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    degree: usize,
    time_aug: bool,
    lead_lag: bool,
    end_time: f64,
    method: i64,
    scalar_term: bool,
    n_jobs: i64,
) -> PyResult<()> {
    let transform = PathTransform {
        time_aug,
        lead_lag,
        end_time,
    };
    let method = self::method(method)?;
    by_dtype!(
        path,
        "path",
        log_sig_backprop_typed(
            py,
            path,
            log_sig_derivs,
            out,
            degree,
            &transform,
            method,
            scalar_term,
            n_jobs
        )
    )
}

#[allow(clippy::too_many_arguments)]
fn log_sig_backprop_typed<T: Scalar + Element>(
    py: Python<'_>,
    path: &Bound<'_, PyAny>,
    log_sig_derivs: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    degree: usize,
    transform: &PathTransform,
    method: LogSigMethod,
    scalar_term: bool,
    n_jobs: i64,
) -> PyResult<()> {
    let threads = threads(n_jobs)?;
    let path = PathArray::<T>::extract(path)?;
    let mut copy = None;
    let paths = path.view(&mut copy)?;
    let derivs = input!(log_sig_derivs, "log_sig_derivs");
    let derivs = derivs.as_slice().map_err(slice_err)?;
    let mut out = output::<T>(out, "out")?;
    let out = out.as_slice_mut().map_err(slice_err)?;
    py.detach(|| {
        guarded(|| {
            crate::log_sig_backprop(
                &paths,
                derivs,
                degree,
                transform,
                method,
                scalar_term,
                threads,
                out,
            )
        })
    })
}

/// Defines a binding `$name(<arrays>, <outs>, dimension, degree, <extra>, n_jobs)` over a core
/// function taking the layout or `(dimension, degree)`, slices and threads.
macro_rules! rows_binding {
    (
        $(#[$doc:meta])*
        fn $name:ident / $typed:ident (
            inputs: [$($input:ident),*], outputs: [$($out:ident),*], extra: [$($extra:ident: $ty:ty),*]
        ) => |$dim:ident, $deg:ident, $threads:ident| $call:expr
    ) => {
        $(#[$doc])*
        #[pyfunction]
        #[allow(clippy::too_many_arguments)]
        pub(crate) fn $name(
            py: Python<'_>,
            $($input: &Bound<'_, PyAny>,)*
            $($out: &Bound<'_, PyAny>,)*
            dimension: usize,
            degree: usize,
            $($extra: $ty,)*
            n_jobs: i64,
        ) -> PyResult<()> {
            let first = [$($input),*][0];
            by_dtype!(first, "input", $typed(py, $($input,)* $($out,)* dimension, degree, $($extra,)* n_jobs))
        }

        #[allow(clippy::too_many_arguments)]
        fn $typed<T: Scalar + Element>(
            py: Python<'_>,
            $($input: &Bound<'_, PyAny>,)*
            $($out: &Bound<'_, PyAny>,)*
            $dim: usize,
            $deg: usize,
            $($extra: $ty,)*
            n_jobs: i64,
        ) -> PyResult<()> {
            let $threads = threads(n_jobs)?;
            $(let $input = input!($input, stringify!($input));)*
            $(let $input = $input.as_slice().map_err(slice_err)?;)*
            $(let mut $out = output::<T>($out, stringify!($out))?;)*
            $(let $out = $out.as_slice_mut().map_err(slice_err)?;)*
            py.detach(|| guarded(|| $call))
        }
    };
}

rows_binding! {
    /// Log-signatures of `(batch, sig_len)` signatures into `out`.
    fn sig_to_log_sig / sig_to_log_sig_typed (
        inputs: [sig], outputs: [out], extra: [scalar_term: bool, method: i64]
    ) => |dimension, degree, threads| {
        crate::sig_to_log_sig(layout_or(dimension, degree)?, sig, scalar_term, method_or(method)?, threads, out)
    }
}

rows_binding! {
    /// Gradients of log-signatures with respect to their signatures, into `out`.
    fn sig_to_log_sig_backprop / sig_to_log_sig_backprop_typed (
        inputs: [sig, log_sig_derivs], outputs: [out], extra: [scalar_term: bool, method: i64]
    ) => |dimension, degree, threads| {
        crate::sig_to_log_sig_backprop(
            layout_or(dimension, degree)?, sig, log_sig_derivs, scalar_term, method_or(method)?, threads, out,
        )
    }
}

rows_binding! {
    /// Signatures of `(batch, len)` log-signatures into `out` (the exponential).
    fn logsig_to_sig / logsig_to_sig_typed (
        inputs: [log_sig], outputs: [out], extra: [method: i64, scalar_term: bool]
    ) => |dimension, degree, threads| {
        crate::log_sig_to_sig(layout_or(dimension, degree)?, log_sig, method_or(method)?, scalar_term, threads, out)
    }
}

rows_binding! {
    /// Gradients of signatures with respect to their log-signatures, into `out`.
    fn logsig_to_sig_backprop / logsig_to_sig_backprop_typed (
        inputs: [log_sig, sig_derivs], outputs: [out], extra: [method: i64, scalar_term: bool]
    ) => |dimension, degree, threads| {
        crate::log_sig_to_sig_backprop(
            layout_or(dimension, degree)?, log_sig, sig_derivs, method_or(method)?, scalar_term, threads, out,
        )
    }
}

rows_binding! {
    /// BCH products of two batches of log-signatures (bracket coordinates) into `out`.
    fn log_sig_combine / log_sig_combine_typed (
        inputs: [log_sig1, log_sig2], outputs: [out], extra: []
    ) => |dimension, degree, threads| {
        crate::log_sig_combine(dimension, degree, log_sig1, log_sig2, threads, out)
    }
}

rows_binding! {
    /// Gradients of BCH products with respect to both factors, into `out1` and `out2`.
    fn log_sig_combine_backprop / log_sig_combine_backprop_typed (
        inputs: [deriv, ls1, ls2], outputs: [out1, out2], extra: []
    ) => |dimension, degree, threads| {
        crate::log_sig_combine_backprop(dimension, degree, deriv, ls1, ls2, threads, out1, out2)
    }
}

rows_binding! {
    /// Log-signatures extended by straight segments, into `out`.
    fn log_sig_join / log_sig_join_typed (
        inputs: [log_sig, displacement], outputs: [out], extra: []
    ) => |dimension, degree, threads| {
        crate::log_sig_join(dimension, degree, log_sig, displacement, threads, out)
    }
}

rows_binding! {
    /// Gradients of joins with respect to the log-signatures and the displacements.
    fn log_sig_join_backprop / log_sig_join_backprop_typed (
        inputs: [d_out, log_sig, displacement], outputs: [out1, out2], extra: []
    ) => |dimension, degree, threads| {
        crate::log_sig_join_backprop(dimension, degree, d_out, log_sig, displacement, threads, out1, out2)
    }
}

/// The core's `Layout` and method inside `py.detach` (errors as core errors).
fn layout_or(dimension: usize, degree: usize) -> crate::Result<Layout> {
    Layout::new(dimension, degree)
}

fn method_or(method: i64) -> crate::Result<LogSigMethod> {
    LogSigMethod::from_index(method)
}

/// Witt's count of Lyndon coordinates; `ValueError` for degree 0 or an unrepresentable count.
#[pyfunction]
pub(crate) fn log_sig_length(dimension: usize, degree: usize) -> PyResult<usize> {
    crate::log_sig_length(dimension, degree).map_err(to_py_err)
}

/// Builds the Lyndon bracket basis of `(dimension, degree)` into the process cache (no-op when
/// it is there).
#[pyfunction]
pub(crate) fn prepare_log_sig(py: Python<'_>, dimension: usize, degree: usize) -> PyResult<()> {
    layout(dimension, degree)?;
    py.detach(|| guarded(|| crate::lyndon_basis(dimension, degree).map(drop)))
}

/// Whether the basis of `(dimension, degree)` is in the process cache.
#[pyfunction]
pub(crate) fn log_sig_basis_cached(dimension: usize, degree: usize) -> bool {
    crate::lyndon_basis_cached(dimension, degree)
}

/// The basis of `(dimension, degree)` as checksummed bytes (built if need be).
#[pyfunction]
pub(crate) fn log_sig_basis_bytes<'py>(
    py: Python<'py>,
    dimension: usize,
    degree: usize,
) -> PyResult<Bound<'py, PyBytes>> {
    let bytes = py.detach(|| guarded(|| crate::lyndon_basis_bytes(dimension, degree)))?;
    Ok(PyBytes::new(py, &bytes))
}

/// Loads a basis from bytes written by `log_sig_basis_bytes`; `False` (and nothing loaded)
/// when they are damaged or of another shape or version.
#[pyfunction]
pub(crate) fn load_log_sig_basis(
    py: Python<'_>,
    dimension: usize,
    degree: usize,
    data: &[u8],
) -> bool {
    py.detach(|| crate::load_lyndon_basis(dimension, degree, data))
}

/// Empties the process cache of tables.
#[pyfunction]
pub(crate) fn clear_cache() {
    crate::clear_cache();
}

/// Adds the family's functions to the extension module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(log_sig, m)?)?;
    m.add_function(wrap_pyfunction!(log_sig_backprop, m)?)?;
    m.add_function(wrap_pyfunction!(sig_to_log_sig, m)?)?;
    m.add_function(wrap_pyfunction!(sig_to_log_sig_backprop, m)?)?;
    m.add_function(wrap_pyfunction!(logsig_to_sig, m)?)?;
    m.add_function(wrap_pyfunction!(logsig_to_sig_backprop, m)?)?;
    m.add_function(wrap_pyfunction!(log_sig_combine, m)?)?;
    m.add_function(wrap_pyfunction!(log_sig_combine_backprop, m)?)?;
    m.add_function(wrap_pyfunction!(log_sig_join, m)?)?;
    m.add_function(wrap_pyfunction!(log_sig_join_backprop, m)?)?;
    m.add_function(wrap_pyfunction!(log_sig_length, m)?)?;
    m.add_function(wrap_pyfunction!(prepare_log_sig, m)?)?;
    m.add_function(wrap_pyfunction!(log_sig_basis_cached, m)?)?;
    m.add_function(wrap_pyfunction!(log_sig_basis_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(load_log_sig_basis, m)?)?;
    m.add_function(wrap_pyfunction!(clear_cache, m)?)?;
    Ok(())
}
