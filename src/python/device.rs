//! Where an op runs: the device of the array that decides it (the first array argument, or for a
//! backward pass the forward's first input).
//!
//! A numpy array runs on the CPU. An object exposing `__cuda_array_interface__` (a torch CUDA
//! tensor, a CuPy array) runs on its GPU, on the stream the facade passes as `launch=(device,
//! stream)`: torch's current stream there, so that the launch is ordered with the caller's
//! other work. Every binding (but `sig_new`, numpy's allocating shortcut) takes `launch` and asks
//! [`Device::of`]; an op without GPU kernels refuses a GPU operand through
//! [`Device::cpu_only`], so the facade needs no per-device names.

use numpy::PyUntypedArray;
use pyo3::prelude::*;

use super::arrays::{DType, dtype_of};
use super::errors::argument_type_error;

/// The facade's launch parameters for a GPU operand: the device ordinal and the raw
/// `cudaStream_t`.
pub(crate) type Launch = (i32, u64);

/// The device an op runs on.
pub(crate) enum Device {
    /// numpy arrays of this element type.
    Cpu(DType),
    /// CUDA arrays, launched on this stream.
    #[cfg(feature = "cuda")]
    Cuda(crate::cuda::Stream),
}

impl Device {
    /// The device of `array` (the op's first array argument, `name` in errors).
    pub(crate) fn of(
        array: &Bound<'_, PyAny>,
        name: &str,
        launch: Option<Launch>,
    ) -> PyResult<Self> {
        if array.cast::<PyUntypedArray>().is_ok() {
            return Ok(Device::Cpu(dtype_of(array, name)?));
        }
        if !array.hasattr("__cuda_array_interface__")? {
            return Err(argument_type_error(format!(
                "{name} must be a numpy array or a CUDA array"
            )));
        }
        match launch {
            #[cfg(feature = "cuda")]
            Some((device, stream)) => Ok(Device::Cuda(crate::cuda::Stream { device, stream })),
            #[cfg(not(feature = "cuda"))]
            Some(_) => Err(super::errors::to_py_err(crate::Error::Device {
                kind: crate::DeviceErrorKind::Unavailable,
                message: "this build of tensorsig was compiled without CUDA support".into(),
            })),
            None => Err(argument_type_error(format!(
                "{name} is a CUDA array: the call needs launch=(device, stream)"
            ))),
        }
    }

    /// The element type of an op with CPU kernels only; a GPU operand is refused with a
    /// `DeviceError` naming the op.
    #[cfg_attr(not(feature = "cuda"), allow(unused_variables))]
    pub(crate) fn cpu_only(self, op: &str) -> PyResult<DType> {
        match self {
            Device::Cpu(dtype) => Ok(dtype),
            #[cfg(feature = "cuda")]
            Device::Cuda(_) => Err(super::errors::cpu_only(op)),
        }
    }
}

/// The element type of an op with CPU kernels only, from its first array argument.
pub(crate) fn cpu_dtype(
    array: &Bound<'_, PyAny>,
    name: &str,
    launch: Option<Launch>,
    op: &str,
) -> PyResult<DType> {
    Device::of(array, name, launch)?.cpu_only(op)
}
