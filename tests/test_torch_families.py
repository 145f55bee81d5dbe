"""torch_api's log-signature and signature-kernel functions: gradients against finite
differences (gradcheck), the same values as the plain functions, a second derivative refused."""

from __future__ import annotations

import numpy as np
import pytest

import tensorsig as ts

torch = pytest.importorskip("torch")
import tensorsig.torch_api as ta  # noqa: E402

F64 = torch.float64


def rand(*shape: int, seed: int = 0, scale: float = 0.5) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return (torch.randn(*shape, generator=generator, dtype=F64) * scale).requires_grad_(True)


LOGSIG_CASES = {
    "log_sig": (lambda p: ta.log_sig(p, 3, time_aug=True), lambda: (rand(2, 5, 2),)),
    "log_sig-method0": (lambda p: ta.log_sig(p, 3, method=0), lambda: (rand(2, 4, 2),)),
    "log_sig-method3": (lambda p: ta.log_sig(p, 3, method=3, lead_lag=True), lambda: (rand(2, 4, 2),)),
    "log_sig-correction": (
        lambda p: ta.log_sig(p, 3, correction=torch.full((4,), 0.05, dtype=F64), method=2),
        lambda: (rand(2, 5, 2),),
    ),
    "sig_to_log_sig": (
        lambda s: ta.sig_to_log_sig(s, 2, 3, method=2),
        lambda: (ta.sig(rand(3, 4, 2, seed=1), 3).detach().requires_grad_(True),),
    ),
    "logsig_to_sig": (lambda ls: ta.logsig_to_sig(ls, 2, 3, method=1), lambda: (rand(3, 5, seed=2),)),
    "log_sig_combine": (
        lambda a, b: ta.log_sig_combine(a, b, 2, 3),
        lambda: (rand(2, 5, seed=3), rand(2, 5, seed=4)),
    ),
    "log_sig_join": (
        lambda ls, v: ta.log_sig_join(ls, v, 2, 3),
        lambda: (rand(2, 5, seed=5), rand(2, 2, seed=6)),
    ),
    "linear_log_sig": (lambda v: ta.linear_log_sig(v, 2, 3, method=2), lambda: (rand(3, 2, seed=7),)),
}

KERNEL_CASES = {
    "sig_kernel": (
        lambda x, y: ta.sig_kernel(x, y, dyadic_order=1),
        lambda: (rand(2, 4, 2), rand(2, 5, 2, seed=1)),
    ),
    "sig_kernel-rbf-polynomial": (
        lambda x, y: ta.sig_kernel(x, y, method="polynomial", order=3, static_kernel=ts.RBFKernel(1.0)),
        lambda: (rand(2, 4, 2), rand(2, 3, 2, seed=1)),
    ),
    "sig_kernel-normalize": (
        lambda x, y: ta.sig_kernel(x, y, dyadic_order=1, normalize=True),
        lambda: (rand(2, 4, 2), rand(2, 4, 2, seed=1)),
    ),
    "sig_kernel_gram": (
        lambda x, y: ta.sig_kernel_gram(x, y, dyadic_order=1, time_aug=True),
        lambda: (rand(3, 4, 2), rand(2, 5, 2, seed=1)),
    ),
    "sig_kernel_gram-normalize": (
        lambda x, y: ta.sig_kernel_gram(x, y, dyadic_order=1, normalize=True),
        lambda: (rand(3, 4, 2), rand(2, 4, 2, seed=1)),
    ),
    "sig_mmd": (
        lambda x, y: ta.sig_mmd(x, y, dyadic_order=1),
        lambda: (rand(3, 4, 2), rand(3, 4, 2, seed=1)),
    ),
    "sig_score": (
        lambda x, y: ta.sig_score(x, y, dyadic_order=1),
        lambda: (rand(3, 4, 2), rand(2, 4, 2, seed=1)),
    ),
    "expected_sig_score": (
        lambda x, y: ta.expected_sig_score(x, y, dyadic_order=1),
        lambda: (rand(3, 4, 2), rand(2, 4, 2, seed=1)),
    ),
}

CASES = {**LOGSIG_CASES, **KERNEL_CASES}


@pytest.mark.parametrize("name", CASES)
def test_gradients_match_finite_differences(name):
    function, inputs = CASES[name]
    assert torch.autograd.gradcheck(function, inputs(), atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("name", CASES)
def test_values_are_the_plain_functions(name):
    function, inputs = CASES[name]
    tensors = inputs()
    with torch.no_grad():
        plain = function(*tensors)  # no gradient wanted: straight to the plain function
    tracked = function(*tensors)
    assert tracked.requires_grad
    torch.testing.assert_close(tracked.detach(), plain, equal_nan=True)


def test_only_the_inputs_that_require_grad_get_gradients():
    x, y = rand(2, 4, 2), rand(2, 4, 2, seed=1).detach()
    ta.sig_kernel(x, y, dyadic_order=1).sum().backward()
    assert x.grad is not None and y.grad is None


def test_a_second_derivative_is_refused_not_silently_zero():
    path = rand(2, 4, 2)
    (grad,) = torch.autograd.grad(ta.log_sig(path, 3).pow(2).sum(), path, create_graph=True)
    with pytest.raises(RuntimeError, match=r"once_differentiable|does not require grad"):
        grad.sum().backward()


def test_numpy_in_numpy_out():
    path = np.random.default_rng(0).normal(size=(2, 5, 2))
    assert isinstance(ta.log_sig(path, 3), np.ndarray)
    assert isinstance(ta.sig_kernel(path, path, dyadic_order=0), np.ndarray)


def test_the_same_objects_as_the_plain_api():
    for name in ("LogSigStream", "RBFKernel", "Context", "log_sig_length", "clear_cache", "prepare_log_sig"):
        assert getattr(ta, name) is getattr(ts, name)
