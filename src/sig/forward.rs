//! The signature of one path: fold each increment in with the fused multiply-exponentiate.

use std::ops::Range;

use super::paths::PathRef;
use super::transform::PathTransform;
use crate::algebra::{Layout, MulExpWorkspace, mul_exp};
use crate::error::{Result, try_zeroed};
use crate::scalar::Scalar;

/// Per-thread scratch for [`signature_of_path`].
#[derive(Debug, Clone)]
pub struct SigWorkspace<T> {
    increment: Vec<T>,
    mul_exp: MulExpWorkspace<T>,
}

impl<T: Scalar> SigWorkspace<T> {
    /// Scratch for signatures of `layout`.
    pub fn new(layout: Layout) -> Result<Self> {
        Ok(SigWorkspace {
            increment: try_zeroed("a signature workspace", layout.dim())?,
            mul_exp: MulExpWorkspace::new(layout)?,
        })
    }
}

/// Writes into `out` (levels `1..=N` of `layout`) the signature of the transformed path over its
/// increments `steps`: the whole path for `0..transform.increments(path.len())`.
pub fn signature_of_path<T: Scalar>(
    layout: Layout,
    path: &PathRef<'_, T>,
    transform: &PathTransform,
    steps: Range<usize>,
    out: &mut [T],
    ws: &mut SigWorkspace<T>,
) {
    out.fill(T::ZERO);
    for step in steps {
        transform.increment(path, step, &mut ws.increment);
        mul_exp(layout, out, &ws.increment, &mut ws.mul_exp);
    }
}
