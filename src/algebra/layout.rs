//! Where each level of a truncated tensor lives in a flat buffer.

use std::ops::Range;

use crate::error::{Error, Result};

/// The shape of the truncated tensor algebra T^N(R^d): dimension `d` and degree (truncation
/// level) `N`.
///
/// A truncated tensor is stored flat, levels `1..=N` concatenated; level `k` holds `d^k`
/// coefficients and the word `(i1, …, ik)` sits at `level_offset(k) + i1·d^(k-1) + … + ik`.
/// The scalar (level 0) term is not part of the buffer: the algorithms here work on group-like
/// elements, whose scalar term is 1. This is pysiglib's layout, so arrays pass between the two.
///
/// ```
/// use tensorsig::Layout;
/// let layout = Layout::new(3, 4).unwrap();
/// assert_eq!(layout.len(), 3 + 9 + 27 + 81);
/// assert_eq!(layout.level_range(2), 3..12);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Layout {
    dim: usize,
    degree: usize,
    len: usize,
}

impl Layout {
    /// The layout of T^`degree`(R^`dim`).
    ///
    /// Fails with [`Error::TooLarge`] when the tensor, or its size in bytes as `f64`, overflows.
    pub fn new(dim: usize, degree: usize) -> Result<Self> {
        let too_large = || Error::TooLarge {
            what: "a signature",
            detail: format!("dimension {dim}, degree {degree}"),
        };
        let mut len: usize = 0;
        let mut level: usize = 1;
        for _ in 0..degree {
            level = level.checked_mul(dim).ok_or_else(too_large)?;
            len = len.checked_add(level).ok_or_else(too_large)?;
            if dim <= 1 && level == 0 {
                break;
            }
        }
        // Every buffer of the layout must be addressable in bytes, with room for the scalar term.
        let bytes = len
            .checked_add(1)
            .and_then(|n| n.checked_mul(std::mem::size_of::<f64>()))
            .ok_or_else(too_large)?;
        if bytes > isize::MAX as usize {
            return Err(too_large());
        }
        Ok(Layout { dim, degree, len })
    }

    /// The dimension `d` of the underlying space.
    #[inline]
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The truncation level `N`.
    #[inline]
    pub fn degree(&self) -> usize {
        self.degree
    }

    /// Number of coefficients in levels `1..=N` (the scalar term excluded).
    #[inline]
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Number of coefficients, with the scalar term when `scalar_term` is set.
    #[inline]
    pub fn len_with(&self, scalar_term: bool) -> usize {
        self.len + usize::from(scalar_term)
    }

    /// `d^k`, the number of coefficients in level `k`.
    #[inline]
    pub fn level_len(&self, k: usize) -> usize {
        debug_assert!(k <= self.degree);
        // Cannot overflow: d^k ≤ len for k ≤ N, and `new` checked len.
        self.dim.pow(k as u32)
    }

    /// Where level `k` (`1 ≤ k ≤ N + 1`) starts in the flat buffer: `d + d^2 + … + d^(k-1)`.
    /// `level_offset(N + 1)` is `len()`.
    #[inline]
    pub fn level_offset(&self, k: usize) -> usize {
        debug_assert!(k >= 1 && k <= self.degree + 1);
        match self.dim {
            0 => 0,
            1 => k - 1,
            // (d^k - d) / (d - 1), computed without forming d^k when k = N + 1.
            d => (self.level_len(k - 1) - 1) / (d - 1) * d,
        }
    }

    /// The index range of level `k` (`1 ≤ k ≤ N`) in the flat buffer.
    #[inline]
    pub fn level_range(&self, k: usize) -> Range<usize> {
        let start = self.level_offset(k);
        start..start + self.level_len(k)
    }
}

/// The level offsets of a [`Layout`], tabulated: the inner loops look levels up many times per
/// step, and `Layout` computes each offset with a division.
#[derive(Clone, Debug)]
pub(crate) struct Levels {
    /// `starts[k]` = `level_offset(k)` for `k = 1..=N+1`; `starts[0]` unused.
    starts: Vec<usize>,
}

impl Levels {
    pub(crate) fn new(layout: Layout) -> Self {
        let mut starts = vec![0; layout.degree() + 2];
        for (k, s) in starts.iter_mut().enumerate().skip(1) {
            *s = layout.level_offset(k);
        }
        Levels { starts }
    }

    /// Where level `k` starts.
    #[inline(always)]
    pub(crate) fn offset(&self, k: usize) -> usize {
        self.starts[k]
    }

    /// `d^k` (`k ≥ 1`).
    #[inline(always)]
    pub(crate) fn len(&self, k: usize) -> usize {
        self.starts[k + 1] - self.starts[k]
    }

    /// The index range of level `k`.
    #[inline(always)]
    pub(crate) fn range(&self, k: usize) -> Range<usize> {
        self.starts[k]..self.starts[k + 1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_partition_the_buffer() {
        for dim in 0..6 {
            for degree in 0..7 {
                let layout = Layout::new(dim, degree).unwrap();
                let mut next = 0;
                for k in 1..=degree {
                    let range = layout.level_range(k);
                    assert_eq!(range.start, next, "d={dim} N={degree} k={k}");
                    assert_eq!(range.len(), dim.pow(k as u32));
                    next = range.end;
                }
                assert_eq!(next, layout.len());
                assert_eq!(layout.level_offset(degree + 1), layout.len());
            }
        }
    }

    #[test]
    fn overflow_is_an_error_not_a_panic() {
        assert!(matches!(Layout::new(30, 13), Err(Error::TooLarge { .. })));
        assert!(Layout::new(30, 12).is_ok()); // representable; allocating it is what fails
        assert!(matches!(
            Layout::new(usize::MAX, 2),
            Err(Error::TooLarge { .. })
        ));
        assert!(matches!(Layout::new(2, 70), Err(Error::TooLarge { .. })));
        assert!(Layout::new(1, 1_000_000).is_ok());
    }
}
