//! The Lyndon bracket basis as bytes, for the optional disk cache.
//!
//! Format (little-endian): the magic `TSIGLYN\0`, a format version, `d`, `N` and the array
//! lengths, then the basis's arrays, then a 64-bit FNV-1a checksum of everything before it.
//! Decoding checks the magic, version, shape, length and checksum, and then the structure itself
//! (every position, letter and column in range, the system strictly lower triangular, the word
//! counts Witt's): a file that fails any check is reported as unusable, so that the caller
//! rebuilds it, and nothing read from disk can index out of bounds.

use crate::algebra::{Layout, LyndonBasis, lyndon_count};

const MAGIC: &[u8; 8] = b"TSIGLYN\0";
/// Bumped whenever the layout of the bytes or the meaning of the tables changes.
const VERSION: u32 = 1;

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The bytes of `basis`, checksummed.
pub fn encode_basis(basis: &LyndonBasis) -> Vec<u8> {
    let mut out = Vec::new();
    let u64s = |out: &mut Vec<u8>, values: &mut dyn Iterator<Item = u64>| {
        for v in values {
            out.extend_from_slice(&v.to_le_bytes());
        }
    };
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    let header = [
        basis.layout.dim(),
        basis.layout.degree(),
        basis.positions.len(),
        basis.letters.len(),
        basis.expansion_positions.len(),
        basis.system_cols.len(),
    ];
    u64s(&mut out, &mut header.iter().map(|&v| v as u64));
    u64s(&mut out, &mut basis.level_starts.iter().map(|&v| v as u64));
    u64s(&mut out, &mut basis.positions.iter().map(|&v| v as u64));
    basis
        .letters
        .iter()
        .for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
    u64s(
        &mut out,
        &mut basis.expansion_starts.iter().map(|&v| v as u64),
    );
    u64s(
        &mut out,
        &mut basis.expansion_positions.iter().map(|&v| v as u64),
    );
    basis
        .expansion_coefs
        .iter()
        .for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
    u64s(&mut out, &mut basis.system_starts.iter().map(|&v| v as u64));
    basis
        .system_cols
        .iter()
        .for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
    basis
        .system_coefs
        .iter()
        .for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
    let checksum = fnv1a(&out);
    out.extend_from_slice(&checksum.to_le_bytes());
    out
}

/// Reads fixed-size little-endian values off the front of a byte slice.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const B: usize>(&mut self) -> Option<[u8; B]> {
        let (head, rest) = self.0.split_first_chunk::<B>()?;
        self.0 = rest;
        Some(*head)
    }
    fn usize(&mut self) -> Option<usize> {
        usize::try_from(u64::from_le_bytes(self.take()?)).ok()
    }
    fn usizes(&mut self, n: usize) -> Option<Vec<usize>> {
        (n <= self.0.len() / 8).then(|| (0..n).map(|_| self.usize()).collect())?
    }
    fn u32s(&mut self, n: usize) -> Option<Vec<u32>> {
        (n <= self.0.len() / 4).then(|| {
            (0..n)
                .map(|_| self.take().map(u32::from_le_bytes))
                .collect()
        })?
    }
    fn i32s(&mut self, n: usize) -> Option<Vec<i32>> {
        (n <= self.0.len() / 4).then(|| {
            (0..n)
                .map(|_| self.take().map(i32::from_le_bytes))
                .collect()
        })?
    }
}

/// The basis of `(dim, degree)` from `bytes`, or `None` when they are not a valid, intact
/// encoding of it (wrong version, shape or checksum, truncated, or inconsistent).
pub fn decode_basis(bytes: &[u8], dim: usize, degree: usize) -> Option<LyndonBasis> {
    let (body, checksum) = bytes.split_last_chunk::<8>()?;
    if fnv1a(body) != u64::from_le_bytes(*checksum) {
        return None;
    }
    let mut r = Reader(body);
    if &r.take::<8>()? != MAGIC || u32::from_le_bytes(r.take()?) != VERSION {
        return None;
    }
    let [d, n, words, letters, terms, entries] = [(); 6].map(|_| r.usize());
    let (words, letters, terms, entries) = (words?, letters?, terms?, entries?);
    if (d?, n?) != (dim, degree) {
        return None;
    }
    let layout = Layout::new(dim, degree).ok()?;
    if layout.len() > u32::MAX as usize {
        return None;
    }
    let basis = LyndonBasis {
        layout,
        level_starts: r.usizes(degree + 1)?,
        positions: r.usizes(words)?,
        letters: r.u32s(letters)?,
        expansion_starts: r.usizes(words.checked_add(1)?)?,
        expansion_positions: r.usizes(terms)?,
        expansion_coefs: r.i32s(terms)?,
        system_starts: r.usizes(words.checked_add(1)?)?,
        system_cols: r.u32s(entries)?,
        system_coefs: r.i32s(entries)?,
        fast: Default::default(),
    };
    let mut basis = (r.0.is_empty() && consistent(&basis)).then_some(basis)?;
    basis.derive();
    Some(basis)
}

/// Whether every index in `basis` is in range and its counts are the right ones: what the
/// algorithms rely on to stay in bounds.
fn consistent(basis: &LyndonBasis) -> bool {
    let (layout, d) = (basis.layout, basis.layout.dim());
    let degree = layout.degree();
    let starts = &basis.level_starts;
    let words = basis.positions.len();
    if starts[0] != 0 || starts[degree] != words || lyndon_count(d, degree) != Some(words) {
        return false;
    }
    let mut letters = basis.letters.as_slice();
    for k in 1..=degree {
        if starts[k] < starts[k - 1]
            || Some(starts[k] - starts[k - 1]) != lyndon_count_of_length(d, k)
        {
            return false;
        }
        let mut previous = None;
        for g in starts[k - 1]..starts[k] {
            let Some((word, rest)) = letters.split_at_checked(k) else {
                return false;
            };
            letters = rest;
            if word.iter().any(|&l| l as usize >= d) {
                return false;
            }
            let within = word.iter().fold(0usize, |p, &l| p * d + l as usize);
            let position = layout.level_offset(k) + within;
            if basis.positions[g] != position || previous >= Some(position) {
                return false;
            }
            previous = Some(position);
        }
    }
    let csr_ok = |starts: &[usize], len: usize| {
        starts.first() == Some(&0)
            && starts.last() == Some(&len)
            && starts.windows(2).all(|w| w[0] <= w[1])
    };
    letters.is_empty()
        && csr_ok(&basis.expansion_starts, basis.expansion_positions.len())
        && basis.expansion_positions.iter().all(|&p| p < layout.len())
        && csr_ok(&basis.system_starts, basis.system_cols.len())
        && (0..words).all(|v| {
            basis.system_cols[basis.system_starts[v]..basis.system_starts[v + 1]]
                .iter()
                .all(|&w| (w as usize) < v)
        })
}

/// Lyndon words of exactly `k` letters over `d`.
fn lyndon_count_of_length(d: usize, k: usize) -> Option<usize> {
    Some(lyndon_count(d, k)? - lyndon_count(d, k - 1)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_any_damage() {
        let basis = LyndonBasis::new(3, 4).unwrap();
        let bytes = encode_basis(&basis);
        assert_eq!(decode_basis(&bytes, 3, 4).as_ref(), Some(&basis));
        assert!(decode_basis(&bytes, 3, 5).is_none());
        assert!(decode_basis(&bytes[..bytes.len() - 1], 3, 4).is_none());
        assert!(decode_basis(&bytes[..100], 3, 4).is_none());
        assert!(decode_basis(&[], 3, 4).is_none());
        for i in (0..bytes.len()).step_by(37) {
            let mut damaged = bytes.clone();
            damaged[i] ^= 0x10;
            assert!(decode_basis(&damaged, 3, 4).is_none(), "byte {i}");
        }
    }
}
