"""SigStream and SigWindowStream: every query against the direct signature of its points, parity
with pysiglib 4.0 where pysiglib's indices are points too, accuracy on long streams, bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tensorsig as ts
from conftest import CONTAINERS, DTYPES, assert_close, kind_of, make, to_numpy

BATCHES = [(), (3,), (2, 2)]


def _direct(points, start, end, degree, scalar_term=False):
    """sig of points[start..end] (inclusive) with the point axis second to last."""
    return ts.sig(
        np.ascontiguousarray(np.moveaxis(points[start : end + 1], 0, -2)), degree, scalar_term=scalar_term
    )


def _fill(stream, points, container, dtype, pieces):
    """Pushes ``points`` (n, *batch, d): the sizes in ``pieces`` with push_batch (0: one push)."""
    at = 0
    for size in pieces:
        if size == 0:
            stream.push(make(points[at], container, dtype))
            at += 1
        else:
            chunk = np.moveaxis(points[at : at + size], 0, -2)
            stream.push_batch(make(chunk, container, dtype))
            at += size
    return at


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("container", CONTAINERS)
@pytest.mark.parametrize("scalar_term", [False, True])
def test_every_interval_is_the_direct_signature(rng, batch, dtype, container, scalar_term):
    d, degree = 2, 3
    points = rng.normal(size=(150, *batch, d)) * 0.3
    stream = ts.SigStream(d, degree, scalar_term=scalar_term)
    # one point, a batch inside one block, a batch spanning several blocks, single pushes
    n = _fill(stream, points, container, dtype, [0, 20, 70, 0, 0, 1, 50, 0, 0, 0, 0, 0, 0])
    assert (stream.size, stream.start_index, stream.end_index, stream.batch_shape) == (n, 0, n - 1, batch)
    intervals = [
        (0, n - 1),
        (10, 30),
        (31, 95),
        (64, 128),
        (5, 6),
        (7, 7),
        (0, 32),
        (33, 64),
        (96, 149),
        (40, 3),
    ]
    for start, end in intervals:
        got = stream.sig(start, end)
        assert kind_of(got) == (container, np.dtype(dtype).name)
        lo, hi = min(start, end), max(start, end)
        expected = _direct(points.astype(dtype), lo, hi, degree, scalar_term)
        if start > end:  # the segment run backwards: the inverse
            expected = _direct(points[lo : hi + 1][::-1].astype(dtype), 0, hi - lo, degree, scalar_term)
        assert_close(got, expected, dtype)
    stacked = stream.sig_batch(intervals[:3])
    assert tuple(stacked.shape) == (3, *batch, ts.sig_length(d, degree, scalar_term=scalar_term))
    for k, (start, end) in enumerate(intervals[:3]):
        np.testing.assert_array_equal(to_numpy(stacked[k]), to_numpy(stream.sig(start, end)))
    every = stream.sig_all()
    assert tuple(every.shape) == (n, *batch, ts.sig_length(d, degree, scalar_term=scalar_term))
    for t in (0, 1, 31, 32, 33, 100, n - 1):
        assert_close(every[t], _direct(points.astype(dtype), 0, t, degree, scalar_term), dtype)


def test_push_only_streams_match_pysiglib_including_pops(rng):
    pysiglib = pytest.importorskip("pysiglib")
    points = rng.normal(size=(120, 2, 3)) * 0.5
    ours, theirs = ts.SigStream(3, 3, scalar_term=True), pysiglib.SigStream(3, 3, scalar_term=True)
    for p in points:
        ours.push(p)
        theirs.push(p)
    for _ in range(70):
        ours.pop_front()
        theirs.pop_front()
    for name in ("size", "start_index", "end_index", "batch_shape"):
        assert getattr(ours, name) == getattr(theirs, name), name
    for start, end in [(70, 119), (80, 100), (100, 75), (119, 119)]:
        assert_close(ours.sig(start, end), theirs.sig(start, end), np.float64)
    assert_close(ours.sig_batch([(70, 90), (90, 70)]), theirs.sig_batch([(70, 90), (90, 70)]), np.float64)
    assert_close(ours.sig_all(), theirs.sig_all(), np.float64)
    for stream in (ours, theirs):
        with pytest.raises(IndexError, match=r"out of range \[70, 119\]"):
            stream.sig(69, 100)


def test_queries_inside_a_pushed_batch(rng):
    """pysiglib 4.0 keeps one checkpoint per push_batch, so its own docstring example raises
    IndexError; here every point is an index."""
    path = rng.normal(size=(50, 3))
    stream = ts.SigStream(3, 4)
    stream.push_batch(path)
    np.testing.assert_allclose(stream.sig(10, 30), ts.sig(path[10:31], 4), rtol=1e-12, atol=1e-12)
    assert stream.size == 50


def test_long_streams_stay_exact(rng):
    """10,000 points of a random walk: intervals late in the stream are exact to round-off, where
    the inverse-product S(0,s)^-1 S(0,t) loses about eight digits."""
    path = np.cumsum(rng.normal(size=(10_000, 3)), axis=0)
    stream = ts.SigStream(3, 4)
    stream.push_batch(path[:9_000])
    for p in path[9_000:]:
        stream.push(p)
    for start, end in [(9_990, 9_999), (7_000, 7_001), (5_000, 5_100), (100, 9_999)]:
        expected = ts.sig(path[start : end + 1], 4)
        error = np.abs(stream.sig(start, end) - expected).max() / np.abs(expected).max()
        assert error < 1e-13, (start, end, error)


def test_pops_release_old_blocks_and_keep_sig_all(rng):
    points = rng.normal(size=(300, 2))
    stream = ts.SigStream(2, 3)
    stream.push_batch(points)
    for _ in range(250):
        stream.pop_front()
    assert stream._points.first >= 224  # whole blocks before the start are gone
    assert len(stream._tree[0]) <= 3
    every = stream.sig_all()
    assert every.shape == (50, 14)
    np.testing.assert_allclose(every[-1], ts.sig(points, 3), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(stream.sig(260, 299), ts.sig(points[260:], 3), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("window", "stride"), [(5, 1), (7, 3), (4, 4), (5, 9), (1, 2), (10, 7)])
@pytest.mark.parametrize("container", CONTAINERS)
def test_window_streams_match_pysiglib_and_direct_windows(rng, window, stride, container):
    pysiglib = pytest.importorskip("pysiglib")
    points = rng.normal(size=(60, 2, 3))
    ours = ts.SigWindowStream(3, 3, window, stride=stride)
    theirs = pysiglib.SigWindowStream(3, 3, window, stride=stride)
    for stream in (ours, theirs):
        _fill(stream, points, container, np.float64, [0, 0, 13, 0, 20, 0, 0, 1, 20, 0])
    assert ours.num_windows == theirs.num_windows == (60 - window) // stride + 1
    assert ours.batch_shape == theirs.batch_shape == (2,)
    got = ours.sig()
    assert kind_of(got) == kind_of(theirs.sig())
    assert_close(got, to_numpy(theirs.sig()), np.float64)
    for k in range(ours.num_windows):
        assert_close(got[k], _direct(points, k * stride, k * stride + window - 1, 3), np.float64)


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: ts.SigStream(0, 2), ValueError, "dimension must be at least 1"),
        (lambda: ts.SigStream(2, -1), ValueError, "degree must be a non-negative integer"),
        (lambda: ts.SigStream(2, 2, scalar_term=1), TypeError, "scalar_term must be of type bool"),
        (lambda: ts.SigStream(2, 2, n_jobs=0), ValueError, "n_jobs cannot be 0"),
        (lambda: ts.SigWindowStream(2, 2, 0), ValueError, "window_size must be a positive integer"),
        (lambda: ts.SigWindowStream(2, 2, 2.0), TypeError, "window_size must be of type int"),
        (lambda: ts.SigWindowStream(2, 2, 3, stride=0), ValueError, "stride must be a positive integer"),
        (lambda: ts.SigWindowStream(2, 2, 3).sig(), ValueError, "No complete windows yet"),
        (
            lambda: ts.SigStream(2, 2).push(np.zeros(3)),
            ValueError,
            r"push expects point of shape \(\.\.\., 2\)",
        ),
        (lambda: ts.SigStream(2, 2).push([0.0, 1.0]), TypeError, "point must be of type numpy.ndarray"),
        (lambda: ts.SigStream(2, 2).push_batch(np.zeros(2)), ValueError, "n_points, 2"),
        (lambda: ts.SigStream(2, 2).sig(0, 0), IndexError, "out of range"),
        (lambda: ts.SigStream(2, 2).pop_front(), ValueError, "1 or fewer entries"),
    ],
)
def test_bad_arguments(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_pushes_must_keep_the_first_shape_dtype_and_container():
    stream = ts.SigStream(2, 2)
    stream.push(np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"batch shape \(4,\) does not match the shape \(3,\)"):
        stream.push(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="dtype float64"):
        stream.push(np.zeros((3, 2), dtype=np.float32))
    with pytest.raises(ValueError, match="numpy array"):
        stream.push(torch.zeros(3, 2, dtype=torch.float64))
    stream.push(np.ones((3, 2)))
    with pytest.raises(IndexError, match=r"Indices \[0, 2\] out of range \[0, 1\]"):
        stream.sig(0, 2)
    with pytest.raises(TypeError, match="end must be of type int"):
        stream.sig(0, 1.0)
    windows = ts.SigWindowStream(2, 2, 3)
    windows.push_batch(np.zeros((2, 5, 2)))
    with pytest.raises(ValueError, match="does not match"):
        windows.push(np.zeros(2))


@pytest.mark.parametrize("scalar_term", [False, True])
def test_degree_zero_and_empty_batches(scalar_term):
    width = int(scalar_term)
    stream = ts.SigStream(2, 0, scalar_term=scalar_term)
    stream.push_batch(np.zeros((70, 2)))
    stream.push(np.ones(2))
    assert stream.sig(3, 60).shape == (width,) and stream.sig(60, 3).shape == (width,)
    assert stream.sig_all().shape == (71, width)
    empty = ts.SigStream(2, 2, scalar_term=scalar_term)
    empty.push_batch(np.zeros((0, 70, 2)))
    empty.push(np.ones((0, 2)))
    assert empty.sig(3, 60).shape == (0, 6 + width) and empty.sig_all().shape == (71, 0, 6 + width)
    windows = ts.SigWindowStream(2, 2, 3, scalar_term=scalar_term)
    windows.push_batch(np.zeros((0, 10, 2)))
    assert windows.sig().shape == (8, 0, 6 + width)
    fresh = ts.SigStream(2, 2)
    assert fresh.sig_all().shape == (0, 6) and fresh.sig_batch([]).shape == (0, 6)
    assert (fresh.size, fresh.start_index, fresh.end_index, fresh.batch_shape) == (0, 0, -1, None)
