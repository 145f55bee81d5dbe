"""sig_coef, sig_coef_backprop and extract_sig_coef: pysiglib parity, the numpy reference (the full
signature's entries, and the defining iterated sums for long words), finite differences, bad
inputs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

import reference as ref
import reference_extras as refx
import tensorsig as ts
from conftest import CONTAINERS, DTYPES, FLAGS, assert_close, kind_of, make, to_numpy

# (batch shape, length, dimension)
SHAPES = [((), 9, 2), ((5,), 12, 3), ((2, 3), 6, 2), ((19,), 8, 1), ((3,), 1, 2), ((0,), 5, 2)]


def _aug(d, flags):
    return (2 * d if flags.get("lead_lag") else d) + int(flags.get("time_aug", False))


def _words(rng, alphabet):
    """Words of lengths 0..7 with a shared prefix, a repeated word and the empty word."""
    base = [tuple(int(c) for c in rng.integers(0, alphabet, size=k)) for k in (1, 2, 3, 5, 7)]
    return [*base, (*base[3][:4], alphabet - 1), (), base[1]]


def _layout(words, prefixes):
    """The word behind each output entry."""
    if not prefixes:
        return list(words)
    return [p for w in words for p in ([w[:i] for i in range(1, len(w) + 1)] or [()])]


@pytest.mark.parametrize(("batch", "length", "d"), SHAPES)
@pytest.mark.parametrize("flags", FLAGS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_sig_coef_and_backprop_match_pysiglib(rng, batch, length, d, flags, dtype):
    pysiglib = pytest.importorskip("pysiglib")
    words = _words(rng, _aug(d, flags))
    path = rng.normal(size=(*batch, length, d)) / np.sqrt(length)
    for container, prefixes in itertools.product(CONTAINERS, [False, True]):
        x = make(path, container, dtype)
        ours = ts.sig_coef(x, words, prefixes=prefixes, **flags)
        theirs = pysiglib.sig_coef(x, words, prefixes=prefixes, **flags)
        assert kind_of(ours) == kind_of(theirs)
        expected = to_numpy(theirs).copy()
        if length == 1:  # pysiglib 4.0 gives 0 for the empty word of a one-point path; it is 1
            empty = [j for j, w in enumerate(_layout(words, prefixes)) if not w]
            expected[..., empty] = 1.0
        assert_close(ours, expected, dtype)
    for container in CONTAINERS:
        x = make(path, container, dtype)
        coefs = ts.sig_coef(x, words, prefixes=True, **flags)
        derivs = make(rng.normal(size=tuple(coefs.shape)), container, dtype)
        kept = to_numpy(derivs).copy()
        ours = ts.sig_coef_backprop(x, words, coefs, derivs, **flags)
        np.testing.assert_array_equal(to_numpy(derivs), kept)  # pysiglib overwrites it; we do not
        theirs = pysiglib.sig_coef_backprop(x, words, coefs, make(kept, container, dtype), **flags)
        assert kind_of(ours) == kind_of(theirs)
        assert_close(
            ours,
            to_numpy(theirs),
            dtype,
            scale=max(1.0, float(np.abs(to_numpy(theirs)).max(initial=0.0))) * 10,
        )


@pytest.mark.parametrize("flags", FLAGS)
@pytest.mark.parametrize("prefixes", [False, True])
@pytest.mark.parametrize("container", CONTAINERS)
def test_sig_coef_matches_the_full_signature(rng, flags, prefixes, container):
    path = rng.normal(size=(3, 7, 2))
    alphabet = _aug(2, flags)
    words = [w for w in _words(rng, alphabet) if len(w) <= 4] + [(alphabet - 1, 0, alphabet - 1, 0)]
    out = ts.sig_coef(make(path, container, np.float64), words, prefixes=prefixes, **flags)
    assert_close(out, refx.sig_coef(path, words, prefixes=prefixes, **flags), np.float64)


@pytest.mark.parametrize("dtype", DTYPES)
def test_long_words_match_the_iterated_sums(rng, dtype):
    """No degree cap: words of 8 to 11 letters, against the defining sum over segments."""
    path = rng.normal(size=(2, 6, 2)).astype(dtype)
    words = [(0, 1) * 4, (1, 1, 0, 1, 0, 0, 1, 2, 2), (2,) * 11, (0, 2, 1, 0, 1, 2, 0, 0, 1, 1)]
    out = ts.sig_coef(path, words, time_aug=True, prefixes=True)
    expected = refx.sig_coef(path, words, time_aug=True, prefixes=True)
    assert_close(out, expected, dtype)
    assert out[0, 8 + 9 + 10] == pytest.approx(1 / 39916800)  # (2,)*11: time^11 / 11!


def test_prefixes_repeats_and_the_empty_word(rng):
    x = rng.normal(size=(4, 10, 3))
    words = [(0, 1, 2), (), (2, 2), (0, 1, 2)]
    with_prefixes = ts.sig_coef(x, words, prefixes=True)
    explicit = ts.sig_coef(x, [(0,), (0, 1), (0, 1, 2), (), (2,), (2, 2), (0,), (0, 1), (0, 1, 2)])
    np.testing.assert_array_equal(with_prefixes, explicit)
    plain = ts.sig_coef(x, words)
    np.testing.assert_array_equal(plain[:, 0], plain[:, 3])
    np.testing.assert_array_equal(plain[:, 1], np.ones(4))
    np.testing.assert_array_equal(ts.sig_coef(x, (2, 2)), plain[:, 2:3])  # one word as a tuple


@pytest.mark.parametrize("flags", FLAGS)
def test_sig_coef_backprop_matches_finite_differences(rng, flags):
    path = rng.normal(size=(2, 5, 2))
    words = [(0, 1), (1, 0, 0, 1), ()]
    alphabet = _aug(2, flags)
    words.append((alphabet - 1, 0, alphabet - 1))
    coefs = ts.sig_coef(path, words, prefixes=True, **flags)
    g = rng.normal(size=coefs.shape)
    grad = ts.sig_coef_backprop(path, words, coefs, g, **flags)

    def loss(x):
        return float(np.sum(g * ts.sig_coef(x, words, prefixes=True, **flags)))

    np.testing.assert_allclose(grad, ref.finite_difference_gradient(loss, path), atol=1e-7)


def test_gradient_of_a_long_path_is_checkpointed_and_exact(rng):
    """A path long enough that the states along it are recomputed in stretches between
    checkpoints: its gradient still matches finite differences."""
    path = np.cumsum(rng.normal(size=(1, 20_000, 2)), axis=1) / 100
    words = [(0, 1, 2, 0), (1, 1, 2), (2, 0)]
    coefs = ts.sig_coef(path, words, time_aug=True, prefixes=True)
    g = np.ones_like(coefs)
    grad = ts.sig_coef_backprop(path, words, coefs, g, time_aug=True)
    for t, c in [(0, 0), (7_777, 1), (19_999, 0)]:
        eps = 1e-6
        up, down = path.copy(), path.copy()
        up[0, t, c] += eps
        down[0, t, c] -= eps
        fd = (
            ts.sig_coef(up, words, time_aug=True, prefixes=True).sum()
            - ts.sig_coef(down, words, time_aug=True, prefixes=True).sum()
        ) / (2 * eps)
        assert grad[0, t, c] == pytest.approx(fd, rel=1e-5, abs=1e-8)


@pytest.mark.parametrize(
    "flags", [{}, {"time_aug": True}, {"lead_lag": True}, {"time_aug": True, "lead_lag": True}]
)
@pytest.mark.parametrize("scalar_term", [False, True])
@pytest.mark.parametrize("container", CONTAINERS)
def test_extract_sig_coef_matches_pysiglib_and_sig_coef(rng, flags, scalar_term, container):
    pysiglib = pytest.importorskip("pysiglib")
    x = rng.normal(size=(2, 3, 8, 2))
    alphabet = _aug(2, flags)
    words = [w for w in _words(rng, alphabet) if len(w) <= 3 and (w or scalar_term)]
    s = make(ts.sig(x, 3, scalar_term=scalar_term, **flags), container, np.float64)
    ours = ts.extract_sig_coef(s, words, 2, scalar_term=scalar_term, **flags)
    theirs = pysiglib.extract_sig_coef(s, words, 2, scalar_term=scalar_term, **flags)
    assert kind_of(ours) == kind_of(theirs)
    np.testing.assert_array_equal(to_numpy(ours), to_numpy(theirs))
    assert_close(ours, ts.sig_coef(x, words, **flags), np.float64)
    assert ts.extract_sig_coef(to_numpy(s), [], 2, scalar_term=scalar_term, **flags).shape == (2, 3, 0)


def test_extract_sig_coef_keeps_autograd():
    s = torch.randn(4, 14, dtype=torch.float64, requires_grad=True)
    ts.extract_sig_coef(s, [(1, 0), (1,)], 2).sum().backward()
    assert s.grad is not None and float(s.grad.sum()) == 2 * 4


PATH = np.random.default_rng(0).normal(size=(2, 5, 2))
SIG = ts.sig(PATH, 3)


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (
            lambda: ts.sig_coef(PATH, [(0, 2)]),
            ValueError,
            r"words\[0\] = \(0, 2\) has letter 2, outside \[0, 2\)",
        ),
        (lambda: ts.sig_coef(PATH, [(0, 5)], lead_lag=True, time_aug=True), ValueError, r"outside \[0, 5\)"),
        (lambda: ts.sig_coef(PATH, [(0, -1)]), ValueError, "has letter -1"),
        (lambda: ts.sig_coef(PATH, []), ValueError, "non-empty list"),
        (lambda: ts.sig_coef(PATH, [0, 1]), TypeError, r"words\[0\] must be a tuple .* pass a tuple"),
        (lambda: ts.sig_coef(PATH, [(0, 1.0)]), TypeError, "found an element of type float"),
        (lambda: ts.sig_coef(PATH, [(np.int64(0),)]), TypeError, "found an element of type int64"),
        (lambda: ts.sig_coef(PATH, "01"), TypeError, "words must be a tuple"),
        (lambda: ts.sig_coef(PATH, [(0,)], prefixes=1), TypeError, "prefixes must be of type bool"),
        (lambda: ts.sig_coef(PATH, [(0,)], end_time=1), TypeError, "end_time must be of type float"),
        (lambda: ts.sig_coef(PATH[0, 0], [(0,)]), ValueError, "at least rank 2"),
        (lambda: ts.sig_coef(np.zeros((3, 0)), [()]), ValueError, "0 channels"),
        (lambda: ts.sig_coef(PATH.astype(np.int32), [(0,)]), TypeError, "float32 or float64"),
        (
            lambda: ts.sig_coef_backprop(PATH, [(0, 1)], np.ones((2, 1)), np.ones((2, 1))),
            ValueError,
            r"Expected coefs.shape\[-1\] == 2.*prefixes=True",
        ),
        (
            lambda: ts.sig_coef_backprop(PATH, [(0, 1)], np.ones((2, 2)), np.ones((3, 2))),
            ValueError,
            r"derivs must have shape \(2, 2\)",
        ),
        (
            lambda: ts.sig_coef_backprop(
                PATH, [(0, 1)], np.ones((2, 2)), torch.ones(2, 2, dtype=torch.float64)
            ),
            ValueError,
            "numpy arrays or all torch tensors",
        ),
        (lambda: ts.extract_sig_coef(SIG, [(0, 1, 1, 1)], 2), ValueError, "longest word"),
        (lambda: ts.extract_sig_coef(SIG, [(0,)], 2, scalar_term=True), ValueError, "with the scalar term"),
        (lambda: ts.extract_sig_coef(SIG[:, :-1], [(0,)], 2), ValueError, "sig has length 13"),
        (lambda: ts.extract_sig_coef(SIG, [()], 2), ValueError, "empty word has no index"),
        (lambda: ts.extract_sig_coef(SIG, [(2,)], 2), ValueError, r"outside \[0, 2\)"),
        (lambda: ts.extract_sig_coef(SIG, [(0,)], 0), ValueError, "dimension must be at least 1"),
    ],
)
def test_bad_inputs(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_strided_paths_and_threads_give_the_same_results(rng):
    """Paths in any memory layout are read in place (lanes of non-row-major paths take the
    strided reader), and splitting the batch across threads changes nothing."""
    base = rng.normal(size=(21, 16, 3))
    words = [(0, 1, 2), (2, 2), (1, 0, 0, 1)]
    contiguous = ts.sig_coef(base[:, ::2], words, prefixes=True, time_aug=True)
    for view in (np.ascontiguousarray(base[:, ::2]), np.asfortranarray(base[:, ::2])):
        for n_jobs in (1, 2, -1):
            out = ts.sig_coef(view, words, prefixes=True, time_aug=True, n_jobs=n_jobs)
            np.testing.assert_array_equal(out, contiguous)
    g = rng.normal(size=contiguous.shape)
    grad = ts.sig_coef_backprop(base[:, ::2], words, contiguous, g, time_aug=True)
    for n_jobs in (2, -1):
        again = ts.sig_coef_backprop(
            np.asfortranarray(base[:, ::2]), words, contiguous, g, time_aug=True, n_jobs=n_jobs
        )
        np.testing.assert_array_equal(again, grad)
