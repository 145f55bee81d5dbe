//! The log-signature ops, and the process cache of their tables. CPU kernels only.
//!
//! `dimension` is always the augmented dimension (after lead-lag and time augmentation) and
//! `method` pysiglib's number; the facade has validated both, and the core checks every size
//! again before any work.

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use super::{layout, sig_params, threads};
use crate::python::arrays::{read_paths, read_rows, with_dtype, write_rows};
use crate::python::device::{Launch, cpu_dtype};
use crate::python::errors::{detached, fill_checking_finite, to_py_err};
use crate::{Layout, LogSigMethod};

fn method(method: i64) -> PyResult<LogSigMethod> {
    LogSigMethod::from_index(method).map_err(to_py_err)
}

/// Log-signatures of a `(batch, length, channels)` array of paths into `out`. Returns whether
/// every value written is finite.
#[pyfunction]
#[pyo3(signature = (
    path, out, degree, time_aug, lead_lag, end_time, method, scalar_term, n_jobs, *, launch=None
))]
#[allow(clippy::too_many_arguments)] // the facade's flat call
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
    launch: Option<Launch>,
) -> PyResult<bool> {
    let params = sig_params(degree, time_aug, lead_lag, end_time, scalar_term);
    let method = self::method(method)?;
    with_dtype!(cpu_dtype(path, "path", launch, "log_sig")?, |T| {
        let threads = threads(n_jobs)?;
        read_paths!(T: path);
        write_rows!(T: out);
        fill_checking_finite(py, out, |out| {
            crate::log_sig(&path, &params, method, threads, out)
        })
    })
}

/// Gradients of log-signatures with respect to their paths, into `out` `(batch, length,
/// channels)`.
#[pyfunction]
#[pyo3(signature = (
    path, log_sig_derivs, out, degree, time_aug, lead_lag, end_time, method, scalar_term, n_jobs,
    *, launch=None
))]
#[allow(clippy::too_many_arguments)] // the facade's flat call
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
    launch: Option<Launch>,
) -> PyResult<()> {
    let params = sig_params(degree, time_aug, lead_lag, end_time, scalar_term);
    let method = self::method(method)?;
    with_dtype!(cpu_dtype(path, "path", launch, "log_sig_backprop")?, |T| {
        let threads = threads(n_jobs)?;
        read_paths!(T: path);
        read_rows!(T: log_sig_derivs);
        write_rows!(T: out);
        detached(py, || {
            crate::log_sig_backprop(&path, log_sig_derivs, &params, method, threads, out)
        })
    })
}

/// Defines a binding `$name(<inputs>, <outputs>, dimension, degree, <extra>, n_jobs, *,
/// launch=None)` over a core function of flat rows: `$call` sees the inputs as slices, the
/// outputs as mutable slices, and the layout (when it can be formed) and the threads.
macro_rules! rows_binding {
    (
        $(#[$doc:meta])*
        fn $name:ident (
            inputs: [$first:ident $(, $input:ident)*], outputs: [$($out:ident),*],
            extra: [$($extra:ident: $ty:ty),*]
        ) => |$dim:ident, $deg:ident, $threads:ident| $call:expr
    ) => {
        $(#[$doc])*
        #[pyfunction]
        #[pyo3(signature = (
            $first, $($input,)* $($out,)* dimension, degree, $($extra,)* n_jobs, *, launch=None
        ))]
        #[allow(clippy::too_many_arguments)] // the facade's flat call
        pub(crate) fn $name(
            py: Python<'_>,
            $first: &Bound<'_, PyAny>,
            $($input: &Bound<'_, PyAny>,)*
            $($out: &Bound<'_, PyAny>,)*
            dimension: usize,
            degree: usize,
            $($extra: $ty,)*
            n_jobs: i64,
            launch: Option<Launch>,
        ) -> PyResult<()> {
            let dtype = cpu_dtype($first, stringify!($first), launch, stringify!($name))?;
            with_dtype!(dtype, |T| {
                let ($dim, $deg, $threads) = (dimension, degree, threads(n_jobs)?);
                read_rows!(T: $first $(, $input)*);
                write_rows!(T: $($out),*);
                detached(py, || $call)
            })
        }
    };
}

rows_binding! {
    /// Log-signatures of `(batch, sig_len)` signatures into `out`.
    fn sig_to_log_sig (
        inputs: [sig], outputs: [out], extra: [scalar_term: bool, method: i64]
    ) => |dimension, degree, threads| {
        crate::sig_to_log_sig(Layout::new(dimension, degree)?, sig, scalar_term, LogSigMethod::from_index(method)?, threads, out)
    }
}

rows_binding! {
    /// Gradients of log-signatures with respect to their signatures, into `out`.
    fn sig_to_log_sig_backprop (
        inputs: [sig, log_sig_derivs], outputs: [out], extra: [scalar_term: bool, method: i64]
    ) => |dimension, degree, threads| {
        crate::sig_to_log_sig_backprop(
            Layout::new(dimension, degree)?, sig, log_sig_derivs, scalar_term, LogSigMethod::from_index(method)?, threads, out,
        )
    }
}

rows_binding! {
    /// Signatures of `(batch, len)` log-signatures into `out` (the exponential).
    fn logsig_to_sig (
        inputs: [log_sig], outputs: [out], extra: [method: i64, scalar_term: bool]
    ) => |dimension, degree, threads| {
        crate::log_sig_to_sig(Layout::new(dimension, degree)?, log_sig, LogSigMethod::from_index(method)?, scalar_term, threads, out)
    }
}

rows_binding! {
    /// Gradients of signatures with respect to their log-signatures, into `out`.
    fn logsig_to_sig_backprop (
        inputs: [log_sig, sig_derivs], outputs: [out], extra: [method: i64, scalar_term: bool]
    ) => |dimension, degree, threads| {
        crate::log_sig_to_sig_backprop(
            Layout::new(dimension, degree)?, log_sig, sig_derivs, LogSigMethod::from_index(method)?, scalar_term, threads, out,
        )
    }
}

rows_binding! {
    /// BCH products of two batches of log-signatures (bracket coordinates) into `out`.
    fn log_sig_combine (
        inputs: [log_sig1, log_sig2], outputs: [out], extra: []
    ) => |dimension, degree, threads| {
        crate::log_sig_combine(dimension, degree, log_sig1, log_sig2, threads, out)
    }
}

rows_binding! {
    /// Gradients of BCH products with respect to both factors, into `out1` and `out2`.
    fn log_sig_combine_backprop (
        inputs: [deriv, ls1, ls2], outputs: [out1, out2], extra: []
    ) => |dimension, degree, threads| {
        crate::log_sig_combine_backprop(dimension, degree, deriv, ls1, ls2, threads, out1, out2)
    }
}

rows_binding! {
    /// Log-signatures extended by straight segments, into `out`.
    fn log_sig_join (
        inputs: [log_sig, displacement], outputs: [out], extra: []
    ) => |dimension, degree, threads| {
        crate::log_sig_join(dimension, degree, log_sig, displacement, threads, out)
    }
}

rows_binding! {
    /// Gradients of joins with respect to the log-signatures and the displacements.
    fn log_sig_join_backprop (
        inputs: [d_out, log_sig, displacement], outputs: [out1, out2], extra: []
    ) => |dimension, degree, threads| {
        crate::log_sig_join_backprop(dimension, degree, d_out, log_sig, displacement, threads, out1, out2)
    }
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
    detached(py, || crate::lyndon_basis(dimension, degree).map(drop))
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
    let bytes = detached(py, || crate::lyndon_basis_bytes(dimension, degree))?;
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

/// Adds the family's bindings to the extension module.
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
