"""Gradients of signature kernels and of their Gram matrices with respect to the paths.

The gradient is the exact adjoint of the discrete scheme (finite differences or the polynomial
method), swept backwards through the grid. pysiglib's torch layer keeps every pair's whole PDE grid
from the forward pass for it (a 32 x 32 Gram of paths of 1000 points at dyadic order 1 is ~32 GB);
tensorsig recomputes the grid from checkpointed rows instead, a block at a time, in
``O(sqrt(rows) x columns)`` memory per pair in flight (a few MB per thread), at the price of one extra
forward sweep. A stored grid (``k_grid``) is still used when given.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple, overload

import numpy as np

from . import _core
from ._checks import check_bool
from ._operands import Operand, check_same_kind, empty, operand
from ._sigkernel import (
    custom_increments,
    path_operands,
    prepared,
    solver_args,
    wrap,
)
from ._specs.sigkernel import Plan, check_max_batch, pair_meta
from ._static_kernels import check_static_kernel, native_spec
from ._transform import transform_path_backprop
from .exceptions import ShapeError


class BackpropPlan(NamedTuple):
    """A backward call's plan: the forward plan, and the shapes it reads ``derivs`` and ``k_grid``
    in (one value or grid per pair, pairs flattened)."""

    forward: Plan
    derivs_shape: tuple[int, ...]
    k_grid_shape: tuple[int, ...] | None
    left_deriv: bool
    right_deriv: bool


def _check_given(
    name: str, shape: tuple[int, ...], batch: tuple[int, ...], pairs: int, tail: tuple[int, ...]
) -> tuple[int, ...]:
    """``shape`` is ``batch + tail``, or the batch flattened (``(pairs,) + tail``; ``(1,)`` for a single
    kernel): returns the flattened form, or raises ValueError."""
    flat = (pairs, *tail)
    if shape == batch + tail or shape == flat:
        return flat
    raise ShapeError(
        f"{name} has shape {shape}, expected {batch + tail} (one {'grid' if tail else 'value'} per pair)"
    )


def _backprop_meta(
    derivs_shape: tuple[int, ...],
    shape1: tuple[int, ...],
    shape2: tuple[int, ...],
    k_grid_shape: tuple[int, ...] | None,
    method: Any,
    dyadic_order: Any,
    order: Any,
    time_aug: Any,
    lead_lag: Any,
    end_time: Any,
    left_deriv: Any,
    right_deriv: Any,
    n_jobs: Any,
    return_grid: Any,
    gram: bool,
) -> BackpropPlan:
    check_bool(left_deriv, "left_deriv")
    check_bool(right_deriv, "right_deriv")
    plan = pair_meta(
        shape1, shape2, method, dyadic_order, order, time_aug, lead_lag, end_time, n_jobs, return_grid, False,
        same_batch=not gram,
    )  # fmt: skip
    batch = plan.path1.batch + (plan.path2.batch if gram else ())
    pairs = math.prod(batch)
    tail = plan.grid if return_grid else ()
    given = _check_given("derivs", derivs_shape, batch, pairs, tail)
    stored = None
    if k_grid_shape is not None and plan.solver.method == "finite_difference":
        stored = _check_given("k_grid", k_grid_shape, batch, pairs, plan.grid)
    if gram:
        given = (plan.path1.n_paths, plan.path2.n_paths, *tail)
        stored = None if stored is None else (plan.path1.n_paths, plan.path2.n_paths, *plan.grid)
    return BackpropPlan(plan, given, stored, left_deriv, right_deriv)


def _sig_kernel_backprop_meta(
    derivs_shape: tuple[int, ...],
    shape1: tuple[int, ...],
    shape2: tuple[int, ...],
    k_grid_shape: tuple[int, ...] | None = None,
    *,
    method: Any = "finite_difference",
    dyadic_order: Any = None,
    order: Any = None,
    time_aug: Any = False,
    lead_lag: Any = False,
    end_time: Any = 1.0,
    left_deriv: Any = True,
    right_deriv: Any = False,
    n_jobs: Any = 1,
    return_grid: Any = False,
) -> BackpropPlan:
    """Validates every non-array argument of :func:`sig_kernel_backprop` and the shapes of the paths,
    ``derivs`` (``batch``, plus the grid with ``return_grid``) and ``k_grid`` (``batch + grid``; ignored
    by the polynomial method). The gradients have the paths' shapes."""
    return _backprop_meta(
        derivs_shape, shape1, shape2, k_grid_shape, method, dyadic_order, order, time_aug, lead_lag, end_time,
        left_deriv, right_deriv, n_jobs, return_grid, gram=False,
    )  # fmt: skip


def _sig_kernel_gram_backprop_meta(
    derivs_shape: tuple[int, ...],
    shape1: tuple[int, ...],
    shape2: tuple[int, ...],
    k_grid_shape: tuple[int, ...] | None = None,
    *,
    method: Any = "finite_difference",
    dyadic_order: Any = None,
    order: Any = None,
    time_aug: Any = False,
    lead_lag: Any = False,
    end_time: Any = 1.0,
    left_deriv: Any = True,
    right_deriv: Any = False,
    n_jobs: Any = 1,
    return_grid: Any = False,
    max_batch: Any = -1,
) -> BackpropPlan:
    """As :func:`_sig_kernel_backprop_meta` for :func:`sig_kernel_gram_backprop`: ``derivs`` is
    ``batch1 + batch2`` (plus the grid)."""
    check_max_batch(max_batch)
    return _backprop_meta(
        derivs_shape, shape1, shape2, k_grid_shape, method, dyadic_order, order, time_aug, lead_lag, end_time,
        left_deriv, right_deriv, n_jobs, return_grid, gram=True,
    )  # fmt: skip


def _operands(
    derivs: Any, path1: Any, path2: Any, k_grid: Any
) -> tuple[Operand, Operand, Operand, Operand | None]:
    op1, op2 = path_operands(path1, path2)
    d_op = operand(derivs, "derivs")
    g_op = None if k_grid is None else operand(k_grid, "k_grid")
    check_same_kind((op1, d_op, *([g_op] if g_op is not None else [])))
    return op1, op2, d_op, g_op


class _Gradients:
    """The two gradients of a call: buffers the native code fills (transformed shapes), and the
    results handed back (original shapes and containers)."""

    def __init__(self, bp: BackpropPlan, op1: Operand, op2: Operand) -> None:
        plan = bp.forward
        self.plan, self.ops = plan, (op1, op2)
        self.wanted = (bp.left_deriv, bp.right_deriv)
        self.shapes = (plan.path1, plan.path2)
        self.buffers: list[np.ndarray | None] = []
        self.results: list[Any] = []
        for wanted, op, shape, length in zip(self.wanted, self.ops, self.shapes, plan.lengths):
            if not wanted:
                self.buffers.append(None)
                self.results.append(None)
            elif plan.transform.active:
                self.buffers.append(np.empty((shape.n_paths, length, plan.dimension), dtype=op.dtype))
                self.results.append(None)
            else:
                result, out = empty(op, op.shape)
                self.buffers.append(out.reshape((shape.n_paths, shape.length, shape.dimension)))
                self.results.append(result)

    def finish(self) -> tuple[Any, Any]:
        """The results, through the transforms' adjoint when there were transforms."""
        t = self.plan.transform
        if t.active:
            for k, buffer in enumerate(self.buffers):
                if buffer is not None:
                    grad = transform_path_backprop(
                        buffer, time_aug=t.time_aug, lead_lag=t.lead_lag, end_time=t.end_time,
                        n_jobs=self.plan.n_jobs,
                    )  # fmt: skip
                    self.results[k] = wrap(self.ops[k], np.ascontiguousarray(grad).reshape(self.ops[k].shape))
        return self.results[0], self.results[1]


@overload
def _flat(op: Operand, shape: tuple[int, ...]) -> np.ndarray: ...
@overload
def _flat(op: Operand | None, shape: tuple[int, ...] | None) -> np.ndarray | None: ...
def _flat(op: Operand | None, shape: tuple[int, ...] | None) -> np.ndarray | None:
    """A given array (derivs, k_grid) as the native code reads it: C-contiguous, pairs flattened."""
    if op is None or shape is None:
        return None
    return np.ascontiguousarray(op.array).reshape(shape)


def _custom_backprop(
    kernel: Any,
    x: np.ndarray,
    y: np.ndarray,
    derivs: np.ndarray,
    k_grid: np.ndarray | None,
    bp: BackpropPlan,
    outs: list[np.ndarray | None],
    accumulate: tuple[np.ndarray, np.ndarray] | None = None,
) -> None:
    """A user's static kernel: its increments on torch tensors, their gradient natively, then its
    ``grad_x``/``grad_y``. With ``accumulate`` = (rows, cols), the gradients of pair ``p`` are added into
    path ``rows[p]`` of ``outs[0]`` and ``cols[p]`` of ``outs[1]``; else written pair by pair."""
    import torch

    plan = bp.forward
    ctx, g_t, g = custom_increments(kernel, x, y)
    d_g = np.empty_like(g)
    _core.sig_kernel_increments_backprop(
        g, derivs, k_grid, d_g, *solver_args(plan.solver), derivs.ndim == 3, plan.n_jobs
    )
    d_g_t = torch.from_numpy(d_g).to(g_t.dtype)
    for side, out in enumerate(outs):
        if out is None:
            continue
        grad = (kernel.grad_x if side == 0 else kernel.grad_y)(ctx, d_g_t)
        grad = np.asarray(grad.detach().cpu().numpy(), dtype=out.dtype)
        if accumulate is None:
            out[...] = grad
        else:
            np.add.at(out, accumulate[side], grad)


def sig_kernel_backprop(
    derivs: Any,
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
    left_deriv: bool = True,
    right_deriv: bool = False,
    k_grid: Any = None,
    n_jobs: int = 1,
    return_grid: bool = False,
) -> tuple[Any, Any]:
    r"""Gradients of signature kernels with respect to the paths.

    Given ∂F / ∂k(x_b, y_b) for the kernels :func:`sig_kernel` computed (or,
    with ``return_grid``, ∂F / ∂K for their whole grids), returns
    ∂F / ∂x and/or ∂F / ∂y. The gradient is the exact
    adjoint of the discrete scheme -- the same numbers autograd would give through every cell update --
    then through the static kernel to both paths, then through the path transforms.

    Memory: the grid is not stored but recomputed from checkpointed rows, a block at a time
    (``O(sqrt(rows) x columns)`` per pair in flight, the pairs solved several at once per thread), where
    pysiglib's torch layer keeps every pair's whole grid; a grid given as ``k_grid`` is read instead.

    Parameters
    ----------
    derivs : numpy.ndarray or torch.Tensor
        Shaped like :func:`sig_kernel`'s result: ``batch``, or ``batch + (G1, G2)`` with
        ``return_grid``. The paths' dtype and container.
    path1, path2 : numpy.ndarray or torch.Tensor
        The paths, as given to :func:`sig_kernel`.
    method, dyadic_order, order, static_kernel, time_aug, lead_lag, end_time, n_jobs
        As given to :func:`sig_kernel`.
    left_deriv, right_deriv : bool
        Which gradients to compute; neither returns ``(None, None)``.
    k_grid : numpy.ndarray or torch.Tensor, optional
        The grids of ``sig_kernel(..., return_grid=True)`` (finite differences), to use instead of
        recomputing them; ignored by the polynomial method, which always recomputes its cells.
    return_grid : bool
        Whether ``derivs`` holds gradients for the whole grids.

    Returns
    -------
    tuple
        ``(dpath1 or None, dpath2 or None)``, each shaped like its path (pysiglib 4.0 returns
        ``(1, length, d)`` for a single 2-D path) in the paths' dtype and container.

    Raises
    ------
    TypeError, ValueError
        As in :func:`sig_kernel`; ``derivs`` or ``k_grid`` of the wrong shape (ValueError: pysiglib 4.0
        reads a wrongly shaped ``k_grid`` without complaint).

    Examples
    --------
    >>> import numpy as np, tensorsig
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(size=(4, 20, 2)) / 5, rng.normal(size=(4, 15, 2)) / 5
    >>> dx, dy = tensorsig.sig_kernel_backprop(np.ones(4), x, y, dyadic_order=1, right_deriv=True)
    >>> dx.shape, dy.shape
    ((4, 20, 2), (4, 15, 2))
    """
    op1, op2, d_op, g_op = _operands(derivs, path1, path2, k_grid)
    bp = _sig_kernel_backprop_meta(
        d_op.shape, op1.shape, op2.shape, None if g_op is None else g_op.shape, method=method,
        dyadic_order=dyadic_order, order=order, time_aug=time_aug, lead_lag=lead_lag, end_time=end_time,
        left_deriv=left_deriv, right_deriv=right_deriv, n_jobs=n_jobs, return_grid=return_grid,
    )  # fmt: skip
    kernel = check_static_kernel(static_kernel)
    if not (left_deriv or right_deriv):
        return None, None
    plan = bp.forward
    grads = _Gradients(bp, op1, op2)
    if plan.path1.n_paths == 0:
        return grads.finish()
    same = path2 is path1
    x = prepared(op1, plan.path1, plan.transform, plan.n_jobs)
    y = x if same else prepared(op2, plan.path2, plan.transform, plan.n_jobs)
    given, stored = _flat(d_op, bp.derivs_shape), _flat(g_op, bp.k_grid_shape)
    spec = native_spec(kernel)
    if spec is not None:
        _core.sig_kernel_backprop(
            x, None if same else y, given, stored, grads.buffers[0], grads.buffers[1], spec,
            *solver_args(plan.solver), return_grid, False, plan.n_jobs,
        )  # fmt: skip
    else:
        _custom_backprop(kernel, x, y, given, stored, bp, grads.buffers)
    return grads.finish()


def sig_kernel_gram_backprop(
    derivs: Any,
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
    left_deriv: bool = True,
    right_deriv: bool = False,
    k_grid: Any = None,
    n_jobs: int = 1,
    return_grid: bool = False,
    max_batch: int = -1,
) -> tuple[Any, Any]:
    r"""Gradients of a Gram matrix of signature kernels with respect to the paths.

    Given ∂F / ∂G for Gᵢⱼ = k(xᵢ, yⱼ) from :func:`sig_kernel_gram`
    (or for its grids, with ``return_grid``), returns ∂F / ∂x (through the
    left argument of every entry) and/or ∂F / ∂y (through the right one), as
    :func:`sig_kernel_backprop`: the exact adjoint of the scheme, recomputing grids from checkpoints.
    When ``path1 is path2`` each unordered pair is solved once and its gradient sent to both entries
    (symmetric schemes, scalar ``derivs``). The gradients are in the paths' dtype (pysiglib 4.0 returns
    float64 for float32 paths).

    Parameters
    ----------
    derivs : numpy.ndarray or torch.Tensor
        ``batch1 + batch2``, plus the grid's axes with ``return_grid``.
    path1, path2, method, dyadic_order, order, static_kernel, time_aug, lead_lag, end_time, n_jobs
        As given to :func:`sig_kernel_gram`.
    left_deriv, right_deriv, k_grid, return_grid
        As in :func:`sig_kernel_backprop` (``k_grid``: ``batch1 + batch2 + grid``).
    max_batch : int
        As in :func:`sig_kernel_gram`.

    Returns
    -------
    tuple
        ``(dpath1 or None, dpath2 or None)``, shaped like the paths.

    Examples
    --------
    >>> import numpy as np, tensorsig
    >>> x = np.random.default_rng(0).normal(size=(5, 30, 3)) / 5
    >>> gram = tensorsig.sig_kernel_gram(x, x, dyadic_order=1)
    >>> ones = np.ones_like(gram)
    >>> left, right = tensorsig.sig_kernel_gram_backprop(ones, x, x, dyadic_order=1, right_deriv=True)
    >>> bool(np.allclose(left, right))   # a symmetric kernel: both arguments weigh the same
    True
    """
    op1, op2, d_op, g_op = _operands(derivs, path1, path2, k_grid)
    bp = _sig_kernel_gram_backprop_meta(
        d_op.shape, op1.shape, op2.shape, None if g_op is None else g_op.shape, method=method,
        dyadic_order=dyadic_order, order=order, time_aug=time_aug, lead_lag=lead_lag, end_time=end_time,
        left_deriv=left_deriv, right_deriv=right_deriv, n_jobs=n_jobs, return_grid=return_grid,
        max_batch=max_batch,
    )  # fmt: skip
    kernel = check_static_kernel(static_kernel)
    if not (left_deriv or right_deriv):
        return None, None
    plan = bp.forward
    grads = _Gradients(bp, op1, op2)
    n1, n2 = plan.path1.n_paths, plan.path2.n_paths
    for buffer in grads.buffers:
        if buffer is not None:
            buffer[...] = 0
    if n1 == 0 or n2 == 0:
        return grads.finish()
    same = path2 is path1
    x = prepared(op1, plan.path1, plan.transform, plan.n_jobs)
    y = x if same else prepared(op2, plan.path2, plan.transform, plan.n_jobs)
    given, stored = _flat(d_op, bp.derivs_shape), _flat(g_op, bp.k_grid_shape)
    spec = native_spec(kernel)
    if spec is not None:
        _core.sig_kernel_backprop(
            x, None if same else y, given, stored, grads.buffers[0], grads.buffers[1], spec,
            *solver_args(plan.solver), return_grid, True, plan.n_jobs,
        )  # fmt: skip
        return grads.finish()
    # A custom kernel: every ordered pair (it need not be symmetric), max_batch² pairs at a time.
    rows, cols = np.repeat(np.arange(n1), n2), np.tile(np.arange(n2), n1)
    chunk = max(n1, n2) ** 2 if max_batch == -1 else max_batch**2
    for start in range(0, rows.size, chunk):
        ci, cj = rows[start : start + chunk], cols[start : start + chunk]
        _custom_backprop(
            kernel, x[ci], y[cj], np.ascontiguousarray(given[ci, cj]),
            None if stored is None else np.ascontiguousarray(stored[ci, cj]), bp, grads.buffers, (ci, cj),
        )  # fmt: skip
    return grads.finish()
