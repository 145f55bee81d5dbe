"""Log-signatures against the naive reference of tests/reference_logsig.py (definitions only)."""

from __future__ import annotations

import numpy as np
import pytest
import reference_logsig as ref

import tensorsig as ts
from conftest import FLAGS, assert_close

SHAPES = [((), 6, 2, 4), ((3,), 5, 3, 3), ((2, 2), 4, 2, 5), ((2,), 4, 1, 3), ((), 3, 4, 2)]


@pytest.mark.parametrize(("batch", "length", "dim", "degree"), SHAPES)
@pytest.mark.parametrize("flags", FLAGS[:3])
@pytest.mark.parametrize("method", [0, 1, 2, 3])
def test_log_sig_matches_the_definition(rng, batch, length, dim, degree, flags, method):
    aug = (2 * dim if flags.get("lead_lag") else dim) + int(bool(flags.get("time_aug")))
    if aug**degree > 300:
        pytest.skip("the reference is too slow for this many coordinates")
    path = rng.normal(size=(*batch, length, dim)) * 0.6
    for scalar_term in (False, True) if method == 0 else (False,):
        ours = ts.log_sig(path, degree, method=method, scalar_term=scalar_term, **flags)
        expected = ref.log_sig(path, degree, method=method, scalar_term=scalar_term, **flags)
        assert_close(ours, expected, np.float64)


def test_lyndon_order_and_lengths_match_brute_force():
    for d, n in [(1, 5), (2, 6), (3, 4), (4, 3), (5, 2)]:
        assert ts.lyndon_words(d, n) == ref.lyndon_words(d, n)
        assert ts.log_sig_length(d, n) == len(ref.lyndon_words(d, n))


@pytest.mark.parametrize("method", [0, 1, 2])
@pytest.mark.parametrize(("dim", "degree"), [(2, 5), (3, 3), (3, 4)])
def test_conversions_match_the_definition(rng, method, dim, degree):
    s = ts.sig(rng.normal(size=(3, 6, dim)) * 0.5, degree, scalar_term=True)
    ls = ts.sig_to_log_sig(s, dim, degree, method=method)
    assert_close(ls, ref.sig_to_log_sig(s, dim, degree, method), np.float64)
    for scalar_term in (False, True):
        back = ts.logsig_to_sig(ls, dim, degree, method=method, scalar_term=scalar_term)
        expected = ref.logsig_to_sig(ls, dim, degree, method, scalar_term=scalar_term)
        assert_close(back, expected, np.float64)
    # A Lie element that is no path's log-signature, far from the origin.
    coords = rng.normal(size=(2, ts.log_sig_length(dim, degree))) * 2.0
    if method:
        expected = ref.logsig_to_sig(coords, dim, degree, method)
        assert_close(ts.logsig_to_sig(coords, dim, degree, method=method), expected, np.float64)


@pytest.mark.parametrize(("dim", "degree"), [(2, 5), (3, 4), (4, 3)])
def test_bch_matches_the_definition(rng, dim, degree):
    width = ts.log_sig_length(dim, degree)
    a, b = rng.normal(size=(2, width)), rng.normal(size=(2, width))
    expected = np.array([ref.bch(a[i], b[i], dim, degree) for i in range(2)])
    assert_close(ts.log_sig_combine(a, b, dim, degree), expected, np.float64)
    v = rng.normal(size=(2, dim))
    linear = ts.linear_log_sig(v, dim, degree, method=2)
    expected = np.array([ref.bch(a[i], linear[i], dim, degree) for i in range(2)])
    assert_close(ts.log_sig_join(a, v, dim, degree), expected, np.float64)
