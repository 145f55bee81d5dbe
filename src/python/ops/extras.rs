//! The signature extras: joins (`sig_join`, `sig_join_backprop`), straight segments
//! (`linear_sig`) and chosen coefficients (`sig_coef`, `sig_coef_backprop`). CPU kernels only.

use pyo3::prelude::*;

use super::{layout, threads, transform};
use crate::python::arrays::{read_paths, read_rows, with_dtype, write_rows};
use crate::python::device::{Launch, cpu_dtype};
use crate::python::errors::{detached, invalid_argument, to_py_err};
use crate::{PathTransform, WordTrie};

/// `sig ⊗ exp(displacement)` (or `exp(displacement) ⊗ sig` when `prepend`) for `(batch,
/// sig_len)` signatures and `(batch, dimension)` displacements, into `out` `(batch, sig_len)`.
#[pyfunction]
#[pyo3(signature = (
    sig, displacement, out, dimension, degree, prepend, scalar_term, n_jobs, *, launch=None
))]
#[allow(clippy::too_many_arguments)] // the facade's flat call
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
    launch: Option<Launch>,
) -> PyResult<()> {
    with_dtype!(cpu_dtype(sig, "sig", launch, "sig_join")?, |T| {
        let (threads, layout) = (threads(n_jobs)?, layout(dimension, degree)?);
        read_rows!(T: sig, displacement);
        write_rows!(T: out);
        detached(py, || {
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
#[pyo3(signature = (
    d_out, sig, displacement, d_sig_out, d_displacement_out, dimension, degree, prepend,
    scalar_term, n_jobs, *, launch=None
))]
#[allow(clippy::too_many_arguments)] // the facade's flat call
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
    launch: Option<Launch>,
) -> PyResult<()> {
    with_dtype!(cpu_dtype(sig, "sig", launch, "sig_join_backprop")?, |T| {
        let (threads, layout) = (threads(n_jobs)?, layout(dimension, degree)?);
        read_rows!(T: d_out, sig, displacement);
        write_rows!(T: d_sig_out, d_displacement_out);
        detached(py, || {
            crate::sig_join_backprop(
                layout,
                d_out,
                sig,
                displacement,
                prepend,
                scalar_term,
                threads,
                d_sig_out,
                d_displacement_out,
            )
        })
    })
}

/// `exp(displacement)` for `(batch, dimension)` displacements, into `out` `(batch, sig_len)`.
#[pyfunction]
#[pyo3(signature = (displacement, out, dimension, degree, scalar_term, n_jobs, *, launch=None))]
#[allow(clippy::too_many_arguments)] // the facade's flat call
pub(crate) fn linear_sig(
    py: Python<'_>,
    displacement: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    dimension: usize,
    degree: usize,
    scalar_term: bool,
    n_jobs: i64,
    launch: Option<Launch>,
) -> PyResult<()> {
    let dtype = cpu_dtype(displacement, "displacement", launch, "linear_sig")?;
    with_dtype!(dtype, |T| {
        let (threads, layout) = (threads(n_jobs)?, layout(dimension, degree)?);
        read_rows!(T: displacement);
        write_rows!(T: out);
        detached(py, || {
            crate::linear_sig(layout, displacement, scalar_term, threads, out)
        })
    })
}

/// The words of a `sig_coef` call, given as their concatenated `letters` and their `lengths`
/// (letters indexing the transformed path's channels), with the transform and the path's
/// channel count: their trie.
fn word_trie(
    channels: usize,
    transform: &PathTransform,
    letters: &[usize],
    lengths: &[usize],
    prefixes: bool,
) -> PyResult<WordTrie> {
    let total = lengths
        .iter()
        .try_fold(0usize, |acc, &n| acc.checked_add(n));
    if total != Some(letters.len()) {
        return Err(invalid_argument(format!(
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
    WordTrie::new(transform.dim(channels), &words, prefixes).map_err(to_py_err)
}

/// Chosen signature coefficients of `(batch, length, channels)` paths, into `out`
/// `(batch, outputs)`.
#[pyfunction]
#[pyo3(signature = (
    path, out, letters, lengths, time_aug, lead_lag, end_time, prefixes, n_jobs, *, launch=None
))]
#[allow(clippy::too_many_arguments)] // the facade's flat call
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
    launch: Option<Launch>,
) -> PyResult<()> {
    let transform = transform(time_aug, lead_lag, end_time);
    with_dtype!(cpu_dtype(path, "path", launch, "sig_coef")?, |T| {
        let threads = threads(n_jobs)?;
        read_paths!(T: path);
        let trie = word_trie(path.dim(), &transform, &letters, &lengths, prefixes)?;
        write_rows!(T: out);
        detached(py, || {
            crate::sig_coef(&path, &trie, &transform, threads, out)
        })
    })
}

/// Gradients of chosen coefficients (pysiglib's `prefixes=True` layout) with respect to the
/// paths, into `out` `(batch, length, channels)`. `derivs` is read, never written.
#[pyfunction]
#[pyo3(signature = (
    path, derivs, out, letters, lengths, time_aug, lead_lag, end_time, n_jobs, *, launch=None
))]
#[allow(clippy::too_many_arguments)] // the facade's flat call
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
    launch: Option<Launch>,
) -> PyResult<()> {
    let transform = transform(time_aug, lead_lag, end_time);
    with_dtype!(cpu_dtype(path, "path", launch, "sig_coef_backprop")?, |T| {
        let threads = threads(n_jobs)?;
        read_paths!(T: path);
        let trie = word_trie(path.dim(), &transform, &letters, &lengths, true)?;
        read_rows!(T: derivs);
        write_rows!(T: out);
        detached(py, || {
            crate::sig_coef_backprop(&path, &trie, derivs, &transform, threads, out)
        })
    })
}

/// Adds the family's bindings to the extension module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(sig_join, m)?)?;
    m.add_function(wrap_pyfunction!(sig_join_backprop, m)?)?;
    m.add_function(wrap_pyfunction!(linear_sig, m)?)?;
    m.add_function(wrap_pyfunction!(sig_coef, m)?)?;
    m.add_function(wrap_pyfunction!(sig_coef_backprop, m)?)?;
    Ok(())
}
