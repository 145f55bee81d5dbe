"""Autograd of the Chen-product operators, to second order.

Every backward is written with operators, so that it is itself differentiable.
"""

from __future__ import annotations

from typing import Any

import torch

from .._checks import infer_scalar_term
from ._registry import operators

sig_combine, sig_combine_backprop = operators["sig_combine"], operators["sig_combine_backprop"]


def _combine_setup(ctx: Any, inputs: tuple[Any, ...], output: torch.Tensor) -> None:
    sig1, sig2, dimension, degree, time_aug, lead_lag, n_jobs = inputs
    ctx.save_for_backward(sig1, sig2)
    ctx.args = (dimension, degree, time_aug, lead_lag, n_jobs)


def _combine_backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:
    sig1, sig2 = ctx.saved_tensors
    d1, d2 = sig_combine_backprop(grad, sig1, sig2, *ctx.args)
    return d1, d2, None, None, None, None, None


def _combine_backprop_setup(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
    deriv, sig1, sig2, dimension, degree, time_aug, lead_lag, n_jobs = inputs
    ctx.save_for_backward(deriv, sig1, sig2)
    ctx.args = (dimension, degree, time_aug, lead_lag, n_jobs)
    ctx.scalar_term = infer_scalar_term(sig1.shape[-1], "sig1", dimension, degree, time_aug, lead_lag)


def _combine_backprop_backward(ctx: Any, grad1: torch.Tensor, grad2: torch.Tensor) -> tuple[Any, ...]:
    # sig_combine_backprop is bilinear. With G = deriv, A = sig1, B = sig2 and cotangents u, w of
    # its two results, the function differentiated is <u, dA> + <w, dB> = <G, u⊗(1+B) + (1+A)⊗w>,
    # whose gradients are again products and their adjoints:
    #   G: u⊗(1+B) + (1+A)⊗w = (sig_combine(u, B) - B) + (sig_combine(A, w) - A)
    #   A: sig_combine_backprop(G, A, w)[0] - G        B: sig_combine_backprop(G, u, B)[1] - G
    deriv, sig1, sig2 = ctx.saved_tensors
    d_deriv = d_sig1 = d_sig2 = None
    if grad1 is not None:
        d_deriv = sig_combine(grad1, sig2, *ctx.args) - sig2
        d_sig2 = sig_combine_backprop(deriv, grad1, sig2, *ctx.args)[1] - deriv
    if grad2 is not None:
        from_w = sig_combine(sig1, grad2, *ctx.args) - sig1
        d_deriv = from_w if d_deriv is None else d_deriv + from_w
        d_sig1 = sig_combine_backprop(deriv, sig1, grad2, *ctx.args)[0] - deriv
    if ctx.scalar_term:
        # The scalar entries are read as 1 whatever they hold: they get no gradient.
        d_deriv, d_sig1, d_sig2 = (
            None if t is None else _without_scalar(t) for t in (d_deriv, d_sig1, d_sig2)
        )
    return d_deriv, d_sig1, d_sig2, None, None, None, None, None


def _without_scalar(t: torch.Tensor) -> torch.Tensor:
    return torch.cat([torch.zeros_like(t[..., :1]), t[..., 1:]], dim=-1)


sig_combine.register_autograd(_combine_backward, setup_context=_combine_setup)
sig_combine_backprop.register_autograd(_combine_backprop_backward, setup_context=_combine_backprop_setup)
