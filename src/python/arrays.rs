//! Borrowing numpy arrays as the core's slices and path views, without copying.

use numpy::ndarray::{Array3, ArrayView3, Axis, Ix3, IxDyn};
use numpy::{
    Element, PyArrayDescrMethods, PyArrayDyn, PyArrayMethods, PyReadonlyArray, PyReadwriteArray,
    PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyTuple;

use super::errors::{argument_type_error, invalid_argument, shape_error};
use crate::path::Paths;

pub(crate) use crate::DType;

/// The element type of the numpy array `array` (named `name` in errors).
pub(crate) fn dtype_of(array: &Bound<'_, PyAny>, name: &str) -> PyResult<DType> {
    let untyped = array
        .cast::<PyUntypedArray>()
        .map_err(|_| argument_type_error(format!("{name} must be a numpy array")))?;
    let dtype = untyped.dtype();
    let py = array.py();
    if dtype.is_equiv_to(&numpy::dtype::<f64>(py)) {
        Ok(DType::F64)
    } else if dtype.is_equiv_to(&numpy::dtype::<f32>(py)) {
        Ok(DType::F32)
    } else {
        Err(argument_type_error(format!(
            "{name}.dtype must be float32 or float64, got {dtype}"
        )))
    }
}

/// An array of paths `(batch, length, channels)`, or one path `(length, channels)` read as a
/// batch of one, in any memory layout.
///
/// Arrays with non-negative strides (C or Fortran order, slices, transposes, broadcasts) are
/// read in place; only negative strides force a contiguous copy.
pub(crate) struct PathArray<'py, T: Element> {
    array: PyReadonlyArray<'py, T, IxDyn>,
}

impl<'py, T: Element + Copy> PathArray<'py, T> {
    /// A batch of paths: a 3-d array.
    pub(crate) fn extract(array: &Bound<'py, PyAny>, name: &str) -> PyResult<Self> {
        let (paths, single) = Self::extract_one_or_many(array, name)?;
        if single {
            return Err(shape_error(format!(
                "{name} must be a 3-d array (batch, length, channels)"
            )));
        }
        Ok(paths)
    }

    /// One path (a 2-d array, `true`) or a batch of them (3-d, `false`).
    pub(crate) fn extract_one_or_many(
        array: &Bound<'py, PyAny>,
        name: &str,
    ) -> PyResult<(Self, bool)> {
        let array = typed::<T>(array, name)?
            .try_readonly()
            .map_err(|e| invalid_argument(format!("{name} cannot be read: {e}")))?;
        match array.ndim() {
            2 | 3 => {
                let single = array.ndim() == 2;
                Ok((PathArray { array }, single))
            }
            n => Err(shape_error(format!(
                "{name} must be a 2-d or 3-d array (length, channels) or (batch, length, channels), got {n}-d"
            ))),
        }
    }

    /// The paths as a core view; `copy` keeps the contiguous copy alive when one was needed.
    pub(crate) fn view<'a>(&'a self, copy: &'a mut Option<Array3<T>>) -> PyResult<Paths<'a, T>> {
        let view = self.array.as_array();
        let view = if view.ndim() == 2 {
            view.insert_axis(Axis(0))
        } else {
            view
        };
        let view: ArrayView3<'a, T> = view
            .into_dimensionality::<Ix3>()
            .expect("extract admits only 2-d and 3-d arrays");
        let view = if view.strides().iter().any(|&s| s < 0) {
            let dim = view.raw_dim();
            let values = view.iter().copied().collect();
            let owned =
                Array3::from_shape_vec(dim, values).expect("shape matches its element count");
            copy.insert(owned).view()
        } else {
            view
        };
        let shape = [view.shape()[0], view.shape()[1], view.shape()[2]];
        let strides = [0, 1, 2].map(|i| view.strides()[i] as usize);
        let extent = if shape.contains(&0) {
            0
        } else {
            1 + (0..3).map(|i| (shape[i] - 1) * strides[i]).sum::<usize>()
        };
        // SAFETY: with non-negative strides every element of the view lies in
        // [ptr, ptr + extent), inside the array's buffer, which numpy keeps alive and which the
        // read-only borrow protects from writes through other borrows for `'a`.
        let data = unsafe { std::slice::from_raw_parts(view.as_ptr(), extent) };
        Paths::strided(data, shape, strides).map_err(|e| shape_error(e.to_string()))
    }
}

/// A batch of paths in a CPU torch tensor `(batch, length, channels)`, or one path
/// `(length, channels)`, read in place through the tensor's `data_ptr()`, `shape` and
/// `stride()`: torch_api's shortcut for small signatures, which would otherwise spend about a
/// microsecond on the tensor's numpy view.
pub(crate) struct TensorPaths<'py> {
    /// Keeps the tensor alive for as long as its memory is read.
    _tensor: Bound<'py, PyAny>,
    /// The first element's address.
    data: usize,
    dtype: DType,
    shape: [usize; 3],
    /// In elements; torch's strides are never negative.
    strides: [usize; 3],
}

impl<'py> TensorPaths<'py> {
    /// The paths of `tensor` and whether it holds a single path, or None when it is not a
    /// strided tensor of `float32` or `float64` of rank 2 or 3 with an element and no lazy
    /// negation (the facade's general path then takes it, and owns the errors). The caller
    /// vouches that `tensor` is a `torch.Tensor` on the CPU.
    pub(crate) fn extract(tensor: &Bound<'py, PyAny>) -> Option<(Self, bool)> {
        // torch's dtypes are singletons: compared by identity, without reading their attributes.
        static FLOAT32: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        static FLOAT64: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        let py = tensor.py();
        let dtype = tensor.getattr(pyo3::intern!(py, "dtype")).ok()?;
        let (dtype, size) = if dtype.is(FLOAT64.import(py, "torch", "float64").ok()?) {
            (DType::F64, 8)
        } else if dtype.is(FLOAT32.import(py, "torch", "float32").ok()?) {
            (DType::F32, 4)
        } else {
            return None; // half precisions, integers, complex numbers
        };
        let shape = tensor.getattr(pyo3::intern!(py, "shape")).ok()?;
        let (shape, single) = triple(&shape)?;
        // Sparse, MKL-DNN and nested tensors have no strides: `stride()` raises.
        let strides = tensor.call_method0(pyo3::intern!(py, "stride")).ok()?;
        let (mut strides, _) = triple(&strides)?;
        if single {
            strides[0] = 0;
        }
        let negated = tensor.call_method0(pyo3::intern!(py, "is_neg")).ok()?;
        if shape.contains(&0) || negated.is_truthy().ok()? {
            return None;
        }
        let data: usize = tensor
            .call_method0(pyo3::intern!(py, "data_ptr"))
            .ok()?
            .extract()
            .ok()?;
        // No memory (an autograd zero tensor), or misaligned (torch.frombuffer at an odd
        // offset): the general path copies.
        if data == 0 || !data.is_multiple_of(size) {
            return None;
        }
        let paths = TensorPaths {
            _tensor: tensor.clone(),
            data,
            dtype,
            shape,
            strides,
        };
        Some((paths, single))
    }

    /// The element type.
    pub(crate) fn dtype(&self) -> DType {
        self.dtype
    }

    /// The paths as a core view.
    ///
    /// # Safety
    /// `T` is the type of [`Self::dtype`], and nothing resizes the tensor or writes to it while
    /// the view lives (as for the numpy view `tensor.numpy()` that this read replaces).
    pub(crate) unsafe fn view<T: Copy>(&self) -> PyResult<Paths<'_, T>> {
        let extent = 1
            + (0..3)
                .map(|i| (self.shape[i] - 1) * self.strides[i])
                .sum::<usize>();
        // SAFETY: a non-empty strided tensor addresses elements in [data, data + extent), all
        // inside its storage, which `_tensor` keeps alive; the caller vouches for the type and
        // for the absence of writes.
        let data = unsafe { std::slice::from_raw_parts(self.data as *const T, extent) };
        Paths::strided(data, self.shape, self.strides).map_err(|e| shape_error(e.to_string()))
    }
}

/// A torch size or stride tuple of 2 or 3 non-negative integers as 3, a leading 1 added to 2
/// (`true`); None for anything else.
fn triple(sizes: &Bound<'_, PyAny>) -> Option<([usize; 3], bool)> {
    let sizes = sizes.cast::<PyTuple>().ok()?; // torch.Size is a tuple
    let at = |i| sizes.get_item(i).ok()?.extract::<usize>().ok();
    match sizes.len() {
        2 => Some(([1, at(0)?, at(1)?], true)),
        3 => Some(([at(0)?, at(1)?, at(2)?], false)),
        _ => None,
    }
}

/// `array` as a numpy array of `T`, the element type the op runs in (taken from the array that
/// decides its device): a `TypeError` when it is no numpy array, a `ValueError` when its dtype
/// differs, as the facade's own checks have it.
fn typed<'a, 'py, T: Element>(
    array: &'a Bound<'py, PyAny>,
    name: &str,
) -> PyResult<&'a Bound<'py, PyArrayDyn<T>>> {
    if let Ok(typed) = array.cast::<PyArrayDyn<T>>() {
        return Ok(typed);
    }
    let expected = numpy::dtype::<T>(array.py());
    match array.cast::<PyUntypedArray>() {
        Ok(untyped) => Err(invalid_argument(format!(
            "{name} must have the same dtype as the other arrays ({expected}), got {}",
            untyped.dtype()
        ))),
        Err(_) => Err(argument_type_error(format!("{name} must be a numpy array"))),
    }
}

/// A read-only C-contiguous array (signatures, gradients), to be read as a flat slice.
pub(crate) fn contiguous<'py, T: Element>(
    array: &Bound<'py, PyAny>,
    name: &str,
) -> PyResult<PyReadonlyArray<'py, T, numpy::ndarray::IxDyn>> {
    let array = typed::<T>(array, name)?
        .try_readonly()
        .map_err(|e| invalid_argument(format!("{name} cannot be read: {e}")))?;
    if !array.is_c_contiguous() {
        return Err(shape_error(format!("{name} must be C-contiguous")));
    }
    Ok(array)
}

/// A writable C-contiguous output array, to be written as a flat slice.
pub(crate) fn output<'py, T: Element>(
    array: &Bound<'py, PyAny>,
    name: &str,
) -> PyResult<PyReadwriteArray<'py, T, numpy::ndarray::IxDyn>> {
    let array = typed::<T>(array, name)?
        .try_readwrite()
        .map_err(|e| invalid_argument(format!("{name} cannot be written: {e}")))?;
    if !array.is_c_contiguous() {
        return Err(shape_error(format!("{name} must be C-contiguous")));
    }
    Ok(array)
}

/// The error of a slice taken from an array checked C-contiguous (kept for safety's sake).
pub(crate) fn slice_err(e: impl std::fmt::Display) -> PyErr {
    shape_error(e.to_string())
}

/// Runs `$body` with the type `$t` standing for the element type `$dtype` (a [`DType`]): one
/// binding body serves `f32` and `f64`.
macro_rules! with_dtype {
    ($dtype:expr, |$t:ident| $body:block) => {
        match $dtype {
            $crate::DType::F32 => {
                type $t = f32;
                $body
            }
            $crate::DType::F64 => {
                type $t = f64;
                $body
            }
        }
    };
}

/// Borrows each named argument (a `&Bound<PyAny>` numpy array) as a read-only C-contiguous
/// `&[$t]` of the same name; the argument's name is the one errors give.
macro_rules! read_rows {
    ($t:ty: $($name:ident),+ $(,)?) => {
        $(
            let $name = $crate::python::arrays::contiguous::<$t>($name, stringify!($name))?;
            let $name = $name.as_slice().map_err($crate::python::arrays::slice_err)?;
        )+
    };
}

/// Borrows each named output argument as a writable C-contiguous `&mut [$t]` of the same name.
macro_rules! write_rows {
    ($t:ty: $($name:ident),+ $(,)?) => {
        $(
            let mut $name = $crate::python::arrays::output::<$t>($name, stringify!($name))?;
            let $name = $name.as_slice_mut().map_err($crate::python::arrays::slice_err)?;
        )+
    };
}

/// Borrows each named argument, a 3-d numpy array of paths, as a core [`Paths`] view of the
/// same name (any non-negative strides; a contiguous copy for negative ones).
macro_rules! read_paths {
    ($t:ty: $($name:ident),+ $(,)?) => {
        $(
            let $name = $crate::python::arrays::PathArray::<$t>::extract($name, stringify!($name))?;
            let mut copy = None;
            let $name = $name.view(&mut copy)?;
        )+
    };
}

pub(crate) use {read_paths, read_rows, with_dtype, write_rows};
