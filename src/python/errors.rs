//! Core errors and panics → Python exceptions, and the constructors of the bindings' own
//! argument errors: every exception a binding raises is made here.
//!
//! The classes are those of `tensorsig.exceptions`, each also the built-in exception pysiglib
//! raises for the same mistake (`ShapeError` is a `ValueError`, …). (pyo3's conversion of the
//! arguments themselves, e.g. a negative int for a `usize`, raises its built-in `TypeError` or
//! `OverflowError` before a binding runs; the facade has checked those values already.)

use std::panic::{AssertUnwindSafe, catch_unwind};

use pyo3::{PyErr, Python};

use crate::{Error, Scalar};

/// The classes of `tensorsig.exceptions`, imported when first raised.
mod classes {
    pyo3::import_exception!(tensorsig.exceptions, ArgumentTypeError);
    pyo3::import_exception!(tensorsig.exceptions, InvalidArgumentError);
    pyo3::import_exception!(tensorsig.exceptions, ShapeError);
    pyo3::import_exception!(tensorsig.exceptions, OutOfMemoryError);
    pyo3::import_exception!(tensorsig.exceptions, DeviceError);
    pyo3::import_exception!(tensorsig.exceptions, ThreadPoolError);
    pyo3::import_exception!(tensorsig.exceptions, InternalError);
}

/// The Python exception for a core error: argument mistakes are `InvalidArgumentError`s,
/// sizes `ShapeError`s (both `ValueError`s), failed allocations `OutOfMemoryError`s, and
/// thread-pool or device failures `ThreadPoolError`s and `DeviceError`s (`RuntimeError`s).
pub(crate) fn to_py_err(error: Error) -> PyErr {
    let message = error.to_string();
    match error {
        Error::InvalidArgument { .. } => classes::InvalidArgumentError::new_err(message),
        Error::Shape { .. } | Error::TooLarge { .. } => classes::ShapeError::new_err(message),
        Error::OutOfMemory { .. } => classes::OutOfMemoryError::new_err(message),
        Error::ThreadPool { .. } => classes::ThreadPoolError::new_err(message),
        Error::Device { .. } => classes::DeviceError::new_err(message),
    }
}

/// An argument of the wrong type or dtype: `ArgumentTypeError` (a `TypeError`).
pub(crate) fn argument_type_error(message: impl Into<String>) -> PyErr {
    classes::ArgumentTypeError::new_err(message.into())
}

/// An array of the wrong shape or layout: `ShapeError` (a `ValueError`).
pub(crate) fn shape_error(message: impl Into<String>) -> PyErr {
    classes::ShapeError::new_err(message.into())
}

/// An argument outside its domain: `InvalidArgumentError` (a `ValueError`).
pub(crate) fn invalid_argument(message: impl Into<String>) -> PyErr {
    classes::InvalidArgumentError::new_err(message.into())
}

/// The refusal of an operand on a GPU by `what`, which has CPU kernels only: a `DeviceError`
/// that says how to move the data.
#[cfg(feature = "cuda")] // without CUDA no operand is ever on a GPU
pub(crate) fn cpu_only(what: &str) -> PyErr {
    to_py_err(Error::Device {
        kind: crate::DeviceErrorKind::Unsupported,
        message: format!(
            "tensorsig computes {what} on the CPU only for now; move the tensors there with .cpu() first"
        ),
    })
}

/// Runs `work`, turning a panic (a bug: inputs are validated before any work starts) into an
/// `InternalError` instead of letting it cross into Python as a `PanicException`.
pub(crate) fn guarded<R>(work: impl FnOnce() -> crate::Result<R>) -> Result<R, PyErr> {
    match catch_unwind(AssertUnwindSafe(work)) {
        Ok(result) => result.map_err(to_py_err),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(classes::InternalError::new_err(format!(
                "internal error in tensorsig (please report it): {what}"
            )))
        }
    }
}

/// Runs `work` with the GIL released, guarded as by [`guarded`].
pub(crate) fn detached<R: Send>(
    py: Python<'_>,
    work: impl FnOnce() -> crate::Result<R> + Send,
) -> Result<R, PyErr> {
    py.detach(|| guarded(work))
}

/// Runs `fill` on `out` with the GIL released, guarded as by [`guarded`], and says whether every
/// value it wrote is finite (the facades warn otherwise).
pub(crate) fn fill_checking_finite<T: Scalar>(
    py: Python<'_>,
    out: &mut [T],
    fill: impl FnOnce(&mut [T]) -> crate::Result<()> + Send,
) -> Result<bool, PyErr> {
    detached(py, || {
        fill(out)?;
        Ok(crate::scalar::all_finite(out))
    })
}
