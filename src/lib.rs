//! Truncated path signatures, log-signatures, signature kernels and their gradients.
//!
//! The signature of a path `x: [0, T] → R^d` truncated at degree `N` is the sequence of iterated
//! integrals `S(x)^(k) = ∫_{0<t_1<…<t_k<T} dx_{t_1} ⊗ … ⊗ dx_{t_k}` for `k = 1..=N`, an element
//! of the truncated tensor algebra `T^N(R^d)`. For a piecewise-linear path it is the Chen
//! product of the exponentials of its increments, `exp(z_1) ⊗ … ⊗ exp(z_{L-1})`.
//!
//! The crate computes, for batches of paths in `f32` or `f64`:
//! - [`sig()`]: signatures, optionally of the time-augmented and/or lead-lag transformed path
//!   ([`PathTransform`]), folding each increment in with a fused multiply-exponentiate; what a
//!   signature is (degree, transform, scalar term) travels as one [`SigParams`];
//! - [`sig_with`]: the same with [`SigOptions`]: increments with per-segment higher-level
//!   corrections ([`Correction`], e.g. Itô signatures), and/or the signature of every prefix
//!   (a stream);
//! - [`sig_backprop`] / [`sig_backprop_with`]: their gradients with respect to the path, by
//!   reversibility (memory independent of the path's length);
//! - [`sig_backprop_jvp`]: second derivatives (Hessian-vector products), by running the same
//!   code on dual numbers;
//! - [`sig_combine`] / [`sig_combine_backprop`]: Chen products of signatures and their gradients;
//! - [`transform_path`] / [`transform_path_backprop`]: the transforms themselves;
//! - [`sig_join()`] / [`sig_join_backprop`] / [`linear_sig`]: signatures extended by a straight
//!   segment (one fused multiply-exponentiate each), and those of straight segments;
//! - [`sig_coef()`] / [`sig_coef_backprop`]: chosen coefficients of any length straight from the
//!   path, over a [`WordTrie`] of the words, and their gradients;
//! - [`log_sig()`] / [`log_sig_backprop`]: log-signatures of paths in pysiglib's coordinates
//!   ([`LogSigMethod`]) and their gradients; [`sig_to_log_sig`], [`log_sig_to_sig`],
//!   [`log_sig_combine`] (BCH), [`log_sig_join`] and their gradients (see [`logsig`]). Their
//!   tables are built on first use and kept in a process cache ([`lyndon_basis`]);
//! - [`sig_kernel`] / [`sig_kernel_gram`] and their gradients: signature kernels of pairs of
//!   paths, solutions of the Goursat PDE over a [`StaticKernel`]'s increments by the
//!   finite-difference or polynomial [`Method`] (see [`sigkernel`]).
//!
//! Buffers are flat slices in pysiglib's layout (see [`Layout`]); batches run on [`Threads`].
//! A batch may be ragged ([`Paths::with_lengths`]): each path then uses its own first points,
//! and gets exactly what it would alone.
//! The [`algebra`] module has the one-tensor building blocks.
//!
//! ```
//! use tensorsig::{Paths, SigParams, Threads};
//! let path = [0.0, 0.0, 1.0, 0.5, 1.5, 2.0]; // 3 points in R^2
//! let paths = Paths::new(&path, 1, 3, 2)?;
//! let params = SigParams::new(3); // degree 3, the path as given, no scalar term
//! let mut out = vec![0.0; params.layout(&paths)?.len()];
//! tensorsig::sig(&paths, &params, Threads::SERIAL, &mut out)?;
//! assert_eq!(&out[..2], &[1.5, 2.0]); // level 1 is the total increment
//! # Ok::<(), tensorsig::Error>(())
//! ```
#![warn(missing_docs)]

pub mod algebra;
mod batch_rows;
mod buffer;
mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;
mod error;
pub mod logsig;
pub mod path;
mod scalar;
mod sig_coef;
mod sig_join;
pub mod sigkernel;
mod simd;

#[cfg(feature = "python")]
mod python;

pub use algebra::Layout;
pub use cpu::{
    KernelGradient, SigKernelReport, sig_kernel, sig_kernel_backprop, sig_kernel_from_increments,
    sig_kernel_from_increments_backprop, sig_kernel_gram, sig_kernel_gram_backprop,
};
pub use cpu::{
    SigOptions, Threads, sig, sig_backprop, sig_backprop_jvp, sig_backprop_with, sig_combine,
    sig_combine_backprop, sig_with, transform_path, transform_path_backprop,
};
pub use cpu::{
    clear_cache, load_lyndon_basis, log_sig, log_sig_backprop, log_sig_combine,
    log_sig_combine_backprop, log_sig_join, log_sig_join_backprop, log_sig_length, log_sig_to_sig,
    log_sig_to_sig_backprop, lyndon_basis, lyndon_basis_bytes, lyndon_basis_cached, sig_to_log_sig,
    sig_to_log_sig_backprop,
};
pub use error::{DeviceErrorKind, Error, Result};
pub use logsig::LogSigMethod;
pub use path::{Correction, CorrectionRows, PathTransform, Paths, SigParams};
pub use scalar::{DType, Scalar};
pub use sig_coef::{WordTrie, sig_coef, sig_coef_backprop};
pub use sig_join::{linear_sig, sig_join, sig_join_backprop};
pub use sigkernel::{Method, StaticKernel};
pub use simd::simd_level;

/// The README's Rust example, compiled and run by `cargo test --doc`.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
