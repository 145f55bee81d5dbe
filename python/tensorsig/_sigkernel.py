"""Signature kernels of pairs of paths and Gram matrices of them.

The path transforms, the dispatch to the native solver (built-in static kernels) or to a user's
static kernel on torch tensors, and the forward functions; the argument checks (pure functions of
shapes and scalars) are the metadata functions of ``_specs/sigkernel.py``. Gradients live in
``_sigkernel_backprop``, the kernel scores and MMD in ``_sigkernel_metrics``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from . import _core
from ._operands import Operand, check_same_kind, empty, has_values, operand, require_cpu
from ._specs.sigkernel import PathShape, Plan, Solver, Transform, sig_kernel_gram_meta, sig_kernel_meta
from ._static_kernels import Context, check_static_kernel, native_spec
from ._transform import transform_path
from .exceptions import ShapeError

# --- arrays -------------------------------------------------------------------------------------


def check_cpu(op: Operand) -> None:
    require_cpu(op, "signature kernels")


def path_operands(path1: Any, path2: Any) -> tuple[Operand, Operand]:
    op1 = operand(path1, "path1")
    op2 = op1 if path2 is path1 else operand(path2, "path2")
    check_same_kind((op1, op2))
    check_cpu(op1)
    return op1, op2


def prepared(op: Operand, shape: PathShape, transform: Transform, n_jobs: int) -> np.ndarray:
    """A path argument as the native code reads it: ``(batch, length, dimension)``, transformed."""
    array: np.ndarray = op.array.reshape((shape.n_paths, shape.length, shape.dimension))
    if transform.active:
        array = transform_path(
            array, time_aug=transform.time_aug, lead_lag=transform.lead_lag, end_time=transform.end_time,
            n_jobs=n_jobs,
        )  # fmt: skip
    return array


def wrap(like: Operand, array: np.ndarray) -> Any:
    """``array`` (numpy) in the container of ``like``."""
    if like.device is None:
        return array
    import torch

    return torch.from_numpy(array)


def solver_args(solver: Solver) -> tuple[str, tuple[int, int], int]:
    return solver.method, solver.dyadic_order, solver.order


def warn_clamped(kernel: Any) -> None:
    warn = getattr(kernel, "_warn_clamped", None)
    if warn is not None:
        warn()


def custom_increments(kernel: Any, x: np.ndarray, y: np.ndarray) -> tuple[Context, Any, np.ndarray]:
    """A user's static kernel on torch tensors: its context, its increments as returned, and those
    as the native code reads them (``(batch, L1 - 1, L2 - 1)``, the paths' dtype)."""
    import torch

    def tensor(a: np.ndarray) -> Any:
        return torch.from_numpy(np.require(a, requirements=["C", "W"]))

    ctx = Context()
    xt, yt = tensor(x), tensor(y)
    g = kernel(ctx, xt, yt)
    expected = (x.shape[0], x.shape[1] - 1, y.shape[1] - 1)
    if not isinstance(g, torch.Tensor) or tuple(g.shape) != expected:
        got = tuple(g.shape) if isinstance(g, torch.Tensor) else type(g).__name__
        raise ShapeError(
            f"static kernel {type(kernel).__name__} returned increments of shape {got}, expected {expected} "
            f"(batch, length1 - 1, length2 - 1)"
        )
    return ctx, g, np.ascontiguousarray(g.detach().cpu().numpy(), dtype=x.dtype)


def solve_increments(g: np.ndarray, solver: Solver, return_grid: bool, n_jobs: int, out: np.ndarray) -> bool:
    """Kernels (or grids) from increments into ``out``; whether every value is finite."""
    return _core.sig_kernel_increments(g, out, *solver_args(solver), return_grid, n_jobs)


def solve_pairs(
    kernel: Any,
    x: np.ndarray,
    y: np.ndarray | None,
    plan: Plan,
    return_grid: bool,
    out: np.ndarray,
) -> bool:
    """Paired kernels ``k(x_b, y_b)`` (``y`` None: ``y = x``) into ``out`` ``(batch, ...)``; whether
    every value is finite."""
    spec = native_spec(kernel)
    if spec is not None:
        finite, clamped = _core.sig_kernel(
            x, y, out, spec, *solver_args(plan.solver), return_grid, False, plan.n_jobs
        )
        if clamped:
            warn_clamped(kernel)
        return finite
    _, _, g = custom_increments(kernel, x, x if y is None else y)
    return solve_increments(g, plan.solver, return_grid, plan.n_jobs, out)


_NORMALIZE_WARNING = (
    "encountered non-positive K(x,x)*K(y,y). This indicates the PDE solver has not converged. Increase the "
    "solver order, scale down your paths, or use a bounded static kernel (e.g., RBFKernel). Affected entries "
    "will be set to NaN."
)


def normalized(result: np.ndarray, k1: np.ndarray, k2: np.ndarray, name: str) -> np.ndarray:
    """``result / sqrt(k1 k2)``, NaN (with a RuntimeWarning) where ``k1 k2 <= 0``."""
    denom = k1 * k2
    bad = denom <= 0
    if np.any(bad):
        warnings.warn(f"{name}: {_NORMALIZE_WARNING}", RuntimeWarning, stacklevel=3)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(bad, np.nan, result / np.sqrt(np.maximum(denom, 1e-30))).astype(
            result.dtype, copy=False
        )


def warn_not_finite(name: str) -> None:
    warnings.warn(
        f"{name} produced NaN or Inf values. This is typically caused by paths with large increments, "
        "leading to numerical overflow in the PDE solver. Consider normalizing your paths or using a static "
        "kernel (e.g., tensorsig.RBFKernel) to bound the inner products.",
        RuntimeWarning,
        stacklevel=3,
    )


def sig_kernel(
    path1: Any,
    path2: Any,
    *,
    method: str = "finite_difference",
    dyadic_order: int | tuple[int, int] | None = None,
    order: int | None = None,
    static_kernel: Any = None,
    time_aug: bool = False,
    lead_lag: bool = False,
    end_time: float = 1.0,
    n_jobs: int = 1,
    return_grid: bool = False,
    normalize: bool = False,
) -> Any:
    r"""Signature kernels of pairs of paths.

    For paths x: [0, S] → ℝᵈ and y: [0, T] → ℝᵈ,

        k_(x,y)(s, t) = ⟨ S(x)_([0,s]), S(y)_([0,t]) ⟩
        = Σ_(k ≥ 0) ⟨ S(x)⁽ᵏ⁾_([0,s]), S(y)⁽ᵏ⁾_([0,t]) ⟩,

    the inner product of the (untruncated) signatures, which solves the Goursat PDE
    ∂ₛ ∂ₜ k = k   ∂ₛ ∂ₜ κ(xₛ, yₜ) with k = 1 on
    both axes (Salvi et al., 2021). For piecewise-linear paths the forcing is constant on each cell
    of the two paths' grid: the double increment
    Gᵢⱼ = κ(xᵢ₊₁, yⱼ₊₁) - κ(xᵢ, yⱼ₊₁) - κ(xᵢ₊₁, yⱼ) + κ(xᵢ, yⱼ)
    of a static kernel κ (the linear kernel: ⟨ Δxᵢ, Δyⱼ ⟩).
    Two solvers, with pysiglib 4.0's definitions and numbers (to round-off):

    - ``method="finite_difference"``: each cell is refined into 2^(λ₁) × 2^(λ₂)
      cells with ρ = Gᵢⱼ / 2^(λ₁ + λ₂), updated by the explicit second-order
      scheme K_(r+1,c+1) = (K_(r+1,c) + K_(r,c+1))(1 + ρ/2 + ρ²/12) - K_(r,c)(1 - ρ²/12)
      (the ``sigkernel`` package's);
    - ``method="polynomial"``: each cell is solved as a power series whose edges are polynomials of
      degree ``order``; the grid value is the mean of the top and right edges' ends. One cell with
      constant ρ gives Σ_(n ≤ order) ρⁿ / (n!)².

    The built-in static kernels are evaluated inside the solver, row by row: the
    ``(batch, L1 - 1, L2 - 1)`` increments are never formed, and distances come from ``x - y``
    (accurate for paths far from the origin, e.g. float32 prices, where pysiglib's
    ‖ x ‖² - 2 ⟨ x, y ⟩ + ‖ y ‖² loses every digit). Pairs are
    solved several at once, one per SIMD lane.

    Parameters
    ----------
    path1, path2 : numpy.ndarray or torch.Tensor
        ``(*batch, length1, d)`` and ``(*batch, length2, d)``: the same batch shape, dtype (float32 or
        float64) and container; the lengths may differ. Any memory layout; never modified.
    method : str
        ``"finite_difference"`` (needs ``dyadic_order``) or ``"polynomial"`` (needs ``order``).
    dyadic_order : int or tuple of two ints, optional
        λ ≥ 0, or (λ₁, λ₂) to refine the two paths differently.
    order : int, optional
        The polynomial method's highest power, 2 to 64.
    static_kernel : StaticKernel, optional
        κ; None is :class:`LinearKernel`. Your own :class:`StaticKernel` subclass runs
        through its torch methods (its increments are formed, then solved natively); pysiglib's kernel
        objects are accepted too.
    time_aug, lead_lag, end_time
        Path transforms applied to both paths first, as in :func:`sig`.
    n_jobs : int
        Threads: 1 serial, -1 all, n < -1 all but |n| - 1. The GIL is released.
    return_grid : bool
        Return each pair's whole grid: ``(*batch, G1, G2)`` with
        Gᵢ = (Lᵢ - 1) 2^(λᵢ) + 1 for finite differences, Gᵢ = Lᵢ for the
        polynomial method (Lᵢ the transformed paths' points).
    normalize : bool
        Divide by √(k(x, x)  k(y, y)) (two more solves); entries where that product is
        not positive become NaN, with a RuntimeWarning. Not with ``return_grid``.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        ``batch`` (a 0-d array for two single paths), or with ``return_grid`` ``batch + (G1, G2)``;
        the paths' dtype and container.

    Raises
    ------
    TypeError
        A wrong type: ``method`` not a str, ``dyadic_order`` neither an int nor a pair of ints,
        ``order`` not an int, a flag not a bool, a path not a float32/float64 array.
    ValueError
        ``method`` unknown; ``dyadic_order``/``order`` missing, out of range or given for the other
        method; ``normalize`` with ``return_grid``; different batch shapes or dimensions; a path without
        points; ``static_kernel`` not a static kernel.

    Warns
    -----
    RuntimeWarning
        When a kernel is NaN or infinite (paths too large for the scheme), when ``sig_kernel(x, x)``
        (the same object twice) has negative values, and as described for ``normalize``.

    Examples
    --------
    >>> import numpy as np, tensorsig
    >>> x = np.array([[0.0, 0.0], [0.3, -0.2], [0.2, 0.2], [0.45, 0.35]])
    >>> y = np.array([[0.0, 0.0], [0.2, 0.1], [-0.15, 0.15]])
    >>> float(tensorsig.sig_kernel(x, y, method="polynomial", order=7))
    0.9868046051301949
    >>> paths = np.random.default_rng(0).normal(size=(10, 50, 3)) / 10
    >>> tensorsig.sig_kernel(paths, paths[::-1], dyadic_order=1, static_kernel=tensorsig.RBFKernel(1.0)).shape
    (10,)
    """
    op1, op2 = path_operands(path1, path2)
    plan = sig_kernel_meta(
        op1.shape, op2.shape, method=method, dyadic_order=dyadic_order, order=order, time_aug=time_aug,
        lead_lag=lead_lag, end_time=end_time, n_jobs=n_jobs, return_grid=return_grid, normalize=normalize,
    )  # fmt: skip
    kernel = check_static_kernel(static_kernel)
    same = path2 is path1
    result, out = empty(op1, plan.out_shape)
    if not has_values(out):
        return result
    x = prepared(op1, plan.path1, plan.transform, plan.n_jobs)
    y = None if same else prepared(op2, plan.path2, plan.transform, plan.n_jobs)
    count = plan.path1.n_paths
    flat = out.reshape((count, *plan.out_shape[len(plan.path1.batch) :]))
    finite = solve_pairs(kernel, x, y, plan, return_grid, flat)
    if not finite:
        warn_not_finite("sig_kernel")
    elif same and not return_grid and np.any(flat < 0):
        warnings.warn(
            "sig_kernel produced negative K(X, X) values. This is typically caused by PDE-solver instability "
            "at large dyadic_order or large path increments. Consider reducing dyadic_order, scaling paths "
            "down, or using a bounded static kernel (e.g., tensorsig.RBFKernel).",
            RuntimeWarning,
            stacklevel=2,
        )
    if normalize:
        # y is None exactly when path2 is path1 (same).
        if y is None:
            k1 = k2 = flat.copy()
        else:
            k1, k2 = _diagonal(kernel, x, plan), _diagonal(kernel, y, plan)
        flat[...] = normalized(flat, k1, k2, "sig_kernel(normalize=True)")
    return result


def _diagonal(kernel: Any, x: np.ndarray, plan: Plan) -> np.ndarray:
    """``k(x_b, x_b)`` for every path of a prepared batch."""
    out = np.empty(x.shape[0], dtype=x.dtype)
    if out.size:
        solve_pairs(kernel, x, None, plan, False, out)
    return out


def _pairs(n1: int, n2: int, symmetric: bool) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of the pairs a Gram matrix solves (upper triangle when symmetric)."""
    if symmetric:
        return np.triu_indices(n1)
    return np.repeat(np.arange(n1), n2), np.tile(np.arange(n2), n1)


def _custom_gram(
    kernel: Any, x: np.ndarray, y: np.ndarray, plan: Plan, symmetric: bool, max_batch: int, out: np.ndarray
) -> bool:
    """A user's static kernel's Gram matrix, in chunks of ``max_batch²`` pairs (each chunk's increments
    formed on torch tensors); the upper triangle only when ``symmetric``, mirrored."""
    n1, n2 = x.shape[0], y.shape[0]
    rows, cols = _pairs(n1, n2, symmetric)
    chunk = max(n1, n2) ** 2 if max_batch == -1 else max_batch**2
    grid = out.ndim == 4
    finite = True
    for start in range(0, rows.size, chunk):
        ci, cj = rows[start : start + chunk], cols[start : start + chunk]
        _, _, g = custom_increments(kernel, x[ci], y[cj])
        values = np.empty((ci.size, *out.shape[2:]), dtype=out.dtype)
        finite &= solve_increments(g, plan.solver, grid, plan.n_jobs, values)
        out[ci, cj] = values
        if symmetric:
            off = ci != cj
            out[cj[off], ci[off]] = np.swapaxes(values[off], -1, -2) if grid else values[off]
    return finite


def sig_kernel_gram(
    path1: Any,
    path2: Any,
    *,
    method: str = "finite_difference",
    dyadic_order: int | tuple[int, int] | None = None,
    order: int | None = None,
    static_kernel: Any = None,
    time_aug: bool = False,
    lead_lag: bool = False,
    end_time: float = 1.0,
    n_jobs: int = 1,
    max_batch: int = -1,
    return_grid: bool = False,
    normalize: bool = False,
) -> Any:
    r"""Gram matrix of signature kernels between two batches of paths.

    Gᵢⱼ = k(xᵢ, yⱼ) for every path xᵢ of ``path1`` and yⱼ of ``path2``,
    with the solvers, options and static kernels of :func:`sig_kernel`.

    When ``path1 is path2`` (the same object) the matrix is symmetric: each unordered pair is solved
    once and mirrored (grids transposed) whenever the scheme is symmetric -- the polynomial method or
    equal dyadic orders. With different dyadic orders k(xᵢ, xⱼ) ≠ k(xⱼ, xᵢ) in the
    discrete scheme, so tensorsig solves every ordered pair; pysiglib 4.0 mirrors there too, returning
    k(xⱼ, xᵢ) with the orders swapped below the diagonal. A custom static kernel is assumed
    symmetric, as in pysiglib.

    Parameters
    ----------
    path1, path2 : numpy.ndarray or torch.Tensor
        ``(*batch1, length1, d)`` and ``(*batch2, length2, d)``: independent batch shapes, the same
        dtype, container and ``d``.
    method, dyadic_order, order, static_kernel, time_aug, lead_lag, end_time, n_jobs
        As in :func:`sig_kernel`.
    max_batch : int
        Pairs solved per chunk are at most ``max_batch**2`` (-1: no limit). Only a custom static kernel
        uses it, to bound its ``(pairs, L1 - 1, L2 - 1)`` increments; the built-in kernels need memory
        per thread, not per pair, so the value is only validated.
    return_grid, normalize
        As in :func:`sig_kernel`; ``normalize`` divides Gᵢⱼ by
        √(k(xᵢ, xᵢ)  k(yⱼ, yⱼ)).

    Returns
    -------
    numpy.ndarray or torch.Tensor
        ``batch1 + batch2`` (plus the grid's two axes with ``return_grid``).

    Raises
    ------
    TypeError, ValueError
        As in :func:`sig_kernel`; ``max_batch`` not an int (TypeError), 0 or below -1 (ValueError).

    Examples
    --------
    >>> import numpy as np, tensorsig
    >>> paths = np.random.default_rng(1).normal(size=(6, 40, 2)) / 10
    >>> gram = tensorsig.sig_kernel_gram(paths, paths, dyadic_order=1)   # symmetric: 21 pairs solved
    >>> gram.shape, bool(np.allclose(gram, gram.T))
    ((6, 6), True)
    >>> tensorsig.sig_kernel_gram(paths, paths[:4, :30], method="polynomial", order=3).shape
    (6, 4)
    """
    symmetric_call = path2 is path1
    op1, op2 = path_operands(path1, path2)
    plan = sig_kernel_gram_meta(
        op1.shape, op2.shape, method=method, dyadic_order=dyadic_order, order=order, time_aug=time_aug,
        lead_lag=lead_lag, end_time=end_time, n_jobs=n_jobs, max_batch=max_batch, return_grid=return_grid,
        normalize=normalize,
    )  # fmt: skip
    kernel = check_static_kernel(static_kernel)
    result, out = empty(op1, plan.out_shape)
    if not has_values(out):
        return result
    n1, n2 = plan.path1.n_paths, plan.path2.n_paths
    flat = out.reshape((n1, n2, *plan.out_shape[len(plan.path1.batch) + len(plan.path2.batch) :]))
    x = prepared(op1, plan.path1, plan.transform, plan.n_jobs)
    y = x if symmetric_call else prepared(op2, plan.path2, plan.transform, plan.n_jobs)
    spec = native_spec(kernel)
    if spec is not None:
        finite, clamped = _core.sig_kernel(
            x, None if symmetric_call else y, flat, spec, *solver_args(plan.solver), return_grid, True,
            plan.n_jobs,
        )  # fmt: skip
        if clamped:
            warn_clamped(kernel)
    else:
        symmetric = (
            symmetric_call and plan.solver.symmetric and (not return_grid or plan.grid[0] == plan.grid[1])
        )
        finite = _custom_gram(kernel, x, y, plan, symmetric, max_batch, flat)
    if not finite:
        warn_not_finite("sig_kernel_gram")
    if normalize:
        d1 = np.diagonal(flat).copy() if symmetric_call else _diagonal(kernel, x, plan)
        d2 = d1 if symmetric_call else _diagonal(kernel, y, plan)
        flat[...] = normalized(flat, d1[:, None], d2[None, :], "sig_kernel_gram(normalize=True)")
    return result
