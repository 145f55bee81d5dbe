//! The Chen-product ops: `sig_combine` and `sig_combine_backprop`.

use pyo3::prelude::*;

use super::{layout, threads};
use crate::python::arrays::{read_rows, with_dtype, write_rows};
use crate::python::device::{Device, Launch};
use crate::python::errors::detached;

/// Chen products of two `(batch, sig_len)` arrays of signatures of `dimension`, into `out`.
#[pyfunction]
#[pyo3(signature = (sig1, sig2, out, dimension, degree, scalar_term, n_jobs, *, launch=None))]
#[allow(clippy::too_many_arguments)] // the facade's flat call
pub(crate) fn sig_combine(
    py: Python<'_>,
    sig1: &Bound<'_, PyAny>,
    sig2: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    dimension: usize,
    degree: usize,
    scalar_term: bool,
    n_jobs: i64,
    launch: Option<Launch>,
) -> PyResult<()> {
    match Device::of(sig1, "sig1", launch)? {
        Device::Cpu(dtype) => with_dtype!(dtype, |T| {
            let (threads, layout) = (threads(n_jobs)?, layout(dimension, degree)?);
            read_rows!(T: sig1, sig2);
            write_rows!(T: out);
            detached(py, || {
                crate::sig_combine(layout, sig1, sig2, scalar_term, threads, out)
            })
        }),
        #[cfg(feature = "cuda")]
        Device::Cuda(at) => {
            let first = gpu::CudaArray::extract(sig1, "sig1")?;
            let (layout, count) = gpu::product_shape(&first, dimension, degree, scalar_term)?;
            let (dtype, len) = (first.dtype, first.len());
            let a = first.rows(dtype, len)?;
            let b = gpu::CudaArray::extract(sig2, "sig2")?.rows(dtype, len)?;
            let out = gpu::CudaArray::extract(out, "out")?.rows(dtype, len)?;
            // SAFETY: shapes and dtypes checked above; the tensors outlive the call and torch's
            // allocator does not reuse their memory before work queued on the stream is done.
            detached(py, || unsafe {
                crate::cuda::sig_combine(at, dtype, layout, scalar_term, count, a, b, out)
            })
        }
    }
}

/// Gradients of Chen products with respect to both factors, into `out1` and `out2`.
#[pyfunction]
#[pyo3(signature = (
    deriv, sig1, sig2, out1, out2, dimension, degree, scalar_term, n_jobs, *, launch=None
))]
#[allow(clippy::too_many_arguments)] // the facade's flat call
pub(crate) fn sig_combine_backprop(
    py: Python<'_>,
    deriv: &Bound<'_, PyAny>,
    sig1: &Bound<'_, PyAny>,
    sig2: &Bound<'_, PyAny>,
    out1: &Bound<'_, PyAny>,
    out2: &Bound<'_, PyAny>,
    dimension: usize,
    degree: usize,
    scalar_term: bool,
    n_jobs: i64,
    launch: Option<Launch>,
) -> PyResult<()> {
    match Device::of(sig1, "sig1", launch)? {
        Device::Cpu(dtype) => with_dtype!(dtype, |T| {
            let (threads, layout) = (threads(n_jobs)?, layout(dimension, degree)?);
            read_rows!(T: deriv, sig1, sig2);
            write_rows!(T: out1, out2);
            detached(py, || {
                crate::sig_combine_backprop(
                    layout,
                    deriv,
                    sig1,
                    sig2,
                    scalar_term,
                    threads,
                    out1,
                    out2,
                )
            })
        }),
        #[cfg(feature = "cuda")]
        Device::Cuda(at) => {
            let first = gpu::CudaArray::extract(sig1, "sig1")?;
            let (layout, count) = gpu::product_shape(&first, dimension, degree, scalar_term)?;
            let (dtype, len) = (first.dtype, first.len());
            let a = first.rows(dtype, len)?;
            let g = gpu::CudaArray::extract(deriv, "deriv")?.rows(dtype, len)?;
            let b = gpu::CudaArray::extract(sig2, "sig2")?.rows(dtype, len)?;
            let da = gpu::CudaArray::extract(out1, "out1")?.rows(dtype, len)?;
            let db = gpu::CudaArray::extract(out2, "out2")?.rows(dtype, len)?;
            // SAFETY: as in `sig_combine`.
            detached(py, || unsafe {
                crate::cuda::sig_combine_backprop(
                    at,
                    dtype,
                    layout,
                    scalar_term,
                    count,
                    g,
                    a,
                    b,
                    da,
                    db,
                )
            })
        }
    }
}

/// The GPU arms' argument checks.
#[cfg(feature = "cuda")]
mod gpu {
    use pyo3::prelude::*;

    use crate::Layout;
    pub(super) use crate::python::cuda::CudaArray;
    use crate::python::errors::shape_error;

    /// The layout and the number of products, from the first factor's shape.
    pub(super) fn product_shape(
        first: &CudaArray,
        dimension: usize,
        degree: usize,
        scalar_term: bool,
    ) -> PyResult<(Layout, usize)> {
        let layout = super::layout(dimension, degree)?;
        let row = layout.len_with(scalar_term);
        if row == 0 || first.shape.last() != Some(&row) {
            return Err(shape_error(format!(
                "{} must have rows of {row} values",
                first.name
            )));
        }
        Ok((layout, first.len() / row))
    }
}

/// Adds the family's bindings to the extension module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(sig_combine, m)?)?;
    m.add_function(wrap_pyfunction!(sig_combine_backprop, m)?)?;
    Ok(())
}
