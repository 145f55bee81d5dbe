//! Core errors and panics → Python exceptions.

use std::panic::{AssertUnwindSafe, catch_unwind};

use pyo3::exceptions::{PyMemoryError, PyRuntimeError, PyValueError};
use pyo3::{PyErr, Python};

use crate::{Error, Scalar};

/// The Python exception for a core error: argument and size mistakes are `ValueError`s, failed
/// allocations `MemoryError`s, and thread-pool or device failures `RuntimeError`s.
pub(crate) fn to_py_err(error: Error) -> PyErr {
    let message = error.to_string();
    match error {
        Error::InvalidArgument { .. } | Error::Shape { .. } | Error::TooLarge { .. } => {
            PyValueError::new_err(message)
        }
        Error::OutOfMemory { .. } => PyMemoryError::new_err(message),
        Error::ThreadPool { .. } | Error::Device { .. } => PyRuntimeError::new_err(message),
    }
}

/// Runs `work`, turning a panic (a bug: inputs are validated before any work starts) into a
/// `RuntimeError` instead of letting it cross into Python as a `PanicException`.
pub(crate) fn guarded<R>(work: impl FnOnce() -> crate::Result<R>) -> Result<R, PyErr> {
    match catch_unwind(AssertUnwindSafe(work)) {
        Ok(result) => result.map_err(to_py_err),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(PyRuntimeError::new_err(format!(
                "internal error in tensorsig (please report it): {what}"
            )))
        }
    }
}

/// Runs `fill` on `out` with the GIL released, guarded as by [`guarded`], and says whether every
/// value it wrote is finite (the facades warn otherwise).
pub(crate) fn fill_checking_finite<T: Scalar>(
    py: Python<'_>,
    out: &mut [T],
    fill: impl FnOnce(&mut [T]) -> crate::Result<()> + Send,
) -> Result<bool, PyErr> {
    py.detach(|| {
        guarded(|| {
            fill(out)?;
            Ok(crate::scalar::all_finite(out))
        })
    })
}
