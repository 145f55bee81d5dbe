//! What travels with every signature computation: the degree, the path transform and the scalar
//! term.

use super::{PathTransform, Paths};
use crate::algebra::Layout;
use crate::error::{Error, Result};

/// What a signature of a path is: its truncation `degree`, the [`PathTransform`] applied to the
/// path first, and whether each row of results starts with the scalar term 1 (pysiglib's
/// `scalar_term`). The signature functions take it whole ([`crate::sig()`],
/// [`crate::sig_backprop`], …), and so do the log-signatures, beside their method.
///
/// ```
/// use tensorsig::{PathTransform, SigParams};
/// let time = PathTransform { time_aug: true, ..PathTransform::default() };
/// let params = SigParams::new(3).with_transform(time).with_scalar_term(true);
/// assert_eq!((params.degree, params.scalar_term), (3, true));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SigParams {
    /// The truncation degree `N`: levels `1..=N` are computed.
    pub degree: usize,
    /// The transforms applied to each path before its signature is taken.
    pub transform: PathTransform,
    /// Whether each row starts with the level-0 coefficient, 1.
    pub scalar_term: bool,
}

impl SigParams {
    /// Signatures truncated at `degree`, of the paths as given, without the scalar term.
    pub fn new(degree: usize) -> Self {
        SigParams {
            degree,
            transform: PathTransform::default(),
            scalar_term: false,
        }
    }

    /// The same, of the paths transformed by `transform`.
    pub fn with_transform(self, transform: PathTransform) -> Self {
        SigParams { transform, ..self }
    }

    /// The same, with or without the scalar term.
    pub fn with_scalar_term(self, scalar_term: bool) -> Self {
        SigParams {
            scalar_term,
            ..self
        }
    }

    /// The layout of the signatures of `paths`, or an error naming the argument (a path without
    /// channels, a layout too large to index).
    pub fn layout<T: Copy>(&self, paths: &Paths<'_, T>) -> Result<Layout> {
        self.layout_for(paths.dim())
    }

    /// The layout of the signatures of paths of `dim` channels (before the transform), or an
    /// error naming the path argument.
    pub fn layout_for(&self, dim: usize) -> Result<Layout> {
        if dim == 0 {
            return Err(Error::invalid(
                "path",
                "has 0 channels (dimension); a path needs at least one",
            ));
        }
        Layout::new(self.transform.dim(dim), self.degree)
    }
}
