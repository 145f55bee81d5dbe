//! Borrowing numpy arrays as the core's slices and path views, without copying.

use numpy::ndarray::{Array3, ArrayView3, Axis, Ix3, IxDyn};
use numpy::{
    Element, PyArrayDescrMethods, PyArrayDyn, PyArrayMethods, PyReadonlyArray, PyReadwriteArray,
    PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::prelude::*;

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
