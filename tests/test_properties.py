"""Algebraic properties of signatures and gradients, on random inputs drawn by hypothesis."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import reference as ref
import tensorsig as ts

finite = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False, width=64)


@st.composite
def paths(draw, min_length=1, max_length=8, max_dim=3, max_batch=3):
    """A batch of float64 paths (batch, length, dimension)."""
    batch = draw(st.integers(1, max_batch))
    length = draw(st.integers(min_length, max_length))
    dim = draw(st.integers(1, max_dim))
    return draw(arrays(np.float64, (batch, length, dim), elements=finite))


transforms = st.fixed_dictionaries(
    {
        "time_aug": st.booleans(),
        "lead_lag": st.booleans(),
        "end_time": st.floats(0.1, 3.0, allow_nan=False),
    }
)


def close(a, b, tol=1e-9):
    scale = max(1.0, float(np.abs(b).max())) if np.size(b) else 1.0
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol * scale)


@given(paths(min_length=2), st.integers(0, 4), st.data())
def test_chen_identity(x, degree, data):
    """sig(x1 * x2) = sig_combine(sig(x1), sig(x2)) when x2 starts where x1 ends."""
    cut = data.draw(st.integers(1, x.shape[1] - 1))
    scalar_term = data.draw(st.booleans())
    first, second = x[:, : cut + 1], x[:, cut:]
    joined = ts.sig_combine(
        ts.sig(first, degree, scalar_term=scalar_term),
        ts.sig(second, degree, scalar_term=scalar_term),
        x.shape[2],
        degree,
    )
    close(joined, ts.sig(x, degree, scalar_term=scalar_term))


@given(paths(min_length=1), st.integers(1, 4))
def test_reversed_path_has_the_inverse_signature(x, degree):
    """S(x) ⊗ S(reverse(x)) = 1: the product has no terms beyond the scalar."""
    forward = ts.sig(x, degree)
    backward = ts.sig(x[:, ::-1], degree)
    product = ts.sig_combine(forward, backward, x.shape[2], degree)
    close(product, np.zeros_like(product), tol=1e-8)


@given(paths(min_length=2), st.integers(0, 3), transforms)
def test_flags_equal_transform_then_sig(x, degree, flags):
    direct = ts.sig(x, degree, **flags)
    materialised = ts.sig(ts.transform_path(x, **flags), degree)
    close(direct, materialised)


@given(paths(min_length=1, max_length=5, max_dim=2, max_batch=2), st.integers(1, 3), transforms, st.data())
def test_sig_backprop_equals_finite_differences(x, degree, flags, data):
    sig = ts.sig(x, degree, **flags)
    weights = data.draw(arrays(np.float64, sig.shape, elements=finite))
    grad = ts.sig_backprop(x, sig, weights, degree, **flags)
    expected = ref.finite_difference_gradient(lambda p: np.sum(weights * ts.sig(p, degree, **flags)), x)
    close(grad, expected, tol=1e-6)


@given(paths(min_length=2, max_length=5, max_dim=2, max_batch=2), st.integers(1, 3), st.data())
def test_sig_combine_backprop_equals_finite_differences(x, degree, data):
    d = x.shape[2]
    s1, s2 = ts.sig(x, degree), ts.sig(x[:, ::-1] * 0.5, degree)
    g = data.draw(arrays(np.float64, s1.shape, elements=finite))
    d1, d2 = ts.sig_combine_backprop(g, s1, s2, d, degree)
    close(
        d1, ref.finite_difference_gradient(lambda a: np.sum(g * ts.sig_combine(a, s2, d, degree)), s1), 1e-6
    )
    close(
        d2, ref.finite_difference_gradient(lambda b: np.sum(g * ts.sig_combine(s1, b, d, degree)), s2), 1e-6
    )


@given(paths(min_length=1, max_length=5), transforms, st.data())
def test_transform_path_backprop_is_the_adjoint(x, flags, data):
    """<g, T(x)> differs from <T*(g), x> only by the time channel, which does not depend on x."""
    if flags["time_aug"] and x.shape[1] < 2:
        return
    if not (flags["time_aug"] or flags["lead_lag"]):
        flags["lead_lag"] = True
    out = ts.transform_path(x, **flags)
    g = data.draw(arrays(np.float64, out.shape, elements=finite))
    lhs = np.sum(g * out) - (np.sum(g[..., -1] * out[..., -1]) if flags["time_aug"] else 0.0)
    rhs = np.sum(ts.transform_path_backprop(g, **flags) * x)
    close(lhs, rhs)
