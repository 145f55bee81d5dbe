//! NVIDIA GPUs (feature `cuda`): every batched function on device memory, launched on the
//! caller's stream.
//!
//! Kernels are CUDA C embedded in the crate (`kernels/`), compiled by NVRTC at first use for the
//! GPU at hand and specialised by constants for the element type, dimension and degree (so that
//! loops unroll), then cached for the process. Both the driver (through cudarc) and NVRTC are
//! loaded at run time: building needs no CUDA toolkit, and without a GPU, driver or NVRTC every
//! entry point returns [`Error::Device`](crate::Error::Device) saying what is missing.

mod device;
mod nvrtc;
mod ops;

pub use device::{compile_check, device_count};
pub use nvrtc::{set_library_path as set_nvrtc_path, version as nvrtc_version};
pub use ops::{
    DevicePaths, Stream, sig, sig_backprop, sig_backprop_jvp, sig_combine, sig_combine_backprop,
    transform_path, transform_path_backprop,
};
