"""What the streams share: argument checks, a growing buffer of points addressed by absolute
index, and the locked batch shape, dtype and container of the points pushed."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _core
from ._checks import check_bool, check_n_jobs, check_non_negative_int, signature_length
from ._operands import Operand, operand, require_cpu
from .exceptions import ArgumentTypeError, InvalidArgumentError, ShapeError


def check_positive_int(value: Any, name: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ArgumentTypeError(f"{name} must be of type int, got {type(value).__name__} instead")
    if value < 1:
        raise InvalidArgumentError(f"{name} must be a positive integer, got {name} = {value}")


def check_stream_args(dimension: Any, degree: Any, scalar_term: Any, n_jobs: Any) -> int:
    check_non_negative_int(dimension, "dimension")
    if dimension == 0:
        raise ShapeError("dimension must be at least 1, got dimension = 0")
    check_non_negative_int(degree, "degree")
    check_bool(scalar_term, "scalar_term")
    return check_n_jobs(n_jobs)


class Points:
    """A growing buffer of points, rows of ``(batch, dimension)``, addressed by absolute index
    from ``first`` (the oldest kept) to ``end`` (one past the newest)."""

    def __init__(self, batch: int, dimension: int, dtype: Any) -> None:
        self.data = np.empty((64, batch, dimension), dtype=dtype)
        self._row0 = 0  # the row of absolute index `first`
        self.first = 0
        self.end = 0

    def append(self, rows: np.ndarray) -> int:
        """Appends ``rows`` ``(n, batch, dimension)``; returns the row of ``data`` holding the
        first of them (earlier points stay in the rows before it)."""
        n, kept = rows.shape[0], self.end - self.first
        if self._row0 + kept + n > self.data.shape[0]:
            capacity = self.data.shape[0]
            while kept + n > capacity // 2:
                capacity *= 2
            data = np.empty((capacity, *self.data.shape[1:]), dtype=self.data.dtype)
            data[:kept] = self.data[self._row0 : self._row0 + kept]
            self.data, self._row0 = data, 0
        at = self._row0 + kept
        self.data[at : at + n] = rows
        self.end += n
        return at

    def span(self, start: int, stop: int) -> np.ndarray:
        """The points ``start .. stop - 1`` (absolute), ``(stop - start, batch, dimension)``: a
        view, valid until the next append."""
        offset = self._row0 - self.first
        return self.data[start + offset : stop + offset]

    def drop_before(self, index: int) -> None:
        """Forgets the points before ``index`` (``first <= index``); past ``end``, the next
        point appended gets index ``index``."""
        if index >= self.end:
            self._row0, self.first, self.end = 0, index, index
        else:
            self._row0 += index - self.first
            self.first = index


class StreamBase:
    """What both streams share: argument checks, the locked batch shape, dtype and container,
    and turning the points pushed into rows ``(n, batch, dimension)`` of numpy arrays."""

    def __init__(self, dimension: Any, degree: Any, scalar_term: Any, n_jobs: Any) -> None:
        self._n_jobs = check_stream_args(dimension, degree, scalar_term, n_jobs)
        self._dimension: int = dimension
        self._degree: int = degree
        self._scalar_term: bool = scalar_term
        self._sig_len = signature_length(dimension, degree, scalar_term)
        self._batch_shape: tuple[int, ...] | None = None
        self._point_shape: tuple[int, ...] | None = None
        self._batch = 0
        self._dtype: np.dtype | None = None
        self._kind = ""

    def _rows(self, value: Any, name: str, method: str, point_axis: bool) -> np.ndarray:
        """``value`` as ``(n, batch, dimension)`` rows (a view when possible), after checking it
        against the stream's dimension, batch shape, dtype and container (locked by the first
        push)."""
        op = operand(value, name)
        require_cpu(op, type(self).__name__)
        shape = op.shape
        rank = 2 if point_axis else 1
        if len(shape) < rank or shape[-1] != self._dimension:
            expected = f"(..., n_points, {self._dimension})" if point_axis else f"(..., {self._dimension})"
            raise ShapeError(f"{method} expects {name} of shape {expected}; got shape {shape}")
        batch = tuple(shape[:-rank])
        if self._batch_shape is None:
            self._lock(op, batch)
        elif batch != self._batch_shape:
            raise ShapeError(
                f"{method} batch shape {batch} does not match the shape {self._batch_shape} locked in "
                f"by the first push"
            )
        elif op.kind != self._kind or op.dtype != self._dtype:
            raise InvalidArgumentError(
                f"{name} must be a {self._kind} array of dtype {self._dtype}, as the first push was; "
                f"got a {op.kind} array of dtype {op.dtype}"
            )
        array: np.ndarray = op.array
        if point_axis:  # (*batch, n, d) -> (n, batch, d)
            return np.moveaxis(array.reshape(self._batch, shape[-2], self._dimension), 1, 0)
        return array.reshape(1, self._batch, self._dimension)

    def _lock(self, op: Operand, batch: tuple[int, ...]) -> None:
        self._batch_shape = batch
        self._point_shape = (*batch, self._dimension)
        self._batch = int(np.prod(batch, dtype=np.int64))
        self._dtype = op.dtype
        self._kind = op.kind
        self._on_lock()

    def _on_lock(self) -> None:
        """Allocates what depends on the batch shape and dtype."""

    def _output(self, rows: np.ndarray, lead: tuple[int, ...] = ()) -> Any:
        """``rows`` (a fresh array of ``(*lead, batch, sig_length)``, ``lead`` given in full) in
        the caller's shape and container."""
        shaped = rows.reshape(*lead, *(self._batch_shape or ()), self._sig_len)
        if self._kind == "torch":
            import torch

            return torch.from_numpy(shaped)
        return shaped

    def _identity(self, count: int = 1) -> np.ndarray:
        """``count × batch`` signatures of a constant path."""
        out = np.zeros((count, self._batch, self._sig_len), dtype=self._dtype or np.float64)
        if self._scalar_term and self._sig_len:
            out[..., 0] = 1.0
        return out

    def _sign(self, paths: np.ndarray) -> np.ndarray:
        """Signatures of ``paths`` ``(count, length, dimension)`` (any strides), ``(count,
        sig_length)``."""
        out = np.empty((paths.shape[0], self._sig_len), dtype=self._dtype)
        if out.size:
            _core.sig(paths, out, self._degree, False, False, 1.0, self._scalar_term, self._n_jobs)
        return out

    def _combine(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """Chen products of two C-contiguous ``(rows, sig_length)`` arrays of signatures."""
        out = np.empty_like(left)
        if out.size:
            _core.sig_combine(
                left, right, out, self._dimension, self._degree, self._scalar_term, self._n_jobs
            )
        return out

    @property
    def batch_shape(self) -> tuple[int, ...] | None:
        """The batch shape locked in by the first push, or None before it."""
        return self._batch_shape


def windows_of(span: np.ndarray, size: int, step: int) -> np.ndarray:
    """The windows ``span[k·step : k·step + size]`` of points ``(n, batch, d)`` as paths
    ``(windows · batch, size, d)`` (a copy)."""
    view = np.lib.stride_tricks.sliding_window_view(span, size, axis=0)[::step]  # (W, B, d, size)
    return view.transpose(0, 1, 3, 2).reshape(-1, size, span.shape[2])
