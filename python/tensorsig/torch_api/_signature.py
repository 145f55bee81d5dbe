"""Autograd of the signature operators: first and second derivatives of ``sig``.

Every backward of an operator is written with operators, so that it is itself differentiable.
``sig`` with ``correction``, ``stream`` or ``lengths`` is differentiable once (and eager only, so
far: it runs outside the operators).
"""

from __future__ import annotations

import copy
import functools
from typing import Any

import torch
from torch.autograd.function import once_differentiable

from .. import _core
from .._sig_options import sig_backprop_with_options, sig_with_options
from .._signature import native_sig
from ._registry import operators

sig, sig_backprop, sig_backprop_jvp = (operators[n] for n in ("sig", "sig_backprop", "sig_backprop_jvp"))


def _sig_setup(ctx: Any, inputs: tuple[Any, ...], output: torch.Tensor) -> None:
    path, degree, time_aug, lead_lag, end_time, _horner, _scalar_term, n_jobs = inputs
    ctx.save_for_backward(path, output)
    ctx.args = (degree, time_aug, lead_lag, end_time, n_jobs)


def _sig_backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:
    path, signature = ctx.saved_tensors
    if not ctx.needs_input_grad[0]:
        return (None,) * 8
    return (sig_backprop(path, signature, grad, *ctx.args), *(None,) * 7)


def _sig_backprop_setup(ctx: Any, inputs: tuple[Any, ...], output: torch.Tensor) -> None:
    path, _sig, sig_derivs, degree, time_aug, lead_lag, end_time, n_jobs = inputs
    ctx.save_for_backward(path, sig_derivs)
    ctx.args = (degree, time_aug, lead_lag, end_time, n_jobs)


def _sig_backprop_backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:
    # d(path grad) = H v along the path and J v along sig_derivs, both from one forward-over-reverse
    # pass. `sig` is the reversible walk's starting point S(path): its dependence on the path is
    # already inside H, so it gets no gradient of its own.
    path, sig_derivs = ctx.saved_tensors
    jvp, hvp = sig_backprop_jvp(path, grad.contiguous(), sig_derivs, *ctx.args)
    return hvp, None, jvp, None, None, None, None, None


#: torch_api's shortcut for ``sig`` of a plain CPU tensor that no autograd, tracing or mode needs
#: to see (the dispatcher has checked that): the native code reads the tensor in place and
#: returns the signatures as a tensor, as ``tensorsig.sig`` does for numpy arrays. A short path's
#: call then costs about twice the numpy call, not three times (through the tensor's numpy view).
#: None for anything else (another dtype, a lazy negation, no strides): ``sig`` then takes it.
sig_of_cpu_tensor = functools.partial(native_sig, _core.sig_new_tensor)


sig.register_autograd(_sig_backward, setup_context=_sig_setup)
sig_backprop.register_autograd(_sig_backprop_backward, setup_context=_sig_backprop_setup)


class _SigWithOptions(torch.autograd.Function):
    """``sig`` with ``correction``, ``stream`` or ``lengths``, to first order: the forward and
    backward passes are the plain API's (``tensorsig._sig_options``), run on the tensors' memory.
    The correction is a constant (no gradient), as in :func:`tensorsig.sig_backprop`, saved like
    the path so that changing either in place before the backward pass raises. A second
    derivative raises (``once_differentiable``) instead of silently returning zeros."""

    @staticmethod
    def forward(ctx: Any, path: torch.Tensor, correction: Any, options: dict[str, Any]) -> torch.Tensor:
        result = sig_with_options(path, correction=correction, **options)
        tensors = (path, result, correction) if isinstance(correction, torch.Tensor) else (path, result)
        ctx.save_for_backward(*tensors)
        ctx.correction, ctx.options = (None if len(tensors) == 3 else correction), options
        return result  # type: ignore[no-any-return]

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:
        path, result, *saved_correction = ctx.saved_tensors
        correction = saved_correction[0] if saved_correction else ctx.correction
        options = {k: v for k, v in ctx.options.items() if k not in ("horner", "scalar_term")}
        d_path = sig_backprop_with_options(path, result, grad.contiguous(), correction=correction, **options)
        return d_path, None, None


def sig_with_options_autograd(path: torch.Tensor, correction: Any = None, **options: Any) -> torch.Tensor:
    """torch_api's ``sig`` when ``correction``, ``stream`` or ``lengths`` is given. ``lengths``
    is copied: the backward pass must see the lengths of the forward one."""
    if isinstance(correction, torch.Tensor):
        correction = correction.detach()
    options["lengths"] = copy.deepcopy(options.get("lengths"))  # arrays, tensors, lists alike
    result: torch.Tensor = _SigWithOptions.apply(path, correction, options)
    return result
