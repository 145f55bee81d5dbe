"""Metadata of the signature-kernel functions: argument checks and output shapes, in pure Python.

``sig_kernel_meta`` and ``sig_kernel_gram_meta`` validate every non-array argument of
:func:`tensorsig.sig_kernel` / :func:`tensorsig.sig_kernel_gram` and the paths' shapes, and return
the :class:`Plan` of the call (output shape, solver, transform); the backward passes, the metrics
and ``tensorsig.dask`` share them. Nothing here calls numpy or torch.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from .._checks import augmented_dimension, check_bool, check_float, check_n_jobs
from ..exceptions import ArgumentTypeError, InvalidArgumentError, ShapeError

METHODS = ("finite_difference", "polynomial")
MAX_ORDER = 64
#: Grids beyond this many points per axis cannot be indexed (mirrors the native limit).
_MAX_GRID_POINTS = (2**63 - 1) // 64


class Solver(NamedTuple):
    """A validated choice of solver: the native code's ``method``, ``dyadic_order``, ``order``."""

    method: str
    dyadic_order: tuple[int, int]
    order: int

    def grid(self, len1: int, len2: int) -> tuple[int, int]:
        """Points of a pair's grid along each path (``len1``, ``len2`` >= 1 points)."""
        if self.method == "polynomial":
            return len1, len2
        l1, l2 = self.dyadic_order
        g1, g2 = ((len1 - 1) << l1) + 1, ((len2 - 1) << l2) + 1
        if g1 >= _MAX_GRID_POINTS or g2 >= _MAX_GRID_POINTS or l1 + l2 >= 63:
            raise ShapeError(
                f"dyadic_order {self.dyadic_order} is too large for paths of {len1} and {len2} points: "
                f"the refined grid cannot be indexed"
            )
        return g1, g2

    @property
    def symmetric(self) -> bool:
        """Whether ``k(x, y) = k(y, x)`` in this scheme (for a symmetric static kernel)."""
        return self.method == "polynomial" or self.dyadic_order[0] == self.dyadic_order[1]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def solver_meta(method: Any, dyadic_order: Any, order: Any) -> Solver:
    """Validates ``method``, ``dyadic_order`` and ``order`` together (pysiglib's rules and messages)."""
    if not isinstance(method, str):
        raise ArgumentTypeError(f"method must be of type str, got {type(method).__name__} instead")
    if method not in METHODS:
        raise InvalidArgumentError("method must be one of " + ", ".join(METHODS))
    if method == "finite_difference":
        if dyadic_order is None:
            raise InvalidArgumentError("dyadic_order is required when method='finite_difference'")
        if order is not None:
            raise InvalidArgumentError("order is not supported when method='finite_difference'")
        if isinstance(dyadic_order, tuple) and len(dyadic_order) == 2:
            orders = dyadic_order
        elif _is_int(dyadic_order):
            orders = (dyadic_order, dyadic_order)
        else:
            raise ArgumentTypeError("dyadic_order must be an integer or a tuple of length 2")
        if not all(_is_int(o) for o in orders):
            raise ArgumentTypeError("dyadic_order must be an integer or a tuple of length 2")
        if orders[0] < 0 or orders[1] < 0:
            raise InvalidArgumentError(
                "dyadic_order must be a non-negative integer or tuple of non-negative integers"
            )
        if orders[0] >= 63 or orders[1] >= 63:
            raise ShapeError(f"dyadic_order {dyadic_order} is too large: the refined grid cannot be indexed")
        return Solver(method, (orders[0], orders[1]), 0)
    if dyadic_order is not None:
        raise InvalidArgumentError(f"dyadic_order is not supported when method='{method}'")
    if order is None:
        raise InvalidArgumentError(f"order is required when method='{method}'")
    if not _is_int(order):
        raise ArgumentTypeError("order must be of type int")
    if not 2 <= order <= MAX_ORDER:
        raise InvalidArgumentError(f"order must be between 2 and {MAX_ORDER}")
    return Solver(method, (0, 0), order)


class Transform(NamedTuple):
    """The path transforms of a call."""

    time_aug: bool
    lead_lag: bool
    end_time: float

    @property
    def active(self) -> bool:
        return self.time_aug or self.lead_lag

    def length(self, length: int, name: str) -> int:
        if self.time_aug and length < 2:
            raise ShapeError(f"{name}: time_aug=True requires paths of at least 2 points, got {length}")
        return 2 * length - 1 if self.lead_lag else length

    def dimension(self, dimension: int) -> int:
        return augmented_dimension(dimension, self.time_aug, self.lead_lag)


def transform_meta(time_aug: Any, lead_lag: Any, end_time: Any) -> Transform:
    check_bool(time_aug, "time_aug")
    check_bool(lead_lag, "lead_lag")
    check_float(end_time, "end_time")
    return Transform(time_aug, lead_lag, end_time)


class PathShape(NamedTuple):
    """A path argument's shape: batch dimensions, points and channels."""

    batch: tuple[int, ...]
    length: int
    dimension: int

    @property
    def n_paths(self) -> int:
        """How many paths the batch dimensions hold (their product; 1 for a single path)."""
        return math.prod(self.batch)


def path_shape_meta(shape: tuple[int, ...], name: str) -> PathShape:
    if len(shape) < 2:
        raise ShapeError(
            f"{name} must have shape (..., length, dimension): at least rank 2, got rank {len(shape)}"
        )
    *batch, length, dimension = shape
    if dimension == 0:
        raise ShapeError(f"{name} has 0 channels (dimension); a path needs at least one")
    if length == 0:
        raise ShapeError(f"{name} has 0 points; a signature kernel needs paths of at least one point")
    return PathShape(tuple(batch), length, dimension)


class Plan(NamedTuple):
    """Everything a signature-kernel call needs besides its arrays."""

    out_shape: tuple[int, ...]
    path1: PathShape
    path2: PathShape
    #: Points and channels of the transformed paths.
    lengths: tuple[int, int]
    dimension: int
    #: Points of each pair's grid.
    grid: tuple[int, int]
    solver: Solver
    transform: Transform
    n_jobs: int


def pair_meta(
    shape1: tuple[int, ...],
    shape2: tuple[int, ...],
    method: Any,
    dyadic_order: Any,
    order: Any,
    time_aug: Any,
    lead_lag: Any,
    end_time: Any,
    n_jobs: Any,
    return_grid: Any,
    normalize: Any,
    same_batch: bool,
) -> Plan:
    transform = transform_meta(time_aug, lead_lag, end_time)
    n_jobs = check_n_jobs(n_jobs)
    solver = solver_meta(method, dyadic_order, order)
    check_bool(return_grid, "return_grid")
    check_bool(normalize, "normalize")
    if normalize and return_grid:
        raise InvalidArgumentError("normalize=True cannot be used with return_grid=True")
    p1, p2 = path_shape_meta(shape1, "path1"), path_shape_meta(shape2, "path2")
    if same_batch and p1.batch != p2.batch:
        raise ShapeError(f"path1, path2 have different batch shapes: {p1.batch} and {p2.batch}")
    if p1.dimension != p2.dimension:
        raise ShapeError(f"path1, path2 have different dimensions: {p1.dimension} and {p2.dimension}")
    lengths = (transform.length(p1.length, "path1"), transform.length(p2.length, "path2"))
    grid = solver.grid(*lengths)
    batch = p1.batch if same_batch else p1.batch + p2.batch
    out_shape = batch + (grid if return_grid else ())
    return Plan(
        out_shape, p1, p2, lengths, transform.dimension(p1.dimension), grid, solver, transform, n_jobs
    )


def sig_kernel_meta(
    shape1: tuple[int, ...],
    shape2: tuple[int, ...],
    *,
    method: Any = "finite_difference",
    dyadic_order: Any = None,
    order: Any = None,
    time_aug: Any = False,
    lead_lag: Any = False,
    end_time: Any = 1.0,
    n_jobs: Any = 1,
    return_grid: Any = False,
    normalize: Any = False,
) -> Plan:
    """Validates every non-array argument of :func:`sig_kernel` and the paths' shapes; the plan
    holds the output shape ``batch (+ grid)``."""
    return pair_meta(
        shape1, shape2, method, dyadic_order, order, time_aug, lead_lag, end_time, n_jobs, return_grid,
        normalize, same_batch=True,
    )  # fmt: skip


def check_max_batch(max_batch: Any) -> int:
    if not _is_int(max_batch):
        raise ArgumentTypeError(f"max_batch must be of type int, got {type(max_batch).__name__} instead")
    if max_batch == 0 or max_batch < -1:
        raise ShapeError("max_batch must be a positive integer or -1")
    result: int = max_batch
    return result


def sig_kernel_gram_meta(
    shape1: tuple[int, ...],
    shape2: tuple[int, ...],
    *,
    method: Any = "finite_difference",
    dyadic_order: Any = None,
    order: Any = None,
    time_aug: Any = False,
    lead_lag: Any = False,
    end_time: Any = 1.0,
    n_jobs: Any = 1,
    max_batch: Any = -1,
    return_grid: Any = False,
    normalize: Any = False,
) -> Plan:
    """As :func:`sig_kernel_meta` for :func:`sig_kernel_gram`: output ``batch1 + batch2 (+ grid)``."""
    check_max_batch(max_batch)
    return pair_meta(
        shape1, shape2, method, dyadic_order, order, time_aug, lead_lag, end_time, n_jobs, return_grid,
        normalize, same_batch=False,
    )  # fmt: skip
