"""The signature-kernel gradients are the exact adjoint of the discrete schemes: torch gradcheck
(float64 finite differences) of small autograd functions built from the numpy-level API, as an
autograd integration would build them."""

from __future__ import annotations

import numpy as np
import pytest

import tensorsig as ts
from tensorsig._sigkernel_increments import sig_kernel_from_increments, sig_kernel_from_increments_backprop

torch = pytest.importorskip("torch")


class Kernel(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, y, options):
        ctx.save_for_backward(x, y)
        ctx.options = options
        return ts.sig_kernel(x, y, **options)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        dx, dy = ts.sig_kernel_backprop(
            grad.contiguous(), x, y, left_deriv=ctx.needs_input_grad[0], right_deriv=ctx.needs_input_grad[1],
            **ctx.options,
        )  # fmt: skip
        return dx, dy, None


class Gram(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, y, options):
        ctx.symmetric = x is y
        ctx.save_for_backward(x, y)
        ctx.options = options
        return ts.sig_kernel_gram(x, x if ctx.symmetric else y, **options)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        dx, dy = ts.sig_kernel_gram_backprop(
            grad.contiguous(), x, x if ctx.symmetric else y, left_deriv=True, right_deriv=True, **ctx.options
        )
        return dx, dy, None


class Increments(torch.autograd.Function):
    @staticmethod
    def forward(ctx, g, options):
        ctx.save_for_backward(g)
        ctx.options = options
        return sig_kernel_from_increments(g, **options)

    @staticmethod
    def backward(ctx, grad):
        (g,) = ctx.saved_tensors
        return sig_kernel_from_increments_backprop(grad.contiguous(), g, **ctx.options), None


def _paths(shape, seed, scale=0.5):
    rng = np.random.default_rng(seed)
    return torch.tensor(rng.normal(size=shape) * scale, dtype=torch.float64, requires_grad=True)


class OwnRBF(ts.RBFKernel):
    """A subclass: not the built-in kernel any more, so it runs through its torch methods."""


KERNELS = [
    ts.LinearKernel(),
    ts.ScaledLinearKernel(1.3),
    ts.RBFKernel(0.7),
    ts.Matern12Kernel(0.9),
    ts.Matern32Kernel(0.8),
    ts.Matern52Kernel(1.2),
    ts.PolynomialKernel(3.0, 1.0, 0.5),
    ts.PolynomialKernel(1.5, 2.0, 0.5),
    ts.RationalQuadraticKernel(0.8, 2.5),
    OwnRBF(0.7),
]
METHODS = [{"dyadic_order": 0}, {"dyadic_order": (1, 2)}, {"method": "polynomial", "order": 4}]


@pytest.mark.parametrize("kernel", KERNELS, ids=lambda k: type(k).__name__)
@pytest.mark.parametrize("options", METHODS, ids=str)
def test_sig_kernel(kernel, options):
    x, y = _paths((2, 4, 2), 1), _paths((2, 3, 2), 2)
    assert torch.autograd.gradcheck(Kernel.apply, (x, y, {"static_kernel": kernel, **options}))


@pytest.mark.parametrize("options", METHODS, ids=str)
@pytest.mark.parametrize(
    "kernel", [ts.LinearKernel(), ts.Matern52Kernel(0.9), OwnRBF(0.7)], ids=lambda k: type(k).__name__
)
def test_grids_transforms_and_stored_grids(options, kernel):
    x, y = _paths((2, 3, 2), 3), _paths((2, 4, 2), 4)
    flags = {"time_aug": True, "lead_lag": True, "end_time": 0.7}
    assert torch.autograd.gradcheck(
        Kernel.apply, (x, y, {"return_grid": True, "static_kernel": kernel, **options})
    )
    assert torch.autograd.gradcheck(Kernel.apply, (x, y, {"static_kernel": kernel, **flags, **options}))
    if "dyadic_order" in options:
        k_grid = ts.sig_kernel(x.detach(), y.detach(), return_grid=True, static_kernel=kernel, **options)
        derivs = torch.ones(2, dtype=torch.float64)
        stored = ts.sig_kernel_backprop(
            derivs, x.detach(), y.detach(), k_grid=k_grid, static_kernel=kernel, right_deriv=True, **options
        )
        fresh = ts.sig_kernel_backprop(
            derivs, x.detach(), y.detach(), static_kernel=kernel, right_deriv=True, **options
        )
        for a, b in zip(stored, fresh):
            torch.testing.assert_close(a, b, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("options", METHODS, ids=str)
@pytest.mark.parametrize("grid", [False, True])
def test_gram(options, grid):
    x, y = _paths((3, 4, 2), 5), _paths((2, 3, 2), 6)
    kernel = {"static_kernel": ts.RBFKernel(0.9), "return_grid": grid, **options}
    assert torch.autograd.gradcheck(Gram.apply, (x, y, kernel))
    assert torch.autograd.gradcheck(Gram.apply, (x, x, kernel))
    assert torch.autograd.gradcheck(
        Gram.apply, (x, x, {**kernel, "static_kernel": OwnRBF(0.9), "max_batch": 2})
    )


@pytest.mark.parametrize("options", METHODS, ids=str)
def test_increments(options):
    g = _paths((3, 3, 4), 7, scale=1.0)
    assert torch.autograd.gradcheck(Increments.apply, (g, options))
    assert torch.autograd.gradcheck(Increments.apply, (g, {"return_grid": True, **options}))


def test_many_lanes_and_checkpointed_rows():
    # Enough pairs for several lane groups, and long enough paths that the adjoint recomputes its
    # rows from checkpoints (more than 8 MiB of rows per group).
    rng = np.random.default_rng(8)
    x = torch.tensor(rng.normal(size=(9, 300, 2)) * 0.05)
    y = torch.tensor(rng.normal(size=(9, 200, 2)) * 0.05)
    derivs = torch.tensor(rng.normal(size=9))
    options = {"dyadic_order": (2, 1), "static_kernel": ts.RBFKernel(0.5)}
    k_grid = ts.sig_kernel(x, y, return_grid=True, **options)
    stored = ts.sig_kernel_backprop(derivs, x, y, k_grid=k_grid, right_deriv=True, **options)
    fresh = ts.sig_kernel_backprop(derivs, x, y, right_deriv=True, **options)
    for a, b in zip(stored, fresh):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)
    # Directional derivative against central differences.
    v = torch.tensor(rng.normal(size=x.shape))
    h = 1e-5
    numeric = (ts.sig_kernel(x + h * v, y, **options) - ts.sig_kernel(x - h * v, y, **options)) / (2 * h)
    assert float((numeric * derivs).sum()) == pytest.approx(float((fresh[0] * v).sum()), rel=1e-6)


def test_static_kernel_methods_are_adjoint_to_their_increments():
    for kernel in KERNELS[:-1]:
        x, y = _paths((2, 5, 3), 9), _paths((2, 4, 3), 10)
        derivs = torch.tensor(np.random.default_rng(11).normal(size=(2, 4, 3)))
        ctx = ts.Context()
        g = kernel(ctx, x.detach(), y.detach())
        expected = torch.autograd.grad(kernel(ts.Context(), x, y), (x, y), derivs)
        torch.testing.assert_close(kernel.grad_x(ctx, derivs), expected[0])
        torch.testing.assert_close(kernel.grad_y(ctx, derivs), expected[1])
        assert g.shape == (2, 4, 3)
