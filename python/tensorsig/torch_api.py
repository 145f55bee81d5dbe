"""Differentiable signatures for torch: ``tensorsig.torch_api``.

The same functions as ``pysiglib.torch_api`` -- ``sig`` (``signature``), ``sig_combine`` and
``transform_path`` -- built on ``torch.library`` custom operators in the ``tensorsig`` namespace,
each with a fake (meta) implementation and registered autograd. So they

- differentiate with respect to every tensor input (paths; both signatures of a product), for all
  flags, batch shapes, float32 and float64;
- differentiate twice: ``torch.autograd.grad(..., create_graph=True)`` through ``sig`` and
  ``sig_combine`` gives exact second derivatives (gradient penalties, Hessian-vector products),
  which pysiglib does not (it silently drops them);
- trace under ``torch.compile(..., fullgraph=True)`` with no graph break.

numpy inputs pass straight through to the plain functions and return numpy arrays, as in pysiglib.

The operators (``torch.ops.tensorsig.*``) are: ``sig``, ``sig_backprop``, ``sig_backprop_jvp``
(forward-over-reverse second derivatives), ``sig_combine``, ``sig_combine_backprop``,
``transform_path`` and ``transform_path_backprop``.

>>> import torch, tensorsig.torch_api as ta
>>> path = torch.randn(8, 50, 3, dtype=torch.float64, requires_grad=True)
>>> loss = ta.sig(path, 4, time_aug=True).pow(2).sum()
>>> (grad,) = torch.autograd.grad(loss, path, create_graph=True)
>>> grad.pow(2).sum().backward()   # a gradient penalty: second derivatives
>>> path.grad.shape
torch.Size([8, 50, 3])
"""

from __future__ import annotations

from typing import Any

import torch

from . import _combine, _signature, _transform
from ._checks import (
    augmented_dimension,
    check_bool,
    check_n_jobs,
    check_non_negative_int,
    check_path_flags,
    infer_scalar_term,
    signature_length,
)

__all__ = ["sig", "sig_combine", "signature", "transform_path"]

Tensor = torch.Tensor


# --- operators ---------------------------------------------------------------------------------
# Each eager implementation hands its tensors, CPU or CUDA, to the plain functions, which read them
# in place (numpy views on the CPU, device pointers on the GPU) and return tensors allocated by
# torch on the same device: no copies.


def _batch_shape(path: Tensor) -> tuple[int, ...]:
    return tuple(path.shape[:-2])


@torch.library.custom_op("tensorsig::sig", mutates_args=())
def _sig_op(
    path: Tensor, degree: int, time_aug: bool, lead_lag: bool, end_time: float, scalar_term: bool, n_jobs: int
) -> Tensor:
    return _signature.sig(
        path,
        degree,
        time_aug=time_aug,
        lead_lag=lead_lag,
        end_time=end_time,
        scalar_term=scalar_term,
        n_jobs=n_jobs,
    )


@_sig_op.register_fake
def _(path, degree, time_aug, lead_lag, end_time, scalar_term, n_jobs):
    width = signature_length(augmented_dimension(path.shape[-1], time_aug, lead_lag), degree, scalar_term)
    return path.new_empty((*_batch_shape(path), width))


@torch.library.custom_op("tensorsig::sig_backprop", mutates_args=())
def _sig_backprop_op(
    path: Tensor,
    sig: Tensor,
    sig_derivs: Tensor,
    degree: int,
    time_aug: bool,
    lead_lag: bool,
    end_time: float,
    n_jobs: int,
) -> Tensor:
    return _signature.sig_backprop(
        path, sig, sig_derivs, degree, time_aug=time_aug, lead_lag=lead_lag, end_time=end_time, n_jobs=n_jobs
    )


@_sig_backprop_op.register_fake
def _(path, sig, sig_derivs, degree, time_aug, lead_lag, end_time, n_jobs):
    return torch.empty_like(path)


@torch.library.custom_op("tensorsig::sig_backprop_jvp", mutates_args=())
def _sig_backprop_jvp_op(
    path: Tensor,
    directions: Tensor,
    sig_derivs: Tensor,
    degree: int,
    time_aug: bool,
    lead_lag: bool,
    end_time: float,
    n_jobs: int,
) -> tuple[Tensor, Tensor]:
    return _signature._sig_backprop_jvp(
        path,
        directions,
        sig_derivs,
        degree,
        time_aug=time_aug,
        lead_lag=lead_lag,
        end_time=end_time,
        n_jobs=n_jobs,
    )


@_sig_backprop_jvp_op.register_fake
def _(path, directions, sig_derivs, degree, time_aug, lead_lag, end_time, n_jobs):
    return torch.empty_like(sig_derivs), torch.empty_like(path)


@torch.library.custom_op("tensorsig::sig_combine", mutates_args=())
def _sig_combine_op(
    sig1: Tensor, sig2: Tensor, dimension: int, degree: int, time_aug: bool, lead_lag: bool, n_jobs: int
) -> Tensor:
    return _combine.sig_combine(
        sig1, sig2, dimension, degree, time_aug=time_aug, lead_lag=lead_lag, n_jobs=n_jobs
    )


@_sig_combine_op.register_fake
def _(sig1, sig2, dimension, degree, time_aug, lead_lag, n_jobs):
    return torch.empty_like(sig1)


@torch.library.custom_op("tensorsig::sig_combine_backprop", mutates_args=())
def _sig_combine_backprop_op(
    deriv: Tensor,
    sig1: Tensor,
    sig2: Tensor,
    dimension: int,
    degree: int,
    time_aug: bool,
    lead_lag: bool,
    n_jobs: int,
) -> tuple[Tensor, Tensor]:
    return _combine.sig_combine_backprop(
        deriv, sig1, sig2, dimension, degree, time_aug=time_aug, lead_lag=lead_lag, n_jobs=n_jobs
    )


@_sig_combine_backprop_op.register_fake
def _(deriv, sig1, sig2, dimension, degree, time_aug, lead_lag, n_jobs):
    return torch.empty_like(sig1), torch.empty_like(sig2)


@torch.library.custom_op("tensorsig::transform_path", mutates_args=())
def _transform_path_op(path: Tensor, time_aug: bool, lead_lag: bool, end_time: float, n_jobs: int) -> Tensor:
    if not (time_aug or lead_lag):
        return path.clone()  # an operator's output never aliases its input
    return _transform.transform_path(
        path, time_aug=time_aug, lead_lag=lead_lag, end_time=end_time, n_jobs=n_jobs
    )


@_transform_path_op.register_fake
def _(path, time_aug, lead_lag, end_time, n_jobs):
    length, dimension = path.shape[-2], path.shape[-1]
    if lead_lag:
        length, dimension = 2 * length - 1, 2 * dimension
    return path.new_empty((*_batch_shape(path), length, dimension + int(time_aug)))


@torch.library.custom_op("tensorsig::transform_path_backprop", mutates_args=())
def _transform_path_backprop_op(
    derivs: Tensor, time_aug: bool, lead_lag: bool, end_time: float, n_jobs: int
) -> Tensor:
    if not (time_aug or lead_lag):
        return derivs.clone()
    return _transform.transform_path_backprop(
        derivs, time_aug=time_aug, lead_lag=lead_lag, end_time=end_time, n_jobs=n_jobs
    )


@_transform_path_backprop_op.register_fake
def _(derivs, time_aug, lead_lag, end_time, n_jobs):
    length, dimension = derivs.shape[-2], derivs.shape[-1] - int(time_aug)
    if lead_lag:
        length, dimension = (length + 1) // 2, dimension // 2
    return derivs.new_empty((*_batch_shape(derivs), length, dimension))


# --- autograd ----------------------------------------------------------------------------------
# Every backward is written with the operators above, so that it is itself differentiable.


def _sig_setup(ctx, inputs, output):
    path, degree, time_aug, lead_lag, end_time, _scalar_term, n_jobs = inputs
    ctx.save_for_backward(path, output)
    ctx.args = (degree, time_aug, lead_lag, end_time, n_jobs)


def _sig_backward(ctx, grad):
    path, sig_ = ctx.saved_tensors
    if not ctx.needs_input_grad[0]:
        return (None,) * 7
    return (_sig_backprop_op(path, sig_, grad, *ctx.args), *(None,) * 6)


_sig_op.register_autograd(_sig_backward, setup_context=_sig_setup)


def _sig_backprop_setup(ctx, inputs, output):
    path, _sig, sig_derivs, degree, time_aug, lead_lag, end_time, n_jobs = inputs
    ctx.save_for_backward(path, sig_derivs)
    ctx.args = (degree, time_aug, lead_lag, end_time, n_jobs)


def _sig_backprop_backward(ctx, grad):
    # d(path grad) = H v along the path and J v along sig_derivs, both from one forward-over-reverse
    # pass. `sig` is the reversible walk's starting point S(path): its dependence on the path is
    # already inside H, so it gets no gradient of its own.
    path, sig_derivs = ctx.saved_tensors
    jvp, hvp = _sig_backprop_jvp_op(path, grad.contiguous(), sig_derivs, *ctx.args)
    return hvp, None, jvp, None, None, None, None, None


_sig_backprop_op.register_autograd(_sig_backprop_backward, setup_context=_sig_backprop_setup)


def _combine_setup(ctx, inputs, output):
    sig1, sig2, dimension, degree, time_aug, lead_lag, n_jobs = inputs
    ctx.save_for_backward(sig1, sig2)
    ctx.args = (dimension, degree, time_aug, lead_lag, n_jobs)


def _combine_backward(ctx, grad):
    sig1, sig2 = ctx.saved_tensors
    d1, d2 = _sig_combine_backprop_op(grad, sig1, sig2, *ctx.args)
    return d1, d2, None, None, None, None, None


_sig_combine_op.register_autograd(_combine_backward, setup_context=_combine_setup)


def _combine_backprop_setup(ctx, inputs, output):
    deriv, sig1, sig2, dimension, degree, time_aug, lead_lag, n_jobs = inputs
    ctx.save_for_backward(deriv, sig1, sig2)
    ctx.args = (dimension, degree, time_aug, lead_lag, n_jobs)
    ctx.scalar_term = infer_scalar_term(sig1.shape[-1], "sig1", dimension, degree, time_aug, lead_lag)


def _combine_backprop_backward(ctx, grad1, grad2):
    # sig_combine_backprop is bilinear. With G = deriv, A = sig1, B = sig2 and cotangents u, w of
    # its two results, the function differentiated is <u, dA> + <w, dB> = <G, u⊗(1+B) + (1+A)⊗w>,
    # whose gradients are again products and their adjoints:
    #   G: u⊗(1+B) + (1+A)⊗w = (sig_combine(u, B) - B) + (sig_combine(A, w) - A)
    #   A: sig_combine_backprop(G, A, w)[0] - G        B: sig_combine_backprop(G, u, B)[1] - G
    deriv, sig1, sig2 = ctx.saved_tensors
    d_deriv = d_sig1 = d_sig2 = None
    if grad1 is not None:
        d_deriv = _sig_combine_op(grad1, sig2, *ctx.args) - sig2
        d_sig2 = _sig_combine_backprop_op(deriv, grad1, sig2, *ctx.args)[1] - deriv
    if grad2 is not None:
        from_w = _sig_combine_op(sig1, grad2, *ctx.args) - sig1
        d_deriv = from_w if d_deriv is None else d_deriv + from_w
        d_sig1 = _sig_combine_backprop_op(deriv, sig1, grad2, *ctx.args)[0] - deriv
    if ctx.scalar_term:
        # The scalar entries are read as 1 whatever they hold: they get no gradient.
        d_deriv, d_sig1, d_sig2 = (
            None if t is None else _without_scalar(t) for t in (d_deriv, d_sig1, d_sig2)
        )
    return d_deriv, d_sig1, d_sig2, None, None, None, None, None


def _without_scalar(t: Tensor) -> Tensor:
    return torch.cat([torch.zeros_like(t[..., :1]), t[..., 1:]], dim=-1)


_sig_combine_backprop_op.register_autograd(_combine_backprop_backward, setup_context=_combine_backprop_setup)


def _transform_setup(ctx, inputs, output):
    ctx.args = inputs[1:]


def _transform_backward(ctx, grad):
    return _transform_path_backprop_op(grad.contiguous(), *ctx.args), None, None, None, None


_transform_path_op.register_autograd(_transform_backward, setup_context=_transform_setup)


def _transform_backprop_backward(ctx, grad):
    # The adjoint of the adjoint is the transform itself, less the time channel (a constant).
    time_aug, lead_lag, end_time, n_jobs = ctx.args
    moved = _transform_path_op(grad, False, lead_lag, end_time, n_jobs)
    if time_aug:
        moved = torch.cat([moved, torch.zeros_like(moved[..., :1])], dim=-1)
    return moved, None, None, None, None


_transform_path_backprop_op.register_autograd(_transform_backprop_backward, setup_context=_transform_setup)


# --- the public functions ----------------------------------------------------------------------


def _check_tensor(value: Tensor, name: str, min_rank: int) -> None:
    """Metadata checks that also hold for fake tensors under torch.compile."""
    if value.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"{name}.dtype must be float32 or float64, got {value.dtype}")
    if value.dim() < min_rank:
        raise ValueError(f"{name} must have at least rank {min_rank}, got rank {value.dim()}")


def sig(
    path: Any,
    degree: int,
    *,
    time_aug: bool = False,
    lead_lag: bool = False,
    end_time: float = 1.0,
    horner: bool = True,
    scalar_term: bool = False,
    n_jobs: int = 1,
) -> Any:
    if not isinstance(path, torch.Tensor):
        return _signature.sig(
            path,
            degree,
            time_aug=time_aug,
            lead_lag=lead_lag,
            end_time=end_time,
            horner=horner,
            scalar_term=scalar_term,
            n_jobs=n_jobs,
        )
    check_non_negative_int(degree, "degree")
    check_bool(horner, "horner")
    check_path_flags(time_aug, lead_lag, end_time)
    check_bool(scalar_term, "scalar_term")
    n_jobs = check_n_jobs(n_jobs)
    _check_tensor(path, "path", 2)
    if path.shape[-1] == 0:
        raise ValueError("path has 0 channels (dimension); a path needs at least one")
    return _sig_op(path, degree, time_aug, lead_lag, end_time, scalar_term, n_jobs)


sig.__doc__ = (
    (_signature.sig.__doc__ or "")
    + """
    In ``tensorsig.torch_api``, differentiable (twice) with respect to ``path``.
    """
)

#: Alias of :func:`sig`, as in pysiglib.
signature = sig


def sig_combine(
    sig1: Any,
    sig2: Any,
    dimension: int,
    degree: int,
    *,
    time_aug: bool = False,
    lead_lag: bool = False,
    n_jobs: int = 1,
) -> Any:
    if not (isinstance(sig1, torch.Tensor) and isinstance(sig2, torch.Tensor)):
        return _combine.sig_combine(
            sig1, sig2, dimension, degree, time_aug=time_aug, lead_lag=lead_lag, n_jobs=n_jobs
        )
    check_non_negative_int(dimension, "dimension")
    check_non_negative_int(degree, "degree")
    check_bool(time_aug, "time_aug")
    check_bool(lead_lag, "lead_lag")
    n_jobs = check_n_jobs(n_jobs)
    for t, name in ((sig1, "sig1"), (sig2, "sig2")):
        _check_tensor(t, name, 1)
    if sig1.shape != sig2.shape:
        raise ValueError(
            f"sig1 and sig2 must have the same shape, got {tuple(sig1.shape)} and {tuple(sig2.shape)}"
        )
    if sig1.dtype != sig2.dtype:
        raise ValueError("sig1, sig2 must have the same dtype")
    if dimension == 0:
        raise ValueError("dimension must be at least 1, got dimension = 0")
    infer_scalar_term(sig1.shape[-1], "sig1", dimension, degree, time_aug, lead_lag)
    return _sig_combine_op(sig1, sig2, dimension, degree, time_aug, lead_lag, n_jobs)


sig_combine.__doc__ = (
    (_combine.sig_combine.__doc__ or "")
    + """
    In ``tensorsig.torch_api``, differentiable (twice) with respect to ``sig1`` and ``sig2``.
    """
)


def transform_path(
    path: Any,
    *,
    time_aug: bool = False,
    lead_lag: bool = False,
    end_time: float = 1.0,
    n_jobs: int = 1,
) -> Any:
    if not isinstance(path, torch.Tensor):
        return _transform.transform_path(
            path, time_aug=time_aug, lead_lag=lead_lag, end_time=end_time, n_jobs=n_jobs
        )
    check_path_flags(time_aug, lead_lag, end_time)
    n_jobs = check_n_jobs(n_jobs)
    _check_tensor(path, "path", 2)
    if time_aug and path.shape[-2] < 2:
        raise ValueError(f"transform_path(time_aug=True) requires path length >= 2, got {path.shape[-2]}")
    return _transform_path_op(path, time_aug, lead_lag, end_time, n_jobs)


transform_path.__doc__ = (
    (_transform.transform_path.__doc__ or "")
    + """
    In ``tensorsig.torch_api``, differentiable with respect to ``path``.
    """
)
