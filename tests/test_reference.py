"""Every function against the independent numpy reference, in both precisions and containers."""

from __future__ import annotations

import numpy as np
import pytest

import reference as ref
import tensorsig as ts
from conftest import CONTAINERS, DTYPES, FLAGS, assert_close, kind_of, make

SHAPES = [(6, 2), (3, 5, 3), (2, 2, 4, 2)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("container", CONTAINERS)
@pytest.mark.parametrize("flags", FLAGS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("scalar_term", [False, True])
def test_sig(rng, dtype, container, flags, shape, scalar_term):
    path = rng.normal(size=shape)
    degree = 3 if shape[-1] <= 2 else 2
    out = ts.sig(make(path, container, dtype), degree, scalar_term=scalar_term, **flags)
    assert kind_of(out) == (container, np.dtype(dtype).name)
    expected = ref.sig(path.astype(dtype), degree, scalar_term=scalar_term, **flags)
    assert_close(out, expected, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("container", CONTAINERS)
@pytest.mark.parametrize("flags", FLAGS)
@pytest.mark.parametrize("shape", SHAPES)
def test_sig_backprop(rng, dtype, container, flags, shape):
    path = rng.normal(size=shape).astype(dtype)
    degree = 3
    sig = ts.sig(path, degree, **flags)
    derivs = rng.normal(size=sig.shape).astype(dtype)
    out = ts.sig_backprop(
        make(path, container, dtype),
        make(sig, container, dtype),
        make(derivs, container, dtype),
        degree,
        **flags,
    )
    assert kind_of(out) == (container, np.dtype(dtype).name)
    expected = ref.sig_backprop(path, derivs, degree, **flags)
    assert_close(out, expected, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("container", CONTAINERS)
@pytest.mark.parametrize("flags", [{}, {"time_aug": True}, {"lead_lag": True}])
@pytest.mark.parametrize("scalar_term", [False, True])
@pytest.mark.parametrize("batch", [(), (4,), (2, 3)])
def test_sig_combine_and_backprop(rng, dtype, container, flags, scalar_term, batch):
    dimension, degree = 2, 4
    flags = {k: v for k, v in flags.items() if k != "end_time"}
    s1 = ref.sig(rng.normal(size=(*batch, 4, dimension)), degree, scalar_term=scalar_term, **flags)
    s2 = ref.sig(rng.normal(size=(*batch, 3, dimension)), degree, scalar_term=scalar_term, **flags)
    g = rng.normal(size=s1.shape)
    a, b, gg = (make(v, container, dtype) for v in (s1, s2, g))

    out = ts.sig_combine(a, b, dimension, degree, **flags)
    assert kind_of(out) == (container, np.dtype(dtype).name)
    assert_close(out, ref.sig_combine(s1, s2, dimension, degree, **flags), dtype)

    d1, d2 = ts.sig_combine_backprop(gg, a, b, dimension, degree, **flags)
    e1, e2 = ref.sig_combine_backprop(g, s1, s2, dimension, degree, **flags)
    assert kind_of(d1) == kind_of(d2) == (container, np.dtype(dtype).name)
    assert_close(d1, e1, dtype)
    assert_close(d2, e2, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("container", CONTAINERS)
@pytest.mark.parametrize("flags", FLAGS[1:])
@pytest.mark.parametrize("shape", SHAPES)
def test_transform_path_and_backprop(rng, dtype, container, flags, shape):
    path = rng.normal(size=shape)
    out = ts.transform_path(make(path, container, dtype), **flags)
    assert kind_of(out) == (container, np.dtype(dtype).name)
    assert_close(out, ref.transform_path(path.astype(dtype), **flags), dtype)

    derivs = rng.normal(size=out.shape)
    back = ts.transform_path_backprop(make(derivs, container, dtype), **flags)
    assert_close(back, ref.transform_path_backprop(derivs, **flags), dtype)


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
