//! The CPU entry points of the signature extras: joins, straight segments and chosen
//! coefficients. numpy arrays in, numpy arrays (allocated by the caller) out, as in `cpu.rs`.

use numpy::Element;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use super::arrays::{DType, PathArray, contiguous, dtype_of, output};
use super::errors::{guarded, to_py_err};
use crate::{Layout, PathTransform, Scalar, Threads, WordTrie};

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

/// `sig ⊗ exp(displacement)` (or `exp(displacement) ⊗ sig` when `prepend`) for `(batch,
/// sig_len)` signatures and `(batch, dimension)` displacements, into `out` `(batch, sig_len)`.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub(crate) fn sig_join(
    py: Python<'_>,
    sig: &Bound<'_, PyAny>,
    displacement: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    dimension: usize,
    degree: usize,
    prepend: bool,
    scalar_term: bool,
    n_jobs: i64,
) -> PyResult<()> {
    by_dtype!(
        sig,
        "sig",
        sig_join_typed(
            py,
            sig,
            displacement,
            out,
            dimension,
            degree,
            prepend,
            scalar_term,
            n_jobs
        )
    )
}

#[allow(clippy::too_many_arguments)]
fn sig_join_typed<T: Scalar + Element>(
    py: Python<'_>,
    sig: &Bound<'_, PyAny>,
    displacement: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    dimension: usize,
    degree: usize,
    prepend: bool,
    scalar_term: bool,
    n_jobs: i64,
) -> PyResult<()> {
    let threads = threads(n_jobs)?;
    let layout = Layout::new(dimension, degree).map_err(to_py_err)?;
    let (sig, displacement) = (
        contiguous::<T>(sig, "sig")?,
        contiguous::<T>(displacement, "displacement")?,
    );
    let (sig, displacement) = (
        sig.as_slice().map_err(slice_err)?,
        displacement.as_slice().map_err(slice_err)?,
    );
    let mut out = output::<T>(out, "out")?;
    let out = out.as_slice_mut().map_err(slice_err)?;
    py.detach(|| {
        guarded(|| {
            crate::sig_join(
                layout,
                sig,
                displacement,
                prepend,
                scalar_term,
                threads,
                out,
            )
        })
    })
}

/// Gradients of [`sig_join`] with respect to the signatures and the displacements, into
/// `d_sig_out` `(batch, sig_len)` and `d_displacement_out` `(batch, dimension)`.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub(crate) fn sig_join_backprop(
    py: Python<'_>,
    d_out: &Bound<'_, PyAny>,
    sig: &Bound<'_, PyAny>,
    displacement: &Bound<'_, PyAny>,
    d_sig_out: &Bound<'_, PyAny>,
    d_displacement_out: &Bound<'_, PyAny>,
    dimension: usize,
    degree: usize,
    prepend: bool,
    scalar_term: bool,
    n_jobs: i64,
) -> PyResult<()> {
    by_dtype!(
        sig,
        "sig",
        sig_join_backprop_typed(
            py,
            d_out,
            sig,
            displacement,
            d_sig_out,
            d_displacement_out,
            dimension,
            degree,
            prepend,
            scalar_term,
            n_jobs
        )
    )
}

#[allow(clippy::too_many_arguments)]
fn sig_join_backprop_typed<T: Scalar + Element>(
    py: Python<'_>,
    d_out: &Bound<'_, PyAny>,
    sig: &Bound<'_, PyAny>,
    displacement: &Bound<'_, PyAny>,
    d_sig_out: &Bound<'_, PyAny>,
    d_displacement_out: &Bound<'_, PyAny>,
    dimension: usize,
    degree: usize,
    prepend: bool,
    scalar_term: bool,
    n_jobs: i64,
) -> PyResult<()> {
    let threads = threads(n_jobs)?;
    let layout = Layout::new(dimension, degree).map_err(to_py_err)?;
    let d_out = contiguous::<T>(d_out, "d_out")?;
    let (sig, displacement) = (
        contiguous::<T>(sig, "sig")?,
        contiguous::<T>(displacement, "displacement")?,
    );
    let d_out = d_out.as_slice().map_err(slice_err)?;
    let (sig, displacement) = (
        sig.as_slice().map_err(slice_err)?,
        displacement.as_slice().map_err(slice_err)?,
    );
    let mut d_sig = output::<T>(d_sig_out, "d_sig_out")?;
    let mut d_displacement = output::<T>(d_displacement_out, "d_displacement_out")?;
    let d_sig = d_sig.as_slice_mut().map_err(slice_err)?;
    let d_displacement = d_displacement.as_slice_mut().map_err(slice_err)?;
    py.detach(|| {
        guarded(|| {
            crate::sig_join_backprop(
                layout,
                d_out,
                sig,
                displacement,
                prepend,
                scalar_term,
                threads,
                d_sig,
                d_displacement,
            )
        })
    })
}

/// `exp(displacement)` for `(batch, dimension)` displacements, into `out` `(batch, sig_len)`.
#[pyfunction]
pub(crate) fn linear_sig(
    py: Python<'_>,
    displacement: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    dimension: usize,
    degree: usize,
    scalar_term: bool,
    n_jobs: i64,
) -> PyResult<()> {
    by_dtype!(
        displacement,
        "displacement",
        linear_sig_typed(
            py,
            displacement,
            out,
            dimension,
            degree,
            scalar_term,
            n_jobs
        )
    )
}

fn linear_sig_typed<T: Scalar + Element>(
    py: Python<'_>,
    displacement: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    dimension: usize,
    degree: usize,
    scalar_term: bool,
    n_jobs: i64,
) -> PyResult<()> {
    let threads = threads(n_jobs)?;
    let layout = Layout::new(dimension, degree).map_err(to_py_err)?;
    let displacement = contiguous::<T>(displacement, "displacement")?;
    let displacement = displacement.as_slice().map_err(slice_err)?;
    let mut out = output::<T>(out, "out")?;
    let out = out.as_slice_mut().map_err(slice_err)?;
    py.detach(|| guarded(|| crate::linear_sig(layout, displacement, scalar_term, threads, out)))
}

/// The trie of the words given as their concatenated `letters` and their `lengths`.
fn word_trie(
    dim: usize,
    letters: &[usize],
    lengths: &[usize],
    prefixes: bool,
) -> PyResult<WordTrie> {
    let total = lengths
        .iter()
        .try_fold(0usize, |acc, &n| acc.checked_add(n));
    if total != Some(letters.len()) {
        return Err(PyValueError::new_err(format!(
            "words: the lengths add up to {total:?}, but {} letters were given",
            letters.len()
        )));
    }
    let mut start = 0;
    let words: Vec<&[usize]> = lengths
        .iter()
        .map(|&n| {
            start += n;
            &letters[start - n..start]
        })
        .collect();
    WordTrie::new(dim, &words, prefixes).map_err(to_py_err)
}

/// Chosen signature coefficients of `(batch, length, channels)` paths, into `out`
/// `(batch, outputs)`. The words are their concatenated `letters` and their `lengths`, letters
/// indexing the transformed path's channels.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub(crate) fn sig_coef(
    py: Python<'_>,
    path: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    letters: Vec<usize>,
    lengths: Vec<usize>,
    time_aug: bool,
    lead_lag: bool,
    end_time: f64,
    prefixes: bool,
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
        sig_coef_typed(
            py, path, &letters, &lengths, out, &transform, prefixes, n_jobs
        )
    )
}

#[allow(clippy::too_many_arguments)]
fn sig_coef_typed<T: Scalar + Element>(
    py: Python<'_>,
    path: &Bound<'_, PyAny>,
    letters: &[usize],
    lengths: &[usize],
    out: &Bound<'_, PyAny>,
    transform: &PathTransform,
    prefixes: bool,
    n_jobs: i64,
) -> PyResult<()> {
    let threads = threads(n_jobs)?;
    let path = PathArray::<T>::extract(path)?;
    let mut copy = None;
    let paths = path.view(&mut copy)?;
    let trie = word_trie(transform.dim(paths.dim()), letters, lengths, prefixes)?;
    let mut out = output::<T>(out, "out")?;
    let out = out.as_slice_mut().map_err(slice_err)?;
    py.detach(|| guarded(|| crate::sig_coef(&paths, &trie, transform, threads, out)))
}

/// Gradients of chosen coefficients (pysiglib's `prefixes=True` layout) with respect to the
/// paths, into `out` `(batch, length, channels)`. `derivs` is read, never written.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub(crate) fn sig_coef_backprop(
    py: Python<'_>,
    path: &Bound<'_, PyAny>,
    derivs: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    letters: Vec<usize>,
    lengths: Vec<usize>,
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
        sig_coef_backprop_typed(
            py, path, &letters, &lengths, derivs, out, &transform, n_jobs
        )
    )
}

#[allow(clippy::too_many_arguments)]
fn sig_coef_backprop_typed<T: Scalar + Element>(
    py: Python<'_>,
    path: &Bound<'_, PyAny>,
    letters: &[usize],
    lengths: &[usize],
    derivs: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    transform: &PathTransform,
    n_jobs: i64,
) -> PyResult<()> {
    let threads = threads(n_jobs)?;
    let path = PathArray::<T>::extract(path)?;
    let mut copy = None;
    let paths = path.view(&mut copy)?;
    let trie = word_trie(transform.dim(paths.dim()), letters, lengths, true)?;
    let derivs = contiguous::<T>(derivs, "derivs")?;
    let derivs = derivs.as_slice().map_err(slice_err)?;
    let mut out = output::<T>(out, "out")?;
    let out = out.as_slice_mut().map_err(slice_err)?;
    py.detach(|| {
        guarded(|| crate::sig_coef_backprop(&paths, &trie, derivs, transform, threads, out))
    })
}
