"""Every function against the independent numpy reference, in both precisions and containers."""

from __future__ import annotations

import numpy as np
import pytest

import reference as ref
import tensorsig as ts
from conftest import CONTAINERS, DTYPES, FLAGS, assert_close, kind_of, make, to_numpy
from ops import CASES

SHAPES = [(6, 2), (3, 5, 3), (2, 2, 4, 2)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("container", CONTAINERS)
@pytest.mark.parametrize("case", [c for c in CASES if c.reference], ids=lambda c: c.id)
def test_every_op_case_matches_the_reference(rng, case, container, dtype):
    """Each case of the op table, in each container and precision, against reference.py."""
    arrays = case.arrays(rng)
    out = case.call(*(make(a, container, dtype) for a in arrays))
    expected = case.reference(*(a.astype(dtype).astype(np.float64) for a in arrays), **case.params)
    outs, expects = (out, expected) if isinstance(out, tuple) else ((out,), (expected,))
    assert len(outs) == len(expects)
    for got, want in zip(outs, expects):
        assert kind_of(got) == (container, np.dtype(dtype).name)
        rtol = case.rtol if np.dtype(dtype) == np.float64 else 1e-4
        scale = max(1.0, float(np.abs(want).max())) if want.size else 1.0
        np.testing.assert_allclose(to_numpy(got), want, rtol=rtol, atol=rtol * scale)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("flags", FLAGS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("scalar_term", [False, True])
def test_sig_over_shapes_and_flags(rng, dtype, flags, shape, scalar_term):
    path = rng.normal(size=shape)
    degree = 3 if shape[-1] <= 2 else 2
    out = ts.sig(path.astype(dtype), degree, scalar_term=scalar_term, **flags)
    expected = ref.sig(path.astype(dtype), degree, scalar_term=scalar_term, **flags)
    assert_close(out, expected, dtype)
    derivs = rng.normal(size=out.shape).astype(dtype)
    grad = ts.sig_backprop(path.astype(dtype), out, derivs, degree, **flags)
    assert_close(grad, ref.sig_backprop(path.astype(dtype), derivs, degree, **flags), dtype)


def test_transform_path_without_flags_returns_its_input(rng):
    path = rng.normal(size=(3, 2))
    assert ts.transform_path(path) is path
    assert ts.transform_path_backprop(path) is path


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("degree", range(0, 8))
def test_degrees_zero_to_seven(rng, dtype, degree):
    path = rng.normal(size=(2, 4, 2)) * 0.5
    assert_close(ts.sig(path.astype(dtype), degree), ref.sig(path.astype(dtype), degree), dtype)
    full = ts.sig(path.astype(dtype), degree, scalar_term=True)
    assert np.all(full[..., 0] == 1)


def test_sig_length_matches_reference():
    for d in range(1, 6):
        for n in range(0, 6):
            for flags in ({}, {"time_aug": True}, {"lead_lag": True}):
                for scalar in (False, True):
                    assert ts.sig_length(d, n, scalar_term=scalar, **flags) == ref.sig_length(
                        d, n, scalar_term=scalar, **flags
                    )
    assert ts.sig_length(3, 4, scalar_term=True) == 121
    assert ts.sig_length(3, 4, time_aug=True, lead_lag=True, scalar_term=True) == 2801
