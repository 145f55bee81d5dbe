//! Truncated path signatures, Chen products and their gradients.
//!
//! The signature of a path `x: [0, T] → R^d` truncated at degree `N` is the sequence of iterated
//! integrals `S(x)^(k) = ∫_{0<t_1<…<t_k<T} dx_{t_1} ⊗ … ⊗ dx_{t_k}` for `k = 1..=N`, an element
//! of the truncated tensor algebra `T^N(R^d)`. For a piecewise-linear path it is the Chen
//! product of the exponentials of its increments, `exp(z_1) ⊗ … ⊗ exp(z_{L-1})`.
//!
//! The crate computes, for batches of paths in `f32` or `f64`:
//! - [`sig()`]: signatures, optionally of the time-augmented and/or lead-lag transformed path
//!   ([`PathTransform`]), folding each increment in with a fused multiply-exponentiate;
//! - [`sig_backprop`]: their gradients with respect to the path, by reversibility (memory
//!   independent of the path's length);
//! - [`sig_backprop_jvp`]: second derivatives (Hessian-vector products), by running the same
//!   code on dual numbers;
//! - [`sig_combine`] / [`sig_combine_backprop`]: Chen products of signatures and their gradients;
//! - [`transform_path`] / [`transform_path_backprop`]: the transforms themselves.
//!
//! Buffers are flat slices in pysiglib's layout (see [`Layout`]); batches run on [`Threads`].
//! The [`algebra`] module has the one-tensor building blocks.
//!
//! ```
//! use tensorsig::{PathTransform, Paths, Threads};
//! let path = [0.0, 0.0, 1.0, 0.5, 1.5, 2.0]; // 3 points in R^2
//! let paths = Paths::new(&path, 1, 3, 2)?;
//! let layout = tensorsig::signature_layout(&paths, 3, &PathTransform::default())?;
//! let mut out = vec![0.0; layout.len()];
//! tensorsig::sig(&paths, 3, &PathTransform::default(), false, Threads::SERIAL, &mut out)?;
//! assert_eq!(&out[..2], &[1.5, 2.0]); // level 1 is the total increment
//! # Ok::<(), tensorsig::Error>(())
//! ```
#![warn(missing_docs)]

pub mod algebra;
mod buffer;
mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;
mod error;
mod scalar;
pub mod sig;
pub mod sigkernel;
mod simd;

#[cfg(feature = "python")]
mod python;

pub use algebra::Layout;
pub use cpu::{
    KernelGradient, SigKernelReport, Threads, sig, sig_backprop, sig_backprop_jvp, sig_combine,
    sig_combine_backprop, sig_kernel, sig_kernel_backprop, sig_kernel_from_increments,
    sig_kernel_from_increments_backprop, sig_kernel_gram, sig_kernel_gram_backprop,
    signature_layout, transform_path, transform_path_backprop,
};
pub use error::{Error, Result};
pub use scalar::Scalar;
pub use sig::{PathTransform, Paths};
pub use sigkernel::{Method, StaticKernel};
pub use simd::simd_level;
