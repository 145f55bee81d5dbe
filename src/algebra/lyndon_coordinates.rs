//! Coordinates in the Lyndon bracket basis: the unitriangular system's forward and transposed
//! solves, the expansion of bracket coordinates into words and its adjoint, and the tables the
//! per-signature loops read (derived from the basis, never persisted).

use super::lyndon::LyndonBasis;
use crate::scalar::Scalar;

/// The tables the per-signature loops read, derived from a [`LyndonBasis`]'s own.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Derived {
    /// For each length `k ≥ 2` and `0 < j < k`, the splits `v = v[..j] v[j..]` of the words of
    /// length `k`: one pass of independent multiply-adds per `(k, j)`, no chain between words.
    pub(crate) split_passes: Vec<SplitPass>,
    /// The expansions' and the system's coefficients as `f64` (exact: small integers).
    pub(crate) expansion_values: Vec<f64>,
    pub(crate) system_values: Vec<f64>,
    /// The rows of the system that have entries, in order (most have none).
    pub(crate) system_rows: Vec<u32>,
    /// The system by columns: the nonempty columns `w` in order, each with the end of its
    /// entries `(v, M[v][w])` in `column_rows` and `column_values` (the start is the previous
    /// column's end).
    pub(crate) columns: Vec<(u32, u32)>,
    pub(crate) column_rows: Vec<u32>,
    pub(crate) column_values: Vec<f64>,
}

/// The splits `v[..j] | v[j..]` at one `j` of the words of one length.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct SplitPass {
    /// The words' numbers.
    pub(crate) words: std::ops::Range<usize>,
    /// For each, the flat positions of the prefix and of the suffix.
    pub(crate) pairs: Vec<[u32; 2]>,
}

impl LyndonBasis {
    /// Fills [`LyndonBasis::fast`] from the other tables (which must be consistent, and the
    /// layout no longer than `u32::MAX`).
    pub(crate) fn derive(&mut self) {
        let layout = self.layout;
        // What the unchecked reads of the per-signature loops rely on: every word lies in the
        // level of its length, so its splits' positions do too.
        for k in 1..=layout.degree() {
            let level = layout.level_range(k);
            assert!(
                self.positions[self.level(k)]
                    .iter()
                    .all(|p| level.contains(p))
            );
        }
        let mut passes = Vec::new();
        for k in 2..=layout.degree() {
            let words = self.level(k);
            for j in 1..k {
                let tail = layout.level_len(k - j);
                let pairs = self.positions[words.clone()]
                    .iter()
                    .map(|&p| {
                        let within = p - layout.level_offset(k);
                        let prefix = layout.level_offset(j) + within / tail;
                        let suffix = layout.level_offset(k - j) + within % tail;
                        [prefix as u32, suffix as u32]
                    })
                    .collect();
                passes.push(SplitPass {
                    words: words.clone(),
                    pairs,
                });
            }
        }
        let mut by_column: Vec<(u32, u32, f64)> = (0..self.len())
            .flat_map(|v| {
                self.system_row(v)
                    .map(move |(w, m)| (w as u32, v as u32, f64::from(m)))
            })
            .collect();
        by_column.sort_by_key(|e| (e.0, e.1));
        let mut columns: Vec<(u32, u32)> = Vec::new();
        for (i, &(w, v, _)) in by_column.iter().enumerate() {
            // The unchecked solve relies on it: entries below the diagonal, inside the system.
            assert!(w < v && (v as usize) < self.len());
            match columns.last_mut() {
                Some((last, end)) if *last == w => *end = i as u32 + 1,
                _ => columns.push((w, i as u32 + 1)),
            }
        }
        self.fast = Derived {
            columns,
            column_rows: by_column.iter().map(|e| e.1).collect(),
            column_values: by_column.iter().map(|e| e.2).collect(),
            split_passes: passes,
            expansion_values: self.expansion_coefs.iter().map(|&c| f64::from(c)).collect(),
            system_values: self.system_coefs.iter().map(|&c| f64::from(c)).collect(),
            system_rows: (0..self.len())
                .filter(|&v| self.system_starts[v] < self.system_starts[v + 1])
                .map(|v| v as u32)
                .collect(),
        };
    }

    /// In place, the bracket coordinates `c` of the Lie element whose coefficients at the Lyndon
    /// words are `values` (`ℓ`): forward substitution, `c_v = ℓ_v − Σ_{w<v} M[v][w] c_w`.
    ///
    /// By columns: once `c_w` is final, it is taken off every later row it enters. The updates
    /// of one column are independent of each other, where a row's would form one chain.
    pub fn solve<T: Scalar>(&self, values: &mut [T]) {
        assert_eq!(values.len(), self.len());
        let (rows, coefs) = (&self.fast.column_rows, &self.fast.column_values);
        let mut start = 0;
        for &(w, end) in &self.fast.columns {
            let end = end as usize;
            // SAFETY: `derive` checked `w < v < len()` for every entry `(v, w)`, and built the
            // column ends as increasing offsets into `rows` and `coefs` (both that long).
            unsafe {
                let c = *values.get_unchecked(w as usize);
                for i in start..end {
                    let v = *rows.get_unchecked(i) as usize;
                    *values.get_unchecked_mut(v) -= T::from_f64(*coefs.get_unchecked(i)) * c;
                }
            }
            start = end;
        }
    }

    /// In place, the solution `y` of the transposed system `Mᵀ y = values`: the adjoint of
    /// [`LyndonBasis::solve`], which maps a gradient with respect to the coordinates `c` to one
    /// with respect to the Lyndon-word coefficients `ℓ`. Back substitution by columns.
    pub fn solve_transposed<T: Scalar>(&self, values: &mut [T]) {
        assert_eq!(values.len(), self.len());
        let (cols, coefs) = (&self.system_cols, &self.fast.system_values);
        for &v in self.fast.system_rows.iter().rev() {
            let v = v as usize;
            let y = values[v];
            for i in self.system_starts[v]..self.system_starts[v + 1] {
                values[cols[i] as usize] -= T::from_f64(coefs[i]) * y;
            }
        }
    }

    /// `tensor = Σ_g coords[g] · P(g)`: the Lie element with bracket coordinates `coords`, in
    /// words (every coefficient of `tensor` is written).
    pub fn expand<T: Scalar>(&self, coords: &[T], tensor: &mut [T]) {
        assert_eq!(coords.len(), self.len());
        assert_eq!(tensor.len(), self.layout.len());
        tensor.fill(T::ZERO);
        for (g, &c) in coords.iter().enumerate() {
            for i in self.expansion_starts[g]..self.expansion_starts[g + 1] {
                tensor[self.expansion_positions[i]] +=
                    T::from_f64(self.fast.expansion_values[i]) * c;
            }
        }
    }

    /// The adjoint of [`LyndonBasis::expand`]: `coords[g] = Σ_u coef(P(g), u) · grad[u]`.
    pub fn expand_transposed<T: Scalar>(&self, grad: &[T], coords: &mut [T]) {
        assert_eq!(coords.len(), self.len());
        assert_eq!(grad.len(), self.layout.len());
        for (g, c) in coords.iter_mut().enumerate() {
            let mut acc = T::ZERO;
            for i in self.expansion_starts[g]..self.expansion_starts[g + 1] {
                acc +=
                    T::from_f64(self.fast.expansion_values[i]) * grad[self.expansion_positions[i]];
            }
            *c = acc;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solve_and_transposed_solve_are_inverse_and_adjoint() {
        let basis = LyndonBasis::new(3, 4).unwrap();
        let n = basis.len();
        let c: Vec<f64> = (0..n).map(|i| (i as f64 * 0.7).sin()).collect();
        // ℓ = M c, then solving gives c back.
        let mut l = c.clone();
        for (v, lv) in l.iter_mut().enumerate() {
            for (w, m) in basis.system_row(v) {
                *lv += f64::from(m) * c[w];
            }
        }
        let mut solved = l.clone();
        basis.solve(&mut solved);
        for (a, b) in solved.iter().zip(&c) {
            assert!((a - b).abs() < 1e-12);
        }
        // <M⁻¹ a, b> = <a, M⁻ᵀ b>
        let b: Vec<f64> = (0..n).map(|i| (i as f64 * 1.3).cos()).collect();
        let mut bt = b.clone();
        basis.solve_transposed(&mut bt);
        let lhs: f64 = solved.iter().zip(&b).map(|(x, y)| x * y).sum();
        let rhs: f64 = l.iter().zip(&bt).map(|(x, y)| x * y).sum();
        assert!((lhs - rhs).abs() < 1e-10);
    }
}
