//! Log-signatures of degree 2 straight from the path, without the signature's recurrence.
//!
//! At degree 2 the log-signature is the increment `S1` and the Lévy areas: its coefficient at a
//! Lyndon word `ij` (`i < j`) is `S2_ij − S1_i S1_j / 2`, and
//!
//! ```text
//! S2 = Σ_t m_t ⊗ z_t,    m_t = (x_t + x_{t+1}) / 2 − x_0,
//! ```
//!
//! `z_t` the increments. No step depends on the one before but through `m_t`, which is read off
//! the path: `S2` is the matrix product `Mᵀ Z` of the steps' midpoints and increments, and only
//! its upper triangle is needed (the bracket system is the identity at degree 2, so methods 1-3
//! coincide, and the expanded form is antisymmetric). It is computed as such: a block of steps'
//! `m_t` and `z_t` in two row-major buffers, then register tiles of 4 rows of `S2` by up to 4
//! vectors of columns, each taking every step of the block in fused multiply-adds, where the
//! signature's recurrence updates every coefficient of `S2` once per step, in memory.

use super::LogSigMethod;
use crate::error::{Result, try_zeroed};
use crate::path::{PathRef, PathTransform};
use crate::scalar::Scalar;
use crate::simd::{Simd, Vectorize, simd_dispatch};

/// Steps per block of the buffers.
const BLOCK: usize = 128;
/// Rows of `S2` per register tile.
const ROWS: usize = 4;
/// Widest vector in elements at any level: buffer rows are padded to a multiple of it.
const MAX_LANES: usize = 8;

/// `v!(op)` is `T`'s vector operation `op` at level `S`.
macro_rules! v {
    ($op:ident) => {
        <T as Vectorize<S>>::$op
    };
}

/// Elements between the buffers of [`DegreeTwoWorkspace::steps`]: blocks a power of two long
/// would put `m_t` and `z_t` at addresses equal modulo 4 KiB, which the load/store unit takes for
/// the same and stalls on.
const PAD: usize = 24;

/// Per-thread scratch for [`log_sig_degree_two`].
#[derive(Debug, Clone)]
pub(crate) struct DegreeTwoWorkspace<T> {
    dim: usize,
    /// Row length of the buffers and of `s2`: `dim` padded with zeros to whole vectors.
    stride: usize,
    /// A block of steps' midpoints `m_t` (row-major `BLOCK × stride`), then after `PAD` their
    /// increments `z_t`, then after `PAD` the running `x_t − x_0` (`stride`).
    steps: Vec<T>,
    /// `S2`, `ROWS`-padded rows of `stride` (the upper triangle and the tiles' spill-over).
    s2: Vec<T>,
}

impl<T: Scalar> DegreeTwoWorkspace<T> {
    /// Scratch for paths of `dim` channels (after the transforms).
    pub(crate) fn new(dim: usize) -> Result<Self> {
        let what = "a degree-2 log-signature workspace";
        let stride = dim.next_multiple_of(MAX_LANES);
        Ok(DegreeTwoWorkspace {
            dim,
            stride,
            steps: try_zeroed(what, 2 * (BLOCK * stride + PAD) + stride)?,
            s2: try_zeroed(what, dim.next_multiple_of(ROWS) * stride)?,
        })
    }

    /// The running `x_t − x_0`: after a pass, the increment of the whole path.
    fn position(&self) -> &[T] {
        &self.steps[2 * (BLOCK * self.stride + PAD)..][..self.dim]
    }
}

/// Writes the degree-2 log-signature of `path` under `transform` into `out`, in the coordinates
/// of `method`: `d + d(d−1)/2` values for the Lyndon ones, the `d + d²` of the expanded form
/// otherwise (after the caller's scalar term).
pub(crate) fn log_sig_degree_two<T: Scalar>(
    path: &PathRef<'_, T>,
    transform: &PathTransform,
    method: LogSigMethod,
    out: &mut [T],
    ws: &mut DegreeTwoWorkspace<T>,
) {
    {
        let ws = &mut *ws;
        simd_dispatch!(<'a, 'p, T: Scalar> |S| {
            path: &'a PathRef<'p, T>,
            transform: &'a PathTransform,
            ws: &'a mut DegreeTwoWorkspace<T>,
        } -> () {
            accumulate::<S, T>(path, transform, ws)
        });
    }
    let (d, stride) = (ws.dim, ws.stride);
    let (level1, rest) = out.split_at_mut(d);
    let position = ws.position();
    level1.copy_from_slice(position);
    let half = T::from_f64(0.5);
    let mut k = 0;
    for i in 0..d {
        for j in i + 1..d {
            let area = ws.s2[i * stride + j] - half * position[i] * position[j];
            if method == LogSigMethod::Expanded {
                rest[i * d + j] = area;
                rest[j * d + i] = -area;
            } else {
                rest[k] = area;
            }
            k += 1;
        }
        if method == LogSigMethod::Expanded {
            rest[i * d + i] = T::ZERO;
        }
    }
}

/// The running sum `x_t − x_0` (the increment, at the end) and `S2` on and above the diagonal
/// tiles, block by block of steps.
#[inline(always)]
fn accumulate<S: Simd, T: Scalar + Vectorize<S>>(
    path: &PathRef<'_, T>,
    transform: &PathTransform,
    ws: &mut DegreeTwoWorkspace<T>,
) {
    let (d, stride, lanes) = (ws.dim, ws.stride, <T as Vectorize<S>>::LANES);
    let (midpoints, rest) = ws.steps.split_at_mut(BLOCK * stride + PAD);
    let (increments, position) = rest.split_at_mut(BLOCK * stride + PAD);
    let s2 = &mut ws.s2[..];
    position.fill(T::ZERO);
    s2.fill(T::ZERO);
    let steps = transform.increments(path.len());
    let mut first = 0;
    while first < steps {
        let n = BLOCK.min(steps - first);
        let plain = !transform.time_aug && !transform.lead_lag;
        match path.row_major_from(first).filter(|_| plain) {
            // SAFETY: the points `first..first + n + 1` are in `points` (`n` increments from
            // `first`), rows `t < n ≤ BLOCK` of the buffers hold `stride ≥ d` values.
            Some(points) => unsafe {
                fill_from_points::<S, T>(points, d, n, stride, midpoints, increments, position)
            },
            None => {
                for t in 0..n {
                    let z = &mut increments[t * stride..t * stride + d];
                    // SAFETY: `first + t < steps`, the number of increments.
                    unsafe { transform.increment_unchecked(path, first + t, |i, dz| z[i] = dz) };
                }
                // SAFETY: as for the rows above, and `position` holds `stride` values.
                unsafe { fill_midpoints::<S, T>(n, stride, midpoints, increments, position) };
            }
        }
        for i0 in (0..d).step_by(ROWS) {
            // The tiles of rows i0.. from the vector holding column i0 on.
            let mut c0 = i0 / lanes * lanes;
            while c0 < d {
                let vectors = (d - c0).div_ceil(lanes).min(4);
                // SAFETY: rows `i0..i0 + ROWS` of `s2` exist (`s2` has `d` rounded up to ROWS
                // rows); columns `c0..c0 + vectors·LANES ≤ stride` lie in the padded rows of
                // the buffers and of `s2`; the buffers hold `n ≤ BLOCK` rows.
                unsafe {
                    let args = (
                        midpoints.as_ptr(),
                        increments.as_ptr(),
                        s2.as_mut_ptr(),
                        n,
                        stride,
                        i0,
                        c0,
                    );
                    match vectors {
                        1 => tile::<S, T, 1>(args),
                        2 => tile::<S, T, 2>(args),
                        3 => tile::<S, T, 3>(args),
                        _ => tile::<S, T, 4>(args),
                    }
                }
                c0 += vectors * lanes;
            }
        }
        first += n;
    }
}

/// `m_t = (x_t − x_0) + z_t / 2` for the `n` increments `z_t` already in `increments`, whole
/// padded rows at a time (the padding stays 0), advancing `position`.
///
/// # Safety
/// The buffers hold `n` rows of `stride` values, `stride` a multiple of `LANES`, and
/// `position` holds `stride` values.
#[inline(always)]
unsafe fn fill_midpoints<S: Simd, T: Scalar + Vectorize<S>>(
    n: usize,
    stride: usize,
    midpoints: &mut [T],
    increments: &[T],
    position: &mut [T],
) {
    let (lanes, half) = (<T as Vectorize<S>>::LANES, v!(splat)(T::from_f64(0.5)));
    let (m, z, x) = (
        midpoints.as_mut_ptr(),
        increments.as_ptr(),
        position.as_mut_ptr(),
    );
    for t in 0..n {
        for c in (0..stride).step_by(lanes) {
            // SAFETY: as the caller vouched.
            unsafe {
                let (dz, at) = (v!(load)(z.add(t * stride + c)), v!(load)(x.add(c)));
                v!(store)(m.add(t * stride + c), v!(mul_add)(half, dz, at));
                v!(store)(x.add(c), v!(add)(at, dz));
            }
        }
    }
}

/// [`fill_midpoints`] with the increments taken from row-major `points` (`d` values each) as
/// they go, vector by vector: the common case of an untransformed C-ordered path.
///
/// # Safety
/// `points` holds `n + 1` points; the buffers `n` rows of `stride ≥ d` values, `stride` a
/// multiple of `LANES`; `position` holds `stride` values.
#[inline(always)]
unsafe fn fill_from_points<S: Simd, T: Scalar + Vectorize<S>>(
    points: &[T],
    d: usize,
    n: usize,
    stride: usize,
    midpoints: &mut [T],
    increments: &mut [T],
    position: &mut [T],
) {
    let (lanes, half) = (<T as Vectorize<S>>::LANES, v!(splat)(T::from_f64(0.5)));
    let (m, z, x, p) = (
        midpoints.as_mut_ptr(),
        increments.as_mut_ptr(),
        position.as_mut_ptr(),
        points.as_ptr(),
    );
    for t in 0..n {
        let mut c = 0;
        while c < d {
            // SAFETY: points `t` and `t + 1` are `d` values each; the last vector of a point is
            // masked to its remaining channels (the buffers' padding gets zeros).
            unsafe {
                let (here, next) = (p.add(t * d + c), p.add((t + 1) * d + c));
                let dz = if c + lanes <= d {
                    v!(sub)(v!(load)(next), v!(load)(here))
                } else {
                    let mask = v!(mask)(d - c);
                    v!(sub)(v!(load_masked)(next, mask), v!(load_masked)(here, mask))
                };
                let at = v!(load)(x.add(c));
                v!(store)(z.add(t * stride + c), dz);
                v!(store)(m.add(t * stride + c), v!(mul_add)(half, dz, at));
                v!(store)(x.add(c), v!(add)(at, dz));
            }
            c += lanes;
        }
    }
}

/// `s2[i0 + r][c0 + ·] += Σ_{t < n} m_t[i0 + r] · z_t[c0 + ·]` for `r < ROWS` and `V` vectors of
/// columns, every term in registers.
///
/// # Safety
/// `m` must hold `n` rows of `stride` values with `i0 + ROWS ≤ stride`, `z` `n` rows with
/// `c0 + V·LANES ≤ stride`, and `s2` rows `i0..i0 + ROWS` of `stride` values.
#[inline(always)]
unsafe fn tile<S: Simd, T: Scalar + Vectorize<S>, const V: usize>(
    (m, z, s2, n, stride, i0, c0): (*const T, *const T, *mut T, usize, usize, usize, usize),
) {
    let lanes = <T as Vectorize<S>>::LANES;
    let mut acc = [[v!(splat)(T::ZERO); V]; ROWS];
    // SAFETY: as the caller vouched.
    unsafe {
        for t in 0..n {
            let (m_t, z_t) = (m.add(t * stride + i0), z.add(t * stride + c0));
            let columns: [_; V] = std::array::from_fn(|v| v!(load)(z_t.add(v * lanes)));
            for (r, acc) in acc.iter_mut().enumerate() {
                let row = v!(splat)(*m_t.add(r));
                for (acc, &column) in acc.iter_mut().zip(&columns) {
                    *acc = v!(mul_add)(row, column, *acc);
                }
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            let out = s2.add((i0 + r) * stride + c0);
            for (v, &acc) in acc.iter().enumerate() {
                v!(store)(
                    out.add(v * lanes),
                    v!(add)(v!(load)(out.add(v * lanes)), acc),
                );
            }
        }
    }
}
