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
    let mut digits = vec![0usize; n.saturating_sub(2)];
    // weights[p] = d^(n-3-p); level k uses the last k - 2.
    let weights: Vec<usize> = (3..=n).map(|q| layout.level_len(n - q)).collect();
    for k in 2..=n {
        let level = &mut a[layout.level_range(k)];
        // A word is (first letter f, middle m, last letter l); its reversal is (l, rev(m), f).
        // Words are taken a middle at a time: the d² words sharing middle m trade places with
        // the d² sharing rev(m), by runs of d consecutive coefficients, so that both blocks
        // stay in a few cache lines (swapping word by word would stride d^(k-1) apart).
        let stride = layout.level_len(k - 1);
        let middles = layout.level_len(k - 2);
        // The middle's reversal `r` is kept in step with `m` by the same carries, without
        // dividing: digit p of `m` (from the last) weighs d^p, and d^(k-3-p) in `r`.
        let (digits, weights) = (&mut digits[..k - 2], &weights[n - k..]);
        digits.fill(0);
        let mut r = 0;
        for m in 0..middles {
            if m <= r {
                for f in 0..d {
                    // Pairs (f, m, l) <-> (l, r, f): each once (when m = r, with l > f).
                    let first_l = if m == r { f + 1 } else { 0 };
                    for l in first_l..d {
                        level.swap(f * stride + m * d + l, l * stride + r * d + f);
                    }
                }
            }
            for (digit, &weight) in digits.iter_mut().zip(weights) {
                if *digit + 1 < d {
                    *digit += 1;
                    r += weight;
                    break;
                }
                *digit = 0;
                r -= (d - 1) * weight;
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
        for (d, n) in [
            (3, 3),
            (2, 6),
            (5, 4),
            (1, 4),
            (4, 1),
            (8, 5),
            (3, 7),
            (2, 2),
        ] {
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
