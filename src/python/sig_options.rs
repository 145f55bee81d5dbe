//! The optional arguments of the signature entry points: per-path lengths (ragged batches) and
//! corrections, borrowed from numpy arrays the facade has validated.

use numpy::ndarray::IxDyn;
use numpy::{Element, PyReadonlyArray, PyReadonlyArray1, PyUntypedArrayMethods};
use pyo3::prelude::*;

use super::errors::{argument_type_error, invalid_argument, shape_error};
use crate::{Correction, CorrectionRows};

/// The lengths of a ragged batch: a one-dimensional `int64` array, one length per path.
pub(crate) fn path_lengths(array: &Bound<'_, PyAny>) -> PyResult<Vec<usize>> {
    let array: PyReadonlyArray1<'_, i64> = array.extract().map_err(|_| {
        argument_type_error("lengths must be a one-dimensional numpy array of int64")
    })?;
    array
        .as_array()
        .iter()
        .map(|&n| {
            usize::try_from(n).map_err(|_| {
                invalid_argument(format!("lengths must be positive integers, got {n}"))
            })
        })
        .collect()
}

/// A correction borrowed from a C-contiguous array of rank 1 (one row for every segment), 2 (one
/// per segment) or 3 (one per segment of each path, the batch dimensions merged); `None` when it
/// is empty.
pub(crate) fn correction_of<'a, T: Element + Copy>(
    array: &'a PyReadonlyArray<'_, T, IxDyn>,
) -> PyResult<Option<Correction<'a, T>>> {
    let shape = array.shape();
    let rows = match shape.len() {
        1 => CorrectionRows::Shared,
        2 => CorrectionRows::PerSegment,
        3 => CorrectionRows::PerPath,
        rank => {
            return Err(shape_error(format!(
                "correction must have rank 1, 2 or 3 once the batch dimensions are merged, got rank {rank}"
            )));
        }
    };
    let data = array
        .as_slice()
        .map_err(|_| shape_error("correction must be C-contiguous"))?;
    if data.is_empty() {
        return Ok(None);
    }
    Ok(Some(Correction::new(data, shape[shape.len() - 1], rows)))
}
