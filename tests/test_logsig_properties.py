"""Algebraic properties of log-signatures, finite differences for every gradient, and streams."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tensorsig as ts
from conftest import FLAGS, assert_close, make
from reference import finite_difference_gradient
from tensorsig._logsig import _log_sig_backprop, _log_sig_from_path_backprop


@pytest.mark.parametrize("flags", FLAGS)
@pytest.mark.parametrize("method", [0, 1, 2])
def test_exp_of_log_is_the_signature(rng, flags, method):
    path = rng.normal(size=(4, 30, 3)) * 0.3
    transform = {k: v for k, v in flags.items() if k != "end_time"}
    for scalar_term in (False, True):
        s = ts.sig(path, 4, scalar_term=scalar_term, **flags)
        ls = ts.sig_to_log_sig(s, 3, 4, method=method, **transform)
        assert_close(
            ts.logsig_to_sig(ls, 3, 4, method=method, scalar_term=scalar_term, **transform), s, np.float64
        )


@pytest.mark.parametrize(("dim", "degree"), [(2, 6), (3, 4), (5, 3), (1, 4)])
def test_combine_is_the_log_signature_of_the_concatenation(rng, dim, degree):
    x = rng.normal(size=(3, 31, dim)) * 0.3
    for cut in (1, 15, 29):
        first, second = (
            ts.log_sig(x[:, : cut + 1], degree, method=2),
            ts.log_sig(x[:, cut:], degree, method=2),
        )
        assert_close(
            ts.log_sig_combine(first, second, dim, degree), ts.log_sig(x, degree, method=2), np.float64
        )


@pytest.mark.parametrize(("dim", "degree"), [(2, 5), (3, 4), (4, 2)])
def test_join_is_the_log_signature_with_one_more_point(rng, dim, degree):
    x = rng.normal(size=(2, 3, 12, dim)) * 0.4
    joined = ts.log_sig_join(
        ts.log_sig(x[..., :-1, :], degree, method=2), x[..., -1, :] - x[..., -2, :], dim, degree
    )
    assert_close(joined, ts.log_sig(x, degree, method=2), np.float64)


@pytest.mark.parametrize("flags", FLAGS)
def test_method_3_is_method_2(rng, flags):
    path = rng.normal(size=(5, 20, 2)) * 0.5
    np.testing.assert_array_equal(
        ts.log_sig(path, 5, method=3, **flags), ts.log_sig(path, 5, method=2, **flags)
    )


def test_methods_1_and_2_differ_exactly_where_the_system_is_not_the_identity(rng):
    path = rng.normal(size=(20, 2))
    assert_close(ts.log_sig(path, 4, method=1), ts.log_sig(path, 4, method=2), np.float64)
    path3 = rng.normal(size=(20, 3))
    assert not np.allclose(ts.log_sig(path3, 3, method=1), ts.log_sig(path3, 3, method=2))


def test_threads_and_chunks_do_not_change_the_result(rng):
    # 300 paths of degree 5 in 4 letters: several chunks of the signature buffer.
    path = rng.normal(size=(300, 8, 4)) * 0.3
    serial = ts.log_sig(path, 5, method=2)
    np.testing.assert_allclose(ts.log_sig(path, 5, method=2, n_jobs=2), serial, rtol=1e-13, atol=1e-15)
    single = np.stack([ts.log_sig(p, 5, method=2) for p in path[:7]])
    np.testing.assert_allclose(serial[:7], single, rtol=1e-13, atol=1e-15)


def test_inputs_are_not_modified_and_views_work(rng):
    path = rng.normal(size=(6, 10, 3))
    view = path[::2, ::-1, :]
    copy = view.copy()
    out = ts.log_sig(view, 3, method=2)
    np.testing.assert_array_equal(view, copy)
    assert_close(out, ts.log_sig(np.ascontiguousarray(view), 3, method=2), np.float64)
    s = ts.sig(path, 3)
    s_copy = s.copy()
    ts.sig_to_log_sig_backprop(s, np.ones((6, 14)), 3, 3, method=2)
    np.testing.assert_array_equal(s, s_copy)


def _check_gradient(f, x, grad, rtol=1e-6):
    expected = finite_difference_gradient(f, x)
    np.testing.assert_allclose(grad, expected, rtol=rtol, atol=rtol * max(1.0, np.abs(expected).max()))


@pytest.mark.parametrize("method", [0, 1, 2, 3])
@pytest.mark.parametrize("flags", [{}, {"time_aug": True, "lead_lag": True, "end_time": 2.0}])
def test_path_gradient_matches_finite_differences(rng, method, flags):
    path = rng.normal(size=(2, 4, 2)) * 0.5
    w = rng.normal(size=ts.log_sig(path, 3, method=method, scalar_term=True, **flags).shape)
    grad = _log_sig_backprop(path, w, 3, method=method, scalar_term=True, **flags)
    _check_gradient(
        lambda p: np.sum(w * ts.log_sig(p, 3, method=method, scalar_term=True, **flags)), path, grad
    )
    if method == 3 and not flags:
        np.testing.assert_array_equal(_log_sig_from_path_backprop(w, path, 3), grad)


@pytest.mark.parametrize("method", [0, 1, 2])
def test_conversion_gradients_match_finite_differences(rng, method):
    dim, degree = 3, 3
    s = ts.sig(rng.normal(size=(2, 5, dim)) * 0.5, degree)
    w = rng.normal(size=ts.sig_to_log_sig(s, dim, degree, method=method).shape)
    grad = ts.sig_to_log_sig_backprop(s, w, dim, degree, method=method)
    _check_gradient(lambda v: np.sum(w * ts.sig_to_log_sig(v, dim, degree, method=method)), s, grad)
    ls = ts.sig_to_log_sig(s, dim, degree, method=method)
    ws = rng.normal(size=s.shape)
    grad = ts.logsig_to_sig_backprop(ls, ws, dim, degree, method=method)
    _check_gradient(lambda v: np.sum(ws * ts.logsig_to_sig(v, dim, degree, method=method)), ls, grad)


def test_bch_gradients_match_finite_differences(rng):
    dim, degree = 2, 4
    width = ts.log_sig_length(dim, degree)
    a, b, w = (rng.normal(size=(2, width)) * 0.5 for _ in range(3))
    da, db = ts.log_sig_combine_backprop(w, a, b, dim, degree)
    _check_gradient(lambda v: np.sum(w * ts.log_sig_combine(v, b, dim, degree)), a, da)
    _check_gradient(lambda v: np.sum(w * ts.log_sig_combine(a, v, dim, degree)), b, db)
    v = rng.normal(size=(2, dim))
    dl, dv = ts.log_sig_join_backprop(w, a, v, dim, degree)
    _check_gradient(lambda x: np.sum(w * ts.log_sig_join(x, v, dim, degree)), a, dl)
    _check_gradient(lambda x: np.sum(w * ts.log_sig_join(a, x, dim, degree)), v, dv)


def test_float32_and_torch_follow_the_input(rng):
    path = torch.from_numpy(rng.normal(size=(3, 10, 2)).astype(np.float32))
    out = ts.log_sig(path, 4, method=2)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
    assert_close(out, ts.log_sig(path.double().numpy(), 4, method=2), np.float32)


class TestLogSigStream:
    def test_intervals_inside_a_batch_push(self, rng):
        path = rng.normal(size=(2, 40, 3)) * 0.4
        stream = ts.LogSigStream(3, 3)
        stream.push_batch(path[:, :25])
        for point in np.moveaxis(path[:, 25:], 1, 0):
            stream.push(point)
        assert (stream.size, stream.start_index, stream.end_index, stream.batch_shape) == (40, 0, 39, (2,))
        for start, end in [(0, 39), (10, 30), (24, 26), (5, 5)]:
            assert_close(
                stream.sig(start, end), ts.log_sig(path[:, start : end + 1], 3, method=2), np.float64
            )
        batch = stream.sig_batch([(0, 12), (3, 17)])
        assert batch.shape == (2, 2, ts.log_sig_length(3, 3))
        assert_close(batch[1], ts.log_sig(path[:, 3:18], 3, method=2), np.float64)
        assert_close(stream.sig_all()[-1], ts.log_sig(path, 3, method=2), np.float64)

    def test_pop_front_keeps_absolute_indices(self, rng):
        path = make(rng.normal(size=(12, 2)), "torch", np.float64)
        stream = ts.LogSigStream(2, 4, method=3)
        stream.push_batch(path)
        stream.pop_front()
        stream.pop_front()
        assert (stream.start_index, stream.size) == (2, 10)
        assert_close(stream.sig(2, 9), ts.log_sig(path[2:10], 4, method=2), np.float64)
        with pytest.raises(IndexError, match="out of range"):
            stream.sig(1, 5)
        assert stream.sig_all().shape == (10, 8)

    def test_bad_use(self):
        with pytest.raises(ValueError, match="method=2 or method=3"):
            ts.LogSigStream(2, 3, method=1)
        stream = ts.LogSigStream(2, 3)
        stream.push(np.zeros((4, 2)))
        with pytest.raises(ValueError, match="batch shape"):
            stream.push(np.zeros((3, 2)))
        with pytest.raises(ValueError, match="1 or fewer"):
            stream.pop_front()


class TestLogSigWindowStream:
    @pytest.mark.parametrize(("window", "stride"), [(5, 3), (4, 1), (3, 7), (6, 6)])
    def test_windows_are_log_signatures_of_the_slices(self, rng, window, stride):
        path = rng.normal(size=(3, 40, 2)) * 0.4
        stream = ts.LogSigWindowStream(2, 3, window, stride=stride, method=1)
        stream.push_batch(path[:, :9])
        for point in np.moveaxis(path[:, 9:20], 1, 0):
            stream.push(point)
        stream.push_batch(path[:, 20:])
        starts = range(0, 40 - window + 1, stride)
        assert stream.num_windows == len(starts)
        expected = np.stack([ts.log_sig(path[:, s : s + window], 3, method=1) for s in starts])
        assert_close(stream.sig(), expected, np.float64)

    def test_no_window_yet(self):
        stream = ts.LogSigWindowStream(2, 3, 5)
        stream.push(np.zeros(2))
        with pytest.raises(ValueError, match="No complete windows"):
            stream.sig()
        with pytest.raises(ValueError, match="method must be one of"):
            ts.LogSigWindowStream(2, 3, 5, method=4)


@pytest.mark.parametrize("dim", [1, 2, 3, 5, 9, 17, 20])
@pytest.mark.parametrize(
    "flags", [{}, {"time_aug": True}, {"lead_lag": True, "time_aug": True, "end_time": 3.0}]
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_degree_two_from_the_path_matches_the_signature_route(rng, dim, flags, dtype):
    # Degree 2 has its own route (Lévy areas as a product of the steps' midpoints and
    # increments): compare with the logarithm of the signature, over several blocks of steps,
    # for C-ordered and strided paths.
    path = (rng.normal(size=(3, 300, dim)) / 10).astype(dtype)
    transform = {k: v for k, v in flags.items() if k != "end_time"}
    for x in (path, path[:, ::2, :], np.asfortranarray(path)):
        for method, scalar_term in [(0, True), (1, False), (3, False)]:
            expected = ts.sig_to_log_sig(ts.sig(x, 2, **flags), dim, 2, method=min(method, 2), **transform)
            if scalar_term:
                expected = np.concatenate([np.zeros((3, 1), dtype=dtype), expected], axis=-1)
            assert_close(ts.log_sig(x, 2, method=method, scalar_term=scalar_term, **flags), expected, dtype)
