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
    let n = layout.degree();
    let mut digits = vec![0usize; n];
    // weights[p] = d^(n-1-p): digit p of a level-n index weighs d^p, and d^(n-1-p) reversed.
    let weights: Vec<usize> = (0..n).map(|p| layout.level_len(n - 1 - p)).collect();
    for k in 2..=n {
        let level = &mut a[layout.level_range(k)];
        // Walk the words in order, keeping the reversed index `j` in step with `i` by the same
        // carries, without dividing: in level k, digit p of `j` weighs d^(k-1-p).
        let (digits, weights) = (&mut digits[..k], &weights[n - k..]);
        digits.fill(0);
        let mut j = 0;
        for i in 0..level.len() {
            if i < j {
                level.swap(i, j);
            }
            for (digit, &weight) in digits.iter_mut().zip(weights) {
                if *digit + 1 < d {
                    *digit += 1;
                    j += weight;
                    break;
                }
                *digit = 0;
                j -= (d - 1) * weight;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The index of the reversal of the word with base-`d` digits `i`, `k` digits long.
    fn reversed_index(mut i: usize, d: usize, k: usize) -> usize {
        let mut j = 0;
        for _ in 0..k {
            j = j * d + i % d;
            i /= d;
        }
        j
    }

    #[test]
    fn reverses_words_and_is_an_involution() {
        for (d, n) in [(3, 3), (2, 6), (5, 4), (1, 4), (4, 1)] {
            let layout = Layout::new(d, n).unwrap();
            let original: Vec<usize> = (0..layout.len()).collect();
            let mut a = original.clone();
            reverse_words(layout, &mut a);
            for k in 1..=n {
                let range = layout.level_range(k);
                for (i, &v) in a[range.clone()].iter().enumerate() {
                    assert_eq!(
                        v,
                        range.start + reversed_index(i, d, k),
                        "d={d} k={k} i={i}"
                    );
                }
            }
            reverse_words(layout, &mut a);
            assert_eq!(a, original);
        }
    }
}
