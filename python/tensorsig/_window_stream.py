"""Signatures of sliding windows over a stream of points (:class:`SigWindowStream`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._stream_base import Points, StreamBase, check_positive_int, windows_of
from .exceptions import InvalidArgumentError


class SigWindowStream(StreamBase):
    r"""Signatures of sliding windows over a stream of points.

    Window k covers points k · stride … k · stride +
    window\_size - 1; its signature is computed, directly from those points, as soon as
    its last point is pushed (with :meth:`push` or :meth:`push_batch`). Points no window will
    need are dropped (with ``stride > window_size``, those between windows are never kept).
    Each window costs ``window_size - 1`` fused steps; the windows completed by one
    :meth:`push_batch` are signed in one native call. Results are exact (each window is signed
    from scratch), as in pysiglib.

    Parameters
    ----------
    dimension : int
        d, the points' dimension.
    degree : int
        Truncation level N.
    window_size : int
        Points per window, at least 1.
    stride : int
        Points between the starts of consecutive windows, at least 1.
    scalar_term : bool
        Include the leading 1 in every signature.
    n_jobs : int
        Threads for the native calls, as in :func:`sig`.

    Raises
    ------
    TypeError, ValueError
        For arguments of the wrong type or value (``window_size`` and ``stride`` must be
        positive ints); pushes raise ValueError for points of the wrong shape, batch shape, dtype
        or container, and :meth:`sig` raises ValueError before the first window is complete.

    Examples
    --------
    >>> import numpy as np, tensorsig
    >>> path = np.random.default_rng(0).normal(size=(100, 3))
    >>> windows = tensorsig.SigWindowStream(3, 4, window_size=20, stride=5)
    >>> windows.push_batch(path)
    >>> windows.num_windows, windows.sig().shape
    (17, (17, 120))
    >>> np.allclose(windows.sig()[2], tensorsig.sig(path[10:30], 4))
    True
    """

    def __init__(
        self,
        dimension: int,
        degree: int,
        window_size: int,
        *,
        stride: int = 1,
        scalar_term: bool = False,
        n_jobs: int = 1,
    ) -> None:
        check_positive_int(window_size, "window_size")
        check_positive_int(stride, "stride")
        super().__init__(dimension, degree, scalar_term, n_jobs)
        self._window = window_size
        self._stride = stride
        self._points: Points | None = None
        self._windows = np.empty((0, 0, 0))
        self._count = 0

    def _on_lock(self) -> None:
        self._points = Points(self._batch, self._dimension, self._dtype)
        self._windows = np.empty((16, self._batch, self._sig_len), dtype=self._dtype)

    def push(self, point: Any) -> None:
        """Appends one point, ``(*batch, dimension)``; signs the window it completes, if any."""
        self._append(self._rows(point, "point", "push", point_axis=False))

    def push_batch(self, points: Any) -> None:
        """Appends ``n`` points, ``(*batch, n, dimension)``; signs every window they complete in
        one native call."""
        self._append(self._rows(points, "points", "push_batch", point_axis=True))

    def _append(self, rows: np.ndarray) -> None:
        buffer = self._points
        assert buffer is not None
        arrived = buffer.end  # the absolute index of rows[0]
        total = arrived + rows.shape[0]
        # No window needs the points before the next window's start.
        needed = self._count * self._stride
        if needed > arrived:
            skip = min(needed - arrived, rows.shape[0])
            buffer.drop_before(arrived + skip)
            rows = rows[skip:]
        buffer.append(rows)
        last = (total - self._window) // self._stride if total >= self._window else -1
        complete = last + 1 - self._count
        if complete <= 0:
            return
        first = self._count * self._stride
        span = buffer.span(first, last * self._stride + self._window)
        sigs = self._sign(windows_of(span, self._window, self._stride))
        self._store(sigs.reshape(complete, self._batch, self._sig_len))
        buffer.drop_before(min(self._count * self._stride, buffer.end))

    def _store(self, sigs: np.ndarray) -> None:
        needed = self._count + sigs.shape[0]
        if needed > self._windows.shape[0]:
            grown = np.empty(
                (max(needed, 2 * self._windows.shape[0]), *self._windows.shape[1:]), self._windows.dtype
            )
            grown[: self._count] = self._windows[: self._count]
            self._windows = grown
        self._windows[self._count : needed] = sigs
        self._count = needed

    def sig(self) -> Any:
        """The signatures of all complete windows, ``(num_windows, *batch, sig_length)``;
        ValueError when there are none yet."""
        if self._count == 0:
            raise InvalidArgumentError("No complete windows yet")
        return self._output(self._windows[: self._count].copy(), (self._count,))

    @property
    def num_windows(self) -> int:
        """Number of complete windows so far."""
        return self._count
