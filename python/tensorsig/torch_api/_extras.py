"""Autograd of the signature extras: joins and straight segments to second order, chosen
coefficients to first order.

A join's forward pass is the fused multiply-exponentiate; its backward pass is written with the
Chen product's adjoint and the signature's backward pass of the segment ``[0, v]``, operators that
differentiate again, so joins (and segments) have second derivatives. ``sig_coef``'s backward is
``sig_coef_backprop``, which torch does not differentiate again.
"""

from __future__ import annotations

import itertools
from typing import Any

import torch

from .._checks import infer_scalar_term
from .._specs import decode_words
from ._registry import operators

sig, sig_backprop = operators["sig"], operators["sig_backprop"]
sig_combine_backprop = operators["sig_combine_backprop"]
sig_join, linear_sig = operators["sig_join"], operators["linear_sig"]
sig_coef, sig_coef_backprop = operators["sig_coef"], operators["sig_coef_backprop"]


def _segment_gradient(
    v: torch.Tensor, exp_v: torch.Tensor, grad: torch.Tensor, degree: int, n_jobs: int
) -> torch.Tensor:
    """The gradient with respect to ``v`` of ``<grad, exp(v)>``: the signature's backward pass
    of the segment ``[0, v]``, read at its second point."""
    segment = torch.stack([torch.zeros_like(v), v], dim=-2)
    gradient: torch.Tensor = sig_backprop(segment, exp_v, grad, degree, False, False, 1.0, n_jobs)
    return gradient[..., 1, :]


def _join_setup(ctx: Any, inputs: tuple[Any, ...], output: torch.Tensor) -> None:
    sig_, displacement, dimension, degree, prepend, n_jobs = inputs
    ctx.save_for_backward(sig_, displacement)
    ctx.args = (dimension, degree, prepend, n_jobs)
    ctx.scalar_term = infer_scalar_term(sig_.shape[-1], "sig", dimension, degree)


def _join_backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:
    sig_, displacement = ctx.saved_tensors
    dimension, degree, prepend, n_jobs = ctx.args
    exp_v = linear_sig(displacement, dimension, degree, ctx.scalar_term, n_jobs)
    product_args = (dimension, degree, False, False, n_jobs)
    if prepend:
        d_exp, d_sig = sig_combine_backprop(grad, exp_v, sig_, *product_args)
    else:
        d_sig, d_exp = sig_combine_backprop(grad, sig_, exp_v, *product_args)
    d_displacement = _segment_gradient(displacement, exp_v, d_exp, degree, n_jobs)
    return d_sig, d_displacement, None, None, None, None


def _linear_setup(ctx: Any, inputs: tuple[Any, ...], output: torch.Tensor) -> None:
    displacement, _dimension, degree, _scalar_term, n_jobs = inputs
    ctx.save_for_backward(displacement, output)
    ctx.args = (degree, n_jobs)


def _linear_backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:
    displacement, exp_v = ctx.saved_tensors
    degree, n_jobs = ctx.args
    return _segment_gradient(displacement, exp_v, grad, degree, n_jobs), None, None, None, None


def _coef_setup(ctx: Any, inputs: tuple[Any, ...], output: torch.Tensor) -> None:
    path, words, time_aug, lead_lag, end_time, prefixes, n_jobs = inputs
    ctx.save_for_backward(path)
    ctx.args = (words, time_aug, lead_lag, end_time, n_jobs)
    ctx.prefixes = prefixes


def _coef_backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:
    (path,) = ctx.saved_tensors
    words, time_aug, lead_lag, end_time, n_jobs = ctx.args
    if not ctx.prefixes:
        # sig_coef_backprop takes gradients in the prefix layout: each word's own coefficient is
        # the last of its prefixes (the empty word's single entry); the other prefixes get 0.
        ends = list(itertools.accumulate(max(len(w), 1) for w in decode_words(words)))
        full = grad.new_zeros((*grad.shape[:-1], ends[-1]))
        grad = full.index_copy(-1, torch.tensor([e - 1 for e in ends], device=grad.device), grad)
    grad = grad.contiguous()
    # `coefs` (here `grad`, of its shape) is only checked: the backward pass recomputes them.
    d_path = sig_coef_backprop(path, grad, grad, words, time_aug, lead_lag, end_time, n_jobs)
    return d_path, None, None, None, None, None, None


sig_join.register_autograd(_join_backward, setup_context=_join_setup)
linear_sig.register_autograd(_linear_backward, setup_context=_linear_setup)
sig_coef.register_autograd(_coef_backward, setup_context=_coef_setup)
