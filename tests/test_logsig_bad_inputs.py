"""Bad input to the log-signature family: a TypeError or ValueError naming the argument."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tensorsig as ts

PATH = np.random.default_rng(0).normal(size=(2, 5, 3))
SIG = ts.sig(PATH, 3)
LS = ts.log_sig(PATH, 3, method=2)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"degree": 0}, ValueError, "degree must be a positive integer, got degree = 0"),
        ({"degree": 0, "method": 0}, ValueError, "degree must be a positive integer"),
        ({"degree": -2}, ValueError, "degree must be a non-negative integer"),
        ({"degree": 2.0}, TypeError, "degree must be of type int"),
        ({"method": 4}, ValueError, "method must be one of 0, 1, 2 or 3, got method = 4"),
        ({"method": -1}, ValueError, "method must be one of 0, 1, 2 or 3"),
        ({"method": 2.0}, TypeError, "method must be of type int"),
        ({"method": True}, TypeError, "method must be of type int, got bool"),
        ({"scalar_term": 1}, TypeError, "scalar_term must be of type bool"),
        ({"end_time": 1}, TypeError, "end_time must be of type float"),
        ({"n_jobs": 0}, ValueError, "n_jobs cannot be 0"),
        ({"correction": np.ones(9), "method": 3}, ValueError, "not supported with log_sig method=3"),
        ({"correction": np.ones(9), "lead_lag": True}, ValueError, "correction cannot be used with lead_lag"),
        ({"correction": [1.0]}, TypeError, "correction must be of type"),
    ],
)
def test_log_sig_arguments(kwargs, exc, match):
    kwargs = {"degree": 3, **kwargs}
    with pytest.raises(exc, match=match) as raised:
        ts.log_sig(PATH, kwargs.pop("degree"), **kwargs)
    assert isinstance(raised.value, ts.TensorsigError)


def test_empty_corrections_mean_none():
    np.testing.assert_array_equal(ts.log_sig(PATH, 3, correction=np.zeros((0,))), ts.log_sig(PATH, 3))
    np.testing.assert_array_equal(ts.log_sig(PATH, 3, correction=None), ts.log_sig(PATH, 3))


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: ts.log_sig(np.zeros(3), 2), ValueError, "at least rank 2"),
        (lambda: ts.log_sig(np.zeros((4, 0)), 2), ValueError, "0 channels"),
        (lambda: ts.log_sig(np.zeros((4, 2), dtype=np.int64), 2), TypeError, "path.dtype"),
        (
            lambda: ts.sig_to_log_sig(SIG, 3, 3, method=3),
            ValueError,
            "method=3 is not supported in sig_to_log_sig",
        ),
        (lambda: ts.sig_to_log_sig(SIG[:, 1:], 3, 3), ValueError, "sig has incompatible length 38"),
        (lambda: ts.sig_to_log_sig(SIG, 3, 0), ValueError, "degree must be a positive integer"),
        (lambda: ts.sig_to_log_sig(SIG, 0, 3), ValueError, "dimension must be a positive integer"),
        (
            lambda: ts.sig_to_log_sig_backprop(SIG, np.ones((2, 13)), 3, 3, method=2),
            ValueError,
            "log_sig_derivs is of incorrect length",
        ),
        (
            lambda: ts.sig_to_log_sig_backprop(SIG, np.ones((3, 14)), 3, 3, method=2),
            ValueError,
            "same batch shape",
        ),
        (
            lambda: ts.sig_to_log_sig_backprop(SIG, np.ones((2, 14)), 3, 3, method=3),
            ValueError,
            "method=3 is not supported",
        ),
        (
            lambda: ts.logsig_to_sig(LS, 3, 3, method=3),
            ValueError,
            "method=3 is not supported in logsig_to_sig",
        ),
        (
            lambda: ts.logsig_to_sig(np.ones((2, 15)), 3, 3, method=2),
            ValueError,
            "log_sig is of incorrect length. Expected 14, got 15",
        ),
        (lambda: ts.logsig_to_sig(LS, 3, 3, method=0), ValueError, "log_sig has incompatible length 14"),
        (lambda: ts.log_sig_combine(LS, LS[:1], 3, 3), ValueError, "same batch shape"),
        (lambda: ts.log_sig_combine(LS, LS.astype(np.float32), 3, 3), ValueError, "same dtype"),
        (
            lambda: ts.log_sig_combine(LS, torch.from_numpy(LS), 3, 3),
            ValueError,
            "must all be numpy arrays or all torch",
        ),
        (
            lambda: ts.log_sig_combine(LS, LS, 3, 3, time_aug=True),
            ValueError,
            "log_sig1 is of incorrect length",
        ),
        (
            lambda: ts.log_sig_join(LS, np.ones((2, 2)), 3, 3),
            ValueError,
            "displacement is of incorrect length",
        ),
        (lambda: ts.log_sig_join(LS, np.ones((3, 3)), 3, 3), ValueError, "same batch shape"),
        (lambda: ts.log_sig_join(LS, np.ones((2, 3)), 3, 3, n_jobs=0), ValueError, "n_jobs cannot be 0"),
        (
            lambda: ts.log_sig_join_backprop(LS[:, :5], LS, np.ones((2, 3)), 3, 3),
            ValueError,
            "d_out is of incorrect length",
        ),
        (lambda: ts.linear_log_sig(np.ones(3), 2, 3), ValueError, "displacement must have shape"),
        (lambda: ts.linear_log_sig(np.ones(3, dtype=int), 3, 3), TypeError, "displacement.dtype"),
        (
            lambda: ts.linear_log_sig_backprop(np.ones(4), np.ones(3), 3, 3, method=2),
            ValueError,
            "derivs must have the shape",
        ),
        (lambda: ts.log_sig_length(0, 3), ValueError, "dimension must be a positive integer"),
        (lambda: ts.log_sig_length(3, 0), ValueError, "degree must be a positive integer"),
        (lambda: ts.log_sig_length(3, 2.0), TypeError, "degree must be of type int"),
        (lambda: ts.log_sig_length(10**6, 10**3), ValueError, "too large to represent"),
        (lambda: ts.LogSigWindowStream(2, 3, 0), ValueError, "window_size must be a positive integer"),
        (lambda: ts.LogSigWindowStream(2, 3, 4, stride=1.0), TypeError, "stride must be of type int"),
        (lambda: ts.LogSigStream(2, 0), ValueError, "degree must be a positive integer"),
    ],
)
def test_bad_arguments(call, exc, match):
    with pytest.raises(exc, match=match) as raised:
        call()
    assert isinstance(raised.value, ts.TensorsigError)


def test_a_method_1_vector_where_brackets_are_needed_is_documented():
    # Same length, other coordinates: neither library can tell, so the docstrings say so.
    assert "Method-1 vectors" in ts.log_sig_combine.__doc__
    assert "Method-1 vectors" in ts.log_sig_join.__doc__
    assert "cannot take them" in ts.log_sig.__doc__


def test_empty_batches_give_empty_results():
    empty = np.zeros((0, 5, 3))
    assert ts.log_sig(empty, 3, method=2).shape == (0, 14)
    assert ts.log_sig(empty, 3, method=0, scalar_term=True).shape == (0, 40)
    assert ts.sig_to_log_sig(np.zeros((0, 39)), 3, 3, method=1).shape == (0, 14)
    assert ts.log_sig_combine(np.zeros((0, 14)), np.zeros((0, 14)), 3, 3).shape == (0, 14)
    assert ts._logsig._log_sig_backprop(empty, np.zeros((0, 14)), 3, method=2).shape == (0, 5, 3)
