//! The `tensorsig._core` extension module: thin PyO3 bindings over the core.
//!
//! Only this module knows about Python. The facade (`python/tensorsig/`) validates arguments,
//! converts containers and allocates outputs; the functions here borrow numpy arrays, release
//! the GIL for the whole computation and map core errors to Python exceptions.

mod arrays;
mod cpu;
#[cfg(feature = "cuda")]
mod cuda;
mod errors;
mod extras;
mod logsig;
mod sig_options;
mod sigkernel;

use pyo3::prelude::*;

/// The native part of tensorsig. Not a public API: use the `tensorsig` package.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(cpu::sig, m)?)?;
    m.add_function(wrap_pyfunction!(cpu::sig_new, m)?)?;
    m.add_function(wrap_pyfunction!(cpu::sig_backprop, m)?)?;
    m.add_function(wrap_pyfunction!(cpu::sig_backprop_jvp, m)?)?;
    m.add_function(wrap_pyfunction!(cpu::sig_combine, m)?)?;
    m.add_function(wrap_pyfunction!(cpu::sig_combine_backprop, m)?)?;
    m.add_function(wrap_pyfunction!(cpu::transform_path, m)?)?;
    m.add_function(wrap_pyfunction!(cpu::transform_path_backprop, m)?)?;
    m.add_function(wrap_pyfunction!(cpu::sig_length, m)?)?;
    m.add_function(wrap_pyfunction!(cpu::resolve_n_jobs, m)?)?;
    m.add_function(wrap_pyfunction!(extras::sig_join, m)?)?;
    m.add_function(wrap_pyfunction!(extras::sig_join_backprop, m)?)?;
    m.add_function(wrap_pyfunction!(extras::linear_sig, m)?)?;
    m.add_function(wrap_pyfunction!(extras::sig_coef, m)?)?;
    m.add_function(wrap_pyfunction!(extras::sig_coef_backprop, m)?)?;
    logsig::register(m)?;
    m.add_function(wrap_pyfunction!(sigkernel::sig_kernel, m)?)?;
    m.add_function(wrap_pyfunction!(sigkernel::sig_kernel_backprop, m)?)?;
    m.add_function(wrap_pyfunction!(sigkernel::sig_kernel_increments, m)?)?;
    m.add_function(wrap_pyfunction!(
        sigkernel::sig_kernel_increments_backprop,
        m
    )?)?;
    #[cfg(feature = "cuda")]
    {
        m.add_function(wrap_pyfunction!(cuda::cuda_sig, m)?)?;
        m.add_function(wrap_pyfunction!(cuda::cuda_sig_backprop, m)?)?;
        m.add_function(wrap_pyfunction!(cuda::cuda_sig_backprop_jvp, m)?)?;
        m.add_function(wrap_pyfunction!(cuda::cuda_sig_combine, m)?)?;
        m.add_function(wrap_pyfunction!(cuda::cuda_sig_combine_backprop, m)?)?;
        m.add_function(wrap_pyfunction!(cuda::cuda_transform_path, m)?)?;
        m.add_function(wrap_pyfunction!(cuda::cuda_transform_path_backprop, m)?)?;
        m.add_function(wrap_pyfunction!(cuda::cuda_device_count, m)?)?;
        m.add_function(wrap_pyfunction!(cuda::cuda_set_nvrtc_path, m)?)?;
        m.add_function(wrap_pyfunction!(cuda::cuda_nvrtc_version, m)?)?;
        m.add_function(wrap_pyfunction!(cuda::cuda_compile_check, m)?)?;
    }
    m.add("HAS_CUDA", cfg!(feature = "cuda"))?;
    Ok(())
}
