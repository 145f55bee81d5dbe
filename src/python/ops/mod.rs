//! One binding per op, by family.
//!
//! Each binding takes the op's arrays (outputs allocated by the facade, except `sig_new`'s),
//! its parameters in the order of the op's spec (`python/tensorsig/_specs/`), the thread count
//! `n_jobs`, and the keyword `launch` for GPU operands (see [`super::device`]). It asks
//! [`Device::of`](super::device::Device::of) where to run, borrows the arrays for the element
//! type once ([`with_dtype!`](super::arrays::with_dtype)), releases the GIL for the core call
//! and maps errors through [`super::errors`].

pub(crate) mod combine;
pub(crate) mod extras;
pub(crate) mod logsig;
pub(crate) mod sigkernel;
pub(crate) mod signature;
pub(crate) mod transform;

use pyo3::prelude::*;

use super::errors::to_py_err;
use crate::{Layout, PathTransform, SigParams, Threads};

/// The threads `n_jobs` stands for (pysiglib's convention).
fn threads(n_jobs: i64) -> PyResult<Threads> {
    Threads::from_n_jobs(n_jobs).map_err(to_py_err)
}

/// The layout of signatures of `dimension` truncated at `degree`.
fn layout(dimension: usize, degree: usize) -> PyResult<Layout> {
    Layout::new(dimension, degree).map_err(to_py_err)
}

/// The path transform from the facade's three flags.
fn transform(time_aug: bool, lead_lag: bool, end_time: f64) -> PathTransform {
    PathTransform {
        time_aug,
        lead_lag,
        end_time,
    }
}

/// What the signature ops compute, from the facade's flat arguments.
fn sig_params(
    degree: usize,
    time_aug: bool,
    lead_lag: bool,
    end_time: f64,
    scalar_term: bool,
) -> SigParams {
    SigParams {
        degree,
        transform: transform(time_aug, lead_lag, end_time),
        scalar_term,
    }
}

/// Adds every op's binding to the extension module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    signature::register(m)?;
    combine::register(m)?;
    transform::register(m)?;
    extras::register(m)?;
    logsig::register(m)?;
    sigkernel::register(m)?;
    Ok(())
}
