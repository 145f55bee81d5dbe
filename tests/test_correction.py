"""``correction=`` on sig and sig_backprop: each segment enters as exp(Δx + c), chained by Chen.

Checked against an independent reference (the exponential of a general tensor by its power
series, full Chen products: tests/reference.py), against pysiglib 4.0, against finite differences,
and for its bad inputs.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import reference as ref
import tensorsig as ts
from conftest import CONTAINERS, DTYPES, assert_close, kind_of, make, to_numpy


def correction_width(dim: int, top: int) -> int:
    return sum(dim**k for k in range(2, top + 1))


def correction_of(rng, shape_kind: str, batch: tuple[int, ...], length: int, width: int) -> np.ndarray:
    """A random correction of one of pysiglib's three shapes."""
    shape = {"shared": (width,), "segment": (length - 1, width), "path": (*batch, length - 1, width)}[
        shape_kind
    ]
    return rng.normal(size=shape) * 0.3


SHAPES = ["shared", "segment", "path"]

# (batch, length, dimension, degree, highest correction level): one path; a batch small enough
# for the lane engine without a correction; a large signature (the row engine); one letter.
CASES = [
    ((), 6, 2, 3, 2),
    ((4,), 7, 3, 4, 3),
    ((2, 2), 5, 2, 4, 4),
    ((2,), 4, 8, 3, 2),
    ((3,), 5, 1, 3, 3),
]


@pytest.mark.parametrize(("batch", "length", "dim", "degree", "top"), CASES)
@pytest.mark.parametrize("shape_kind", SHAPES)
@pytest.mark.parametrize("time_aug", [False, True])
def test_corrected_signature_matches_the_reference(
    rng, batch, length, dim, degree, top, shape_kind, time_aug
):
    path = rng.normal(size=(*batch, length, dim)) / np.sqrt(length)
    c = correction_of(rng, shape_kind, batch, length, correction_width(dim, top))
    expected = ref.sig_corrected(path, degree, c, time_aug=time_aug, end_time=1.5, scalar_term=True)
    ours = ts.sig(path, degree, correction=c, time_aug=time_aug, end_time=1.5, scalar_term=True)
    assert_close(ours, expected, np.float64)


@pytest.mark.parametrize("shape_kind", SHAPES)
def test_zero_correction_is_the_plain_signature(rng, shape_kind):
    for batch, length, dim, degree, top in CASES:
        path = rng.normal(size=(*batch, length, dim))
        c = np.zeros_like(correction_of(rng, shape_kind, batch, length, correction_width(dim, top)))
        for time_aug in (False, True):
            plain = ts.sig(path, degree, time_aug=time_aug)
            assert_close(ts.sig(path, degree, correction=c, time_aug=time_aug), plain, np.float64)
            g = rng.normal(size=plain.shape)
            assert_close(
                ts.sig_backprop(path, plain, g, degree, correction=c, time_aug=time_aug),
                ts.sig_backprop(path, plain, g, degree, time_aug=time_aug),
                np.float64,
            )


def test_empty_or_none_correction_is_no_correction(rng):
    path = rng.normal(size=(3, 6, 2))
    plain = ts.sig(path, 3)
    for c in (None, np.zeros(0), np.zeros((5, 0)), np.zeros((3, 5, 0))):
        np.testing.assert_array_equal(ts.sig(path, 3, correction=c), plain)
    # Even at degree 1 or with lead-lag, where a non-empty correction is refused.
    np.testing.assert_array_equal(ts.sig(path, 1, correction=np.zeros(0)), ts.sig(path, 1))
    np.testing.assert_array_equal(
        ts.sig(path, 2, lead_lag=True, correction=np.zeros(0)), ts.sig(path, 2, lead_lag=True)
    )


def test_ito_lift_of_brownian_samples(rng):
    """c⁽²⁾ = -½ Σ Δt: against the hand-written exp/Chen reference and pysiglib."""
    d, steps, dt = 2, 20, 0.05
    cov = np.array([[1.0, 0.3], [0.3, 0.5]])
    increments = rng.normal(size=(3, steps, d)) @ np.linalg.cholesky(cov).T * np.sqrt(dt)
    path = np.concatenate([np.zeros((3, 1, d)), np.cumsum(increments, axis=1)], axis=1)
    c = np.broadcast_to(-0.5 * dt * cov.reshape(-1), (steps, d * d))
    ours = ts.sig(path, 3, correction=c)
    assert_close(ours, ref.sig_corrected(path, 3, c), np.float64)
    pysiglib = pytest.importorskip("pysiglib")
    assert_close(ours, pysiglib.sig(path, 3, correction=np.ascontiguousarray(c)), np.float64)
    # Itô's level 2 differs from Stratonovich's by exactly the summed correction.
    strat = ts.sig(path, 3)
    shift = np.broadcast_to(c.sum(axis=0), (3, d * d))
    np.testing.assert_allclose(ours[:, d : d + d * d] - strat[:, d : d + d * d], shift, atol=1e-12)


@pytest.mark.parametrize(("batch", "length", "dim", "degree", "top"), CASES[:3])
@pytest.mark.parametrize("time_aug", [False, True])
def test_corrected_gradient_matches_finite_differences(rng, batch, length, dim, degree, top, time_aug):
    path = rng.normal(size=(*batch, length, dim)) / np.sqrt(length)
    c = correction_of(rng, "path", batch, length, correction_width(dim, top))
    s = ts.sig(path, degree, correction=c, time_aug=time_aug)
    g = rng.normal(size=s.shape)
    grad = ts.sig_backprop(path, s, g, degree, correction=c, time_aug=time_aug)

    def loss(x):
        return float(np.sum(g * ts.sig(x, degree, correction=c, time_aug=time_aug)))

    np.testing.assert_allclose(grad, ref.finite_difference_gradient(loss, path), atol=1e-7)


def test_long_corrected_paths_cut_in_time_match_one_piece(rng):
    """A few long paths are cut into pieces signed in parallel and joined by Chen products."""
    path = rng.normal(size=(1, 1200, 3)) * 0.03
    for degree, top in ((3, 2), (5, 3)):
        c = rng.normal(size=(1199, correction_width(3, top))) * 0.01
        serial = ts.sig(path, degree, correction=c)
        pieces = ts.sig(path, degree, correction=c, n_jobs=4)
        assert_close(pieces, serial, np.float64)
    short = path[:, :60]
    c = rng.normal(size=(59, 9)) * 0.1
    assert_close(ts.sig(short, 3, correction=c, n_jobs=4), ref.sig_corrected(short, 3, c), np.float64)


pysiglib_cases = list(itertools.product(CASES[:4], SHAPES, [False, True], DTYPES))


@pytest.mark.parametrize(
    ("case", "shape_kind", "time_aug", "dtype"),
    pysiglib_cases,
    ids=[f"{c[0]}-{c[1]}x{c[2]}-N{c[3]}-m{c[4]}-{s}-{t}-{np.dtype(d).name}" for c, s, t, d in pysiglib_cases],
)
def test_correction_matches_pysiglib(rng, case, shape_kind, time_aug, dtype):
    pysiglib = pytest.importorskip("pysiglib")
    batch, length, dim, degree, top = case
    path = (rng.normal(size=(*batch, length, dim)) / np.sqrt(length)).astype(dtype)
    c = correction_of(rng, shape_kind, batch, length, correction_width(dim, top)).astype(dtype)
    for container in CONTAINERS:
        x, cc = make(path, container, dtype), make(c, container, dtype)
        flags = {"time_aug": time_aug, "correction": cc}
        ours, theirs = ts.sig(x, degree, **flags), pysiglib.sig(x, degree, **flags)
        assert kind_of(ours) == kind_of(theirs)
        assert_close(ours, to_numpy(theirs), dtype)
        g = make(rng.normal(size=ours.shape), container, dtype)
        ours_g = ts.sig_backprop(x, ours, g, degree, **flags)
        theirs_g = pysiglib.sig_backprop(x, theirs, g, degree, **flags)
        assert kind_of(ours_g) == kind_of(theirs_g)
        scale = max(1.0, float(np.abs(to_numpy(theirs_g)).max())) * 10
        assert_close(ours_g, to_numpy(theirs_g), dtype, scale=scale)


def test_correction_is_never_modified(rng):
    path = rng.normal(size=(2, 5, 2))
    c = rng.normal(size=(2, 4, 4))
    before = c.copy()
    s = ts.sig(path, 3, correction=c)
    ts.sig_backprop(path, s, np.ones_like(s), 3, correction=c)
    np.testing.assert_array_equal(c, before)


def test_non_contiguous_corrections_are_read_as_they_are(rng):
    path = rng.normal(size=(2, 5, 2))
    c = rng.normal(size=(2, 4, 8))[..., ::2]
    assert_close(
        ts.sig(path, 2, correction=c), ts.sig(path, 2, correction=np.ascontiguousarray(c)), np.float64
    )


@pytest.mark.parametrize(
    ("correction", "kwargs", "exc", "match"),
    [
        (np.zeros(5), {}, ValueError, "correction length must be a prefix of tensor levels 2..degree"),
        (np.zeros(40), {}, ValueError, "correction length must be a prefix"),  # 9 + 27 + 4
        (np.ones(117), {"degree": 3}, ValueError, "correction length must be a prefix"),  # level 4 > degree
        (np.ones(9), {"degree": 1}, ValueError, "correction must be empty when degree < 2"),
        (np.ones(9), {"lead_lag": True}, ValueError, "correction cannot be used with lead_lag=True"),
        (np.ones((3, 9)), {}, ValueError, r"correction shape must be \(C,\), \(path.shape\[-2\] - 1, C\)"),
        (np.ones((3, 4, 9)), {}, ValueError, "correction shape must be"),
        (np.ones((2, 2, 4, 9)), {}, ValueError, "correction shape must be"),
        (np.array(1.0), {}, ValueError, "correction shape must be"),
        (np.ones(9, dtype=np.float32), {}, ValueError, "must have the same dtype"),
        (np.ones(9, dtype=np.int64), {}, TypeError, "correction.dtype must be float32 or float64"),
        ([0.0] * 9, {}, TypeError, "correction must be of type numpy.ndarray or torch.Tensor"),
    ],
)
def test_bad_corrections(correction, kwargs, exc, match):
    path = np.zeros((2, 5, 3))
    degree = kwargs.pop("degree", 3)
    with pytest.raises(exc, match=match):
        ts.sig(path, degree, correction=correction, **kwargs)
    s = ts.sig(path, degree)
    with pytest.raises(exc, match=match):
        ts.sig_backprop(path, s, s, degree, correction=correction, **kwargs)


def test_a_torch_correction_for_a_numpy_path_is_refused():
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match="must all be numpy arrays or all torch tensors"):
        ts.sig(np.zeros((5, 3)), 2, correction=torch.zeros(9, dtype=torch.float64))
