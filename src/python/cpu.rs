//! The CPU entry points: numpy arrays in, numpy arrays (allocated by the caller) out.
//!
//! The facade validates arguments and allocates outputs; these functions borrow the arrays,
//! release the GIL and run the core. Sizes are checked again by the core before any work.

use numpy::{Element, PyArray1, PyArray2, PyArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use super::arrays::{DType, PathArray, contiguous, dtype_of, output};
use super::errors::{fill_checking_finite, guarded, to_py_err};
use super::sig_options::{correction_of, path_lengths};
use crate::{Layout, PathTransform, Scalar, SigOptions, Threads};

/// Calls `$f::<f32>` or `$f::<f64>` by the element type of the numpy array `$array`.
macro_rules! by_dtype {
    ($array:expr, $name:expr, $f:ident($($arg:expr),* $(,)?)) => {
        match dtype_of($array, $name)? {
            DType::F32 => $f::<f32>($($arg),*),
            DType::F64 => $f::<f64>($($arg),*),
        }
    };
}

fn slice_err(e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(e.to_string())
}

fn threads(n_jobs: i64) -> PyResult<Threads> {
    Threads::from_n_jobs(n_jobs).map_err(to_py_err)
}

/// The optional arguments of `sig` and `sig_backprop`.
#[derive(Clone, Copy)]
struct Extras<'a, 'py> {
    /// Corrections, rank 1 (shared), 2 (per segment) or 3 (per path and segment).
    correction: Option<&'a Bound<'py, PyAny>>,
    /// One `int64` length per path: a ragged batch.
    lengths: Option<&'a Bound<'py, PyAny>>,
    /// Every prefix's signature: `out` is `(batch, steps, sig_len)`.
    stream: bool,
}

/// Signatures of a `(batch, length, channels)` array of paths into `out` `(batch, sig_len)`, or
/// with `stream` `(batch, steps, sig_len)`. Returns whether every value written is finite (the
/// facade warns otherwise).
#[pyfunction]
#[pyo3(signature = (
    path, out, degree, time_aug, lead_lag, end_time, scalar_term, n_jobs,
    correction=None, lengths=None, stream=false
))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn sig(
    py: Python<'_>,
    path: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    degree: usize,
    time_aug: bool,
    lead_lag: bool,
    end_time: f64,
    scalar_term: bool,
    n_jobs: i64,
    correction: Option<&Bound<'_, PyAny>>,
    lengths: Option<&Bound<'_, PyAny>>,
    stream: bool,
) -> PyResult<bool> {
    let transform = PathTransform {
        time_aug,
        lead_lag,
        end_time,
    };
    let extras = Extras {
        correction,
        lengths,
        stream,
    };
    by_dtype!(
        path,
        "path",
        sig_typed(
            py,
            path,
            out,
            degree,
            &transform,
            scalar_term,
            n_jobs,
            extras
        )
    )
}

#[allow(clippy::too_many_arguments)]
fn sig_typed<T: Scalar + Element>(
    py: Python<'_>,
    path: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    degree: usize,
    transform: &PathTransform,
    scalar_term: bool,
    n_jobs: i64,
    extras: Extras<'_, '_>,
) -> PyResult<bool> {
    let threads = threads(n_jobs)?;
    let path = PathArray::<T>::extract(path)?;
    let mut copy = None;
    let mut paths = path.view(&mut copy)?;
    let lengths = extras.lengths.map(path_lengths).transpose()?;
    if let Some(lengths) = &lengths {
        paths = paths.with_lengths(lengths).map_err(to_py_err)?;
    }
    let correction = extras
        .correction
        .map(|c| contiguous::<T>(c, "correction"))
        .transpose()?;
    let options = SigOptions {
        correction: correction
            .as_ref()
            .map(correction_of)
            .transpose()?
            .flatten(),
        stream: extras.stream,
    };
    let mut out = output::<T>(out, "out")?;
    let out = out.as_slice_mut().map_err(slice_err)?;
    fill_checking_finite(py, out, |out| {
        crate::sig_with(
            &paths,
            degree,
            transform,
            scalar_term,
            &options,
            threads,
            out,
        )
    })
}

/// The results the fast entry [`sig_new`] leaves to the facade's general path: above this many
/// bytes the facade checks the size against the machine's memory first, and the work dwarfs the
/// facade's cost anyway.
const SIG_NEW_MAX_BYTES: usize = 1 << 30;

/// `sig` of the most common call, the output allocated here: the signatures of one path
/// `(length, channels)` into a new `(sig_len,)` array, or of a batch `(batch, length, channels)`
/// into `(batch, sig_len)`. Returns them with whether every value is finite (the facade warns
/// otherwise), or None for a call whose result would be empty or over 1 GiB: the facade's general
/// path then takes it, and owns those checks and their messages.
///
/// Allocating here spares a small call the facade's numpy allocation, its size checks and the
/// output's borrow: with the facade's other shortcuts, a call on a (2, 3) path at degree 3 went
/// from 6 to 2.2 µs.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub(crate) fn sig_new<'py>(
    py: Python<'py>,
    path: &Bound<'py, PyAny>,
    degree: usize,
    time_aug: bool,
    lead_lag: bool,
    end_time: f64,
    scalar_term: bool,
    n_jobs: i64,
) -> PyResult<Option<(Bound<'py, PyAny>, bool)>> {
    let transform = PathTransform {
        time_aug,
        lead_lag,
        end_time,
    };
    by_dtype!(
        path,
        "path",
        sig_new_typed(py, path, degree, &transform, scalar_term, n_jobs)
    )
}

fn sig_new_typed<'py, T: Scalar + Element>(
    py: Python<'py>,
    path: &Bound<'py, PyAny>,
    degree: usize,
    transform: &PathTransform,
    scalar_term: bool,
    n_jobs: i64,
) -> PyResult<Option<(Bound<'py, PyAny>, bool)>> {
    let threads = threads(n_jobs)?;
    let (path, single) = PathArray::<T>::extract_one_or_many(path)?;
    let mut copy = None;
    let paths = path.view(&mut copy)?;
    // A signature has at least `degree` coefficients; a larger bound here also keeps the layout
    // from counting through a huge degree of a 1-channel path.
    if degree > SIG_NEW_MAX_BYTES / std::mem::size_of::<T>() {
        return Ok(None);
    }
    let Ok(layout) = crate::cpu::signature_layout(&paths, degree, transform) else {
        return Ok(None);
    };
    let width = layout.len_with(scalar_term);
    let fits = paths
        .batch()
        .checked_mul(width)
        .and_then(|n| n.checked_mul(std::mem::size_of::<T>()))
        .is_some_and(|bytes| bytes <= SIG_NEW_MAX_BYTES);
    if width == 0 || paths.batch() == 0 || paths.is_empty() || !fits {
        return Ok(None);
    }
    // SAFETY: a new C-contiguous array, not yet shared with Python or borrowed elsewhere, so the
    // slice is its only view; `sig_with` writes every element before Python can read one (on an
    // error the array is dropped unread).
    let (out, values) = unsafe {
        if single {
            let array = PyArray1::<T>::new(py, width, false);
            let values = std::slice::from_raw_parts_mut(array.data(), width);
            (array.into_any(), values)
        } else {
            let array = PyArray2::<T>::new(py, [paths.batch(), width], false);
            let values = std::slice::from_raw_parts_mut(array.data(), paths.batch() * width);
            (array.into_any(), values)
        }
    };
    let finite = fill_checking_finite(py, values, |out| {
        let options = SigOptions::default();
        crate::sig_with(
            &paths,
            degree,
            transform,
            scalar_term,
            &options,
            threads,
            out,
        )
    })?;
    Ok(Some((out, finite)))
}

/// Gradients of signatures with respect to their paths, into `out` `(batch, length, channels)`;
/// the optional arguments as for `sig`, the signatures and their gradients being what `sig`
/// wrote with them.
#[pyfunction]
#[pyo3(signature = (
    path, sig, sig_derivs, out, degree, time_aug, lead_lag, end_time, scalar_term, n_jobs,
    correction=None, lengths=None, stream=false
))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn sig_backprop(
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
    correction: Option<&Bound<'_, PyAny>>,
    lengths: Option<&Bound<'_, PyAny>>,
    stream: bool,
) -> PyResult<()> {
    let transform = PathTransform {
        time_aug,
        lead_lag,
        end_time,
    };
    let extras = Extras {
        correction,
        lengths,
        stream,
    };
    by_dtype!(
        path,
        "path",
        sig_backprop_typed(
            py,
            path,
            sig,
            sig_derivs,
            out,
            degree,
            &transform,
            scalar_term,
            n_jobs,
            extras
        )
    )
}

#[allow(clippy::too_many_arguments)]
fn sig_backprop_typed<T: Scalar + Element>(
    py: Python<'_>,
    path: &Bound<'_, PyAny>,
    sig: &Bound<'_, PyAny>,
    sig_derivs: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    degree: usize,
    transform: &PathTransform,
    scalar_term: bool,
    n_jobs: i64,
    extras: Extras<'_, '_>,
) -> PyResult<()> {
    let threads = threads(n_jobs)?;
    let path = PathArray::<T>::extract(path)?;
    let mut copy = None;
    let mut paths = path.view(&mut copy)?;
    let lengths = extras.lengths.map(path_lengths).transpose()?;
    if let Some(lengths) = &lengths {
        paths = paths.with_lengths(lengths).map_err(to_py_err)?;
    }
    let correction = extras
        .correction
        .map(|c| contiguous::<T>(c, "correction"))
        .transpose()?;
    let options = SigOptions {
        correction: correction
            .as_ref()
            .map(correction_of)
            .transpose()?
            .flatten(),
        stream: extras.stream,
    };
    let sig = contiguous::<T>(sig, "sig")?;
    let sig_derivs = contiguous::<T>(sig_derivs, "sig_derivs")?;
    let (sig, sig_derivs) = (
        sig.as_slice().map_err(slice_err)?,
        sig_derivs.as_slice().map_err(slice_err)?,
    );
    let mut out = output::<T>(out, "out")?;
    let out = out.as_slice_mut().map_err(slice_err)?;
    py.detach(|| {
        guarded(|| {
            crate::sig_backprop_with(
                &paths,
                sig,
                sig_derivs,
                degree,
                transform,
                scalar_term,
                &options,
                threads,
                out,
            )
        })
    })
}

/// Second derivatives: for `F = <sig_derivs, S(path)>` and a direction `directions` shaped like
/// `path`, writes `dS[v]` into `jvp_out` and the Hessian of `F` applied to `v` into `hvp_out`.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub(crate) fn sig_backprop_jvp(
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
) -> PyResult<()> {
    let transform = PathTransform {
        time_aug,
        lead_lag,
        end_time,
    };
    by_dtype!(
        path,
        "path",
        sig_backprop_jvp_typed(
            py,
            path,
            directions,
            sig_derivs,
            jvp_out,
            hvp_out,
            degree,
            &transform,
            scalar_term,
            n_jobs
        )
    )
}

#[allow(clippy::too_many_arguments)]
fn sig_backprop_jvp_typed<T: Scalar + Element>(
    py: Python<'_>,
    path: &Bound<'_, PyAny>,
    directions: &Bound<'_, PyAny>,
    sig_derivs: &Bound<'_, PyAny>,
    jvp_out: &Bound<'_, PyAny>,
    hvp_out: &Bound<'_, PyAny>,
    degree: usize,
    transform: &PathTransform,
    scalar_term: bool,
    n_jobs: i64,
) -> PyResult<()> {
    let threads = threads(n_jobs)?;
    let (path, directions) = (
        PathArray::<T>::extract(path)?,
        PathArray::<T>::extract(directions)?,
    );
    let (mut copy, mut direction_copy) = (None, None);
    let paths = path.view(&mut copy)?;
    let directions = directions.view(&mut direction_copy)?;
    let sig_derivs = contiguous::<T>(sig_derivs, "sig_derivs")?;
    let sig_derivs = sig_derivs.as_slice().map_err(slice_err)?;
    let (mut jvp, mut hvp) = (
        output::<T>(jvp_out, "jvp_out")?,
        output::<T>(hvp_out, "hvp_out")?,
    );
    let (jvp, hvp) = (
        jvp.as_slice_mut().map_err(slice_err)?,
        hvp.as_slice_mut().map_err(slice_err)?,
    );
    py.detach(|| {
        guarded(|| {
            crate::sig_backprop_jvp(
                &paths,
                &directions,
                sig_derivs,
                degree,
                transform,
                scalar_term,
                threads,
                jvp,
                hvp,
            )
        })
    })
}

/// Chen products of two `(batch, sig_len)` arrays of signatures of `dimension`, into `out`.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub(crate) fn sig_combine(
    py: Python<'_>,
    sig1: &Bound<'_, PyAny>,
    sig2: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    dimension: usize,
    degree: usize,
    scalar_term: bool,
    n_jobs: i64,
) -> PyResult<()> {
    by_dtype!(
        sig1,
        "sig1",
        sig_combine_typed(py, sig1, sig2, out, dimension, degree, scalar_term, n_jobs)
    )
}

#[allow(clippy::too_many_arguments)]
fn sig_combine_typed<T: Scalar + Element>(
    py: Python<'_>,
    sig1: &Bound<'_, PyAny>,
    sig2: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    dimension: usize,
    degree: usize,
    scalar_term: bool,
    n_jobs: i64,
) -> PyResult<()> {
    let threads = threads(n_jobs)?;
    let layout = Layout::new(dimension, degree).map_err(to_py_err)?;
    let (sig1, sig2) = (
        contiguous::<T>(sig1, "sig1")?,
        contiguous::<T>(sig2, "sig2")?,
    );
    let (sig1, sig2) = (
        sig1.as_slice().map_err(slice_err)?,
        sig2.as_slice().map_err(slice_err)?,
    );
    let mut out = output::<T>(out, "out")?;
    let out = out.as_slice_mut().map_err(slice_err)?;
    py.detach(|| guarded(|| crate::sig_combine(layout, sig1, sig2, scalar_term, threads, out)))
}

/// Gradients of Chen products with respect to both factors, into `out1` and `out2`.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
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
) -> PyResult<()> {
    by_dtype!(
        sig1,
        "sig1",
        sig_combine_backprop_typed(
            py,
            deriv,
            sig1,
            sig2,
            out1,
            out2,
            dimension,
            degree,
            scalar_term,
            n_jobs
        )
    )
}

#[allow(clippy::too_many_arguments)]
fn sig_combine_backprop_typed<T: Scalar + Element>(
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
) -> PyResult<()> {
    let threads = threads(n_jobs)?;
    let layout = Layout::new(dimension, degree).map_err(to_py_err)?;
    let deriv = contiguous::<T>(deriv, "deriv")?;
    let (sig1, sig2) = (
        contiguous::<T>(sig1, "sig1")?,
        contiguous::<T>(sig2, "sig2")?,
    );
    let deriv = deriv.as_slice().map_err(slice_err)?;
    let (sig1, sig2) = (
        sig1.as_slice().map_err(slice_err)?,
        sig2.as_slice().map_err(slice_err)?,
    );
    let (mut out1, mut out2) = (output::<T>(out1, "out1")?, output::<T>(out2, "out2")?);
    let out1 = out1.as_slice_mut().map_err(slice_err)?;
    let out2 = out2.as_slice_mut().map_err(slice_err)?;
    py.detach(|| {
        guarded(|| {
            crate::sig_combine_backprop(layout, deriv, sig1, sig2, scalar_term, threads, out1, out2)
        })
    })
}

/// Time-augmented and/or lead-lag transformed paths, into `out`.
#[pyfunction]
pub(crate) fn transform_path(
    py: Python<'_>,
    path: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    time_aug: bool,
    lead_lag: bool,
    end_time: f64,
    n_jobs: i64,
) -> PyResult<()> {
    let transform = PathTransform {
        time_aug,
        lead_lag,
        end_time,
    };
    by_dtype!(
        path,
        "path",
        transform_path_typed(py, path, out, &transform, n_jobs)
    )
}

fn transform_path_typed<T: Scalar + Element>(
    py: Python<'_>,
    path: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    transform: &PathTransform,
    n_jobs: i64,
) -> PyResult<()> {
    let threads = threads(n_jobs)?;
    let path = PathArray::<T>::extract(path)?;
    let mut copy = None;
    let paths = path.view(&mut copy)?;
    let mut out = output::<T>(out, "out")?;
    let out = out.as_slice_mut().map_err(slice_err)?;
    py.detach(|| guarded(|| crate::transform_path(&paths, transform, threads, out)))
}

/// Gradients through [`transform_path`]: `derivs` `(batch, length', channels')` into `out`
/// `(batch, length, channels)`.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
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
) -> PyResult<()> {
    let transform = PathTransform {
        time_aug,
        lead_lag,
        end_time,
    };
    by_dtype!(
        derivs,
        "derivs",
        transform_path_backprop_typed(py, derivs, out, length, dimension, &transform, n_jobs)
    )
}

fn transform_path_backprop_typed<T: Scalar + Element>(
    py: Python<'_>,
    derivs: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    length: usize,
    dimension: usize,
    transform: &PathTransform,
    n_jobs: i64,
) -> PyResult<()> {
    let threads = threads(n_jobs)?;
    let derivs = contiguous::<T>(derivs, "derivs")?;
    let derivs = derivs.as_slice().map_err(slice_err)?;
    let mut out = output::<T>(out, "out")?;
    let out = out.as_slice_mut().map_err(slice_err)?;
    // An empty original path makes every row empty; then there is nothing to do for any batch.
    let batch = out.len().checked_div(length * dimension).unwrap_or(0);
    py.detach(|| {
        guarded(|| {
            crate::transform_path_backprop(
                derivs, batch, length, dimension, transform, threads, out,
            )
        })
    })
}

/// The number of coefficients of a signature of `dimension` truncated at `degree`, with the
/// scalar term when `scalar_term`; `ValueError` when it cannot be represented.
#[pyfunction]
pub(crate) fn sig_length(dimension: usize, degree: usize, scalar_term: bool) -> PyResult<usize> {
    Ok(Layout::new(dimension, degree)
        .map_err(to_py_err)?
        .len_with(scalar_term))
}

/// The number of threads `n_jobs` stands for (pysiglib's convention), or `ValueError`.
#[pyfunction]
pub(crate) fn resolve_n_jobs(n_jobs: i64) -> PyResult<usize> {
    Ok(threads(n_jobs)?.count())
}
