//! Zeroed scratch buffers whose first element sits on a cache line.
//!
//! The lane kernels load and store whole vectors at multiples of the vector length from the
//! start of their buffers. From a 64-byte boundary none of those accesses straddles two cache
//! lines; from the 16-byte alignment `malloc` gives, every other 256-bit one does, and costs
//! two. Measured on Zen 4: lane signatures 15-30% faster in `f64` once aligned.

use std::ops::{Deref, DerefMut};

use crate::error::try_zeroed;

/// Bytes of the alignment: one cache line, one 512-bit vector.
const ALIGN: usize = 64;

/// Whether `ptr` lies on a 64-byte boundary.
pub(crate) fn is_aligned<T>(ptr: *const T) -> bool {
    (ptr as usize).is_multiple_of(ALIGN)
}

/// `len` zeroed elements starting on a 64-byte boundary.
#[derive(Debug)]
pub(crate) struct AlignedBuf<T> {
    storage: Vec<T>,
    start: usize,
    len: usize,
}

/// Elements allocated beyond `len`, so that some start lies on the boundary.
fn slack<T>() -> usize {
    ALIGN.div_ceil(std::mem::size_of::<T>().max(1))
}

/// Where in `storage` the aligned elements start.
fn aligned_start<T>(storage: &[T]) -> usize {
    storage.as_ptr().align_offset(ALIGN).min(slack::<T>())
}

impl<T: Clone + Default> AlignedBuf<T> {
    /// `len` zeroes; `Error::OutOfMemory` naming `what` if they cannot be allocated.
    pub(crate) fn zeroed(what: &'static str, len: usize) -> crate::Result<Self> {
        let storage = try_zeroed::<T>(what, len.saturating_add(slack::<T>()))?;
        Ok(AlignedBuf {
            start: aligned_start(&storage),
            storage,
            len,
        })
    }
}

impl<T: Clone> Clone for AlignedBuf<T> {
    /// A copy that is aligned too (a copied `Vec` lands wherever the allocator puts it).
    fn clone(&self) -> Self {
        let mut storage = self.storage.clone();
        let start = aligned_start(&storage);
        if start < self.start {
            storage.rotate_left(self.start - start);
        } else {
            storage.rotate_right(start - self.start);
        }
        AlignedBuf {
            storage,
            start,
            len: self.len,
        }
    }
}

impl<T> Deref for AlignedBuf<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.storage[self.start..self.start + self.len]
    }
}

impl<T> DerefMut for AlignedBuf<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.storage[self.start..self.start + self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::AlignedBuf;

    #[test]
    fn starts_on_a_cache_line_and_holds_len_zeroes() {
        for len in [0, 1, 7, 100, 4099] {
            let mut buf = AlignedBuf::<f64>::zeroed("a test buffer", len).unwrap();
            assert_eq!(buf.as_ptr() as usize % 64, 0);
            assert_eq!(buf.len(), len);
            assert!(buf.iter().all(|&x| x == 0.0));
            buf.iter_mut()
                .enumerate()
                .for_each(|(i, x)| *x = i as f64 + 1.0);
            let copy = buf.clone();
            assert_eq!(copy.as_ptr() as usize % 64, 0, "clones realign");
            assert_eq!(&copy[..], &buf[..]);
        }
    }
}
