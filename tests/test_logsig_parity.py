"""Drop-in parity of the log-signature family with pysiglib 4.0 and iisignature.

Every method, path flag, dtype, container (numpy, torch CPU) and batch shape, degrees 1 to 6 on
small dimensions. pysiglib needs its tables prepared; tensorsig never does (and is never
prepared here). Skipped where a peer is not installed.
"""

from __future__ import annotations

import inspect
import itertools

import numpy as np
import pytest

import tensorsig as ts
from conftest import CONTAINERS, DTYPES, FLAGS, assert_close, kind_of, make, to_numpy

pysiglib = pytest.importorskip("pysiglib")

# (batch shape, length, dimension, degrees)
GRID = [
    ((), 7, 2, range(1, 7)),
    ((5,), 10, 3, range(1, 5)),
    ((2, 3), 6, 4, range(1, 4)),
    ((2, 1, 2), 5, 2, range(2, 6)),
    ((3,), 4, 1, range(1, 4)),
    ((0,), 5, 2, range(2, 3)),
]

_prepared: set = set()


def _prepare(dim, degree, method, flags):
    """pysiglib's mandatory preparation (methods 1 and 2 use 2's, as logsig_to_sig needs it)."""
    aug = (2 * dim if flags.get("lead_lag") else dim) + int(bool(flags.get("time_aug")))
    for m in {1: (1, 2), 2: (2,), 3: (2, 3)}.get(method, ()):
        if (aug, degree, m) not in _prepared:
            pysiglib.prepare_log_sig(aug, degree, m)
            _prepared.add((aug, degree, m))
    return aug


def _cases():
    for (batch, length, dim, degrees), flags, method in itertools.product(GRID, FLAGS, range(4)):
        aug = (2 * dim if flags.get("lead_lag") else dim) + int(bool(flags.get("time_aug")))
        for degree in degrees:
            if aug**degree > 5000:
                continue  # the large transformed cases are covered at lower degrees
            yield pytest.param(
                batch,
                length,
                dim,
                degree,
                flags,
                method,
                id=f"{batch}-{length}x{dim}-N{degree}-m{method}-{flags}",
            )


def _scale(expected) -> float:
    expected = to_numpy(expected)
    return max(1.0, float(np.abs(expected).max())) if expected.size else 1.0


@pytest.mark.parametrize(("batch", "length", "dim", "degree", "flags", "method"), list(_cases()))
@pytest.mark.parametrize("dtype", DTYPES)
def test_log_sig_and_conversions_match_pysiglib(rng, batch, length, dim, degree, flags, method, dtype):
    _prepare(dim, degree, method, flags)
    path = (rng.normal(size=(*batch, length, dim)) / np.sqrt(length)).astype(dtype)
    for container in CONTAINERS:
        x = make(path, container, dtype)
        scalar_term = method == 0 and container == "torch"
        ours = ts.log_sig(x, degree, method=method, scalar_term=scalar_term, **flags)
        theirs = pysiglib.log_sig(x, degree, method=method, scalar_term=scalar_term, **flags)
        assert kind_of(ours) == kind_of(theirs)
        assert_close(ours, to_numpy(theirs), dtype)
        if method == 3:
            continue
        transform = {k: v for k, v in flags.items() if k != "end_time"}
        s = ts.sig(x, degree, scalar_term=scalar_term, **flags)
        g = make(rng.normal(size=tuple(ours.shape)), container, dtype)
        ours_b = ts.sig_to_log_sig_backprop(s, g, dim, degree, method=method, **transform)
        theirs_b = pysiglib.sig_to_log_sig_backprop(s, g, dim, degree, method=method, **transform)
        assert_close(ours_b, to_numpy(theirs_b), dtype, scale=_scale(theirs_b) * 10)
        # The exponential back, and its gradient.
        back = ts.logsig_to_sig(ours, dim, degree, method=method, scalar_term=True, **transform)
        theirs_back = pysiglib.logsig_to_sig(ours, dim, degree, method=method, scalar_term=True, **transform)
        assert_close(back, to_numpy(theirs_back), dtype)
        gs = make(rng.normal(size=tuple(back.shape)), container, dtype)
        ours_e = ts.logsig_to_sig_backprop(
            ours, gs, dim, degree, method=method, scalar_term=True, **transform
        )
        theirs_e = pysiglib.logsig_to_sig_backprop(
            ours, gs, dim, degree, method=method, scalar_term=True, **transform
        )
        assert_close(ours_e, to_numpy(theirs_e), dtype, scale=_scale(theirs_e) * 10)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("container", CONTAINERS)
@pytest.mark.parametrize(
    ("batch", "dim", "degree", "flags"),
    [((), 3, 4, {}), ((4,), 2, 6, {}), ((2, 3), 2, 3, {"time_aug": True, "lead_lag": True})],
)
def test_combine_and_join_match_pysiglib(rng, dtype, container, batch, dim, degree, flags):
    aug = _prepare(dim, degree, 3, flags)
    paths = [rng.normal(size=(*batch, 6, dim)) * 0.4 for _ in range(2)]
    l1, l2 = (make(ts.log_sig(p, degree, method=2, **flags), container, dtype) for p in paths)
    g = make(rng.normal(size=tuple(l1.shape)), container, dtype)
    ours, theirs = (
        ts.log_sig_combine(l1, l2, dim, degree, **flags),
        pysiglib.log_sig_combine(l1, l2, dim, degree, **flags),
    )
    assert kind_of(ours) == kind_of(theirs)
    assert_close(ours, to_numpy(theirs), dtype)
    for a, b in zip(
        ts.log_sig_combine_backprop(g, l1, l2, dim, degree, **flags),
        pysiglib.log_sig_combine_backprop(g, l1, l2, dim, degree, **flags),
    ):
        assert_close(a, to_numpy(b), dtype, scale=_scale(b) * 10)
    v = make(rng.normal(size=(*batch, aug)) * 0.5, container, dtype)
    ours, theirs = ts.log_sig_join(l1, v, aug, degree), pysiglib.log_sig_join(l1, v, aug, degree)
    assert kind_of(ours) == kind_of(theirs)
    assert_close(ours, to_numpy(theirs), dtype)
    for a, b in zip(
        ts.log_sig_join_backprop(g, l1, v, aug, degree), pysiglib.log_sig_join_backprop(g, l1, v, aug, degree)
    ):
        assert_close(a, to_numpy(b), dtype, scale=_scale(b) * 10)


@pytest.mark.parametrize("container", CONTAINERS)
@pytest.mark.parametrize(
    ("method", "scalar_term"), [(0, False), (0, True), (1, False), (2, True), (3, False)]
)
@pytest.mark.parametrize(("dim", "degree"), [(3, 3), (2, 0), (0, 2), (4, 1)])
def test_linear_log_sig_matches_pysiglib(rng, container, method, scalar_term, dim, degree):
    v = make(rng.normal(size=(2, 3, dim)), container, np.float64)
    kw = {"method": method, "scalar_term": scalar_term}
    ours, theirs = ts.linear_log_sig(v, dim, degree, **kw), pysiglib.linear_log_sig(v, dim, degree, **kw)
    assert kind_of(ours) == kind_of(theirs)
    assert_close(ours, to_numpy(theirs), np.float64)
    g = make(rng.normal(size=tuple(ours.shape)), container, np.float64)
    assert_close(
        ts.linear_log_sig_backprop(g, v, dim, degree, **kw),
        to_numpy(pysiglib.linear_log_sig_backprop(g, v, dim, degree, **kw)),
        np.float64,
    )


def test_log_sig_length_matches_pysiglib():
    for d, n, t, ll in itertools.product(range(1, 6), range(1, 7), [False, True], [False, True]):
        assert ts.log_sig_length(d, n, time_aug=t, lead_lag=ll) == pysiglib.log_sig_length(
            d, n, time_aug=t, lead_lag=ll
        )


NAMES = [
    "log_sig", "sig_to_log_sig", "sig_to_log_sig_backprop", "logsig_to_sig", "logsig_to_sig_backprop",
    "log_sig_combine", "log_sig_combine_backprop", "log_sig_join", "log_sig_join_backprop",
    "linear_log_sig", "linear_log_sig_backprop", "log_sig_length", "prepare_log_sig", "clear_cache",
    "set_cache_dir", "LogSigStream", "LogSigWindowStream",
]  # fmt: skip


@pytest.mark.parametrize("name", NAMES)
def test_signatures_match_pysiglib(name):
    def fingerprint(obj):
        return [(p.name, p.kind, p.default) for p in inspect.signature(obj).parameters.values()]

    assert fingerprint(getattr(ts, name)) == fingerprint(getattr(pysiglib, name))


@pytest.mark.parametrize(("dim", "degree"), [(2, 4), (3, 3), (3, 4), (4, 3), (2, 6)])
@pytest.mark.parametrize("flags", FLAGS)
def test_log_sig_matches_iisignature(rng, dim, degree, flags):
    iis = pytest.importorskip("iisignature")
    path = rng.normal(size=(4, 9, dim)) / 3
    x = ts.transform_path(path, **flags) if flags else path
    prepared = iis.prepare(x.shape[-1], degree, "SX2")
    assert_close(ts.log_sig(path, degree, method=2, **flags), iis.logsig(x, prepared, "S"), np.float64)
    assert_close(ts.log_sig(path, degree, method=3, **flags), iis.logsig(x, prepared, "S"), np.float64)
    assert_close(ts.log_sig(path, degree, method=0, **flags), iis.logsig(x, prepared, "X"), np.float64)
    ls = iis.logsig(x, prepared, "S")
    transform = {k: v for k, v in flags.items() if k != "end_time"}
    assert_close(
        ts.logsig_to_sig(ls, dim, degree, method=2, **transform), iis.logsigtosig(ls, prepared), np.float64
    )
    g = rng.normal(size=ls.shape)
    expected = iis.logsigbackprop(g, x, prepared, "S")
    ours = ts._logsig._log_sig_backprop(x, g, degree, method=2)
    # iisignature's log-signature gradient is good to about 1e-7 (measured against finite
    # differences, which pysiglib and tensorsig match to 2e-10).
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-6 * _scale(expected))
