//! The GPU entry points: objects exposing `__cuda_array_interface__` (torch CUDA tensors, CuPy
//! arrays) in, outputs allocated by the facade on the same device.
//!
//! Each function takes the same positional arguments as its CPU twin in `cpu.rs` (so the facade
//! calls either the same way) plus the keywords `device` and `stream`: the device ordinal and the
//! raw `cudaStream_t` to launch on, torch's current stream. `n_jobs` is accepted and unused (a
//! launch uses the whole GPU). Launches are asynchronous, like torch's own kernels.
//!
//! The core trusts device pointers, so every shape, stride and dtype is checked here first.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::errors::guarded;
use crate::DType;
use crate::cuda::{self, DevicePaths, Stream};
use crate::{Layout, PathTransform};

/// A CUDA array borrowed through the CUDA array interface (version 2 or 3).
struct CudaArray {
    name: &'static str,
    ptr: u64,
    shape: Vec<usize>,
    /// Strides in elements.
    strides: Vec<i64>,
    dtype: DType,
}

impl CudaArray {
    fn extract(value: &Bound<'_, PyAny>, name: &'static str) -> PyResult<Self> {
        let interface = value
            .getattr("__cuda_array_interface__")
            .map_err(|e| PyTypeError::new_err(format!("{name} must be a CUDA array: {e}")))?;
        let interface = interface.cast::<PyDict>()?;
        let item = |key: &str| -> PyResult<Bound<'_, PyAny>> {
            interface.get_item(key)?.ok_or_else(|| {
                PyValueError::new_err(format!("{name}'s CUDA array interface lacks {key:?}"))
            })
        };
        let shape: Vec<usize> = item("shape")?.extract()?;
        let typestr: String = item("typestr")?.extract()?;
        let (ptr, _read_only): (u64, bool) = item("data")?.extract()?;
        let dtype = match typestr.as_str() {
            "<f4" => DType::F32,
            "<f8" => DType::F64,
            other => {
                return Err(PyTypeError::new_err(format!(
                    "{name}.dtype must be float32 or float64, got {other:?}"
                )));
            }
        };
        let size = dtype.size() as i64;
        let strides = match interface.get_item("strides")? {
            Some(s) if !s.is_none() => {
                let bytes: Vec<i64> = s.extract()?;
                if bytes.iter().any(|b| b % size != 0) {
                    return Err(PyValueError::new_err(format!(
                        "{name}'s strides are not whole elements"
                    )));
                }
                bytes.iter().map(|b| b / size).collect()
            }
            _ => contiguous_strides(&shape),
        };
        if strides.len() != shape.len() {
            return Err(PyValueError::new_err(format!(
                "{name}'s CUDA array interface has {} strides for {} dimensions",
                strides.len(),
                shape.len()
            )));
        }
        Ok(CudaArray {
            name,
            ptr,
            shape,
            strides,
            dtype,
        })
    }

    fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// The array as a batch of paths: 3-d, any non-negative strides.
    fn paths(&self) -> PyResult<DevicePaths> {
        let [batch, length, dim] = self.shape[..] else {
            return Err(PyValueError::new_err(format!(
                "{} must have 3 dimensions (batch, length, channels), got {}",
                self.name,
                self.shape.len()
            )));
        };
        if self.strides.iter().any(|&s| s < 0) {
            return Err(PyValueError::new_err(format!(
                "{} has negative strides; pass a contiguous copy",
                self.name
            )));
        }
        Ok(DevicePaths {
            ptr: self.ptr,
            batch,
            length,
            dim,
            strides: [self.strides[0], self.strides[1], self.strides[2]],
        })
    }

    /// The device address of a C-contiguous array of `dtype` holding exactly `len` values.
    fn rows(&self, dtype: DType, len: usize) -> PyResult<u64> {
        if self.dtype != dtype {
            return Err(PyValueError::new_err(format!(
                "{} must have the same dtype as the other arguments",
                self.name
            )));
        }
        if self.len() != len {
            return Err(PyValueError::new_err(format!(
                "{} holds {} values where {len} are needed",
                self.name,
                self.len()
            )));
        }
        let expected = contiguous_strides(&self.shape);
        let contiguous = self
            .shape
            .iter()
            .zip(self.strides.iter().zip(&expected))
            .all(|(&n, (s, e))| n <= 1 || s == e);
        if !contiguous {
            return Err(PyValueError::new_err(format!(
                "{} must be C-contiguous",
                self.name
            )));
        }
        Ok(self.ptr)
    }
}

fn contiguous_strides(shape: &[usize]) -> Vec<i64> {
    let mut strides = vec![1i64; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        strides[i] = strides[i + 1] * shape[i + 1] as i64;
    }
    strides
}

fn transform(time_aug: bool, lead_lag: bool, end_time: f64) -> PathTransform {
    PathTransform {
        time_aug,
        lead_lag,
        end_time,
    }
}

/// The path argument of a signature function: the array, its paths and the signatures' layout.
fn signature_args(
    path: &Bound<'_, PyAny>,
    transform: &PathTransform,
    degree: usize,
) -> PyResult<(CudaArray, DevicePaths, Layout)> {
    let array = CudaArray::extract(path, "path")?;
    let paths = array.paths()?;
    let layout = Layout::new(transform.dim(paths.dim), degree).map_err(super::errors::to_py_err)?;
    Ok((array, paths, layout))
}

/// Signatures on the GPU; see `cpu::sig`. Returns true: finiteness is not checked, which would
/// mean waiting for the GPU.
#[pyfunction]
#[pyo3(signature = (path, out, degree, time_aug, lead_lag, end_time, scalar_term, n_jobs, *, device, stream))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn cuda_sig(
    py: Python<'_>,
    path: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    degree: usize,
    time_aug: bool,
    lead_lag: bool,
    end_time: f64,
    scalar_term: bool,
    n_jobs: i64,
    device: i32,
    stream: u64,
) -> PyResult<bool> {
    let _ = n_jobs;
    let transform = transform(time_aug, lead_lag, end_time);
    let (path, paths, layout) = signature_args(path, &transform, degree)?;
    let out = CudaArray::extract(out, "out")?
        .rows(path.dtype, paths.batch * layout.len_with(scalar_term))?;
    let at = Stream { device, stream };
    // SAFETY: shapes, strides and dtypes checked above; the tensors outlive the call and torch's
    // allocator does not reuse their memory before work queued on the stream is done.
    py.detach(|| {
        guarded(|| unsafe {
            cuda::sig(at, path.dtype, &paths, degree, &transform, scalar_term, out)
        })
    })?;
    Ok(true)
}

/// Gradients of signatures on the GPU; see `cpu::sig_backprop`.
#[pyfunction]
#[pyo3(signature = (path, sig, sig_derivs, out, degree, time_aug, lead_lag, end_time, scalar_term, n_jobs, *, device, stream))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn cuda_sig_backprop(
    py: Python<'_>,
    path: &Bound<'_, PyAny>,
    sig: &Bound<'_, PyAny>,
    sig_derivs: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    degree: usize,
    time_aug: bool,
    lead_lag: bool,
    end_time: f64,
    scalar_term: bool,
    n_jobs: i64,
    device: i32,
    stream: u64,
) -> PyResult<()> {
    let _ = n_jobs;
    let transform = transform(time_aug, lead_lag, end_time);
    let (path, paths, layout) = signature_args(path, &transform, degree)?;
    let rows = paths.batch * layout.len_with(scalar_term);
    let sig = CudaArray::extract(sig, "sig")?.rows(path.dtype, rows)?;
    let derivs = CudaArray::extract(sig_derivs, "sig_derivs")?.rows(path.dtype, rows)?;
    let out = CudaArray::extract(out, "out")?.rows(path.dtype, path.len())?;
    let at = Stream { device, stream };
    // SAFETY: as in `cuda_sig`.
    py.detach(|| {
        guarded(|| unsafe {
            cuda::sig_backprop(
                at,
                path.dtype,
                &paths,
                degree,
                &transform,
                scalar_term,
                sig,
                derivs,
                out,
            )
        })
    })
}

/// Second derivatives of signatures on the GPU; see `cpu::sig_backprop_jvp`.
#[pyfunction]
#[pyo3(signature = (path, directions, sig_derivs, jvp_out, hvp_out, degree, time_aug, lead_lag, end_time, scalar_term, n_jobs, *, device, stream))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn cuda_sig_backprop_jvp(
    py: Python<'_>,
    path: &Bound<'_, PyAny>,
    directions: &Bound<'_, PyAny>,
    sig_derivs: &Bound<'_, PyAny>,
    jvp_out: &Bound<'_, PyAny>,
    hvp_out: &Bound<'_, PyAny>,
    degree: usize,
    time_aug: bool,
    lead_lag: bool,
    end_time: f64,
    scalar_term: bool,
    n_jobs: i64,
    device: i32,
    stream: u64,
) -> PyResult<()> {
    let _ = n_jobs;
    let transform = transform(time_aug, lead_lag, end_time);
    let (path, paths, layout) = signature_args(path, &transform, degree)?;
    let directions = CudaArray::extract(directions, "directions")?;
    if directions.shape != path.shape || directions.dtype != path.dtype {
        return Err(PyValueError::new_err(
            "directions must have the shape and dtype of path",
        ));
    }
    let directions = directions.paths()?;
    let rows = paths.batch * layout.len_with(scalar_term);
    let derivs = CudaArray::extract(sig_derivs, "sig_derivs")?.rows(path.dtype, rows)?;
    let jvp = CudaArray::extract(jvp_out, "jvp_out")?.rows(path.dtype, rows)?;
    let hvp = CudaArray::extract(hvp_out, "hvp_out")?.rows(path.dtype, path.len())?;
    let at = Stream { device, stream };
    // SAFETY: as in `cuda_sig`.
    py.detach(|| {
        guarded(|| unsafe {
            cuda::sig_backprop_jvp(
                at,
                path.dtype,
                &paths,
                &directions,
                degree,
                &transform,
                scalar_term,
                derivs,
                jvp,
                hvp,
            )
        })
    })
}

/// The shapes shared by the Chen-product functions: the layout and the number of products.
fn product_shape(
    first: &CudaArray,
    dimension: usize,
    degree: usize,
    scalar_term: bool,
) -> PyResult<(Layout, usize)> {
    let layout = Layout::new(dimension, degree).map_err(super::errors::to_py_err)?;
    let row = layout.len_with(scalar_term);
    if row == 0 || first.shape.last() != Some(&row) {
        return Err(PyValueError::new_err(format!(
            "{} must have rows of {row} values",
            first.name
        )));
    }
    Ok((layout, first.len() / row))
}

/// Chen products on the GPU; see `cpu::sig_combine`.
#[pyfunction]
#[pyo3(signature = (sig1, sig2, out, dimension, degree, scalar_term, n_jobs, *, device, stream))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn cuda_sig_combine(
    py: Python<'_>,
    sig1: &Bound<'_, PyAny>,
    sig2: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    dimension: usize,
    degree: usize,
    scalar_term: bool,
    n_jobs: i64,
    device: i32,
    stream: u64,
) -> PyResult<()> {
    let _ = n_jobs;
    let first = CudaArray::extract(sig1, "sig1")?;
    let (layout, count) = product_shape(&first, dimension, degree, scalar_term)?;
    let (dtype, len) = (first.dtype, first.len());
    let a = first.rows(dtype, len)?;
    let b = CudaArray::extract(sig2, "sig2")?.rows(dtype, len)?;
    let out = CudaArray::extract(out, "out")?.rows(dtype, len)?;
    let at = Stream { device, stream };
    // SAFETY: as in `cuda_sig`.
    py.detach(|| {
        guarded(|| unsafe { cuda::sig_combine(at, dtype, layout, scalar_term, count, a, b, out) })
    })
}

/// Gradients of Chen products on the GPU; see `cpu::sig_combine_backprop`.
#[pyfunction]
#[pyo3(signature = (deriv, sig1, sig2, out1, out2, dimension, degree, scalar_term, n_jobs, *, device, stream))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn cuda_sig_combine_backprop(
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
    device: i32,
    stream: u64,
) -> PyResult<()> {
    let _ = n_jobs;
    let first = CudaArray::extract(sig1, "sig1")?;
    let (layout, count) = product_shape(&first, dimension, degree, scalar_term)?;
    let (dtype, len) = (first.dtype, first.len());
    let a = first.rows(dtype, len)?;
    let g = CudaArray::extract(deriv, "deriv")?.rows(dtype, len)?;
    let b = CudaArray::extract(sig2, "sig2")?.rows(dtype, len)?;
    let da = CudaArray::extract(out1, "out1")?.rows(dtype, len)?;
    let db = CudaArray::extract(out2, "out2")?.rows(dtype, len)?;
    let at = Stream { device, stream };
    // SAFETY: as in `cuda_sig`.
    py.detach(|| {
        guarded(|| unsafe {
            cuda::sig_combine_backprop(at, dtype, layout, scalar_term, count, g, a, b, da, db)
        })
    })
}

/// Transformed paths on the GPU; see `cpu::transform_path`.
#[pyfunction]
#[pyo3(signature = (path, out, time_aug, lead_lag, end_time, n_jobs, *, device, stream))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn cuda_transform_path(
    py: Python<'_>,
    path: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    time_aug: bool,
    lead_lag: bool,
    end_time: f64,
    n_jobs: i64,
    device: i32,
    stream: u64,
) -> PyResult<()> {
    let _ = n_jobs;
    let transform = transform(time_aug, lead_lag, end_time);
    let path = CudaArray::extract(path, "path")?;
    let paths = path.paths()?;
    let len = paths.batch * transform.len(paths.length) * transform.dim(paths.dim);
    let out = CudaArray::extract(out, "out")?.rows(path.dtype, len)?;
    let at = Stream { device, stream };
    // SAFETY: as in `cuda_sig`.
    py.detach(|| {
        guarded(|| unsafe { cuda::transform_path(at, path.dtype, &paths, &transform, out) })
    })
}

/// Gradients through transforms on the GPU; see `cpu::transform_path_backprop`.
#[pyfunction]
#[pyo3(signature = (derivs, out, length, dimension, time_aug, lead_lag, end_time, n_jobs, *, device, stream))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn cuda_transform_path_backprop(
    py: Python<'_>,
    derivs: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    length: usize,
    dimension: usize,
    time_aug: bool,
    lead_lag: bool,
    end_time: f64,
    n_jobs: i64,
    device: i32,
    stream: u64,
) -> PyResult<()> {
    let _ = n_jobs;
    let transform = transform(time_aug, lead_lag, end_time);
    let derivs = CudaArray::extract(derivs, "derivs")?;
    let dtype = derivs.dtype;
    let batch = derivs.shape.first().copied().unwrap_or(0);
    let grad = derivs.rows(
        dtype,
        batch * transform.len(length) * transform.dim(dimension),
    )?;
    let out = CudaArray::extract(out, "out")?.rows(dtype, batch * length * dimension)?;
    let at = Stream { device, stream };
    // SAFETY: as in `cuda_sig`.
    py.detach(|| {
        guarded(|| unsafe {
            cuda::transform_path_backprop(
                at, dtype, grad, batch, length, dimension, &transform, out,
            )
        })
    })
}

/// The number of CUDA devices the driver reports; raises `RuntimeError` saying why CUDA cannot
/// be used (no driver, no GPU).
#[pyfunction]
pub(crate) fn cuda_device_count() -> PyResult<usize> {
    guarded(cuda::device_count)
}

/// Where to load NVRTC from (the facade finds it in torch's CUDA wheels); before first use.
#[pyfunction]
pub(crate) fn cuda_set_nvrtc_path(path: &str) {
    cuda::set_nvrtc_path(path);
}

/// NVRTC's version as `(major, minor)`; raises `RuntimeError` if it cannot be loaded.
#[pyfunction]
pub(crate) fn cuda_nvrtc_version() -> PyResult<(i32, i32)> {
    guarded(cuda::nvrtc_version)
}

/// Compiles every kernel for one specialisation and architecture (`sm_90`, ...) without a GPU;
/// returns the size of the binary. For tests on machines without one.
#[pyfunction]
pub(crate) fn cuda_compile_check(
    py: Python<'_>,
    double: bool,
    dim: usize,
    degree: usize,
    dual: bool,
    arch: &str,
) -> PyResult<usize> {
    let dtype = if double { DType::F64 } else { DType::F32 };
    let arch = arch.to_owned();
    py.detach(|| guarded(|| cuda::compile_check(dtype, dim, degree, dual, &arch)))
}
