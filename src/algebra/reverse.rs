//! Word reversal, the anti-automorphism `rev(A ⊗ B) = rev(B) ⊗ rev(A)` of the tensor algebra.

use super::layout::Layout;

/// Reverses every word in place: the coefficient of `(i1, …, ik)` moves to `(ik, …, i1)`.
///
/// An involution (applying it twice is the identity), and `rev(exp(z)) = exp(z)`, so
/// `rev(A ⊗ exp(z)) = exp(z) ⊗ rev(A)`: a signature can be folded by left multiplication on
/// reversed tensors and reversed once at the end.
pub fn reverse_words<T>(layout: Layout, a: &mut [T]) {
    debug_assert_eq!(a.len(), layout.len());
    let d = layout.dim();
    if d <= 1 {
        return; // every word reads the same both ways
    }
    for k in 2..=layout.degree() {
        let level = &mut a[layout.level_range(k)];
        for i in 0..level.len() {
            let j = reversed_index(i, d, k);
            if i < j {
                level.swap(i, j);
            }
        }
    }
}

/// The index of the reversal of the word with base-`d` digits `i`, `k` digits long.
#[inline]
fn reversed_index(mut i: usize, d: usize, k: usize) -> usize {
    let mut j = 0;
    for _ in 0..k {
        j = j * d + i % d;
        i /= d;
    }
    j
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reverses_words_and_is_an_involution() {
        let layout = Layout::new(3, 3).unwrap();
        let original: Vec<usize> = (0..layout.len()).collect();
        let mut a = original.clone();
        reverse_words(layout, &mut a);
        // Word (0, 1, 2) sits at 3 + 9 + 0·9 + 1·3 + 2 = 17; (2, 1, 0) at 3 + 9 + 18 + 3 = 33.
        assert_eq!((a[17], a[33]), (33, 17));
        assert_eq!(a[..3], original[..3]);
        reverse_words(layout, &mut a);
        assert_eq!(a, original);
    }
}
