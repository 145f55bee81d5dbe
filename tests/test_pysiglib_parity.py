"""Drop-in parity with pysiglib 4.0 (and iisignature) over a grid of shapes, degrees and flags.

Skipped where the peer is not installed; .ci/run installs both.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import re
import textwrap

import numpy as np
import pytest

import tensorsig as ts
from conftest import CONTAINERS, DTYPES, FLAGS, assert_close, kind_of, make, to_numpy

pysiglib = pytest.importorskip("pysiglib")

# (batch shape, length, dimension, degrees): small signatures at high degree, wide ones at low;
# 19 paths of two letters (two vectors of lanes and part of a third) and paths of one; 9 paths
# long enough that whole blocks of every lane's increments are gathered at once; 3 long paths of
# two letters, which signatures cut into pieces to fill (wide) lanes; large
# signatures (3 letters at degree 7, 5 at degree 5, 8 at degree 4: 3279 to 4680 coefficients)
# around the sizes where the engine stops interleaving one path per SIMD lane and takes one path
# at a time (8 letters at degree 4 in float64; lead-lag doubles the letters and takes all of
# them past it).
GRID = [
    ((), 7, 2, range(0, 8)),
    ((5,), 20, 3, range(1, 6)),
    ((2, 3), 9, 4, range(1, 5)),
    ((2, 1, 2), 6, 2, range(2, 7)),
    ((3,), 40, 6, range(1, 4)),
    ((19,), 21, 2, range(6, 7)),
    ((9,), 30, 3, range(4, 5)),
    ((3,), 300, 2, range(5, 6)),
    ((3,), 10, 1, range(2, 4)),
    ((2,), 11, 3, range(7, 8)),
    ((3,), 9, 5, range(5, 6)),
    ((), 6, 8, range(4, 5)),
]


def grid():
    for (batch, length, dim, degrees), flags, dtype in itertools.product(GRID, FLAGS, DTYPES):
        for degree in degrees:
            yield pytest.param(
                batch,
                length,
                dim,
                degree,
                flags,
                dtype,
                id=f"{batch}-{length}x{dim}-N{degree}-{flags}-{np.dtype(dtype).name}",
            )


def _peer_tolerance_scale(expected) -> float:
    return max(1.0, float(np.abs(to_numpy(expected)).max())) if np.size(to_numpy(expected)) else 1.0


@pytest.mark.parametrize(("batch", "length", "dim", "degree", "flags", "dtype"), list(grid()))
def test_sig_and_backprop_match_pysiglib(rng, batch, length, dim, degree, flags, dtype):
    path = (rng.normal(size=(*batch, length, dim)) / np.sqrt(length)).astype(dtype)
    for container in CONTAINERS:
        x = make(path, container, dtype)
        ours, theirs = ts.sig(x, degree, **flags), pysiglib.sig(x, degree, **flags)
        assert kind_of(ours) == kind_of(theirs)
        assert_close(ours, to_numpy(theirs), dtype)
        derivs = make(rng.normal(size=ours.shape), container, dtype)
        ours_g = ts.sig_backprop(x, ours, derivs, degree, **flags)
        theirs_g = pysiglib.sig_backprop(x, theirs, derivs, degree, **flags)
        assert kind_of(ours_g) == kind_of(theirs_g)
        assert_close(ours_g, to_numpy(theirs_g), dtype, scale=_peer_tolerance_scale(theirs_g) * 10)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("container", CONTAINERS)
@pytest.mark.parametrize("scalar_term", [False, True])
@pytest.mark.parametrize(("batch", "dim", "degree"), [((), 3, 4), ((7,), 2, 6), ((2, 3, 2), 5, 3)])
def test_sig_combine_and_backprop_match_pysiglib(rng, dtype, container, scalar_term, batch, dim, degree):
    s1 = make(
        ts.sig(rng.normal(size=(*batch, 5, dim)) * 0.5, degree, scalar_term=scalar_term), container, dtype
    )
    s2 = make(
        ts.sig(rng.normal(size=(*batch, 5, dim)) * 0.5, degree, scalar_term=scalar_term), container, dtype
    )
    g = make(rng.normal(size=tuple(s1.shape)), container, dtype)
    ours, theirs = ts.sig_combine(s1, s2, dim, degree), pysiglib.sig_combine(s1, s2, dim, degree)
    assert kind_of(ours) == kind_of(theirs)
    assert_close(ours, to_numpy(theirs), dtype)
    for a, b in zip(
        ts.sig_combine_backprop(g, s1, s2, dim, degree), pysiglib.sig_combine_backprop(g, s1, s2, dim, degree)
    ):
        assert kind_of(a) == kind_of(b)
        assert_close(a, to_numpy(b), dtype)


@pytest.mark.parametrize("flags", FLAGS[1:])
@pytest.mark.parametrize("shape", [(5, 2), (3, 4, 3), (2, 2, 3, 1)])
def test_transform_path_matches_pysiglib(rng, flags, shape):
    path = rng.normal(size=shape)
    out = ts.transform_path(path, **flags)
    assert_close(out, pysiglib.transform_path(path, **flags), np.float64)
    g = rng.normal(size=out.shape)
    assert_close(
        ts.transform_path_backprop(g, **flags), pysiglib.transform_path_backprop(g, **flags), np.float64
    )


def test_sig_length_matches_pysiglib():
    for d, n, t, ll, s in itertools.product(range(1, 5), range(0, 6), *([[False, True]] * 3)):
        kw = {"time_aug": t, "lead_lag": ll, "scalar_term": s}
        assert ts.sig_length(d, n, **kw) == pysiglib.sig_length(d, n, **kw)


def _docstring_example(function) -> str:
    """The first ``.. code-block:: python`` of a pysiglib docstring, dedented."""
    match = re.search(r"\.\. code-block:: python\n\n(.*?)(?:\n\s*\n\s*\"\"\"|\Z)", function.__doc__, re.S)
    assert match, "pysiglib's docstring has no code block"
    return textwrap.dedent(match.group(1))


def _run(code: str) -> dict:
    """Runs ``code`` from the same random seed; returns its variables."""
    np.random.seed(1234)  # noqa: NPY002 -- the example draws with np.random.uniform
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(code, "<pysiglib docstring>", "exec"), namespace)
    return namespace


def test_sig_combine_backprop_docstring_example_runs_unchanged():
    """pysiglib's own example, with ``import tensorsig as pysiglib``, gives pysiglib's numbers."""
    code = _docstring_example(pysiglib.sig_combine_backprop)
    assert "import pysiglib" in code
    theirs = _run(code)
    ours = _run(code.replace("import pysiglib", "import tensorsig as pysiglib"))
    assert ours["pysiglib"] is ts
    for name in ("sig1", "sig2", "combined", "dsig1", "dsig2"):
        assert_close(ours[name], theirs[name], np.float64)


@pytest.mark.parametrize(("length", "dim", "degree"), [(10, 2, 6), (30, 3, 4), (5, 5, 3), (50, 1, 7)])
def test_sig_matches_iisignature(rng, length, dim, degree):
    iis = pytest.importorskip("iisignature")
    path = rng.normal(size=(4, length, dim)) / np.sqrt(length)
    assert_close(ts.sig(path, degree), iis.sig(path, degree), np.float64)
    derivs = rng.normal(size=(4, ts.sig_length(dim, degree)))
    ours = ts.sig_backprop(path, ts.sig(path, degree), derivs, degree)
    # iisignature returns its backprop in float32, whatever the input's precision.
    assert_close(ours, iis.sigbackprop(derivs, path, degree), np.float32)
