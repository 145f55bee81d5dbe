"""Drop-in parity of the signature-kernel family with pysiglib 4.0: every function, method,
static kernel and option, float32 and float64, numpy and torch.

Skipped where pysiglib is not installed; .ci/run installs it.
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest

import tensorsig as ts
from conftest import CONTAINERS, DTYPES, FLAGS, assert_close, kind_of, make, to_numpy

pysiglib = pytest.importorskip("pysiglib")

KERNEL_ARGS = [
    ("LinearKernel", ()),
    ("ScaledLinearKernel", (0.7,)),
    ("RBFKernel", (0.8,)),
    ("Matern12Kernel", (1.3,)),
    ("Matern32Kernel", (0.9,)),
    ("Matern52Kernel", (1.1,)),
    ("PolynomialKernel", (3.0, 1.0, 0.5)),
    ("PolynomialKernel", (2.5, 1.5, 0.5)),
    ("RationalQuadraticKernel", (0.9, 1.7)),
]
METHODS = [
    {"dyadic_order": 0},
    {"dyadic_order": 2},
    {"dyadic_order": (1, 2)},
    {"method": "polynomial", "order": 3},
    {"method": "polynomial", "order": 9},
]
PUBLIC = [
    "sig_kernel",
    "sig_kernel_gram",
    "sig_kernel_backprop",
    "sig_kernel_gram_backprop",
    "sig_mmd",
    "sig_score",
    "expected_sig_score",
]
PRIVATE_PARAMETERS = {"_return_state", "_state"}


def _kernels(name, args):
    return getattr(ts, name)(*args), getattr(pysiglib, name)(*args)


def _pysiglib(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(pysiglib, fn)(*args, **kwargs)


@pytest.mark.parametrize("name", PUBLIC)
def test_signatures_match(name):
    ours = inspect.signature(getattr(ts, name)).parameters
    theirs = inspect.signature(getattr(pysiglib, name)).parameters
    theirs = [p for n, p in theirs.items() if n not in PRIVATE_PARAMETERS]
    assert [(p.name, p.kind, p.default) for p in ours.values()] == [
        (p.name, p.kind, p.default) for p in theirs
    ]


@pytest.mark.parametrize("name", [n for n, _ in KERNEL_ARGS[:-1]] + ["RationalQuadraticKernel", "Context"])
def test_kernel_classes_match(name):
    ours, theirs = inspect.signature(getattr(ts, name)), inspect.signature(getattr(pysiglib, name))
    assert [(p.name, p.default) for p in ours.parameters.values()] == [
        (p.name, p.default) for p in theirs.parameters.values()
    ]


@pytest.mark.parametrize("kernel", KERNEL_ARGS, ids=lambda k: f"{k[0]}{k[1]}")
@pytest.mark.parametrize("options", METHODS, ids=str)
@pytest.mark.parametrize("dtype", DTYPES)
def test_sig_kernel_and_grid(rng, kernel, options, dtype):
    ours, theirs = _kernels(*kernel)
    x = (rng.normal(size=(5, 7, 3)) * 0.4).astype(dtype)
    y = (rng.normal(size=(5, 6, 3)) * 0.4).astype(dtype)
    for grid in (False, True):
        got = ts.sig_kernel(x, y, static_kernel=ours, return_grid=grid, **options)
        expected = _pysiglib("sig_kernel", x, y, static_kernel=theirs, return_grid=grid, **options)
        assert kind_of(got) == kind_of(expected)
        assert_close(got, expected, dtype)


@pytest.mark.parametrize("flags", FLAGS, ids=str)
@pytest.mark.parametrize("container", CONTAINERS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_transforms_containers_and_batch_shapes(rng, flags, container, dtype):
    x = make(rng.normal(size=(2, 3, 6, 2)) * 0.4, container, dtype)
    y = make(rng.normal(size=(2, 3, 5, 2)) * 0.4, container, dtype)
    for fn in ("sig_kernel", "sig_kernel_gram"):
        got = getattr(ts, fn)(x, y, dyadic_order=1, **flags)
        expected = _pysiglib(fn, x, y, dyadic_order=1, **flags)
        assert kind_of(got) == kind_of(expected)
        assert_close(got, to_numpy(expected), dtype)


@pytest.mark.parametrize("options", METHODS, ids=str)
@pytest.mark.parametrize("symmetric", [True, False])
def test_gram(rng, options, symmetric):
    x = rng.normal(size=(6, 5, 2)) * 0.5
    y = x if symmetric else rng.normal(size=(4, 7, 2)) * 0.5
    ours, theirs = _kernels("RBFKernel", (0.6,))
    for extra in ({}, {"normalize": True}, {"return_grid": True}, {"max_batch": 2}):
        got = ts.sig_kernel_gram(x, y, static_kernel=ours, **options, **extra)
        if symmetric and options.get("dyadic_order") == (1, 2) and not extra.get("return_grid"):
            # pysiglib mirrors the upper triangle even where the scheme is not symmetric; the full
            # Gram matrix of two copies is what it means.
            expected = _pysiglib("sig_kernel_gram", x, x.copy(), static_kernel=theirs, **options, **extra)
        else:
            expected = _pysiglib("sig_kernel_gram", x, y, static_kernel=theirs, **options, **extra)
        assert_close(got, expected, np.float64)


def test_normalize(rng):
    x, y = rng.normal(size=(4, 6, 2)) * 0.5, rng.normal(size=(4, 5, 2)) * 0.5
    for options in METHODS:
        got = ts.sig_kernel(x, y, normalize=True, **options)
        assert_close(got, _pysiglib("sig_kernel", x, y, normalize=True, **options), np.float64)


def _backprop_args(rng, dtype, grid, options, gram=False):
    x = (rng.normal(size=(3, 6, 2)) * 0.5).astype(dtype)
    y = (rng.normal(size=(3 if not gram else 2, 5, 2)) * 0.5).astype(dtype)
    shape = ts.sig_kernel_gram(x, y, return_grid=grid, **options).shape if gram else None
    if not gram:
        shape = ts.sig_kernel(x, y, return_grid=grid, **options).shape
    return x, y, rng.normal(size=shape).astype(dtype)


@pytest.mark.parametrize("kernel", KERNEL_ARGS[::2], ids=lambda k: k[0])
@pytest.mark.parametrize("options", METHODS[1:4], ids=str)
@pytest.mark.parametrize("grid", [False, True])
def test_sig_kernel_backprop(rng, kernel, options, grid):
    ours, theirs = _kernels(*kernel)
    x, y, derivs = _backprop_args(rng, np.float64, grid, options)
    common = dict(left_deriv=True, right_deriv=True, return_grid=grid, **options)
    got = ts.sig_kernel_backprop(derivs, x, y, static_kernel=ours, **common)
    expected = _pysiglib("sig_kernel_backprop", derivs, x, y, static_kernel=theirs, **common)
    for g, e in zip(got, expected):
        assert_close(g, e, np.float64)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("container", CONTAINERS)
def test_backprop_flags_dtypes_and_stored_grids(rng, dtype, container):
    x, y, derivs = _backprop_args(rng, dtype, False, {"dyadic_order": 1})
    x, y, derivs = (make(a, container, dtype) for a in (x, y, derivs))
    flags = {"time_aug": True, "lead_lag": True}
    k_grid = ts.sig_kernel(
        ts.transform_path(x, **flags), ts.transform_path(y, **flags), dyadic_order=1, return_grid=True
    )
    for left, right in ((True, False), (False, True), (True, True), (False, False)):
        got = ts.sig_kernel_backprop(
            derivs, x, y, dyadic_order=1, left_deriv=left, right_deriv=right, **flags
        )
        stored = ts.sig_kernel_backprop(
            derivs, x, y, dyadic_order=1, left_deriv=left, right_deriv=right, k_grid=k_grid, **flags
        )
        expected = _pysiglib(
            "sig_kernel_backprop", derivs, x, y, dyadic_order=1, left_deriv=left, right_deriv=right, **flags
        )
        for g, s, e in zip(got, stored, expected):
            assert (g is None) == (e is None)
            if e is not None:
                assert kind_of(g) == kind_of(e)
                assert_close(g, to_numpy(e), dtype)
                assert_close(s, to_numpy(e), dtype)


@pytest.mark.parametrize("options", METHODS[1:4], ids=str)
@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("grid", [False, True])
def test_gram_backprop(rng, options, symmetric, grid):
    x, y, _ = _backprop_args(rng, np.float64, grid, options, gram=True)
    if symmetric:
        y = x
    derivs = rng.normal(size=ts.sig_kernel_gram(x, y, return_grid=grid, **options).shape)
    ours, theirs = _kernels("Matern52Kernel", (0.8,))
    common = dict(left_deriv=True, right_deriv=True, return_grid=grid, max_batch=2, **options)
    got = ts.sig_kernel_gram_backprop(derivs, x, y, static_kernel=ours, **common)
    expected = _pysiglib("sig_kernel_gram_backprop", derivs, x, y, static_kernel=theirs, **common)
    for g, e in zip(got, expected):
        assert_close(g, e, np.float64)


def test_gram_backprop_keeps_float32(rng):
    x = (rng.normal(size=(3, 5, 2)) * 0.5).astype(np.float32)
    derivs = np.ones((3, 3), dtype=np.float32)
    got = ts.sig_kernel_gram_backprop(derivs, x, x, dyadic_order=1, right_deriv=True)
    expected = _pysiglib("sig_kernel_gram_backprop", derivs, x, x, dyadic_order=1, right_deriv=True)
    assert expected[0].dtype == np.float64  # pysiglib 4.0's promotion, which tensorsig does not copy
    for g, e in zip(got, expected):
        assert g.dtype == np.float32
        assert_close(g, e, np.float32)


@pytest.mark.parametrize("container", CONTAINERS)
@pytest.mark.parametrize("options", [METHODS[1], METHODS[3]], ids=str)
def test_metrics(rng, container, options):
    a = make(rng.normal(size=(6, 8, 2)).cumsum(1) * 0.1, container, np.float64)
    b = make(rng.normal(size=(2, 3, 7, 2)).cumsum(-2) * 0.1, container, np.float64)
    ours, theirs = _kernels("RBFKernel", (1.0,))
    for fn, args, extra in (
        ("sig_mmd", (a, b), {}),
        ("sig_score", (a, b), {"lam": 0.5}),
        ("sig_score", (a, b[0, 0]), {}),
        ("expected_sig_score", (a, b), {"lam": 2.0}),
    ):
        got = getattr(ts, fn)(*args, static_kernel=ours, **options, **extra)
        expected = _pysiglib(fn, *args, static_kernel=theirs, **options, **extra)
        assert kind_of(got) == kind_of(expected)
        assert_close(got, to_numpy(expected), np.float64)


def test_static_kernel_methods_match_pysiglib(rng):
    torch = pytest.importorskip("torch")
    x = torch.tensor(rng.normal(size=(2, 6, 3)) * 0.5)
    y = torch.tensor(rng.normal(size=(2, 5, 3)) * 0.5)
    derivs = torch.tensor(rng.normal(size=(2, 5, 4)))
    for name, args in KERNEL_ARGS:
        ours, theirs = _kernels(name, args)
        c1, c2 = ts.Context(), pysiglib.Context()
        assert_close(ours(c1, x, y), theirs(c2, x, y), np.float64)
        assert_close(ours.grad_x(c1, derivs), theirs.grad_x(c2, derivs), np.float64)
        assert_close(ours.grad_y(c1, derivs), theirs.grad_y(c2, derivs), np.float64)


def test_pysiglib_kernel_objects_are_accepted(rng):
    x, y = rng.normal(size=(3, 6, 2)) * 0.5, rng.normal(size=(3, 5, 2)) * 0.5
    for name, args in KERNEL_ARGS:
        ours, theirs = _kernels(name, args)
        got = ts.sig_kernel(x, y, dyadic_order=1, static_kernel=theirs)
        assert_close(got, ts.sig_kernel(x, y, dyadic_order=1, static_kernel=ours), np.float64)
