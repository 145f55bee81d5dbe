"""Bad input never crashes and never returns garbage: a TypeError or ValueError naming the argument."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tensorsig as ts
from ops import CASES
from tensorsig._specs import OPS
from tensorsig.exceptions import ArgumentTypeError, InvalidArgumentError, ShapeError, TensorsigError

PATH = np.random.default_rng(0).normal(size=(2, 5, 3))
SIG = ts.sig(PATH, 2)


def raises(exc, match):
    return pytest.raises(exc, match=match)


@pytest.mark.parametrize(
    ("path", "exc", "match"),
    [
        ([[0.0, 1.0], [1.0, 2.0]], TypeError, "path must be of type numpy.ndarray or torch.Tensor, got list"),
        (None, TypeError, "path must be of type"),
        (np.zeros((3, 2), dtype=np.int64), TypeError, r"path.dtype must be float32 or float64, got int64"),
        (np.zeros((3, 2), dtype=np.complex128), TypeError, "path.dtype must be float32 or float64"),
        (np.zeros((3, 2), dtype=np.float16), TypeError, "path.dtype must be float32 or float64"),
        (np.zeros((3, 2), dtype=bool), TypeError, "path.dtype"),
        (torch.zeros((3, 2), dtype=torch.int32), TypeError, "path.dtype must be float32 or float64"),
        (torch.zeros((3, 2), dtype=torch.bfloat16), TypeError, "path.dtype"),
        (np.zeros(3), ValueError, "path must have shape .* at least rank 2, got rank 1"),
        (np.array(1.0), ValueError, "got rank 0"),
        (np.zeros((4, 5, 0)), ValueError, "path has 0 channels"),
        (np.zeros((0, 5, 0)), ValueError, "path has 0 channels"),
    ],
)
def test_bad_paths(path, exc, match):
    with raises(exc, match):
        ts.sig(path, 2)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"degree": -1}, ValueError, "degree must be a non-negative integer, got degree = -1"),
        ({"degree": 2.0}, TypeError, "degree must be of type int, got float"),
        ({"degree": True}, TypeError, "degree must be of type int, got bool"),
        ({"degree": np.int64(2)}, TypeError, "degree must be of type int, got int64"),
        ({"degree": None}, TypeError, "degree must be of type int"),
        ({"degree": 2, "n_jobs": 0}, ValueError, "n_jobs cannot be 0"),
        ({"degree": 2, "n_jobs": 1.0}, TypeError, "n_jobs must be of type int"),
        ({"degree": 2, "time_aug": 1}, TypeError, "time_aug must be of type bool, got int"),
        ({"degree": 2, "lead_lag": "yes"}, TypeError, "lead_lag must be of type bool"),
        ({"degree": 2, "end_time": 1}, TypeError, "end_time must be of type float, got int"),
        ({"degree": 2, "horner": None}, TypeError, "horner must be of type bool"),
        ({"degree": 2, "scalar_term": 1}, TypeError, "scalar_term must be of type bool"),
    ],
)
def test_bad_sig_arguments(kwargs, exc, match):
    with raises(exc, match):
        ts.sig(PATH, **kwargs)


def test_n_jobs_beyond_the_machine_runs_on_one_thread():
    """joblib's rule: code written for a large machine (n_jobs=-40) runs on a small one."""
    np.testing.assert_array_equal(ts.sig(PATH, 3, n_jobs=-1000), ts.sig(PATH, 3))


def test_positional_flags_are_refused():
    with pytest.raises(TypeError):
        ts.sig(PATH, 2, True)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("args", "exc", "match"),
    [
        ((SIG, SIG[:, :-1]), ValueError, "sig2 is of incorrect length. Expected 12, got 11"),
        ((SIG[:, :-1], SIG[:, :-1]), ValueError, "sig1 has incompatible length 11 for dimension=3, degree=2"),
        ((SIG, SIG[:1]), ValueError, r"different batch shapes"),
        ((SIG, torch.from_numpy(SIG)), ValueError, "must all be numpy arrays or all torch tensors"),
        ((SIG, SIG.astype(np.float32)), ValueError, "must have the same dtype"),
        ((SIG, np.ones((2, 12), dtype=np.int32)), TypeError, "sig2.dtype must be float32 or float64"),
        (([1.0] * 12, SIG), TypeError, "sig1 must be of type numpy.ndarray or torch.Tensor"),
        ((np.ones(()), SIG), ValueError, "sig1 must have at least rank 1"),
    ],
)
def test_bad_sig_combine(args, exc, match):
    with raises(exc, match):
        ts.sig_combine(*args, 3, 2)
    with raises(exc, match):
        ts.sig_combine_backprop(SIG, *args, 3, 2)


@pytest.mark.parametrize(
    ("dimension", "degree", "exc", "match"),
    [
        (0, 2, ValueError, "dimension must be at least 1"),
        (-3, 2, ValueError, "dimension must be a non-negative integer"),
        (3.0, 2, TypeError, "dimension must be of type int"),
        (3, -2, ValueError, "degree must be a non-negative integer"),
        (4, 2, ValueError, "sig1 has incompatible length 12 for dimension=4"),
    ],
)
def test_bad_sig_combine_sizes(dimension, degree, exc, match):
    with raises(exc, match):
        ts.sig_combine(SIG, SIG, dimension, degree)


def test_bad_sig_combine_backprop_derivative():
    with raises(ValueError, "sig_combined_deriv is of incorrect length. Expected 12, got 11"):
        ts.sig_combine_backprop(SIG[:, :-1], SIG, SIG, 3, 2)
    with raises(ValueError, "different batch shapes"):
        ts.sig_combine_backprop(SIG[:1], SIG, SIG, 3, 2)


@pytest.mark.parametrize(
    ("path", "sig", "derivs", "exc", "match"),
    [
        (PATH, SIG, SIG[:, :-1], ValueError, "sig_derivs is of incorrect length. Expected 12, got 11"),
        (PATH, SIG[:, :-2], SIG[:, :-2], ValueError, "sig has incompatible length 10"),
        (PATH[:1], SIG, SIG, ValueError, "path, sig and sig_derivs must have the same batch shape"),
        (PATH, SIG, torch.from_numpy(SIG), ValueError, "must all be numpy arrays or all torch tensors"),
        (PATH.astype(np.float32), SIG, SIG, ValueError, "must have the same dtype"),
        (PATH, [0.0], SIG, TypeError, "sig must be of type"),
        (PATH, np.ones(()), np.ones(()), ValueError, "sig must have at least rank 1"),
    ],
)
def test_bad_sig_backprop(path, sig, derivs, exc, match):
    with raises(exc, match):
        ts.sig_backprop(path, sig, derivs, 2)


def test_bad_transform_path_inputs():
    with raises(ValueError, "requires path length >= 2, got 1"):
        ts.transform_path(np.zeros((1, 2)), time_aug=True)
    with raises(ValueError, "a lead-lag path has an odd number"):
        ts.transform_path_backprop(np.zeros((4, 4)), lead_lag=True)
    with raises(ValueError, "which no lead-lag path has"):
        ts.transform_path_backprop(np.zeros((5, 3)), lead_lag=True)
    with raises(ValueError, "leaving none for the original path"):
        ts.transform_path_backprop(np.zeros((5, 1)), time_aug=True)
    with raises(TypeError, "end_time must be of type float"):
        ts.transform_path(PATH, end_time=2)


@pytest.mark.parametrize(("dimension", "degree"), [(30, 13), (2**40, 3), (2, 70), (2**70, 2), (3, 2**70)])
def test_sizes_that_overflow_raise_value_error_at_once(dimension, degree):
    with raises(ValueError, "too large"):
        ts.sig_length(dimension, degree)


@pytest.mark.parametrize(("dimension", "degree"), [(2, 70), (3, 2**70), (30, 13)])
def test_signatures_that_overflow_raise_value_error_at_once(dimension, degree):
    with raises(ValueError, "too large"):
        ts.sig(np.zeros((2, dimension)), degree)


def test_sizes_that_do_not_fit_in_memory_raise_memory_error_at_once():
    # d = 30, N = 12: 5.5e17 coefficients, representable but far beyond any machine's memory.
    with pytest.raises(MemoryError, match="more than this machine's"):
        ts.sig(np.zeros((2, 30)), 12)
    with pytest.raises(MemoryError):
        ts.sig(torch.zeros((2, 30)), 12)


def test_cuda_tensor_gives_a_clear_error_without_a_gpu():
    meta = torch.zeros((3, 2), device="meta")
    with pytest.raises(RuntimeError, match="on meta"):
        ts.sig(meta, 2)


def test_nan_or_inf_results_warn_like_pysiglib():
    path = np.array([[0.0, 0.0], [np.nan, 1.0]])
    with pytest.warns(RuntimeWarning, match="sig produced NaN or Inf values"):
        out = ts.sig(path, 2)
    assert np.isnan(out).any()
    with pytest.warns(RuntimeWarning, match="NaN or Inf"):
        ts.sig(np.array([[0.0], [1e200]]), 3)
    for batch in [path, path[np.newaxis], path.astype(np.float32), torch.from_numpy(path)]:
        with pytest.warns(RuntimeWarning) as caught:
            ts.sig(batch, 2)
        assert caught[0].filename == __file__  # the warning names the caller's line
    import tensorsig.torch_api as ta

    with pytest.warns(RuntimeWarning) as caught:
        ta.sig(torch.from_numpy(path), 2)  # torch_api's native shortcut
    assert caught[0].filename == __file__


# --- every array argument of every op (the op table) --------------------------------------------

ARGUMENT_MISTAKES = {
    "list": (
        lambda a: a.tolist(),
        ArgumentTypeError,
        "{name} must be of type numpy.ndarray or torch.Tensor, got list",
    ),
    "int64": (
        lambda a: a.astype(np.int64),
        ArgumentTypeError,
        r"{name}\.dtype must be float32 or float64, got int64",
    ),
    "float16": (
        lambda a: a.astype(np.float16),
        ArgumentTypeError,
        r"{name}\.dtype must be float32 or float64",
    ),
    "torch-int": (
        lambda a: torch.from_numpy(a.astype(np.int32)),
        ArgumentTypeError,
        r"{name}\.dtype must be float32 or float64",
    ),
    "rank-0": (lambda a: np.array(1.0), ShapeError, "{name} .*rank"),
}


@pytest.mark.parametrize("mistake", ARGUMENT_MISTAKES)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_every_array_argument_refuses_what_is_not_a_float_array(rng, case, mistake):
    convert, exc, pattern = ARGUMENT_MISTAKES[mistake]
    arrays = case.arrays(rng)
    for i, name in enumerate(OPS[case.op].arrays):
        given = [*arrays[:i], convert(arrays[i]), *arrays[i + 1 :]]
        with pytest.raises(exc, match=pattern.format(name=name)):
            case.call(*given)


@pytest.mark.parametrize("case", [c for c in CASES if len(OPS[c.op].arrays) > 1], ids=lambda c: c.id)
def test_arrays_of_one_call_must_agree(rng, case):
    arrays = case.arrays(rng)
    for i in range(len(arrays)):
        mixed = [*arrays[:i], torch.from_numpy(arrays[i]), *arrays[i + 1 :]]
        with pytest.raises(InvalidArgumentError, match="must all be numpy arrays or all torch tensors"):
            case.call(*mixed)
        precisions = [*arrays[:i], arrays[i].astype(np.float32), *arrays[i + 1 :]]
        with pytest.raises(InvalidArgumentError, match="must have the same dtype"):
            case.call(*precisions)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_errors_are_tensorsig_errors_and_pysiglib_built_ins(rng, case):
    """Drop-in: pysiglib users catch TypeError/ValueError; tensorsig's own family is catchable too."""
    arrays = case.arrays(rng)
    with pytest.raises(TensorsigError) as caught:
        case.call(*[a.astype(np.int64) for a in arrays])
    assert isinstance(caught.value, TypeError)
    with pytest.raises(TensorsigError) as caught:
        case.call(*arrays, n_jobs=0)
    assert isinstance(caught.value, ValueError)
