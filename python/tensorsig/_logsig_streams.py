"""Streams of log-signatures: cumulative ones with interval queries, and sliding windows."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._checks import check_n_jobs, check_non_negative_int
from ._logsig import log_sig
from ._logsig_bch import log_sig_combine, log_sig_join
from ._operands import operand
from ._specs.logsig import check_method, check_positive_int, log_sig_length_meta
from .exceptions import InvalidArgumentError, ShapeError


def _is_torch(array: Any) -> bool:
    return not isinstance(array, np.ndarray)


def _stack(arrays: Sequence[Any]) -> Any:
    if _is_torch(arrays[0]):
        import torch

        return torch.stack(list(arrays))
    return np.stack(arrays)


def _cat_time(arrays: Sequence[Any]) -> Any:
    if _is_torch(arrays[0]):
        import torch

        return torch.cat(list(arrays), dim=-2)
    return np.concatenate(arrays, axis=-2)


def _copy(array: Any) -> Any:
    return array.clone() if _is_torch(array) else array.copy()


def _zeros(shape: tuple[int, ...], like: Any) -> Any:
    if _is_torch(like):
        import torch

        return torch.zeros(shape, dtype=like.dtype, device=like.device)
    return np.zeros(shape, dtype=like.dtype)


def _points(value: Any, dimension: int, batch_shape: tuple[int, ...] | None, name: str, rank: int) -> Any:
    """Validates pushed points: ``(..., dimension)`` for one point (``rank`` 1) or
    ``(..., n, dimension)`` for several (``rank`` 2), with the stream's batch shape once set."""
    op = operand(value, name)
    shape = op.shape
    expected = "(..., dimension)" if rank == 1 else "(..., n_points, dimension)"
    if len(shape) < rank or shape[-1] != dimension:
        raise ShapeError(f"{name} must have shape {expected} with dimension {dimension}, got {shape}")
    batch = shape[: len(shape) - rank]
    if batch_shape is not None and batch != batch_shape:
        raise ShapeError(f"{name} has batch shape {batch}, but the stream's first push set {batch_shape}")
    return value


class LogSigStream:
    r"""Cumulative log-signatures of a growing path, with log-signatures of any interval.

    Each pushed point stores L(0, t) = log S(x|_([0, t])) in Lyndon bracket
    coordinates, by :func:`log_sig_join` from the previous point's. The log-signature of the path
    between checkpoints ``start`` and ``end`` is then

        L(s, t) = BCH(-L(0, s), L(0, t)),

    since exp(-L) = exp(L)⁻¹ (:func:`log_sig_combine`). One stream can follow a batch
    of paths: the first push fixes its batch shape.

    **Checkpoints.** There is one per point, also for points pushed together by
    :meth:`push_batch`, so interval queries may start and end anywhere. pysiglib 4.0 stores one
    checkpoint per ``push_batch`` call, so its indices count calls, not points, and its own
    documented example (``push_batch`` of 50 points, then ``sig(10, 30)``) raises IndexError;
    tensorsig follows the documentation.

    Parameters
    ----------
    dimension : int
        The paths' dimension d.
    degree : int
        Truncation level N ≥ 1.
    method : int
        ``2`` or ``3`` (the same Lyndon bracket coordinates; 3 only changes how
        :meth:`push_batch`'s path pieces would be computed in pysiglib). Method 1's Lyndon-word
        coefficients are not Lie coordinates, and BCH cannot combine them: ValueError.
    n_jobs : int
        Threads for the underlying calls, as for :func:`sig`.

    Examples
    --------
    >>> import numpy as np, tensorsig
    >>> path = np.random.default_rng(0).normal(size=(50, 3))
    >>> stream = tensorsig.LogSigStream(3, 4)
    >>> stream.push_batch(path)
    >>> np.allclose(stream.sig(10, 30), tensorsig.log_sig(path[10:31], 4, method=2))
    True
    """

    def __init__(
        self,
        dimension: int,
        degree: int,
        *,
        method: int = 2,
        n_jobs: int = 1,
        _log_sig_join: Callable[..., Any] | None = None,
        _log_sig_combine: Callable[..., Any] | None = None,
        _log_sig: Callable[..., Any] | None = None,
    ) -> None:
        check_method(method)
        if method not in (2, 3):
            raise InvalidArgumentError(
                f"LogSigStream needs Lyndon bracket coordinates, method=2 or method=3; got method={method}. "
                "Method 1's Lyndon-word coefficients are not Lie coordinates and cannot be combined by BCH"
            )
        check_n_jobs(n_jobs)
        self._width = log_sig_length_meta(dimension, degree, False, False)
        self._dimension, self._degree, self._n_jobs = dimension, degree, n_jobs
        self._join = _log_sig_join or log_sig_join
        self._combine = _log_sig_combine or log_sig_combine
        self._log_sig = _log_sig or log_sig  # unused: kept for pysiglib's injection signature
        self._log_sigs: list[Any] = []
        self._last_point: Any = None
        self._start = 0
        self._batch_shape: tuple[int, ...] | None = None

    def push(self, point: Any) -> None:
        """Appends a point ``(*batch, dimension)`` (one per tracked path) and stores its
        cumulative log-signature."""
        _points(point, self._dimension, self._batch_shape, "point", 1)
        if self._last_point is None:
            self._batch_shape = tuple(point.shape[:-1])
            self._log_sigs.append(_zeros((*self._batch_shape, self._width), point))
        else:
            displacement = point - self._last_point
            self._log_sigs.append(
                self._join(
                    self._log_sigs[-1], displacement, self._dimension, self._degree, n_jobs=self._n_jobs
                )
            )
        self._last_point = _copy(point)

    def push_batch(self, points: Any) -> None:
        """Appends the points ``(*batch, n_points, dimension)`` in order, one checkpoint each."""
        _points(points, self._dimension, self._batch_shape, "points", 2)
        for i in range(points.shape[-2]):
            self.push(points[..., i, :])

    def pop_front(self) -> None:
        """Forgets the oldest checkpoint (the later ones keep their indices). ValueError when
        one checkpoint or none is left."""
        if len(self._log_sigs) <= 1:
            raise ShapeError("Cannot pop_front: the stream has 1 or fewer checkpoints")
        self._log_sigs.pop(0)
        self._start += 1

    def _index(self, index: Any) -> int:
        check_non_negative_int(index, "index")
        at: int = index - self._start
        if not 0 <= at < len(self._log_sigs):
            raise IndexError(f"index {index} is out of range [{self._start}, {self.end_index}]")
        return at

    def sig(self, start: int, end: int) -> Any:
        """The log-signature ``(*batch, log_sig_length)`` of the path from checkpoint ``start``
        to checkpoint ``end`` (absolute indices, inclusive). IndexError when out of range."""
        s, e = self._index(start), self._index(end)
        if start == 0:
            return _copy(self._log_sigs[e])
        return self._combine(
            -self._log_sigs[s], self._log_sigs[e], self._dimension, self._degree, n_jobs=self._n_jobs
        )

    def sig_batch(self, intervals: Sequence[tuple[int, int]]) -> Any:
        """The log-signatures of several intervals ``[(start, end), ...]``, stacked:
        ``(K, *batch, log_sig_length)``, in one BCH call."""
        pairs = [(self._index(s), self._index(e)) for s, e in intervals]
        if not pairs:
            raise InvalidArgumentError("intervals must hold at least one (start, end) pair")
        starts = _stack([-self._log_sigs[s] for s, _ in pairs])
        ends = _stack([self._log_sigs[e] for _, e in pairs])
        out = self._combine(starts, ends, self._dimension, self._degree, n_jobs=self._n_jobs)
        if all(start != 0 for start, _ in intervals):
            return out
        # From the first point, the stored value itself, exactly (as sig gives it).
        return _stack([ends[k] if start == 0 else out[k] for k, (start, _) in enumerate(intervals)])

    def sig_all(self) -> Any:
        """The cumulative log-signatures of every retained checkpoint, ``(n, *batch,
        log_sig_length)``; each from the first point ever pushed, also after :meth:`pop_front`."""
        if not self._log_sigs:
            raise InvalidArgumentError("the stream is empty")
        return _stack(self._log_sigs)

    @property
    def size(self) -> int:
        """Number of retained checkpoints."""
        return len(self._log_sigs)

    @property
    def start_index(self) -> int:
        """Absolute index of the oldest retained checkpoint."""
        return self._start

    @property
    def end_index(self) -> int:
        """Absolute index of the newest checkpoint."""
        return self._start + len(self._log_sigs) - 1

    @property
    def batch_shape(self) -> tuple[int, ...] | None:
        """The batch shape the first push set, or None before it."""
        return self._batch_shape


class LogSigWindowStream:
    r"""Log-signatures of a sliding window over a stream of points.

    Window k holds the points k · stride, …,
    k · stride + window\_size - 1; its log-signature is computed from those
    points (:func:`log_sig`) as soon as the last of them arrives. Points no future window needs
    are dropped, including the gaps when ``stride > window_size``.

    Parameters
    ----------
    dimension, degree : int
        The paths' dimension and the truncation level, both positive.
    window_size, stride : int
        Points per window, and between the starts of consecutive windows; both positive.
    method : int
        ``0``-``3``, as for :func:`log_sig` (pysiglib 4.0 does not validate it).
    n_jobs : int
        Threads, as for :func:`sig`.

    Examples
    --------
    >>> import numpy as np, tensorsig
    >>> stream = tensorsig.LogSigWindowStream(2, 3, 10, stride=5)
    >>> stream.push_batch(np.random.default_rng(0).normal(size=(8, 42, 2)))
    >>> stream.sig().shape     # windows starting at 0, 5, ..., 30; 8 paths; 5 coordinates
    (7, 8, 5)
    """

    def __init__(
        self,
        dimension: int,
        degree: int,
        window_size: int,
        *,
        stride: int = 1,
        method: int = 2,
        n_jobs: int = 1,
        _log_sig: Callable[..., Any] | None = None,
    ) -> None:
        check_positive_int(window_size, "window_size")
        check_positive_int(stride, "stride")
        check_method(method)
        check_n_jobs(n_jobs)
        check_positive_int(dimension, "dimension")
        check_positive_int(degree, "degree")
        self._dimension, self._degree, self._method, self._n_jobs = dimension, degree, method, n_jobs
        self._window, self._stride = window_size, stride
        self._log_sig = _log_sig or log_sig
        self._chunks: list[Any] = []  # the buffered points (..., n, dimension), oldest first
        self._first = 0  # absolute index of the oldest buffered point
        self._seen = 0  # points pushed so far
        self._next_end = window_size - 1  # absolute index of the next window's last point
        self._windows: list[Any] = []
        self._batch_shape: tuple[int, ...] | None = None

    def push(self, point: Any) -> None:
        """Appends a point ``(*batch, dimension)``, emitting the window it completes, if any."""
        _points(point, self._dimension, self._batch_shape, "point", 1)
        self._append(point[..., None, :])

    def push_batch(self, points: Any) -> None:
        """Appends the points ``(*batch, n_points, dimension)``, emitting every window they
        complete."""
        _points(points, self._dimension, self._batch_shape, "points", 2)
        if points.shape[-2] > 0:
            self._append(points)

    def _append(self, points: Any) -> None:
        if self._batch_shape is None:
            self._batch_shape = tuple(points.shape[:-2])
        self._chunks.append(points)
        self._seen += points.shape[-2]
        if self._seen - 1 >= self._next_end:
            buffer = _cat_time(self._chunks)
            while self._seen - 1 >= self._next_end:
                start = self._next_end - self._window + 1 - self._first
                window = buffer[..., start : start + self._window, :]
                self._windows.append(
                    self._log_sig(window, self._degree, method=self._method, n_jobs=self._n_jobs)
                )
                self._next_end += self._stride
            self._chunks = [buffer]
        self._drop_unneeded()

    def _drop_unneeded(self) -> None:
        """Forgets the buffered points before the next window's first one."""
        drop = min(self._next_end - self._window + 1, self._seen) - self._first
        while drop > 0 and self._chunks:
            head = self._chunks[0]
            if head.shape[-2] <= drop:
                self._chunks.pop(0)
                drop -= head.shape[-2]
                self._first += head.shape[-2]
            else:
                self._chunks[0] = head[..., drop:, :]
                self._first += drop
                drop = 0
        if not self._chunks:
            self._first = self._seen

    def sig(self) -> Any:
        """The log-signatures of every complete window, stacked: ``(num_windows, *batch,
        width)``. ValueError before the first window is complete."""
        if not self._windows:
            raise InvalidArgumentError("No complete windows yet")
        return _stack(self._windows)

    @property
    def num_windows(self) -> int:
        """Number of complete windows so far."""
        return len(self._windows)

    @property
    def batch_shape(self) -> tuple[int, ...] | None:
        """The batch shape the first push set, or None before it."""
        return self._batch_shape
