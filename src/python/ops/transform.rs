//! The path transforms: `transform_path` and `transform_path_backprop`.

use pyo3::prelude::*;

use super::{threads, transform};
use crate::python::arrays::{read_paths, read_rows, with_dtype, write_rows};
use crate::python::device::{Device, Launch};
use crate::python::errors::detached;

/// Time-augmented and/or lead-lag transformed paths, into `out`.
#[pyfunction]
#[pyo3(signature = (path, out, time_aug, lead_lag, end_time, n_jobs, *, launch=None))]
#[allow(clippy::too_many_arguments)] // the facade's flat call
pub(crate) fn transform_path(
    py: Python<'_>,
    path: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    time_aug: bool,
    lead_lag: bool,
    end_time: f64,
    n_jobs: i64,
    launch: Option<Launch>,
) -> PyResult<()> {
    let transform = transform(time_aug, lead_lag, end_time);
    match Device::of(path, "path", launch)? {
        Device::Cpu(dtype) => with_dtype!(dtype, |T| {
            let threads = threads(n_jobs)?;
            read_paths!(T: path);
            write_rows!(T: out);
            detached(py, || {
                crate::transform_path(&path, &transform, threads, out)
            })
        }),
        #[cfg(feature = "cuda")]
        Device::Cuda(at) => {
            let path = crate::python::cuda::CudaArray::extract(path, "path")?;
            let paths = path.paths()?;
            let len = paths.batch * transform.len(paths.length) * transform.dim(paths.dim);
            let out = crate::python::cuda::CudaArray::extract(out, "out")?.rows(path.dtype, len)?;
            // SAFETY: shapes, strides and dtypes checked above; the tensors outlive the call and
            // torch's allocator does not reuse their memory before work queued on the stream
            // is done.
            detached(py, || unsafe {
                crate::cuda::transform_path(at, path.dtype, &paths, &transform, out)
            })
        }
    }
}

/// Gradients through [`transform_path`]: `derivs` `(batch, length', channels')` into `out`
/// `(batch, length, channels)`.
#[pyfunction]
#[pyo3(signature = (
    derivs, out, length, dimension, time_aug, lead_lag, end_time, n_jobs, *, launch=None
))]
#[allow(clippy::too_many_arguments)] // the facade's flat call
pub(crate) fn transform_path_backprop(
    py: Python<'_>,
    derivs: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    length: usize,
    dimension: usize,
    time_aug: bool,
    lead_lag: bool,
    end_time: f64,
    n_jobs: i64,
    launch: Option<Launch>,
) -> PyResult<()> {
    let transform = transform(time_aug, lead_lag, end_time);
    match Device::of(derivs, "derivs", launch)? {
        Device::Cpu(dtype) => with_dtype!(dtype, |T| {
            let threads = threads(n_jobs)?;
            read_rows!(T: derivs);
            write_rows!(T: out);
            // An empty original path makes every row empty; then there is nothing to do for
            // any batch.
            let batch = out.len().checked_div(length * dimension).unwrap_or(0);
            detached(py, || {
                crate::transform_path_backprop(
                    derivs, batch, length, dimension, &transform, threads, out,
                )
            })
        }),
        #[cfg(feature = "cuda")]
        Device::Cuda(at) => {
            let derivs = crate::python::cuda::CudaArray::extract(derivs, "derivs")?;
            let dtype = derivs.dtype;
            let batch = derivs.shape.first().copied().unwrap_or(0);
            let grad = derivs.rows(
                dtype,
                batch * transform.len(length) * transform.dim(dimension),
            )?;
            let out = crate::python::cuda::CudaArray::extract(out, "out")?
                .rows(dtype, batch * length * dimension)?;
            // SAFETY: as in `transform_path`.
            detached(py, || unsafe {
                crate::cuda::transform_path_backprop(
                    at, dtype, grad, batch, length, dimension, &transform, out,
                )
            })
        }
    }
}

/// Adds the family's bindings to the extension module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(transform_path, m)?)?;
    m.add_function(wrap_pyfunction!(transform_path_backprop, m)?)?;
    Ok(())
}
