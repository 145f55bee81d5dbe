"""The signature-kernel solvers on increments computed elsewhere.

For a static kernel tensorsig does not evaluate natively (a user's :class:`StaticKernel`), the double
increments ``G[b, i, j] = κ(x_{i+1}, y_{j+1}) - κ(x_i, y_{j+1}) - κ(x_{i+1}, y_j) + κ(x_i, y_j)`` are formed
first (by the kernel's ``__call__`` on torch tensors), solved natively, and the gradient with respect to
``G`` handed back to the kernel's ``grad_x``/``grad_y``. These two functions are that middle step, for
the public functions' fallback and for autograd integrations (private: not part of pysiglib's API).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import _core
from ._checks import check_bool, check_n_jobs
from ._operands import check_same_kind, empty, has_values, operand
from ._sigkernel import check_cpu, solver_args
from ._specs.sigkernel import Solver, solver_meta
from .exceptions import ShapeError


def _increments_meta(
    shape: tuple[int, ...], method: Any, dyadic_order: Any, order: Any, n_jobs: Any, return_grid: Any
) -> tuple[Solver, tuple[int, int], tuple[int, ...], int]:
    solver = solver_meta(method, dyadic_order, order)
    n_jobs = check_n_jobs(n_jobs)
    check_bool(return_grid, "return_grid")
    if len(shape) < 2:
        raise ShapeError(
            "increments must have shape (..., length1 - 1, length2 - 1): at least rank 2, "
            f"got rank {len(shape)}"
        )
    *batch, rows, cols = shape
    grid = solver.grid(rows + 1, cols + 1)
    return solver, grid, (*batch, *grid) if return_grid else tuple(batch), n_jobs


def _sig_kernel_from_increments_meta(
    shape: tuple[int, ...],
    *,
    method: Any = "finite_difference",
    dyadic_order: Any = None,
    order: Any = None,
    n_jobs: Any = 1,
    return_grid: Any = False,
) -> tuple[int, ...]:
    """The output shape of :func:`sig_kernel_from_increments` (``batch``, plus the grid)."""
    return _increments_meta(shape, method, dyadic_order, order, n_jobs, return_grid)[2]


def sig_kernel_from_increments(
    increments: Any,
    *,
    method: str = "finite_difference",
    dyadic_order: int | tuple[int, int] | None = None,
    order: int | None = None,
    n_jobs: int = 1,
    return_grid: bool = False,
) -> Any:
    """Signature kernels (or their grids) from increments ``(*batch, length1 - 1, length2 - 1)``, by the
    solvers of :func:`tensorsig.sig_kernel`.

    >>> import numpy as np
    >>> from tensorsig._sigkernel_increments import sig_kernel_from_increments
    >>> float(sig_kernel_from_increments(np.array([[2.0]]), method="polynomial", order=2))
    4.0
    """
    op = operand(increments, "increments")
    check_cpu(op)
    solver, _, out_shape, n_jobs = _increments_meta(
        op.shape, method, dyadic_order, order, n_jobs, return_grid
    )
    result, out = empty(op, out_shape)
    if has_values(out):
        *batch, rows, cols = op.shape
        flat = np.ascontiguousarray(op.array).reshape((math.prod(batch), rows, cols))
        if not _core.sig_kernel_increments(
            flat,
            out.reshape((flat.shape[0], *out_shape[len(batch) :])),
            *solver_args(solver),
            return_grid,
            n_jobs,
        ):
            from ._sigkernel import warn_not_finite

            warn_not_finite("sig_kernel")
    return result


def _sig_kernel_from_increments_backprop_meta(
    derivs_shape: tuple[int, ...],
    shape: tuple[int, ...],
    k_grid_shape: tuple[int, ...] | None = None,
    *,
    method: Any = "finite_difference",
    dyadic_order: Any = None,
    order: Any = None,
    n_jobs: Any = 1,
    return_grid: Any = False,
) -> tuple[int, ...]:
    """Validates :func:`sig_kernel_from_increments_backprop`'s arguments; returns the gradient's shape
    (that of the increments)."""
    solver, grid, out_shape, _ = _increments_meta(shape, method, dyadic_order, order, n_jobs, return_grid)
    if tuple(derivs_shape) != out_shape:
        raise ShapeError(f"derivs has shape {tuple(derivs_shape)}, expected {out_shape}")
    if k_grid_shape is not None and solver.method == "finite_difference":
        expected = (*shape[:-2], *grid)
        if tuple(k_grid_shape) != expected:
            raise ShapeError(f"k_grid has shape {tuple(k_grid_shape)}, expected {expected}")
    return tuple(shape)


def sig_kernel_from_increments_backprop(
    derivs: Any,
    increments: Any,
    *,
    method: str = "finite_difference",
    dyadic_order: int | tuple[int, int] | None = None,
    order: int | None = None,
    k_grid: Any = None,
    n_jobs: int = 1,
    return_grid: bool = False,
) -> Any:
    """The gradient of ``Σ derivs · sig_kernel_from_increments(increments, ...)`` with respect to the
    increments: the exact adjoint of the scheme (grids recomputed from checkpoints unless ``k_grid``
    is given).

    >>> import numpy as np
    >>> from tensorsig._sigkernel_increments import sig_kernel_from_increments_backprop
    >>> d = sig_kernel_from_increments_backprop(np.ones(()), np.array([[2.0]]), method="polynomial", order=2)
    >>> float(d[0, 0])   # d/dρ (1 + ρ + ρ²/4) at ρ = 2
    2.0
    """
    op, d_op = operand(increments, "increments"), operand(derivs, "derivs")
    g_op = None if k_grid is None else operand(k_grid, "k_grid")
    check_same_kind((op, d_op, *([g_op] if g_op is not None else [])))
    check_cpu(op)
    _sig_kernel_from_increments_backprop_meta(
        d_op.shape, op.shape, None if g_op is None else g_op.shape, method=method, dyadic_order=dyadic_order,
        order=order, n_jobs=n_jobs, return_grid=return_grid,
    )  # fmt: skip
    solver, grid, _, n_jobs = _increments_meta(op.shape, method, dyadic_order, order, n_jobs, return_grid)
    result, out = empty(op, op.shape)
    if has_values(out):
        *batch, rows, cols = op.shape
        count = math.prod(batch)
        flat = np.ascontiguousarray(op.array).reshape((count, rows, cols))
        d = np.ascontiguousarray(d_op.array).reshape((count, *(grid if return_grid else ())))
        stored = None
        if g_op is not None and solver.method == "finite_difference":
            stored = np.ascontiguousarray(g_op.array).reshape((count, *grid))
        _core.sig_kernel_increments_backprop(
            flat, d, stored, out.reshape((count, rows, cols)), *solver_args(solver), return_grid, n_jobs
        )
    return result
