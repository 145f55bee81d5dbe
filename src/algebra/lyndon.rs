//! Lyndon words and the Lyndon bracket basis of the free Lie algebra, truncated.
//!
//! A Lyndon word is strictly smaller (lexicographically) than each of its proper suffixes. The
//! Lyndon words of length `1..=N` over `d` letters, ordered by length and then lexicographically
//! (pysiglib's, iisignature's and signatory's order), index the coordinates of a log-signature:
//! their number at length `k` is Witt's `(1/k) Σ_{j|k} μ(k/j) d^j`, the dimension of the free Lie
//! algebra's degree-`k` part.
//!
//! Each Lyndon word `w` of two letters or more factors as `w = uv` with `v` its longest proper
//! Lyndon suffix (then `u` is Lyndon too: the *standard factorisation*), and its *standard
//! bracketing* is `P(w) = [P(u), P(v)] = P(u)P(v) − P(v)P(u)`, `P(a) = a` for a letter. Expanded
//! in words, `P(w) = w + Σ_{u > w} c_u u` with integer `c_u` over words of `w`'s length
//! (Reutenauer, *Free Lie Algebras*, Thm 5.1): so the coefficients `ℓ` of a Lie element at the
//! Lyndon words and its coordinates `c` in the basis `{P(w)}` are related by a unitriangular
//! system, `ℓ_v = c_v + Σ_{w < v} M[v][w] c_w` with `M[v][w]` the coefficient of `v` in `P(w)`,
//! which is sparse and solved by substitution.

use crate::error::{Error, Result};

use super::layout::Layout;

/// The Lyndon words of `T^N(R^d)` with the sparse expansions of their standard bracketings and
/// the unitriangular system between Lyndon-word coefficients and bracket coordinates.
///
/// Words are numbered `0..len()` in length-then-lexicographic order. Positions are flat offsets
/// in the signature layout of `(d, N)` (see [`Layout`]).
///
/// ```
/// use tensorsig::algebra::LyndonBasis;
/// let basis = LyndonBasis::new(2, 3)?;
/// let words: Vec<&[u32]> = (0..basis.len()).map(|g| basis.letters(g)).collect();
/// assert_eq!(words, [&[0][..], &[1], &[0, 1], &[0, 0, 1], &[0, 1, 1]]);
/// // P(001) = [0, [0, 1]] = 001 − 2·010 + 100
/// let terms: Vec<(usize, i32)> = basis.expansion(3).collect();
/// assert_eq!(terms, [(6 + 1, 1), (6 + 2, -2), (6 + 4, 1)]);
/// # Ok::<(), tensorsig::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct LyndonBasis {
    pub(crate) layout: Layout,
    /// Words of length `k` are numbered `level_starts[k - 1]..level_starts[k]`.
    pub(crate) level_starts: Vec<usize>,
    /// Each word's flat position in the layout.
    pub(crate) positions: Vec<usize>,
    /// The letters of every word, concatenated in word order.
    pub(crate) letters: Vec<u32>,
    /// `expansion_starts[g]..expansion_starts[g + 1]` index the terms of `P(g)`, by position.
    pub(crate) expansion_starts: Vec<usize>,
    pub(crate) expansion_positions: Vec<usize>,
    pub(crate) expansion_coefs: Vec<i32>,
    /// `system_starts[v]..system_starts[v + 1]` index row `v` of the strictly lower part of the
    /// system: the words `w < v` (`system_cols`) whose bracketing has `v`, with its coefficient.
    pub(crate) system_starts: Vec<usize>,
    pub(crate) system_cols: Vec<u32>,
    pub(crate) system_coefs: Vec<i32>,
    /// Tables derived from the above for speed (not persisted: [`LyndonBasis::derive`]).
    pub(crate) fast: super::lyndon_coordinates::Derived,
}

/// Terms an expansion may have in all, beyond which the tables are refused as too large (16 bytes
/// each: 4 GiB).
const MAX_TERMS: usize = 1 << 28;

impl LyndonBasis {
    /// The basis of `T^degree(R^dim)`: Duval's enumeration, standard bracketings expanded, and the
    /// system assembled. About `d^N` work and memory at worst.
    ///
    /// Fails with [`Error::TooLarge`] when the layout or the expansions cannot be represented.
    pub fn new(dim: usize, degree: usize) -> Result<Self> {
        let layout = Layout::new(dim, degree)?;
        let too_large = |what: &str| Error::TooLarge {
            what: "the Lyndon bracket basis",
            detail: format!("dimension {dim}, degree {degree}: {what}"),
        };
        if dim > u32::MAX as usize {
            return Err(too_large("more letters than 32 bits index"));
        }
        let (level_starts, letters) = words_by_length(dim, degree);
        let count = *level_starts.last().unwrap_or(&0);
        if count > u32::MAX as usize {
            return Err(too_large("more words than 32 bits index"));
        }
        let mut positions = Vec::with_capacity(count);
        for k in 1..=degree {
            let base = letter_base(&level_starts, k);
            for g in 0..level_starts[k] - level_starts[k - 1] {
                let word = &letters[base + g * k..base + (g + 1) * k];
                let pos = word.iter().fold(0usize, |p, &l| p * dim + l as usize);
                positions.push(layout.level_offset(k) + pos);
            }
        }
        let mut basis = LyndonBasis {
            layout,
            level_starts,
            positions,
            letters,
            expansion_starts: vec![0],
            expansion_positions: Vec::new(),
            expansion_coefs: Vec::new(),
            system_starts: Vec::new(),
            system_cols: Vec::new(),
            system_coefs: Vec::new(),
            fast: Default::default(),
        };
        if layout.len() > u32::MAX as usize {
            return Err(too_large("more coefficients than 32 bits index"));
        }
        basis.expand_brackets().map_err(too_large)?;
        basis.assemble_system();
        basis.derive();
        Ok(basis)
    }

    /// The layout of the tensors the basis lives in.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Number of Lyndon words of length `1..=N`: the log-signature's length.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.positions.len()
    }

    /// The word numbers of the Lyndon words of length `k` (`1 ≤ k ≤ N`).
    pub fn level(&self, k: usize) -> std::ops::Range<usize> {
        self.level_starts[k - 1]..self.level_starts[k]
    }

    /// The length of word `g`.
    pub fn word_len(&self, g: usize) -> usize {
        self.level_starts.partition_point(|&s| s <= g)
    }

    /// The letters of word `g`.
    pub fn letters(&self, g: usize) -> &[u32] {
        let k = self.word_len(g);
        let start = letter_base(&self.level_starts, k) + (g - self.level_starts[k - 1]) * k;
        &self.letters[start..start + k]
    }

    /// Word `g`'s flat position in the layout.
    pub fn position(&self, g: usize) -> usize {
        self.positions[g]
    }

    /// The flat positions of all words, in word order.
    pub fn positions(&self) -> &[usize] {
        &self.positions
    }

    /// The expansion of the standard bracketing `P(g)` in words: `(position, coefficient)`, by
    /// increasing position; the first is `g` itself, with coefficient 1.
    pub fn expansion(&self, g: usize) -> impl Iterator<Item = (usize, i32)> + '_ {
        let range = self.expansion_starts[g]..self.expansion_starts[g + 1];
        self.expansion_positions[range.clone()]
            .iter()
            .copied()
            .zip(self.expansion_coefs[range].iter().copied())
    }

    /// Row `v` of the system's strictly lower part: `(w, M[v][w])` for the words `w < v` whose
    /// bracketing's expansion has the word `v`, by increasing `w`.
    pub fn system_row(&self, v: usize) -> impl Iterator<Item = (usize, i32)> + '_ {
        let range = self.system_starts[v]..self.system_starts[v + 1];
        self.system_cols[range.clone()]
            .iter()
            .map(|&w| w as usize)
            .zip(self.system_coefs[range].iter().copied())
    }

    /// The word number of the Lyndon word at flat position `position` of level `k`, if any
    /// (positions within a level grow with the lexicographic order: a binary search).
    fn find(&self, k: usize, position: usize) -> Option<usize> {
        let words = &self.positions[self.level(k)];
        words
            .binary_search(&position)
            .ok()
            .map(|i| self.level_starts[k - 1] + i)
    }

    /// Expands every `P(w)` level by level from the shorter words' expansions.
    fn expand_brackets(&mut self) -> std::result::Result<(), &'static str> {
        let (d, degree) = (self.layout.dim(), self.layout.degree());
        let mut terms: Vec<(usize, i64)> = Vec::new();
        for k in 1..=degree {
            let level_offset = self.layout.level_offset(k);
            for g in self.level(k) {
                terms.clear();
                if k == 1 {
                    terms.push((self.positions[g], 1));
                } else {
                    let (u, v) = self.standard_factors(g);
                    let (ku, kv) = (self.word_len(u), k - self.word_len(u));
                    let (pu, pv) = (self.layout.level_len(ku), self.layout.level_len(kv));
                    let (off_u, off_v) =
                        (self.layout.level_offset(ku), self.layout.level_offset(kv));
                    for (x, a) in self.expansion(u) {
                        for (y, b) in self.expansion(v) {
                            let (x, y) = (x - off_u, y - off_v);
                            let c = i64::from(a) * i64::from(b);
                            terms.push((level_offset + x * pv + y, c));
                            terms.push((level_offset + y * pu + x, -c));
                        }
                    }
                    terms.sort_unstable_by_key(|t| t.0);
                    merge_equal_words(&mut terms);
                }
                debug_assert_eq!(terms.first(), Some(&(self.positions[g], 1)), "d={d}");
                if self.expansion_positions.len() + terms.len() > MAX_TERMS {
                    return Err("the bracket expansions have too many terms");
                }
                for &(p, c) in &terms {
                    let c = i32::try_from(c)
                        .map_err(|_| "an expansion coefficient overflows 32 bits")?;
                    self.expansion_positions.push(p);
                    self.expansion_coefs.push(c);
                }
                self.expansion_starts.push(self.expansion_positions.len());
            }
        }
        Ok(())
    }

    /// The standard factorisation `g = uv` of a word of two letters or more: `v` its longest
    /// proper suffix that is a Lyndon word.
    fn standard_factors(&self, g: usize) -> (usize, usize) {
        let k = self.word_len(g);
        let within = self.positions[g] - self.layout.level_offset(k);
        for i in 1..k {
            let tail = k - i;
            let suffix = within % self.layout.level_len(tail);
            if let Some(v) = self.find(tail, self.layout.level_offset(tail) + suffix) {
                let prefix = within / self.layout.level_len(tail);
                let u = self
                    .find(i, self.layout.level_offset(i) + prefix)
                    .expect("the left factor of a standard factorisation is a Lyndon word");
                return (u, v);
            }
        }
        unreachable!("the last letter of a word is a Lyndon suffix")
    }

    /// Rows of the system from the expansions: `P(w)` has the Lyndon word `v > w` with
    /// coefficient `M[v][w]`.
    fn assemble_system(&mut self) {
        let mut entries: Vec<(u32, u32, i32)> = Vec::new();
        for k in 1..=self.layout.degree() {
            for w in self.level(k) {
                for (p, c) in self.expansion(w).skip(1) {
                    if let Some(v) = self.find(k, p) {
                        entries.push((v as u32, w as u32, c));
                    }
                }
            }
        }
        entries.sort_unstable();
        self.system_starts = Vec::with_capacity(self.len() + 1);
        self.system_starts.push(0);
        let mut next = 0;
        for v in 0..self.len() {
            while next < entries.len() && entries[next].0 as usize == v {
                next += 1;
            }
            self.system_starts.push(next);
        }
        self.system_cols = entries.iter().map(|e| e.1).collect();
        self.system_coefs = entries.iter().map(|e| e.2).collect();
    }
}

/// The number of Lyndon words of length `1..=degree` over `dim` letters, by Witt's formula
/// `Σ_{k ≤ N} (1/k) Σ_{j | k} μ(k/j) d^j`: the length of a log-signature in Lyndon coordinates.
/// `None` when it does not fit a `usize`.
///
/// ```
/// assert_eq!(tensorsig::algebra::lyndon_count(3, 4), Some(32));
/// assert_eq!(tensorsig::algebra::lyndon_count(2, 200), None);
/// ```
pub fn lyndon_count(dim: usize, degree: usize) -> Option<usize> {
    let mut total: usize = 0;
    for k in 1..=degree {
        let mut sum: i128 = 0;
        for j in (1..=k).filter(|j| k % j == 0) {
            let power = i128::try_from(dim)
                .ok()?
                .checked_pow(u32::try_from(j).ok()?)?;
            sum = sum.checked_add(mobius(k / j).checked_mul(power)?)?;
        }
        total = total.checked_add(usize::try_from(sum / k as i128).ok()?)?;
        if dim <= 1 && k >= 1 {
            break; // no Lyndon words longer than one letter
        }
    }
    Some(total)
}

/// The Möbius function: 0 when `n` has a square factor, else `(−1)^(number of prime factors)`.
fn mobius(mut n: usize) -> i128 {
    let (mut sign, mut p) = (1, 2);
    while p * p <= n {
        if n.is_multiple_of(p) {
            n /= p;
            if n.is_multiple_of(p) {
                return 0;
            }
            sign = -sign;
        }
        p += 1;
    }
    if n > 1 { -sign } else { sign }
}

/// Where the letters of the words of length `k` start in the concatenated letters.
fn letter_base(level_starts: &[usize], k: usize) -> usize {
    (1..k)
        .map(|j| j * (level_starts[j] - level_starts[j - 1]))
        .sum()
}

/// The Lyndon words of length `1..=degree` over `dim` letters by Duval's algorithm (which yields
/// them in lexicographic order), grouped by length: the level boundaries (word numbers, from 0)
/// and the letters, concatenated.
fn words_by_length(dim: usize, degree: usize) -> (Vec<usize>, Vec<u32>) {
    let mut by_length: Vec<Vec<u32>> = vec![Vec::new(); degree + 1];
    if dim > 0 && degree > 0 {
        // The next word after w (of at most `degree` letters) repeats w up to the full length,
        // drops trailing maximal letters and increments the last one.
        let mut word: Vec<u32> = vec![0];
        let top = (dim - 1) as u32;
        loop {
            by_length[word.len()].extend_from_slice(&word);
            let period = word.len();
            while word.len() < degree {
                word.push(word[word.len() - period]);
            }
            while word.last() == Some(&top) {
                word.pop();
            }
            match word.last_mut() {
                Some(last) => *last += 1,
                None => break,
            }
        }
    }
    let mut level_starts = vec![0];
    let mut letters = Vec::new();
    for (k, words) in by_length.iter().enumerate().skip(1) {
        level_starts.push(level_starts[k - 1] + words.len() / k);
        letters.extend_from_slice(words);
    }
    (level_starts, letters)
}

/// Sums the coefficients of equal words in a run sorted by word and drops the zeros.
fn merge_equal_words(terms: &mut Vec<(usize, i64)>) {
    let mut kept = 0;
    let mut i = 0;
    while i < terms.len() {
        let (p, mut c) = terms[i];
        i += 1;
        while i < terms.len() && terms[i].0 == p {
            c += terms[i].1;
            i += 1;
        }
        if c != 0 {
            terms[kept] = (p, c);
            kept += 1;
        }
    }
    terms.truncate(kept);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Witt's count at one length, by brute force: the words of length `k` that are strictly
    /// smaller than all their rotations.
    fn witt(d: usize, k: usize) -> usize {
        (0..d.pow(k as u32))
            .filter(|&i| {
                let word: Vec<usize> = (0..k).map(|j| i / d.pow((k - 1 - j) as u32) % d).collect();
                (1..k).all(|r| word < [&word[r..], &word[..r]].concat())
            })
            .count()
    }

    #[test]
    fn counts_follow_witt_and_words_are_lyndon_in_order() {
        for (d, n) in [(1, 4), (2, 7), (3, 5), (4, 4), (8, 3)] {
            let basis = LyndonBasis::new(d, n).unwrap();
            assert_eq!(lyndon_count(d, n), Some(basis.len()));
            for k in 1..=n {
                assert_eq!(basis.level(k).len(), witt(d, k), "d={d} k={k}");
                let words: Vec<&[u32]> = basis.level(k).map(|g| basis.letters(g)).collect();
                assert!(words.windows(2).all(|w| w[0] < w[1]));
                for w in words {
                    assert!((1..k).all(|i| w < &w[i..]), "{w:?} is not Lyndon");
                }
            }
        }
    }

    #[test]
    fn bracketings_are_unitriangular() {
        let basis = LyndonBasis::new(3, 5).unwrap();
        for g in 0..basis.len() {
            let terms: Vec<_> = basis.expansion(g).collect();
            assert_eq!(terms[0], (basis.position(g), 1));
            assert!(terms.windows(2).all(|t| t[0].0 < t[1].0));
            for (w, _) in basis.system_row(g) {
                assert!(w < g);
            }
        }
    }
}
