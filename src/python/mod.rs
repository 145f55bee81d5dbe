//! The `tensorsig._core` extension module: thin PyO3 bindings over the core.
//!
//! Only this module knows about Python. The facade (`python/tensorsig/`) validates arguments,
//! converts containers and allocates outputs; each op's one binding (`ops/`) runs it on the
//! device of its operands, borrowing the arrays, releasing the GIL for the whole computation and
//! mapping core errors to `tensorsig.exceptions`.

mod arrays;
#[cfg(feature = "cuda")]
mod cuda;
mod device;
mod errors;
mod ops;
mod sig_options;

use pyo3::prelude::*;

/// The native part of tensorsig. Not a public API: use the `tensorsig` package.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    ops::register(m)?;
    #[cfg(feature = "cuda")]
    {
        m.add_function(wrap_pyfunction!(cuda::cuda_device_count, m)?)?;
        m.add_function(wrap_pyfunction!(cuda::cuda_set_nvrtc_path, m)?)?;
        m.add_function(wrap_pyfunction!(cuda::cuda_nvrtc_version, m)?)?;
        m.add_function(wrap_pyfunction!(cuda::cuda_compile_check, m)?)?;
    }
    m.add("HAS_CUDA", cfg!(feature = "cuda"))?;
    Ok(())
}
