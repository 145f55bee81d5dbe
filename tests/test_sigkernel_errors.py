"""Bad arguments to the signature-kernel family raise the exception pysiglib 4.0 raises (TypeError
for types, ValueError for values) with a message naming the argument, before any work."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tensorsig as ts

X = np.random.default_rng(0).normal(size=(3, 5, 2))
Y = np.random.default_rng(1).normal(size=(3, 4, 2))
FD = {"dyadic_order": 1}

CASES = [
    # (function, args, kwargs, exception, message, whether pysiglib raises the same type)
    ("sig_kernel", (X, Y[:2]), FD, ValueError, "different batch shapes", True),
    ("sig_kernel", (X, Y[..., :1]), FD, ValueError, "different dimensions", True),
    ("sig_kernel", (X, Y.astype(np.float32)), FD, ValueError, "same dtype", True),
    ("sig_kernel", (X, X[0, 0]), FD, ValueError, "rank 2", True),
    ("sig_kernel", (X.astype(np.int64), X.astype(np.int64)), FD, TypeError, "dtype", True),
    ("sig_kernel", (X.tolist(), X), FD, TypeError, "path1 must be of type", True),
    ("sig_kernel", (X[:, :0], X), FD, ValueError, "0 points", False),
    ("sig_kernel", (X, Y), {}, ValueError, "dyadic_order is required", True),
    ("sig_kernel", (X, Y), {"dyadic_order": 1.0}, TypeError, "dyadic_order must be an integer", True),
    ("sig_kernel", (X, Y), {"dyadic_order": (1,)}, TypeError, "tuple of length 2", True),
    ("sig_kernel", (X, Y), {"dyadic_order": (1, 2.0)}, TypeError, "tuple of length 2", False),
    ("sig_kernel", (X, Y), {"dyadic_order": True}, TypeError, "dyadic_order must be an integer", False),
    ("sig_kernel", (X, Y), {"dyadic_order": (1, -1)}, ValueError, "non-negative", True),
    ("sig_kernel", (X, Y), {"dyadic_order": 70}, ValueError, "too large", False),
    ("sig_kernel", (X, Y), {"dyadic_order": (40, 40)}, ValueError, "too large", False),
    ("sig_kernel", (X, Y), {"method": "poly"}, ValueError, "method must be one of", True),
    ("sig_kernel", (X, Y), {"method": 1}, TypeError, "method must be of type str", True),
    ("sig_kernel", (X, Y), {"method": "polynomial"}, ValueError, "order is required", True),
    ("sig_kernel", (X, Y), {"method": "polynomial", "order": 1}, ValueError, "between 2 and 64", True),
    ("sig_kernel", (X, Y), {"method": "polynomial", "order": 65}, ValueError, "between 2 and 64", True),
    (
        "sig_kernel",
        (X, Y),
        {"method": "polynomial", "order": 3.0},
        TypeError,
        "order must be of type int",
        True,
    ),
    (
        "sig_kernel",
        (X, Y),
        {"method": "polynomial", "order": True},
        TypeError,
        "order must be of type int",
        True,
    ),
    (
        "sig_kernel",
        (X, Y),
        {"method": "polynomial", "order": 3, **FD},
        ValueError,
        "dyadic_order is not supported",
        True,
    ),
    ("sig_kernel", (X, Y), {"order": 3, **FD}, ValueError, "order is not supported", True),
    (
        "sig_kernel",
        (X, Y),
        {"normalize": True, "return_grid": True, **FD},
        ValueError,
        "normalize=True",
        True,
    ),
    ("sig_kernel", (X, Y), {"static_kernel": 3, **FD}, ValueError, "StaticKernel", True),
    ("sig_kernel", (X, Y), {"static_kernel": ts.RBFKernel, **FD}, ValueError, "StaticKernel", True),
    ("sig_kernel", (X, Y), {"time_aug": 1, **FD}, TypeError, "time_aug", True),
    ("sig_kernel", (X, Y), {"end_time": 1, "time_aug": True, **FD}, TypeError, "end_time", True),
    ("sig_kernel", (X, Y), {"n_jobs": 0, **FD}, ValueError, "n_jobs", True),
    ("sig_kernel", (X, Y), {"n_jobs": 1.0, **FD}, TypeError, "n_jobs", True),
    ("sig_kernel", (X, Y), {"return_grid": 1, **FD}, TypeError, "return_grid", False),
    ("sig_kernel", (X[:, :1], X[:, :1]), {"time_aug": True, **FD}, ValueError, "at least 2 points", True),
    ("sig_kernel_gram", (X, Y[..., :1]), FD, ValueError, "different dimensions", True),
    ("sig_kernel_gram", (X, Y), {"max_batch": 0, **FD}, ValueError, "max_batch", True),
    ("sig_kernel_gram", (X, Y), {"max_batch": -2, **FD}, ValueError, "max_batch", True),
    ("sig_kernel_gram", (X, Y), {"max_batch": 2.0, **FD}, TypeError, "max_batch", True),
    (
        "sig_kernel_gram",
        (X, Y),
        {"normalize": True, "return_grid": True, **FD},
        ValueError,
        "normalize=True",
        True,
    ),
    ("sig_kernel_backprop", (np.ones(2), X, Y), FD, ValueError, "derivs has shape", True),
    (
        "sig_kernel_backprop",
        (np.ones((3, 4)), X, Y),
        {"return_grid": True, **FD},
        ValueError,
        "derivs has shape",
        False,
    ),
    (
        "sig_kernel_backprop",
        (np.ones(3), X, Y),
        {"k_grid": np.ones((3, 9, 5)), **FD},
        ValueError,
        "k_grid has shape",
        False,
    ),
    ("sig_kernel_backprop", (np.ones(3), X, Y), {"left_deriv": 1, **FD}, TypeError, "left_deriv", True),
    ("sig_kernel_backprop", (np.ones(3, dtype=np.float32), X, Y), FD, ValueError, "same dtype", False),
    (
        "sig_kernel_backprop",
        (np.ones(3), X, Y),
        {"method": "poly"},
        ValueError,
        "method must be one of",
        True,
    ),
    ("sig_kernel_gram_backprop", (np.ones((3, 2)), X, Y), FD, ValueError, "derivs has shape", False),
    (
        "sig_kernel_gram_backprop",
        (np.ones((3, 3)), X, Y),
        {"max_batch": 0, **FD},
        ValueError,
        "max_batch",
        True,
    ),
    ("sig_mmd", (X[:1], Y), FD, ValueError, "at least 2 paths in sample1", True),
    ("sig_mmd", (X, Y[:1]), FD, ValueError, "at least 2 paths in sample2", True),
    ("sig_score", (X[:1], Y), FD, ValueError, "at least 2 sample paths", True),
    ("sig_score", (X, Y), {"lam": "1", **FD}, TypeError, "lam", False),
    ("sig_score", ([1.0], Y), FD, TypeError, "sample must be of type", True),
    ("expected_sig_score", (X, Y), {"method": "polynomial"}, ValueError, "order is required", True),
]


@pytest.mark.parametrize("fn, args, kwargs, error, message, same_in_pysiglib", CASES, ids=lambda v: None)
def test_bad_arguments(fn, args, kwargs, error, message, same_in_pysiglib):
    with pytest.raises(error, match=message) as raised:
        getattr(ts, fn)(*args, **kwargs)
    assert isinstance(raised.value, ts.TensorsigError)  # and a built-in class, as in pysiglib


@pytest.mark.parametrize("fn, args, kwargs, error, message, same_in_pysiglib", [c for c in CASES if c[5]])
def test_pysiglib_raises_the_same_type(fn, args, kwargs, error, message, same_in_pysiglib):
    pysiglib = pytest.importorskip("pysiglib")
    kwargs = {
        k: getattr(pysiglib, type(v).__name__, v) if v is ts.RBFKernel else v for k, v in kwargs.items()
    }
    with pytest.raises(error):
        getattr(pysiglib, fn)(*args, **kwargs)


@pytest.mark.parametrize(
    "build, error, message",
    [
        (lambda: ts.RBFKernel(0.0), ValueError, "sigma must be > 0"),
        (lambda: ts.RBFKernel(-1.0), ValueError, "sigma must be > 0"),
        (lambda: ts.Matern12Kernel(math.nan), ValueError, "sigma must be > 0"),
        (lambda: ts.Matern32Kernel(math.inf), ValueError, "sigma must be > 0"),
        (lambda: ts.Matern52Kernel("1"), TypeError, "sigma must be a real number"),
        (lambda: ts.ScaledLinearKernel(-1.0), ValueError, "scale must be >= 0"),
        (lambda: ts.PolynomialKernel(degree=-1.0), ValueError, "degree must be >= 0"),
        (lambda: ts.PolynomialKernel(scale=-1.0), ValueError, "scale must be >= 0"),
        (lambda: ts.PolynomialKernel(gamma=math.inf), ValueError, "gamma must be finite"),
        (lambda: ts.RationalQuadraticKernel(1.0, alpha=0.0), ValueError, "alpha must be > 0"),
        (lambda: ts.RationalQuadraticKernel(0.0), ValueError, "sigma must be > 0"),
        (lambda: ts.StaticKernel(), TypeError, "abstract"),
    ],
)
def test_bad_static_kernels(build, error, message):
    with pytest.raises(error, match=message) as raised:
        build()
    if message != "abstract":  # Python's own refusal to instantiate an abstract class
        assert isinstance(raised.value, ts.TensorsigError)


def test_custom_kernel_of_the_wrong_shape():
    torch = pytest.importorskip("torch")

    class Wrong(ts.StaticKernel):
        def __call__(self, ctx, x, y):
            return torch.zeros(x.shape[0], 2, 2, dtype=x.dtype)

        def grad_x(self, ctx, derivs):
            raise AssertionError

        def grad_y(self, ctx, derivs):
            raise AssertionError

    with pytest.raises(ValueError, match="returned increments of shape"):
        ts.sig_kernel(X, Y, dyadic_order=0, static_kernel=Wrong())


def test_cuda_tensors_are_refused_clearly():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    x = torch.zeros(2, 3, 2, device="cuda")
    with pytest.raises(RuntimeError, match="on the CPU"):
        ts.sig_kernel(x, x, dyadic_order=0)
