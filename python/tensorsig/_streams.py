"""Signatures over a stream of points: of any stored interval (:class:`SigStream`), and of
sliding windows (:class:`SigWindowStream`).

Pure Python over the native joins, signatures and Chen products, on numpy arrays; torch CPU
tensors are read and returned as tensors (sharing memory with numpy, without autograd: use
``tensorsig.torch_api`` to differentiate through signatures).
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from . import _core
from ._arrays import Operand, operand
from ._checks import check_bool, check_n_jobs, check_non_negative_int, signature_length

#: Points per block of a :class:`SigStream`: the most increments an interval query signs
#: directly at each end; the blocks' signatures are kept in a binary tree.
_BLOCK = 32


def _check_positive_int(value: Any, name: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be of type int, got {type(value).__name__} instead")
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, got {name} = {value}")


def _check_stream_args(dimension: Any, degree: Any, scalar_term: Any, n_jobs: Any) -> int:
    check_non_negative_int(dimension, "dimension")
    if dimension == 0:
        raise ValueError("dimension must be at least 1, got dimension = 0")
    check_non_negative_int(degree, "degree")
    check_bool(scalar_term, "scalar_term")
    return check_n_jobs(n_jobs)


class _Points:
    """A growing buffer of points, rows of ``(batch, dimension)``, addressed by absolute index
    from ``first`` (the oldest kept) to ``end`` (one past the newest)."""

    def __init__(self, batch: int, dimension: int, dtype: np.dtype) -> None:
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


class _StreamBase:
    """What both streams share: argument checks, the locked batch shape, dtype and container,
    and turning the points pushed into rows ``(n, batch, dimension)`` of numpy arrays."""

    def __init__(self, dimension: Any, degree: Any, scalar_term: Any, n_jobs: Any) -> None:
        self._n_jobs = _check_stream_args(dimension, degree, scalar_term, n_jobs)
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
        if op.on_gpu:
            raise RuntimeError(f"{type(self).__name__} works on the CPU: move {name} there with .cpu() first")
        shape = op.shape
        rank = 2 if point_axis else 1
        if len(shape) < rank or shape[-1] != self._dimension:
            expected = f"(..., n_points, {self._dimension})" if point_axis else f"(..., {self._dimension})"
            raise ValueError(f"{method} expects {name} of shape {expected}; got shape {shape}")
        batch = tuple(shape[:-rank])
        if self._batch_shape is None:
            self._lock(op, batch)
        elif batch != self._batch_shape:
            raise ValueError(
                f"{method} batch shape {batch} does not match the shape {self._batch_shape} locked in "
                f"by the first push"
            )
        elif op.kind != self._kind or op.dtype != self._dtype:
            raise ValueError(
                f"{name} must be a {self._kind} array of dtype {self._dtype}, as the first push was; "
                f"got a {op.kind} array of dtype {op.dtype}"
            )
        if point_axis:  # (*batch, n, d) -> (n, batch, d)
            return np.moveaxis(op.array.reshape(self._batch, shape[-2], self._dimension), 1, 0)
        return op.array.reshape(1, self._batch, self._dimension)

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


class SigStream(_StreamBase):
    r"""Signatures of a growing stream of points over any interval of it.

    Points (or one point per path of a batch) are pushed one at a time (:meth:`push`) or
    many at once (:meth:`push_batch`); :meth:`sig` returns the signature of the piecewise-linear
    path through the points ``start .. end`` (absolute, inclusive indices), every pushed point
    being a valid index. The batch shape, dtype and container are locked by the first push.

    **How.** The stream keeps its points and, for each block of 32 increments, the block's
    signature, in a binary tree of Chen products (a node holds the signature of 2^l aligned
    blocks). Pushing a point folds its increment into the current block's signature with one
    fused multiply-exponentiate (:func:`sig_join`); a completed block adds one tree node per
    level it completes (one Chen product per block, amortised). An interval query signs its two
    partial blocks directly from the points (at most 64 increments) and joins the tree nodes in
    between, :math:`O(\log(n / 32))` Chen products: it is exact to round-off against
    ``sig(path[start:end + 1])``, whatever the stream's length. Memory: the points, plus about
    two signatures per block.

    The inverse-product scheme of pysiglib 4.0, :math:`S(0,s)^{-1} \otimes S(0,t)`, loses digits
    as :math:`S(0, t)` grows on long streams (the level-:math:`N` terms grow like
    :math:`t^{N/2}` for a random walk and the product cancels them), and it stores two
    signatures per push; tensorsig does not use it. Measured on a 10,000-point Gaussian random
    walk in :math:`\mathbb{R}^3`, :math:`N = 4`, against ``sig`` of the interval: relative
    errors up to :math:`10^{-6}` (one step near the end) and :math:`10^{-8}` (ten steps) for
    the inverse products, at most :math:`2 \cdot 10^{-15}` here.

    Differences from pysiglib 4.0: pysiglib's :meth:`push_batch` stores one checkpoint per
    batch, so indices count checkpoints and ``sig(10, 30)`` after pushing 50 points at once
    raises IndexError (its own docstring's example); here indices always count points. A query
    with ``start > end`` gives, as in pysiglib, :math:`S(0,start)^{-1} \otimes S(0,end)`: the
    signature of the segment run backwards, the inverse of ``sig(end, start)``.

    Parameters
    ----------
    dimension : int
        :math:`d`, the points' dimension.
    degree : int
        Truncation level :math:`N`.
    scalar_term : bool
        Include the leading 1 in every signature returned.
    n_jobs : int
        Threads for the native calls (they split the batch), as in :func:`sig`.

    Raises
    ------
    TypeError, ValueError
        For arguments of the wrong type or value (``dimension = 0`` among them); methods raise
        ValueError for points of the wrong shape, batch shape, dtype or container, IndexError
        for indices outside ``[start_index, end_index]``.

    Examples
    --------
    >>> import numpy as np, tensorsig
    >>> path = np.random.default_rng(0).normal(size=(50, 3))
    >>> stream = tensorsig.SigStream(3, 4)
    >>> stream.push_batch(path)
    >>> np.allclose(stream.sig(10, 30), tensorsig.sig(path[10:31], 4))
    True
    >>> batched = tensorsig.SigStream(3, 4)
    >>> for t in range(20):
    ...     batched.push(np.full((8, 3), float(t)))
    >>> batched.sig(3, 7).shape, batched.size, batched.end_index
    ((8, 120), 20, 19)
    """

    def __init__(self, dimension: int, degree: int, *, scalar_term: bool = False, n_jobs: int = 1) -> None:
        super().__init__(dimension, degree, scalar_term, n_jobs)
        self._points: _Points | None = None
        self._start = 0
        # The current block's signature so far, and a spare to join into.
        self._running = np.empty((0, 0))
        self._spare = np.empty((0, 0))
        self._z = np.empty((0, 0))
        # tree[l][i]: the signature of blocks i·2^l .. (i+1)·2^l - 1, each (batch, sig_length).
        self._tree: list[dict[int, np.ndarray]] = []
        self._blocks = 0  # complete blocks
        # S(x_0 .. x_{first_block·32}): the blocks the stream no longer keeps, for sig_all.
        self._first_block = 0
        self._origin = np.empty((0, 0))

    def _on_lock(self) -> None:
        self._points = _Points(self._batch, self._dimension, self._dtype)
        self._running = self._identity()[0]
        self._spare = np.empty_like(self._running)
        self._z = np.empty((self._batch, self._dimension), dtype=self._dtype)
        self._origin = self._identity()[0]

    # -- pushing -------------------------------------------------------------------------

    def push(self, point: Any) -> None:
        """Appends one point, ``(*batch, dimension)`` (the batch shape locked by the first
        push): one fused multiply-exponentiate, plus a Chen product per tree level when the
        point completes a block of 32 increments (one per block, amortised)."""
        # The lean path (every push after the first, for numpy points) checks in one comparison
        # what _rows checks at length.
        if type(point) is np.ndarray and point.shape == self._point_shape and point.dtype == self._dtype:
            row = point if self._kind == "numpy" else self._rows(point, "point", "push", point_axis=False)
        else:
            row = self._rows(point, "point", "push", point_axis=False)
        points = self._points
        assert points is not None
        at = points.append(row.reshape(1, self._batch, self._dimension))
        end = points.end - 1
        if end == 0:
            return
        np.subtract(points.data[at], points.data[at - 1], out=self._z)
        if self._running.size:
            _core.sig_join(
                self._running,
                self._z,
                self._spare,
                self._dimension,
                self._degree,
                False,
                self._scalar_term,
                self._n_jobs,
            )
            self._running, self._spare = self._spare, self._running
        if end % _BLOCK == 0:
            self._complete_block(self._running.copy())
            self._running = self._identity()[0]

    def push_batch(self, points: Any) -> None:
        """Appends ``n`` points, ``(*batch, n, dimension)``: every one becomes an index. The
        blocks they complete are signed in one native call; about ``n`` fused steps in all."""
        rows = self._rows(points, "points", "push_batch", point_axis=True)
        n = rows.shape[0]
        if n == 0:
            return
        buffer = self._points
        assert buffer is not None
        old_end = buffer.end - 1  # -1 when the stream was empty
        buffer.append(rows)
        end = buffer.end - 1
        first = max(old_end, 0)
        if end == first:
            return
        block = first // _BLOCK
        block_end = (block + 1) * _BLOCK
        if end < block_end:
            # Still inside the current block: extend its signature by the new segment.
            piece = self._sign_span(first, end)
            self._running = self._combine(self._running, piece)
            return
        # Complete the current block, then every whole block, then start the last one.
        self._complete_block(self._combine(self._running, self._sign_span(first, block_end)))
        whole = (end - block_end) // _BLOCK
        if whole:
            span = buffer.span(block_end, block_end + whole * _BLOCK + 1)
            sigs = self._sign(_windows(span, _BLOCK + 1, _BLOCK))
            for sig in sigs.reshape(whole, self._batch, self._sig_len):
                self._complete_block(sig.copy())
        last_start = block_end + whole * _BLOCK
        self._running = self._sign_span(last_start, end) if end > last_start else self._identity()[0]

    def _sign_span(self, start: int, end: int) -> np.ndarray:
        """The signatures ``(batch, sig_length)`` of points ``start .. end`` (absolute,
        inclusive), signed directly."""
        assert self._points is not None
        span = self._points.span(start, end + 1)  # (n, B, d)
        return self._sign(span.transpose(1, 0, 2))

    def _complete_block(self, sig: np.ndarray) -> None:
        """Adds the next block's signature to the tree, with every node it completes."""
        index, level, node = self._blocks, 0, sig
        self._blocks += 1
        while True:
            if level == len(self._tree):
                self._tree.append({})
            self._tree[level][index] = node
            left = self._tree[level].get(index - 1) if index % 2 else None
            if left is None:
                return
            node = self._combine(left, node)
            index, level = index // 2, level + 1

    # -- dropping ------------------------------------------------------------------------

    def pop_front(self) -> None:
        """Drops the oldest point: ``start_index`` moves up by one. Raises ValueError when the
        stream holds one point or none. Memory of whole blocks before the new start is
        released (their signature is folded into the one :meth:`sig_all` starts from)."""
        if self.size <= 1:
            raise ValueError("Cannot pop_front: stream has 1 or fewer entries")
        self._start += 1
        while (self._first_block + 1) * _BLOCK <= self._start:
            block = self._first_block
            self._origin = self._combine(self._origin, self._tree[0][block])
            for level, nodes in enumerate(self._tree):
                index = block >> level
                if ((index + 1) << level) <= block + 1:
                    nodes.pop(index, None)
            self._first_block += 1
            assert self._points is not None
            self._points.drop_before(self._first_block * _BLOCK)

    # -- queries -------------------------------------------------------------------------

    def sig(self, start: int, end: int) -> Any:
        """The signature of the path through points ``start .. end`` (absolute indices, both
        included), ``(*batch, sig_length)``: exact to round-off against signing those points
        directly. ``start > end`` gives the inverse of ``sig(end, start)`` (the segment run
        backwards); ``start == end`` the signature of a point. At most 64 increments signed
        and :math:`O(\\log n)` Chen products."""
        start, end = self._index(start, "start"), self._index(end, "end")
        if not (self.start_index <= min(start, end) and max(start, end) <= self.end_index):
            raise IndexError(f"Indices [{start}, {end}] out of range [{self.start_index}, {self.end_index}]")
        if start > end:
            return self._output(self._inverse(self._interval(end, start)))
        return self._output(self._interval(start, end))

    def sig_batch(self, intervals: Any) -> Any:
        """The signatures of several intervals, ``(K, *batch, sig_length)`` for ``K`` pairs
        ``(start, end)``, each as :meth:`sig`."""
        results = []
        for pair in intervals:
            start, end = pair
            results.append(self.sig(start, end))
        if not results:
            return self._output(
                np.empty((0, self._batch, self._sig_len), dtype=self._dtype or np.float64), (0,)
            )
        if self._kind == "torch":
            import torch

            return torch.stack(results)
        return np.stack(results)

    def sig_all(self) -> Any:
        """The expanding signatures :math:`S(x_0 \\ldots x_t)` for every stored point
        ``t = start_index .. end_index``, ``(size, *batch, sig_length)``, always from the first
        point ever pushed (as pysiglib, also after :meth:`pop_front`). Each is a Chen product of
        block signatures and a partial block signed from the points: about one fused step and
        one Chen product per point."""
        if self._points is None:  # nothing pushed: no batch shape, dtype or container yet
            return np.empty((0, self._sig_len))
        first = self._first_block * _BLOCK
        count = self._points.end - first
        # Within-block prefixes P[r] = S(block start .. first + r), all blocks in step: K joins.
        prefixes = self._identity(count)
        span = self._points.span(first, first + count)
        for offset in range(1, _BLOCK):
            rows = np.arange(offset, count, _BLOCK)
            if rows.size == 0:
                break
            n = rows.size * self._batch
            previous = np.ascontiguousarray(prefixes[rows - 1].reshape(n, self._sig_len))
            z = np.ascontiguousarray((span[rows] - span[rows - 1]).reshape(n, self._dimension))
            joined = np.empty_like(previous)
            if joined.size:
                _core.sig_join(
                    previous, z, joined, self._dimension, self._degree, False, self._scalar_term, self._n_jobs
                )
            prefixes[rows] = joined.reshape(rows.size, self._batch, self._sig_len)
        # Each block's start from the origin: one Chen product per block.
        starts = [self._origin]
        for block in range(self._first_block, self._first_block + (count - 1) // _BLOCK):
            starts.append(self._combine(starts[-1], self._tree[0][block]))
        heads = np.stack(starts)[np.arange(count) // _BLOCK]
        rows = (count * self._batch, self._sig_len)
        out = self._combine(np.ascontiguousarray(heads.reshape(rows)), prefixes.reshape(rows))
        keep = self._start - first
        out = out.reshape(count, self._batch, self._sig_len)[keep:]
        return self._output(np.ascontiguousarray(out), (count - keep,))

    def _index(self, value: Any, name: str) -> int:
        if isinstance(value, bool):
            raise TypeError(f"{name} must be of type int, got bool instead")
        try:
            return operator.index(value)
        except TypeError:
            raise TypeError(f"{name} must be of type int, got {type(value).__name__} instead") from None

    def _interval(self, start: int, end: int) -> np.ndarray:
        """``S(x_start .. x_end)`` for ``start <= end``, ``(batch, sig_length)``, fresh."""
        if start == end:
            return self._identity()[0]
        first_block = -(-start // _BLOCK)
        last_block = end // _BLOCK
        if last_block - first_block < 1:
            return self._sign_span(start, end)
        parts = []
        if start < first_block * _BLOCK:
            parts.append(self._sign_span(start, first_block * _BLOCK))
        parts += self._blocks_between(first_block, last_block)
        if end > last_block * _BLOCK:
            parts.append(self._sign_span(last_block * _BLOCK, end))
        result = parts[0]
        for part in parts[1:]:
            result = self._combine(result, part)
        return result if len(parts) > 1 else result.copy()

    def _blocks_between(self, first: int, stop: int) -> list[np.ndarray]:
        """The tree nodes that tile blocks ``first .. stop - 1``, left to right."""
        nodes = []
        while first < stop:
            level = 0
            while (
                first % (2 << level) == 0
                and first + (2 << level) <= stop
                and level + 1 < len(self._tree)
                and (first >> (level + 1)) in self._tree[level + 1]
            ):
                level += 1
            nodes.append(self._tree[level][first >> level])
            first += 1 << level
        return nodes

    def _inverse(self, sig: np.ndarray) -> np.ndarray:
        """The inverse of group-like elements: the word ``w`` gets ``(-1)^|w|`` times the
        coefficient of the reversed word."""
        index, sign = _antipode(self._dimension, self._degree, self._scalar_term)
        return sig[..., index] * sign.astype(sig.dtype)

    # -- properties ----------------------------------------------------------------------

    @property
    def size(self) -> int:
        """Number of points the stream holds (0 before the first push)."""
        return 0 if self._points is None else self._points.end - self._start

    @property
    def start_index(self) -> int:
        """Absolute index of the oldest point held."""
        return self._start

    @property
    def end_index(self) -> int:
        """Absolute index of the newest point (``start_index - 1`` when empty)."""
        return self._start + self.size - 1


def _windows(span: np.ndarray, size: int, step: int) -> np.ndarray:
    """The windows ``span[k·step : k·step + size]`` of points ``(n, batch, d)`` as paths
    ``(windows · batch, size, d)`` (a copy)."""
    view = np.lib.stride_tricks.sliding_window_view(span, size, axis=0)[::step]  # (W, B, d, size)
    return view.transpose(0, 1, 3, 2).reshape(-1, size, span.shape[2])


def _antipode(dimension: int, degree: int, scalar_term: bool) -> tuple[np.ndarray, np.ndarray]:
    """The gather index and signs that map a signature to its inverse."""
    index, sign, offset = [], [], 0
    if scalar_term:
        index.append(np.zeros(1, dtype=np.int64))
        sign.append(np.ones(1))
        offset = 1
    for k in range(1, degree + 1):
        size = dimension**k
        words = np.arange(size).reshape((dimension,) * k)
        index.append(offset + words.transpose(tuple(reversed(range(k)))).ravel())
        sign.append(np.full(size, (-1.0) ** k))
        offset += size
    if not index:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    return np.concatenate(index), np.concatenate(sign)


class SigWindowStream(_StreamBase):
    r"""Signatures of sliding windows over a stream of points.

    Window :math:`k` covers points :math:`k \cdot \text{stride} \ldots k \cdot \text{stride} +
    \text{window\_size} - 1`; its signature is computed, directly from those points, as soon as
    its last point is pushed (with :meth:`push` or :meth:`push_batch`). Points no window will
    need are dropped (with ``stride > window_size``, those between windows are never kept).
    Each window costs ``window_size - 1`` fused steps; the windows completed by one
    :meth:`push_batch` are signed in one native call. Results are exact (each window is signed
    from scratch), as in pysiglib.

    Parameters
    ----------
    dimension : int
        :math:`d`, the points' dimension.
    degree : int
        Truncation level :math:`N`.
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
        _check_positive_int(window_size, "window_size")
        _check_positive_int(stride, "stride")
        super().__init__(dimension, degree, scalar_term, n_jobs)
        self._window = window_size
        self._stride = stride
        self._points: _Points | None = None
        self._windows = np.empty((0, 0, 0))
        self._count = 0

    def _on_lock(self) -> None:
        self._points = _Points(self._batch, self._dimension, self._dtype)
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
        sigs = self._sign(_windows(span, self._window, self._stride))
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
            raise ValueError("No complete windows yet")
        return self._output(self._windows[: self._count].copy(), (self._count,))

    @property
    def num_windows(self) -> int:
        """Number of complete windows so far."""
        return self._count
