//! The signature ops: `sig` (and its allocating fast entries `sig_new` and `sig_new_tensor`),
//! `sig_backprop`, the second-order `sig_backprop_jvp`, and the sizes `sig_length` and
//! `resolve_n_jobs`.

use numpy::{PyArray1, PyArray2, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

use super::{sig_params, threads};
use crate::cpu::Threads;
use crate::python::arrays::{
    PathArray, TensorPaths, read_paths, read_rows, with_dtype, write_rows,
};
use crate::python::device::{Device, Launch};
use crate::python::errors::{detached, fill_checking_finite, to_py_err};
use crate::python::sig_options::{correction_of, path_lengths};
use crate::scalar::Scalar;
use crate::{Paths, SigOptions, SigParams};

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

/// Runs `$body` with `$paths` (a [`crate::Paths`] view, ragged when `$extras` has lengths) and
/// `$options` (the [`SigOptions`] of `$extras`) borrowed for element type `$t`.
macro_rules! with_sig_options {
    ($t:ty, $path:ident, $extras:expr, |$paths:ident, $options:ident| $body:block) => {{
        read_paths!($t: $path);
        let lengths = $extras.lengths.map(path_lengths).transpose()?;
        let $paths = match &lengths {
            Some(lengths) => $path.with_lengths(lengths).map_err(to_py_err)?,
            None => $path,
        };
        let correction = $extras
            .correction
            .map(|c| crate::python::arrays::contiguous::<$t>(c, "correction"))
            .transpose()?;
        let $options = SigOptions {
            correction: correction.as_ref().map(correction_of).transpose()?.flatten(),
            stream: $extras.stream,
        };
        $body
    }};
}

/// Signatures of a `(batch, length, channels)` array of paths into `out` `(batch, sig_len)`, or
/// with `stream` `(batch, steps, sig_len)`. Returns whether every value written is finite (the
/// facade warns otherwise; on the GPU, true: checking would wait for the GPU).
#[pyfunction]
#[pyo3(signature = (
    path, out, degree, time_aug, lead_lag, end_time, scalar_term, n_jobs,
    correction=None, lengths=None, stream=false, *, launch=None
))]
#[allow(clippy::too_many_arguments)] // the facade's flat call
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
    launch: Option<Launch>,
) -> PyResult<bool> {
    let params = sig_params(degree, time_aug, lead_lag, end_time, scalar_term);
    let extras = Extras {
        correction,
        lengths,
        stream,
    };
    match Device::of(path, "path", launch)? {
        Device::Cpu(dtype) => with_dtype!(dtype, |T| {
            let threads = threads(n_jobs)?;
            with_sig_options!(T, path, extras, |paths, options| {
                write_rows!(T: out);
                fill_checking_finite(py, out, |out| {
                    crate::sig_with(&paths, &params, &options, threads, out)
                })
            })
        }),
        #[cfg(feature = "cuda")]
        Device::Cuda(at) => {
            gpu::refuse_extras("sig", extras)?;
            let (path, paths, layout) = gpu::signature_args(path, &params)?;
            let out = gpu::CudaArray::extract(out, "out")?
                .rows(path.dtype, paths.batch * layout.len_with(scalar_term))?;
            // SAFETY: shapes, strides and dtypes checked above; the tensors outlive the call and
            // torch's allocator does not reuse their memory before work queued on the stream
            // is done.
            detached(py, || unsafe {
                crate::cuda::sig(
                    at,
                    path.dtype,
                    &paths,
                    degree,
                    &params.transform,
                    scalar_term,
                    out,
                )
            })?;
            Ok(true)
        }
    }
}

/// The results the fast entry [`sig_new`] leaves to the facade's general path: above this many
/// bytes the facade checks the size against the machine's memory first, and the work dwarfs the
/// facade's cost anyway.
const SIG_NEW_MAX_BYTES: usize = 1 << 30;

/// `sig` of the most common call, the output allocated here: the signatures of one path
/// `(length, channels)` into a new `(sig_len,)` array, or of a batch `(batch, length, channels)`
/// into `(batch, sig_len)`. Returns them with whether every value is finite (the facade warns
/// otherwise), or None for a call whose result would be empty or over 1 GiB: the facade's general
/// path then takes it, and owns those checks and their messages. numpy arrays only.
///
/// Allocating here spares a small call the facade's numpy allocation, its size checks and the
/// output's borrow: with the facade's other shortcuts, a call on a (2, 3) path at degree 3 went
/// from 6 to 2.2 µs.
#[pyfunction]
#[allow(clippy::too_many_arguments)] // the facade's flat call
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
    let params = sig_params(degree, time_aug, lead_lag, end_time, scalar_term);
    let dtype = crate::python::arrays::dtype_of(path, "path")?;
    with_dtype!(dtype, |T| {
        let threads = threads(n_jobs)?;
        let (path, single) = PathArray::<T>::extract_one_or_many(path, "path")?;
        let mut copy = None;
        let paths = path.view(&mut copy)?;
        new_signatures(py, &paths, single, &params, threads)
    })
}

/// [`sig_new`] for a CPU torch tensor, read in place, the signatures returned as a tensor
/// sharing the memory of the numpy array allocated here (torch_api's shortcut: the tensor's numpy
/// view would cost about a microsecond, as much as the signature of a short path). The caller has
/// checked that `path` is a `torch.Tensor` on the CPU that no autograd, tracing or mode needs to
/// see; None for any other tensor (see [`TensorPaths::extract`]) or result (see [`sig_new`]).
#[pyfunction]
#[allow(clippy::too_many_arguments)] // the facade's flat call
pub(crate) fn sig_new_tensor<'py>(
    py: Python<'py>,
    path: &Bound<'py, PyAny>,
    degree: usize,
    time_aug: bool,
    lead_lag: bool,
    end_time: f64,
    scalar_term: bool,
    n_jobs: i64,
) -> PyResult<Option<(Bound<'py, PyAny>, bool)>> {
    static FROM_NUMPY: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let params = sig_params(degree, time_aug, lead_lag, end_time, scalar_term);
    let Some((tensor, single)) = TensorPaths::extract(path) else {
        return Ok(None);
    };
    let result = with_dtype!(tensor.dtype(), |T| {
        let threads = threads(n_jobs)?;
        // SAFETY: `extract` read the element type off the tensor; the GIL, held until the
        // computation releases it, keeps other Python code from touching the tensor until then
        // (as with its numpy view, a thread resizing it during the computation is the caller's
        // race).
        let paths = unsafe { tensor.view::<T>()? };
        new_signatures(py, &paths, single, &params, threads)?
    });
    let Some((out, finite)) = result else {
        return Ok(None);
    };
    let from_numpy = FROM_NUMPY.import(py, "torch", "from_numpy")?;
    Ok(Some((from_numpy.call1((out,))?, finite)))
}

/// The signatures of `paths` into a new numpy array, `(sig_len,)` for a `single` path or
/// `(batch, sig_len)`, with whether every value is finite; None for a result that would be
/// empty or over [`SIG_NEW_MAX_BYTES`] (the facade's general path then takes the call).
fn new_signatures<'py, T: Scalar + numpy::Element>(
    py: Python<'py>,
    paths: &Paths<'_, T>,
    single: bool,
    params: &SigParams,
    threads: Threads,
) -> PyResult<Option<(Bound<'py, PyAny>, bool)>> {
    let degree = params.degree;
    // A signature has at least `degree` coefficients; a larger bound here also keeps the
    // layout from counting through a huge degree of a 1-channel path.
    if degree > SIG_NEW_MAX_BYTES / std::mem::size_of::<T>() {
        return Ok(None);
    }
    let Ok(layout) = params.layout(paths) else {
        return Ok(None);
    };
    let width = layout.len_with(params.scalar_term);
    let fits = paths
        .batch()
        .checked_mul(width)
        .and_then(|n| n.checked_mul(std::mem::size_of::<T>()))
        .is_some_and(|bytes| bytes <= SIG_NEW_MAX_BYTES);
    if width == 0 || paths.batch() == 0 || paths.is_empty() || !fits {
        return Ok(None);
    }
    // SAFETY: a new C-contiguous array, not yet shared with Python or borrowed elsewhere,
    // so the slice is its only view; `sig_with` writes every element before Python can
    // read one (on an error the array is dropped unread).
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
        crate::sig_with(paths, params, &options, threads, out)
    })?;
    Ok(Some((out, finite)))
}

/// Gradients of signatures with respect to their paths, into `out` `(batch, length, channels)`;
/// the optional arguments as for `sig`, the signatures and their gradients being what `sig`
/// wrote with them.
#[pyfunction]
#[pyo3(signature = (
    path, sig, sig_derivs, out, degree, time_aug, lead_lag, end_time, scalar_term, n_jobs,
    correction=None, lengths=None, stream=false, *, launch=None
))]
#[allow(clippy::too_many_arguments)] // the facade's flat call
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
    launch: Option<Launch>,
) -> PyResult<()> {
    let params = sig_params(degree, time_aug, lead_lag, end_time, scalar_term);
    let extras = Extras {
        correction,
        lengths,
        stream,
    };
    match Device::of(path, "path", launch)? {
        Device::Cpu(dtype) => with_dtype!(dtype, |T| {
            let threads = threads(n_jobs)?;
            with_sig_options!(T, path, extras, |paths, options| {
                read_rows!(T: sig, sig_derivs);
                write_rows!(T: out);
                detached(py, || {
                    crate::sig_backprop_with(
                        &paths, sig, sig_derivs, &params, &options, threads, out,
                    )
                })
            })
        }),
        #[cfg(feature = "cuda")]
        Device::Cuda(at) => {
            gpu::refuse_extras("sig_backprop", extras)?;
            let (path, paths, layout) = gpu::signature_args(path, &params)?;
            let rows = paths.batch * layout.len_with(scalar_term);
            let sig = gpu::CudaArray::extract(sig, "sig")?.rows(path.dtype, rows)?;
            let derivs =
                gpu::CudaArray::extract(sig_derivs, "sig_derivs")?.rows(path.dtype, rows)?;
            let out = gpu::CudaArray::extract(out, "out")?.rows(path.dtype, path.len())?;
            // SAFETY: as in `sig`.
            detached(py, || unsafe {
                crate::cuda::sig_backprop(
                    at,
                    path.dtype,
                    &paths,
                    degree,
                    &params.transform,
                    scalar_term,
                    sig,
                    derivs,
                    out,
                )
            })
        }
    }
}

/// Second derivatives: for `F = <sig_derivs, S(path)>` and a direction `directions` shaped like
/// `path`, writes `dS[v]` into `jvp_out` and the Hessian of `F` applied to `v` into `hvp_out`.
#[pyfunction]
#[pyo3(signature = (
    path, directions, sig_derivs, jvp_out, hvp_out, degree, time_aug, lead_lag, end_time,
    scalar_term, n_jobs, *, launch=None
))]
#[allow(clippy::too_many_arguments)] // the facade's flat call
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
    launch: Option<Launch>,
) -> PyResult<()> {
    let params = sig_params(degree, time_aug, lead_lag, end_time, scalar_term);
    match Device::of(path, "path", launch)? {
        Device::Cpu(dtype) => with_dtype!(dtype, |T| {
            let threads = threads(n_jobs)?;
            read_paths!(T: path, directions);
            read_rows!(T: sig_derivs);
            write_rows!(T: jvp_out, hvp_out);
            detached(py, || {
                crate::sig_backprop_jvp(
                    &path,
                    &directions,
                    sig_derivs,
                    &params,
                    threads,
                    jvp_out,
                    hvp_out,
                )
            })
        }),
        #[cfg(feature = "cuda")]
        Device::Cuda(at) => {
            let (path, paths, layout) = gpu::signature_args(path, &params)?;
            let directions = gpu::CudaArray::extract(directions, "directions")?;
            if directions.dtype != path.dtype {
                return Err(crate::python::errors::invalid_argument(
                    "directions must have the dtype of path",
                ));
            }
            if directions.shape != path.shape {
                return Err(crate::python::errors::shape_error(
                    "directions must have the shape of path",
                ));
            }
            let directions = directions.paths()?;
            let rows = paths.batch * layout.len_with(scalar_term);
            let derivs =
                gpu::CudaArray::extract(sig_derivs, "sig_derivs")?.rows(path.dtype, rows)?;
            let jvp = gpu::CudaArray::extract(jvp_out, "jvp_out")?.rows(path.dtype, rows)?;
            let hvp = gpu::CudaArray::extract(hvp_out, "hvp_out")?.rows(path.dtype, path.len())?;
            // SAFETY: as in `sig`.
            detached(py, || unsafe {
                crate::cuda::sig_backprop_jvp(
                    at,
                    path.dtype,
                    &paths,
                    &directions,
                    degree,
                    &params.transform,
                    scalar_term,
                    derivs,
                    jvp,
                    hvp,
                )
            })
        }
    }
}

/// The GPU arms' argument checks.
#[cfg(feature = "cuda")]
mod gpu {
    use pyo3::prelude::*;

    use crate::cuda::DevicePaths;
    pub(super) use crate::python::cuda::CudaArray;
    use crate::python::errors::to_py_err;
    use crate::{Layout, SigParams};

    /// The path argument of a signature op: the array, its paths and the signatures' layout.
    pub(super) fn signature_args(
        path: &Bound<'_, PyAny>,
        params: &SigParams,
    ) -> PyResult<(CudaArray, DevicePaths, Layout)> {
        let array = CudaArray::extract(path, "path")?;
        let paths = array.paths()?;
        let layout = params.layout_for(paths.dim).map_err(to_py_err)?;
        Ok((array, paths, layout))
    }

    /// Refuses `correction`, `lengths` and `stream`, which have CPU kernels only.
    pub(super) fn refuse_extras(op: &str, extras: super::Extras<'_, '_>) -> PyResult<()> {
        if extras.correction.is_none() && extras.lengths.is_none() && !extras.stream {
            return Ok(());
        }
        Err(crate::python::errors::cpu_only(&format!(
            "{op} with correction, lengths or stream"
        )))
    }
}

/// The number of coefficients of a signature of `dimension` truncated at `degree`, with the
/// scalar term when `scalar_term`; `ShapeError` when it cannot be represented.
#[pyfunction]
pub(crate) fn sig_length(dimension: usize, degree: usize, scalar_term: bool) -> PyResult<usize> {
    Ok(super::layout(dimension, degree)?.len_with(scalar_term))
}

/// The number of threads `n_jobs` stands for (pysiglib's convention), or `InvalidArgumentError`.
#[pyfunction]
pub(crate) fn resolve_n_jobs(n_jobs: i64) -> PyResult<usize> {
    Ok(threads(n_jobs)?.count())
}

/// Adds the family's bindings to the extension module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(sig, m)?)?;
    m.add_function(wrap_pyfunction!(sig_new, m)?)?;
    m.add_function(wrap_pyfunction!(sig_new_tensor, m)?)?;
    m.add_function(wrap_pyfunction!(sig_backprop, m)?)?;
    m.add_function(wrap_pyfunction!(sig_backprop_jvp, m)?)?;
    m.add_function(wrap_pyfunction!(sig_length, m)?)?;
    m.add_function(wrap_pyfunction!(resolve_n_jobs, m)?)?;
    Ok(())
}
