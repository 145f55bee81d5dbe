//! Batched signature kernels and their gradients on the CPU.
//!
//! Pairs of paths are dealt into lane groups (one pair per SIMD lane, see
//! [`crate::sigkernel`]) and the groups spread over [`Threads`]. A Gram matrix of one batch with
//! itself solves each unordered pair once and mirrors it, whenever the scheme is symmetric (the
//! polynomial method, or equal dyadic orders).

use rayon::prelude::*;

use super::threads::Threads;
use crate::error::{Error, Result, check_len, try_zeroed};
use crate::path::Paths;
use crate::sigkernel::Real;
use crate::sigkernel::increments::{GivenIncrements, KernelIncrements};
use crate::sigkernel::pack::group_width;
use crate::sigkernel::{Method, StaticKernel, Workspace, backprop_group, solve_group};

/// What a forward computation noticed about its inputs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SigKernelReport {
    /// A [`StaticKernel::Polynomial`] of fractional degree met a negative base and clamped it
    /// to 0.
    pub clamped_negative_base: bool,
}

/// Which pairs of two batches are solved, and where each one's result goes.
#[derive(Clone, Copy, Debug)]
enum Pairs {
    /// `(b, b)` for `b < batch`; result `b`.
    Paired(usize),
    /// `(i, j)` for every `i < rows`, `j < cols`; result `i·cols + j`.
    All(usize, usize),
    /// `(i, j)` for `i ≤ j < n`: results `i·n + j` and, mirrored, `j·n + i`.
    Upper(usize),
}

impl Pairs {
    fn count(self) -> usize {
        match self {
            Pairs::Paired(n) => n,
            Pairs::All(r, c) => r * c,
            Pairs::Upper(n) => n * (n + 1) / 2,
        }
    }

    /// How many results the pairs fill (the mirrored ones too).
    fn results(self) -> usize {
        match self {
            Pairs::Upper(n) => n * n,
            _ => self.count(),
        }
    }

    /// Every pair, in order: row by row.
    fn list(self) -> Vec<(usize, usize)> {
        match self {
            Pairs::Paired(n) => (0..n).map(|b| (b, b)).collect(),
            Pairs::All(r, c) => (0..r).flat_map(|i| (0..c).map(move |j| (i, j))).collect(),
            Pairs::Upper(n) => (0..n).flat_map(|i| (i..n).map(move |j| (i, j))).collect(),
        }
    }

    /// Where pair `(i, j)`'s result goes, and its mirror's when it has one.
    fn targets(self, (i, j): (usize, usize)) -> (usize, Option<usize>) {
        match self {
            Pairs::Paired(_) => (i, None),
            Pairs::All(_, c) => (i * c + j, None),
            Pairs::Upper(n) => (i * n + j, (i != j).then_some(j * n + i)),
        }
    }

    /// The lane groups: consecutive runs of `width` pairs.
    fn groups(self, width: usize) -> Vec<Vec<(usize, usize)>> {
        self.list().chunks(width).map(<[_]>::to_vec).collect()
    }
}

/// A buffer that the groups, running on several threads, write disjoint parts of.
#[derive(Clone, Copy)]
struct Disjoint<T> {
    ptr: *mut T,
    len: usize,
}

// SAFETY: every index is written by exactly one group (each result belongs to one pair, each
// pair to one group), and nothing reads the buffer until every group has finished.
unsafe impl<T: Send> Send for Disjoint<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Disjoint<T> {}

impl<T> Disjoint<T> {
    fn new(out: &mut [T]) -> Self {
        Disjoint {
            ptr: out.as_mut_ptr(),
            len: out.len(),
        }
    }

    /// Writes `value` at `at`, which no other group writes.
    fn write(self, at: usize, value: T) {
        assert!(at < self.len);
        // SAFETY: in bounds (asserted); the index is this group's alone (see the type).
        unsafe { self.ptr.add(at).write(value) }
    }

    /// The `len` values from `start`, which no other group touches.
    #[allow(clippy::mut_from_ref)]
    fn slice(&self, start: usize, len: usize) -> &mut [T] {
        assert!(start <= self.len && len <= self.len - start);
        // SAFETY: in bounds (asserted); the range is this group's alone (see the type), and
        // each group takes a range once.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(start), len) }
    }
}

/// Checks the two batches of paths and the method, and returns the grid points per pair.
fn check_paths<T: Copy>(
    x: &Paths<'_, T>,
    y: &Paths<'_, T>,
    method: Method,
) -> Result<(usize, usize)> {
    if x.dim() != y.dim() {
        return Err(Error::invalid(
            "path2",
            format!("has {} channels, path1 has {}", y.dim(), x.dim()),
        ));
    }
    if x.dim() == 0 {
        return Err(Error::invalid(
            "path1",
            "has 0 channels; a path needs at least one",
        ));
    }
    method.grid_points(x.len(), y.len())
}

/// Runs `work` on every lane group, with one workspace per worker made by `workspace`.
fn for_each_group<W, G: Sync>(
    threads: Threads,
    groups: &[G],
    workspace: impl Fn() -> Result<W> + Sync,
    work: impl Fn(&G, &mut W) + Sync,
) -> Result<()> {
    if threads.count() == 1 || groups.len() <= 1 {
        let mut ws = workspace()?;
        groups.iter().for_each(|g| work(g, &mut ws));
        return Ok(());
    }
    threads.install(|| {
        groups.par_iter().try_for_each_init(&workspace, |ws, g| {
            let ws = ws.as_mut().map_err(|e| e.clone())?;
            work(g, ws);
            Ok(())
        })
    })?
}

/// The forward computation over `pairs` of `x` and `y`: each pair's kernel (or grid, rows of
/// `grid.1` points) into `out`.
#[allow(clippy::too_many_arguments)]
fn solve_pairs<T: Real>(
    x: &Paths<'_, T>,
    y: &Paths<'_, T>,
    kernel: &StaticKernel,
    method: Method,
    pairs: Pairs,
    return_grid: bool,
    threads: Threads,
    out: &mut [T],
) -> Result<SigKernelReport> {
    kernel.validate()?;
    let grid = check_paths(x, y, method)?;
    let per_pair = if return_grid { grid_size(grid)? } else { 1 };
    check_len("out", out, pairs.results() * per_pair)?;
    if pairs.count() == 0 {
        return Ok(SigKernelReport::default());
    }
    let width = group_width::<T>();
    let groups = pairs.groups(width);
    let out = Disjoint::new(out);
    let clamped = std::sync::atomic::AtomicBool::new(false);
    let (dim, len1, len2) = (x.dim(), x.len(), y.len());
    for_each_group(
        threads,
        &groups,
        || {
            let lanes = KernelIncrements::new(*kernel, width, dim, len1, len2, false)?;
            let ws = Workspace::new(method, len1, len2, width, false)?;
            Ok((lanes, ws, vec![T::ZERO; width]))
        },
        |group, (lanes, ws, values)| {
            lanes.load(x, y, group);
            let targets: Vec<_> = group.iter().map(|&p| pairs.targets(p)).collect();
            if return_grid {
                let mut write_row = |r: usize, row: &[T]| {
                    for (lane, &(at, mirror)) in targets.iter().enumerate() {
                        for c in 0..grid.1 {
                            let v = row[c * width + lane];
                            out.write(at * per_pair + r * grid.1 + c, v);
                            if let Some(m) = mirror {
                                out.write(m * per_pair + c * grid.0 + r, v);
                            }
                        }
                    }
                };
                solve_group(lanes, ws, Some(&mut write_row), values);
            } else {
                solve_group(lanes, ws, None, values);
                for (lane, &(at, mirror)) in targets.iter().enumerate() {
                    out.write(at, values[lane]);
                    if let Some(m) = mirror {
                        out.write(m, values[lane]);
                    }
                }
            }
            if lanes.clamped() {
                clamped.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        },
    )?;
    Ok(SigKernelReport {
        clamped_negative_base: clamped.into_inner(),
    })
}

/// Values in one pair's grid, or an error when they cannot be indexed.
fn grid_size((a, b): (usize, usize)) -> Result<usize> {
    a.checked_mul(b)
        .filter(|&n| n < isize::MAX as usize / 64)
        .ok_or_else(|| Error::TooLarge {
            what: "a signature kernel grid",
            detail: format!("{a} × {b} points"),
        })
}

/// Whether the scheme gives `k(x, y) = k(y, x)` for a symmetric static kernel.
fn symmetric_scheme(method: Method) -> bool {
    match method {
        Method::FiniteDifference {
            dyadic_order: (a, b),
        } => a == b,
        Method::Polynomial { .. } => true,
    }
}

/// Signature kernels of paired batches: `out[b] = k(x_b, y_b)` for every `b`, or with
/// `return_grid` the whole PDE grid of each pair (`out[b]` of
/// [`Method::grid_points`] `(x.len(), y.len())` values, row-major: row `r` follows `x` to its
/// `r`-th grid point).
///
/// `x` and `y` hold the same number of paths in the same `R^d`; their lengths may differ.
/// Returns what the computation noticed (a polynomial kernel's clamped bases).
///
/// ```
/// use tensorsig::{Method, Paths, StaticKernel, Threads};
/// // One pair of straight lines: k = Σ_n ⟨Δx, Δy⟩^n / (n!)² as the grid refines.
/// let (x, y) = ([0.0, 0.0, 0.3, 0.4], [0.0, 0.0, 0.5, -0.1]);
/// let (x, y) = (Paths::new(&x, 1, 2, 2)?, Paths::new(&y, 1, 2, 2)?);
/// let mut k = [0.0];
/// let method = Method::FiniteDifference { dyadic_order: (6, 6) };
/// tensorsig::sig_kernel(&x, &y, &StaticKernel::Linear, method, false, Threads::SERIAL, &mut k)?;
/// let inner: f64 = 0.3 * 0.5 - 0.4 * 0.1;
/// assert!((k[0] - (1.0 + inner + inner * inner / 4.0)).abs() < 1e-4);
/// # Ok::<(), tensorsig::Error>(())
/// ```
#[allow(clippy::too_many_arguments)]
pub fn sig_kernel<T: Real>(
    x: &Paths<'_, T>,
    y: &Paths<'_, T>,
    kernel: &StaticKernel,
    method: Method,
    return_grid: bool,
    threads: Threads,
    out: &mut [T],
) -> Result<SigKernelReport> {
    if x.batch() != y.batch() {
        return Err(Error::invalid(
            "path2",
            format!("holds {} paths, path1 {}", y.batch(), x.batch()),
        ));
    }
    solve_pairs(
        x,
        y,
        kernel,
        method,
        Pairs::Paired(x.batch()),
        return_grid,
        threads,
        out,
    )
}

/// The Gram matrix of signature kernels `out[i·B2 + j] = k(x_i, y_j)` (or each pair's grid, as
/// [`sig_kernel`]), for `y` given; for `y = None`, the Gram matrix of `x` with itself, each
/// unordered pair solved once when the scheme is symmetric (the polynomial method or equal
/// dyadic orders).
#[allow(clippy::too_many_arguments)]
pub fn sig_kernel_gram<T: Real>(
    x: &Paths<'_, T>,
    y: Option<&Paths<'_, T>>,
    kernel: &StaticKernel,
    method: Method,
    return_grid: bool,
    threads: Threads,
    out: &mut [T],
) -> Result<SigKernelReport> {
    let pairs = match y {
        None if symmetric_scheme(method) => Pairs::Upper(x.batch()),
        None => Pairs::All(x.batch(), x.batch()),
        Some(y) => Pairs::All(x.batch(), y.batch()),
    };
    solve_pairs(
        x,
        y.unwrap_or(x),
        kernel,
        method,
        pairs,
        return_grid,
        threads,
        out,
    )
}

/// `∂F/∂k` for each pair's kernel, or `∂F/∂K` for each pair's whole grid.
#[derive(Clone, Copy, Debug)]
pub enum KernelGradient<'a, T> {
    /// One value per pair, shaped like the kernels.
    Values(&'a [T]),
    /// One grid per pair, shaped like the kernels computed with `return_grid`.
    Grids(&'a [T]),
}

impl<'a, T: Copy> KernelGradient<'a, T> {
    fn data(&self) -> &'a [T] {
        match *self {
            KernelGradient::Values(d) | KernelGradient::Grids(d) => d,
        }
    }
}

/// Writes lane-major row `r` of the grids of a group's pairs, read from `grids` (one grid of
/// `points.0 × points.1` per result, the pair's at its target).
fn gather_grid_row<T: Real>(
    grids: &[T],
    targets: &[usize],
    points: (usize, usize),
    width: usize,
    r: usize,
    out: &mut [T],
) {
    out.fill(T::ZERO);
    let size = points.0 * points.1;
    for (lane, &at) in targets.iter().enumerate() {
        let row = &grids[at * size + r * points.1..][..points.1];
        for (c, &v) in row.iter().enumerate() {
            out[c * width + lane] = v;
        }
    }
}

/// The backward computation over `pairs` of `x` and `y`.
#[allow(clippy::too_many_arguments)]
fn backprop_pairs<T: Real>(
    x: &Paths<'_, T>,
    y: &Paths<'_, T>,
    kernel: &StaticKernel,
    method: Method,
    pairs: Pairs,
    derivs: KernelGradient<'_, T>,
    stored: Option<&[T]>,
    threads: Threads,
    mut d_x: Option<&mut [T]>,
    mut d_y: Option<&mut [T]>,
) -> Result<()> {
    kernel.validate()?;
    let grid = check_paths(x, y, method)?;
    let size = grid_size(grid)?;
    let results = pairs.results();
    let grid_seed = matches!(derivs, KernelGradient::Grids(_));
    if grid_seed && matches!(pairs, Pairs::Upper(_)) {
        return Err(Error::invalid(
            "derivs",
            "grid gradients need every ordered pair (no symmetric shortcut)",
        ));
    }
    check_len(
        "derivs",
        derivs.data(),
        results * if grid_seed { size } else { 1 },
    )?;
    if let Some(stored) = stored {
        check_len("k_grid", stored, results * size)?;
    }
    let (dim, len1, len2) = (x.dim(), x.len(), y.len());
    let (row1, row2) = (len1 * dim, len2 * dim);
    if let Some(d) = d_x.as_deref_mut() {
        check_len("d_path1", d, x.batch() * row1)?;
        d.fill(T::ZERO);
    }
    if let Some(d) = d_y.as_deref_mut() {
        check_len("d_path2", d, y.batch() * row2)?;
        d.fill(T::ZERO);
    }
    if pairs.count() == 0 || (d_x.is_none() && d_y.is_none()) {
        return Ok(());
    }
    let width = group_width::<T>();
    let groups = pairs.groups(width);
    let workspace = || -> Result<_> {
        let lanes = KernelIncrements::new(*kernel, width, dim, len1, len2, true)?;
        let ws = Workspace::new(method, len1, len2, width, true)?;
        Ok((lanes, ws))
    };
    // Solves one group's adjoint; the gradients stay in its lanes.
    let solve = |group: &[(usize, usize)],
                 lanes: &mut KernelIncrements<T>,
                 ws: &mut Workspace<T>| {
        lanes.load(x, y, group);
        let targets: Vec<usize> = group.iter().map(|&p| pairs.targets(p).0).collect();
        let seed_row =
            |r: usize, out: &mut [T]| gather_grid_row(derivs.data(), &targets, grid, width, r, out);
        let stored_row = |r: usize, out: &mut [T]| {
            gather_grid_row(stored.unwrap_or(&[]), &targets, grid, width, r, out)
        };
        backprop_group(
            lanes,
            ws,
            grid_seed.then_some(&seed_row as &dyn Fn(usize, &mut [T])),
            stored.map(|_| &stored_row as &dyn Fn(usize, &mut [T])),
        );
    };
    let weight = |at: usize| match derivs {
        KernelGradient::Values(d) => d[at],
        KernelGradient::Grids(_) => T::ONE,
    };
    if let Pairs::Paired(_) = pairs {
        // Each pair's gradients are its own: written in place.
        let (dx, dy) = (d_x.map(Disjoint::new), d_y.map(Disjoint::new));
        return for_each_group(threads, &groups, workspace, |group, (lanes, ws)| {
            solve(group, lanes, ws);
            for (lane, &(b, _)) in group.iter().enumerate() {
                if let Some(dx) = dx {
                    lanes.add_x_gradient(lane, weight(b), dx.slice(b * row1, row1));
                }
                if let Some(dy) = dy {
                    lanes.add_y_gradient(lane, weight(b), dy.slice(b * row2, row2));
                }
            }
        });
    }
    // Gram matrices: a path takes gradients from many groups, summed per worker.
    let (left_len, right_len) = (
        d_x.as_ref().map_or(0, |d| d.len()),
        d_y.as_ref().map_or(0, |d| d.len()),
    );
    let n2 = match pairs {
        Pairs::All(_, c) => c,
        Pairs::Upper(n) => n,
        Pairs::Paired(_) => unreachable!(),
    };
    let fold = |state: Option<(KernelIncrements<T>, Workspace<T>, Vec<T>)>,
                group: &Vec<(usize, usize)>| {
        let (mut lanes, mut ws, mut acc) = match state {
            Some(s) => s,
            None => {
                let (lanes, ws) = workspace()?;
                (
                    lanes,
                    ws,
                    try_zeroed::<T>("signature kernel gradients", left_len + right_len)?,
                )
            }
        };
        solve(group, &mut lanes, &mut ws);
        let (left, right) = acc.split_at_mut(left_len);
        for (lane, &(i, j)) in group.iter().enumerate() {
            let mirrored = matches!(pairs, Pairs::Upper(_)) && i != j;
            let w_ij = weight(i * n2 + j);
            let w_ji = if mirrored {
                weight(j * n2 + i)
            } else {
                T::ZERO
            };
            if left_len > 0 {
                lanes.add_x_gradient(lane, w_ij, &mut left[i * row1..][..row1]);
                if mirrored {
                    lanes.add_y_gradient(lane, w_ji, &mut left[j * row1..][..row1]);
                }
            }
            if right_len > 0 {
                lanes.add_y_gradient(lane, w_ij, &mut right[j * row2..][..row2]);
                if mirrored {
                    lanes.add_x_gradient(lane, w_ji, &mut right[i * row2..][..row2]);
                }
            }
        }
        Ok::<_, Error>(Some((lanes, ws, acc)))
    };
    let merge = |a: Option<(_, _, Vec<T>)>, b: Option<(_, _, Vec<T>)>| match (a, b) {
        (Some(mut a), Some(b)) => {
            a.2.iter_mut().zip(&b.2).for_each(|(s, v)| *s += *v);
            Ok(Some(a))
        }
        (a, b) => Ok(a.or(b)),
    };
    let total = if threads.count() == 1 {
        groups.iter().try_fold(None, fold)?
    } else {
        threads.install(|| {
            groups
                .par_iter()
                .try_fold(|| None, fold)
                .try_reduce(|| None, merge)
        })??
    };
    if let Some((_, _, acc)) = total {
        let (left, right) = acc.split_at(left_len);
        if let Some(d) = d_x {
            d.copy_from_slice(left);
        }
        if let Some(d) = d_y {
            d.copy_from_slice(right);
        }
    }
    Ok(())
}

/// Gradients of [`sig_kernel`]: with `derivs` the gradient of a scalar `F` with respect to
/// each pair's kernel (or, [`KernelGradient::Grids`], its whole grid), writes `∂F/∂x` into
/// `d_x` and `∂F/∂y` into `d_y` (each when given; shaped like the paths).
///
/// The gradient is the exact adjoint of the discrete scheme. The grid is recomputed from
/// checkpoints, in `O(√rows × columns)` memory per pair in flight, unless `stored` holds the
/// grids [`sig_kernel`] returned with `return_grid` (finite differences only; the polynomial
/// method always recomputes its cells).
#[allow(clippy::too_many_arguments)]
pub fn sig_kernel_backprop<T: Real>(
    x: &Paths<'_, T>,
    y: &Paths<'_, T>,
    kernel: &StaticKernel,
    method: Method,
    derivs: KernelGradient<'_, T>,
    stored: Option<&[T]>,
    threads: Threads,
    d_x: Option<&mut [T]>,
    d_y: Option<&mut [T]>,
) -> Result<()> {
    if x.batch() != y.batch() {
        return Err(Error::invalid(
            "path2",
            format!("holds {} paths, path1 {}", y.batch(), x.batch()),
        ));
    }
    let stored = stored.filter(|_| matches!(method, Method::FiniteDifference { .. }));
    let pairs = Pairs::Paired(x.batch());
    backprop_pairs(
        x, y, kernel, method, pairs, derivs, stored, threads, d_x, d_y,
    )
}

/// Gradients of [`sig_kernel_gram`] (`y = None`: the Gram matrix of `x` with itself, whose
/// `d_x` is the gradient through the left argument and `d_y` through the right one, as for two
/// separate batches), as [`sig_kernel_backprop`].
#[allow(clippy::too_many_arguments)]
pub fn sig_kernel_gram_backprop<T: Real>(
    x: &Paths<'_, T>,
    y: Option<&Paths<'_, T>>,
    kernel: &StaticKernel,
    method: Method,
    derivs: KernelGradient<'_, T>,
    stored: Option<&[T]>,
    threads: Threads,
    d_x: Option<&mut [T]>,
    d_y: Option<&mut [T]>,
) -> Result<()> {
    let grid_seed = matches!(derivs, KernelGradient::Grids(_));
    let pairs = match y {
        None if symmetric_scheme(method) && !grid_seed => Pairs::Upper(x.batch()),
        None => Pairs::All(x.batch(), x.batch()),
        Some(y) => Pairs::All(x.batch(), y.batch()),
    };
    let stored = stored.filter(|_| matches!(method, Method::FiniteDifference { .. }));
    let y = y.unwrap_or(x);
    backprop_pairs(
        x, y, kernel, method, pairs, derivs, stored, threads, d_x, d_y,
    )
}

/// Checks a batch of increments `batch × (len1-1) × (len2-1)` and returns the grid points.
fn check_increments<T>(
    increments: &[T],
    batch: usize,
    len1: usize,
    len2: usize,
    method: Method,
) -> Result<(usize, usize)> {
    let grid = method.grid_points(len1, len2)?;
    check_len("increments", increments, batch * (len1 - 1) * (len2 - 1))?;
    Ok(grid)
}

/// Signature kernels from precomputed increments
/// `G[b, i, j] = κ(x_{i+1}, y_{j+1}) - κ(x_i, y_{j+1}) - κ(x_{i+1}, y_j) + κ(x_i, y_j)`
/// (`batch × (len1-1) × (len2-1)`, for a static kernel the crate does not have), as
/// [`sig_kernel`].
#[allow(clippy::too_many_arguments)]
pub fn sig_kernel_from_increments<T: Real>(
    increments: &[T],
    batch: usize,
    len1: usize,
    len2: usize,
    method: Method,
    return_grid: bool,
    threads: Threads,
    out: &mut [T],
) -> Result<()> {
    let grid = check_increments(increments, batch, len1, len2, method)?;
    let per_pair = if return_grid { grid_size(grid)? } else { 1 };
    check_len("out", out, batch * per_pair)?;
    let width = group_width::<T>();
    let items: Vec<usize> = (0..batch).collect();
    let groups: Vec<&[usize]> = items.chunks(width).collect();
    let out = Disjoint::new(out);
    let (rows, cols) = (len1 - 1, len2 - 1);
    for_each_group(
        threads,
        &groups,
        || {
            Ok((
                Workspace::new(method, len1, len2, width, false)?,
                vec![T::ZERO; width],
            ))
        },
        |group, (ws, values)| {
            let mut lanes = GivenIncrements {
                increments,
                items: group,
                rows,
                cols,
                width,
                grads: Vec::new(),
            };
            if return_grid {
                let mut write_row = |r: usize, row: &[T]| {
                    for (lane, &b) in group.iter().enumerate() {
                        for c in 0..grid.1 {
                            out.write(b * per_pair + r * grid.1 + c, row[c * width + lane]);
                        }
                    }
                };
                solve_group(&mut lanes, ws, Some(&mut write_row), values);
            } else {
                solve_group(&mut lanes, ws, None, values);
                for (lane, &b) in group.iter().enumerate() {
                    out.write(b, values[lane]);
                }
            }
        },
    )
}

/// Gradients of [`sig_kernel_from_increments`] with respect to the increments, into
/// `d_increments` (shaped like them), as [`sig_kernel_backprop`].
#[allow(clippy::too_many_arguments)]
pub fn sig_kernel_from_increments_backprop<T: Real>(
    increments: &[T],
    batch: usize,
    len1: usize,
    len2: usize,
    method: Method,
    derivs: KernelGradient<'_, T>,
    stored: Option<&[T]>,
    threads: Threads,
    d_increments: &mut [T],
) -> Result<()> {
    let grid = check_increments(increments, batch, len1, len2, method)?;
    let size = grid_size(grid)?;
    let grid_seed = matches!(derivs, KernelGradient::Grids(_));
    check_len(
        "derivs",
        derivs.data(),
        batch * if grid_seed { size } else { 1 },
    )?;
    let stored = stored.filter(|_| matches!(method, Method::FiniteDifference { .. }));
    if let Some(stored) = stored {
        check_len("k_grid", stored, batch * size)?;
    }
    check_len("d_increments", d_increments, increments.len())?;
    d_increments.fill(T::ZERO);
    let width = group_width::<T>();
    let items: Vec<usize> = (0..batch).collect();
    let groups: Vec<&[usize]> = items.chunks(width).collect();
    let (rows, cols) = (len1 - 1, len2 - 1);
    let d_out = Disjoint::new(d_increments);
    for_each_group(
        threads,
        &groups,
        || Workspace::new(method, len1, len2, width, true),
        |group, ws| {
            let grads = group
                .iter()
                .map(|&b| {
                    let w = match derivs {
                        KernelGradient::Values(d) => d[b],
                        KernelGradient::Grids(_) => T::ONE,
                    };
                    (d_out.slice(b * rows * cols, rows * cols), w)
                })
                .collect();
            let mut lanes = GivenIncrements {
                increments,
                items: group,
                rows,
                cols,
                width,
                grads,
            };
            let seed_row = |r: usize, out: &mut [T]| {
                gather_grid_row(derivs.data(), group, grid, width, r, out)
            };
            let stored_row = |r: usize, out: &mut [T]| {
                gather_grid_row(stored.unwrap_or(&[]), group, grid, width, r, out)
            };
            backprop_group(
                &mut lanes,
                ws,
                grid_seed.then_some(&seed_row as &dyn Fn(usize, &mut [T])),
                stored.map(|_| &stored_row as &dyn Fn(usize, &mut [T])),
            );
        },
    )
}
