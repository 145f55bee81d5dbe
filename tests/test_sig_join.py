"""sig_join, sig_join_backprop and linear_sig: pysiglib parity, the numpy reference, Chen's
identity with the path itself, finite differences, bad inputs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import reference as ref
import reference_extras as refx
import tensorsig as ts
from conftest import CONTAINERS, DTYPES, assert_close, kind_of, make, to_numpy

# (batch shape, dimension, degree)
SHAPES = [((), 2, 5), ((7,), 3, 4), ((2, 3), 5, 4), ((4,), 1, 6), ((3,), 8, 2), ((2,), 4, 0), ((0,), 3, 2)]


def _signatures(rng, batch, d, degree, scalar_term):
    return ref.sig(rng.normal(size=(*batch, 5, d)) * 0.5, degree, scalar_term=scalar_term)


@pytest.mark.parametrize(("batch", "d", "degree"), SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_sig_join_and_backprop_match_pysiglib(rng, batch, d, degree, dtype):
    pysiglib = pytest.importorskip("pysiglib")
    for prepend, scalar_term, container in itertools.product([False, True], [False, True], CONTAINERS):
        s = make(_signatures(rng, batch, d, degree, scalar_term), container, dtype)
        v = make(rng.normal(size=(*batch, d)), container, dtype)
        ours, theirs = (
            ts.sig_join(s, v, d, degree, prepend=prepend),
            pysiglib.sig_join(s, v, d, degree, prepend=prepend),
        )
        assert kind_of(ours) == kind_of(theirs)
        assert_close(ours, to_numpy(theirs), dtype)
        g = make(rng.normal(size=tuple(s.shape)), container, dtype)
        ours_grads = ts.sig_join_backprop(g, s, v, d, degree, prepend=prepend)
        theirs_grads = pysiglib.sig_join_backprop(g, s, v, d, degree, prepend=prepend)
        for a, b in zip(ours_grads, theirs_grads):
            assert kind_of(a) == kind_of(b)
        assert_close(ours_grads[0], to_numpy(theirs_grads[0]), dtype)
        if degree == 0:  # pysiglib 4.0 returns uninitialised memory for d_displacement
            assert not np.any(to_numpy(ours_grads[1]))
        else:
            assert_close(ours_grads[1], to_numpy(theirs_grads[1]), dtype)


@pytest.mark.parametrize(("batch", "d", "degree"), SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_linear_sig_matches_pysiglib_and_the_power_series(rng, batch, d, degree, dtype):
    pysiglib = pytest.importorskip("pysiglib")
    for scalar_term, container in itertools.product([False, True], CONTAINERS):
        v = rng.normal(size=(*batch, d))
        x = make(v, container, dtype)
        ours = ts.linear_sig(x, d, degree, scalar_term=scalar_term)
        theirs = pysiglib.linear_sig(x, d, degree, scalar_term=scalar_term)
        assert kind_of(ours) == kind_of(theirs)
        assert_close(ours, to_numpy(theirs), dtype)
        assert_close(ours, refx.linear_sig(v.astype(dtype), degree, scalar_term), dtype)


@pytest.mark.parametrize("prepend", [False, True])
@pytest.mark.parametrize("scalar_term", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
def test_sig_join_matches_the_chen_product_reference(rng, prepend, scalar_term, dtype):
    d, degree = 3, 4
    s = _signatures(rng, (3,), d, degree, scalar_term).astype(dtype)
    v = rng.normal(size=(3, d)).astype(dtype)
    assert_close(
        ts.sig_join(s, v, d, degree, prepend=prepend), refx.sig_join(s, v, d, degree, prepend), dtype
    )


finite = st.floats(-1.5, 1.5, allow_nan=False, allow_infinity=False, width=64)


@st.composite
def short_paths(draw):
    length, d = draw(st.integers(1, 6)), draw(st.integers(1, 4))
    return draw(arrays(np.float64, (length, d), elements=finite))


@given(short_paths(), st.integers(0, 5), st.booleans(), st.data())
def test_joins_extend_the_path(x, degree, prepend, data):
    """sig_join(sig(x), v) = sig(x with x_last + v appended); with prepend, x_0 - v in front."""
    d = x.shape[1]
    v = data.draw(arrays(np.float64, (d,), elements=finite))
    joined = ts.sig_join(ts.sig(x, degree), v, d, degree, prepend=prepend)
    longer = np.vstack([x[:1] - v, x]) if prepend else np.vstack([x, x[-1:] + v])
    np.testing.assert_allclose(joined, ts.sig(longer, degree), rtol=1e-10, atol=1e-10)
    line = np.vstack([np.zeros(d), v])
    np.testing.assert_allclose(ts.linear_sig(v, d, degree), ts.sig(line, degree), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("prepend", [False, True])
@pytest.mark.parametrize("scalar_term", [False, True])
def test_sig_join_backprop_matches_finite_differences(rng, prepend, scalar_term):
    d, degree = 2, 4
    s = _signatures(rng, (2,), d, degree, scalar_term)
    v = rng.normal(size=(2, d))
    g = rng.normal(size=s.shape)
    d_sig, d_v = ts.sig_join_backprop(g, s, v, d, degree, prepend=prepend)

    def loss_of_sig(sig):
        return float(np.sum(g * ts.sig_join(sig, v, d, degree, prepend=prepend)))

    def loss_of_v(disp):
        return float(np.sum(g * ts.sig_join(s, disp, d, degree, prepend=prepend)))

    expected_sig = ref.finite_difference_gradient(loss_of_sig, s)
    if scalar_term:
        expected_sig[..., 0] = 0.0  # the join reads the scalar entry as 1, whatever it holds
    np.testing.assert_allclose(d_sig, expected_sig, atol=1e-7)
    np.testing.assert_allclose(d_v, ref.finite_difference_gradient(loss_of_v, v), atol=1e-7)


def test_inputs_are_not_modified(rng):
    s = _signatures(rng, (3,), 2, 3, True)
    v, g = rng.normal(size=(3, 2)), rng.normal(size=s.shape)
    copies = [a.copy() for a in (s, v, g)]
    ts.sig_join(s, v, 2, 3)
    ts.sig_join_backprop(g, s, v, 2, 3, prepend=True)
    ts.linear_sig(v, 2, 3)
    for a, b in zip((s, v, g), copies):
        np.testing.assert_array_equal(a, b)


def test_degree_zero_and_empty_batches(rng):
    v = rng.normal(size=(4, 3))
    assert ts.sig_join(np.zeros((4, 0)), v, 3, 0).shape == (4, 0)
    np.testing.assert_array_equal(ts.sig_join(np.full((4, 1), 7.0), v, 3, 0), np.ones((4, 1)))
    d_sig, d_v = ts.sig_join_backprop(np.ones((4, 0)), np.zeros((4, 0)), v, 3, 0)
    assert d_sig.shape == (4, 0) and np.array_equal(d_v, np.zeros((4, 3)))
    assert ts.linear_sig(np.zeros((0, 3)), 3, 2).shape == (0, 12)


S = ts.sig(np.random.default_rng(0).normal(size=(2, 5, 3)), 2)
V = np.ones((2, 3))


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: ts.sig_join(S, np.ones((2, 4)), 3, 2), ValueError, "drops the first of dimension \\+ 1"),
        (lambda: ts.sig_join(S, np.ones((2, 2)), 3, 2), ValueError, "displacement must have dimension = 3"),
        (lambda: ts.sig_join(S, np.ones(3), 3, 2), ValueError, "same batch shape"),
        (lambda: ts.sig_join(S, np.array(1.0), 3, 2), ValueError, "at least rank 1, got rank 0"),
        (lambda: ts.sig_join(S[:, :-1], V, 3, 2), ValueError, "sig has incompatible length 11"),
        (lambda: ts.sig_join(S, torch.from_numpy(V), 3, 2), ValueError, "numpy arrays or all torch tensors"),
        (lambda: ts.sig_join(S, V.astype(np.float32), 3, 2), ValueError, "same dtype"),
        (lambda: ts.sig_join(S, V, 0, 2), ValueError, "dimension must be at least 1"),
        (lambda: ts.sig_join(S, V, 3.0, 2), TypeError, "dimension must be of type int"),
        (lambda: ts.sig_join(S, V, 3, 2, prepend=1), TypeError, "prepend must be of type bool"),
        (lambda: ts.sig_join(S, V, 3, 2, n_jobs=0), ValueError, "n_jobs cannot be 0"),
        (lambda: ts.sig_join(S.tolist(), V, 3, 2), TypeError, "sig must be of type numpy.ndarray"),
        (lambda: ts.sig_join_backprop(S[:1], S, V, 3, 2), ValueError, "d_out must be shaped like sig"),
        (lambda: ts.linear_sig(np.ones((2, 4)), 3, 2), ValueError, "drops the first"),
        (
            lambda: ts.linear_sig(np.ones(3), 3, 2, scalar_term=None),
            TypeError,
            "scalar_term must be of type bool",
        ),
        (lambda: ts.linear_sig(np.ones(3, dtype=np.int64), 3, 2), TypeError, "float32 or float64"),
    ],
)
def test_bad_inputs(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_threads_give_the_same_results(rng):
    s = _signatures(rng, (37,), 3, 4, False)
    v, g = rng.normal(size=(37, 3)), rng.normal(size=s.shape)
    for prepend in (False, True):
        serial = ts.sig_join(s, v, 3, 4, prepend=prepend)
        grads = ts.sig_join_backprop(g, s, v, 3, 4, prepend=prepend)
        for n_jobs in (2, -1):
            np.testing.assert_array_equal(ts.sig_join(s, v, 3, 4, prepend=prepend, n_jobs=n_jobs), serial)
            for a, b in zip(ts.sig_join_backprop(g, s, v, 3, 4, prepend=prepend, n_jobs=n_jobs), grads):
                np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(ts.linear_sig(v, 3, 4, n_jobs=2), ts.linear_sig(v, 3, 4))
