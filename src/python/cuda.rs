//! GPU operands and the CUDA runtime: arrays borrowed through `__cuda_array_interface__` (torch
//! CUDA tensors, CuPy arrays), and the functions the facade uses to find and check CUDA.
//!
//! The ops' GPU arms (`ops/`) launch on the stream the facade passes; launches are asynchronous,
//! like torch's own kernels, and `n_jobs` is unused there (a launch uses the whole GPU). The
//! core trusts device pointers, so every shape, stride and dtype is checked here first.

use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::errors::{argument_type_error, guarded, invalid_argument, shape_error};
use crate::DType;
use crate::cuda::{self, DevicePaths};

/// A CUDA array borrowed through the CUDA array interface (version 2 or 3).
pub(crate) struct CudaArray {
    /// The argument's name, for errors.
    pub(crate) name: &'static str,
    ptr: u64,
    /// The array's shape.
    pub(crate) shape: Vec<usize>,
    /// Strides in elements.
    strides: Vec<i64>,
    /// The element type.
    pub(crate) dtype: DType,
}

impl CudaArray {
    pub(crate) fn extract(value: &Bound<'_, PyAny>, name: &'static str) -> PyResult<Self> {
        let interface = value
            .getattr("__cuda_array_interface__")
            .map_err(|e| argument_type_error(format!("{name} must be a CUDA array: {e}")))?;
        // A malformed interface is the array's fault, not a bug: a TypeError naming it.
        let malformed = |e: PyErr| {
            argument_type_error(format!(
                "{name}'s __cuda_array_interface__ is not a valid one: {e}"
            ))
        };
        let interface = interface
            .cast::<PyDict>()
            .map_err(|e| malformed(e.into()))?;
        let item = |key: &str| -> PyResult<Bound<'_, PyAny>> {
            interface
                .get_item(key)?
                .ok_or_else(|| shape_error(format!("{name}'s CUDA array interface lacks {key:?}")))
        };
        let shape: Vec<usize> = item("shape")?.extract().map_err(malformed)?;
        let typestr: String = item("typestr")?.extract().map_err(malformed)?;
        let (ptr, _read_only): (u64, bool) = item("data")?.extract().map_err(malformed)?;
        let dtype = match typestr.as_str() {
            "<f4" => DType::F32,
            "<f8" => DType::F64,
            other => {
                return Err(argument_type_error(format!(
                    "{name}.dtype must be float32 or float64, got {other:?}"
                )));
            }
        };
        let size = dtype.size() as i64;
        let strides = match interface.get_item("strides")? {
            Some(s) if !s.is_none() => {
                let bytes: Vec<i64> = s.extract().map_err(malformed)?;
                if bytes.iter().any(|b| b % size != 0) {
                    return Err(shape_error(format!(
                        "{name}'s strides are not whole elements"
                    )));
                }
                bytes.iter().map(|b| b / size).collect()
            }
            _ => contiguous_strides(&shape),
        };
        if strides.len() != shape.len() {
            return Err(shape_error(format!(
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

    pub(crate) fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// The array as a batch of paths: 3-d, any non-negative strides.
    pub(crate) fn paths(&self) -> PyResult<DevicePaths> {
        let [batch, length, dim] = self.shape[..] else {
            return Err(shape_error(format!(
                "{} must have 3 dimensions (batch, length, channels), got {}",
                self.name,
                self.shape.len()
            )));
        };
        if self.strides.iter().any(|&s| s < 0) {
            return Err(shape_error(format!(
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
    pub(crate) fn rows(&self, dtype: DType, len: usize) -> PyResult<u64> {
        if self.dtype != dtype {
            return Err(invalid_argument(format!(
                "{} must have the same dtype as the other arguments",
                self.name
            )));
        }
        if self.len() != len {
            return Err(shape_error(format!(
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
            return Err(shape_error(format!("{} must be C-contiguous", self.name)));
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
