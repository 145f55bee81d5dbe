//! Read-only views of batches of paths, addressed by strides so that any memory layout
//! (C- or Fortran-ordered, sliced, transposed) is read in place, and optionally ragged: each
//! path may use only its first points.

use crate::error::{Error, Result};

/// A batch of `batch` paths of `len` points in `R^dim`: the value of channel `i` of point `t` of
/// path `b` is `data[b·strides[0] + t·strides[1] + i·strides[2]]`.
///
/// A *ragged* batch ([`Paths::with_lengths`]) gives each path its own number of points: path
/// `b` is its first `lengths[b]` points, and the rest of its rows are never read. Everything
/// computed from path `b` then equals what the path of `lengths[b]` points alone gives (its
/// time augmentation runs over its own points; its gradient is 0 past its end).
#[derive(Clone, Copy, Debug)]
pub struct Paths<'a, T> {
    data: &'a [T],
    shape: [usize; 3],
    strides: [usize; 3],
    lengths: Option<&'a [usize]>,
}

impl<'a, T: Copy> Paths<'a, T> {
    /// A C-contiguous batch: `data` holds `batch × len × dim` values.
    pub fn new(data: &'a [T], batch: usize, len: usize, dim: usize) -> Result<Self> {
        let shape = [batch, len, dim];
        Self::strided(data, shape, [len * dim, dim, 1])
    }

    /// A batch of shape `[batch, len, dim]` laid out in `data` with element strides `strides`.
    ///
    /// Fails with [`Error::Shape`] when an addressed element falls outside `data`.
    pub fn strided(data: &'a [T], shape: [usize; 3], strides: [usize; 3]) -> Result<Self> {
        let needed = if shape.contains(&0) {
            0
        } else {
            shape
                .iter()
                .zip(strides)
                .try_fold(1usize, |acc, (&n, s)| {
                    (n - 1).checked_mul(s).and_then(|o| o.checked_add(acc))
                })
                .ok_or_else(|| Error::TooLarge {
                    what: "a strided path",
                    detail: format!("shape {shape:?}, strides {strides:?}"),
                })?
        };
        if needed > data.len() {
            return Err(Error::Shape {
                name: "path",
                expected: needed,
                got: data.len(),
            });
        }
        Ok(Paths {
            data,
            shape,
            strides,
            lengths: None,
        })
    }

    /// The same batch, ragged: path `b` is its first `lengths[b]` points.
    ///
    /// Fails with [`Error::Shape`] unless there is one length per path, and with
    /// [`Error::InvalidArgument`] unless every length lies in `1..=len`.
    ///
    /// ```
    /// use tensorsig::Paths;
    /// let data = [0.0, 1.0, 2.0, 0.0, 5.0, 9.0]; // two paths of 3 points in R^1
    /// let paths = Paths::new(&data, 2, 3, 1)?.with_lengths(&[3, 2])?;
    /// assert_eq!((paths.path(0).len(), paths.path(1).len()), (3, 2));
    /// assert!(Paths::new(&data, 2, 3, 1)?.with_lengths(&[3, 4]).is_err());
    /// # Ok::<(), tensorsig::Error>(())
    /// ```
    pub fn with_lengths(self, lengths: &'a [usize]) -> Result<Self> {
        if lengths.len() != self.batch() {
            return Err(Error::Shape {
                name: "lengths",
                expected: self.batch(),
                got: lengths.len(),
            });
        }
        if let Some((b, &n)) = lengths
            .iter()
            .enumerate()
            .find(|&(_, &n)| n == 0 || n > self.len())
        {
            return Err(Error::invalid(
                "lengths",
                format!(
                    "every length must lie in 1..={} (the paths' points), got lengths[{b}] = {n}",
                    self.len()
                ),
            ));
        }
        Ok(Paths {
            lengths: Some(lengths),
            ..self
        })
    }

    /// The per-path lengths of a ragged batch, `None` when every path has [`Self::len`] points.
    pub fn lengths(&self) -> Option<&'a [usize]> {
        self.lengths
    }

    /// Number of paths.
    pub fn batch(&self) -> usize {
        self.shape[0]
    }

    /// Number of points of each path: in a ragged batch, the most any path may have.
    pub fn len(&self) -> usize {
        self.shape[1]
    }

    /// Whether the paths have no points.
    pub fn is_empty(&self) -> bool {
        self.shape[1] == 0
    }

    /// Number of channels of each point.
    pub fn dim(&self) -> usize {
        self.shape[2]
    }

    /// Number of points of path `b`: its length in a ragged batch, else [`Self::len`].
    pub fn len_of(&self, b: usize) -> usize {
        self.lengths.map_or(self.len(), |lengths| lengths[b])
    }

    /// The paths `range` of the batch, as a batch of their own (for work done a chunk at a time).
    pub fn sub_batch(&self, range: std::ops::Range<usize>) -> Paths<'a, T> {
        assert!(range.start <= range.end && range.end <= self.batch());
        // An empty batch (or empty paths) addresses nothing, and `data` may then be shorter.
        let start = (range.start * self.strides[0]).min(self.data.len());
        Paths {
            data: &self.data[start..],
            shape: [range.len(), self.shape[1], self.shape[2]],
            strides: self.strides,
            lengths: self.lengths.map(|lengths| &lengths[range]),
        }
    }

    /// Path `b` of the batch (its own points only, in a ragged batch).
    pub fn path(&self, b: usize) -> PathRef<'a, T> {
        assert!(b < self.batch(), "path {b} of a batch of {}", self.batch());
        PathRef {
            data: &self.data[b * self.strides[0]..],
            len: self.len_of(b),
            dim: self.dim(),
            strides: [self.strides[1], self.strides[2]],
        }
    }
}

/// One path of a [`Paths`] batch.
#[derive(Clone, Copy, Debug)]
pub struct PathRef<'a, T> {
    data: &'a [T],
    len: usize,
    dim: usize,
    strides: [usize; 2],
}

impl<T: Copy> PathRef<'_, T> {
    /// Number of points.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the path has no points.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of channels.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Channel `i` of point `t`.
    #[inline(always)]
    pub fn at(&self, t: usize, i: usize) -> T {
        self.data[t * self.strides[0] + i * self.strides[1]]
    }

    /// The points `t..` as one row-major slice (`dim` values per point), if the path is stored
    /// that way (C-ordered).
    #[inline(always)]
    pub(crate) fn row_major_from(&self, t: usize) -> Option<&[T]> {
        (self.strides == [self.dim, 1] && t <= self.len)
            .then(|| self.data.get(t * self.dim..self.len * self.dim))
            .flatten()
    }

    /// The differences `x[t + 1][i] - x[t][i]` for every channel `i`, passed to `put(i, ·)`;
    /// the hot loop of every signature, without bounds checks.
    ///
    /// # Safety
    /// `t + 1 < self.len()`: [`Paths::strided`] checked that every element of every point
    /// lies inside `data`.
    #[inline(always)]
    pub(crate) unsafe fn for_each_difference(&self, t: usize, mut put: impl FnMut(usize, T))
    where
        T: std::ops::Sub<Output = T>,
    {
        debug_assert!(t + 1 < self.len);
        let [step, stride] = self.strides;
        // SAFETY: points `t` and `t + 1` lie inside `data` (the caller's contract).
        unsafe {
            let here = self.data.as_ptr().add(t * step);
            let next = here.add(step);
            for i in 0..self.dim {
                put(i, *next.add(i * stride) - *here.add(i * stride));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strides_address_a_transposed_path() {
        // A 3 × 2 path stored column-major.
        let data = [0.0, 1.0, 2.0, 10.0, 11.0, 12.0];
        let paths = Paths::strided(&data, [1, 3, 2], [6, 1, 3]).unwrap();
        let p = paths.path(0);
        assert_eq!((p.at(0, 0), p.at(2, 0), p.at(1, 1)), (0.0, 2.0, 11.0));
    }

    #[test]
    fn out_of_bounds_strides_are_refused() {
        let data = [0.0; 5];
        assert!(Paths::strided(&data, [1, 3, 2], [6, 2, 1]).is_err());
        assert!(Paths::new(&data, 1, 3, 2).is_err());
        assert!(Paths::new(&data[..0], 0, 3, 2).is_ok());
    }

    #[test]
    fn ragged_paths_end_at_their_own_lengths() {
        let data = [0.0, 1.0, 2.0, 10.0, 11.0, 12.0];
        let paths = Paths::new(&data, 2, 3, 1).unwrap();
        let ragged = paths.with_lengths(&[1, 3]).unwrap();
        assert_eq!(
            (ragged.len(), ragged.len_of(0), ragged.len_of(1)),
            (3, 1, 3)
        );
        assert_eq!(ragged.path(0).len(), 1);
        assert_eq!(ragged.path(1).at(2, 0), 12.0);
        assert!(matches!(
            paths.with_lengths(&[1]),
            Err(Error::Shape {
                name: "lengths",
                ..
            })
        ));
        for bad in [[0, 3], [1, 4]] {
            assert!(matches!(
                paths.with_lengths(&bad),
                Err(Error::InvalidArgument {
                    name: "lengths",
                    ..
                })
            ));
        }
    }
}
