"""Autograd of the path-transform operators, to second order: the transforms are linear, so each
one's backward is the other."""

from __future__ import annotations

from typing import Any

import torch

from ._registry import operators

transform_path, transform_path_backprop = operators["transform_path"], operators["transform_path_backprop"]


def _setup(ctx: Any, inputs: tuple[Any, ...], output: torch.Tensor) -> None:
    ctx.args = inputs[1:]


def _transform_backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:
    return transform_path_backprop(grad.contiguous(), *ctx.args), None, None, None, None


def _transform_backprop_backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:
    # The adjoint of the adjoint is the transform itself, less the time channel (a constant).
    time_aug, lead_lag, end_time, n_jobs = ctx.args
    moved = transform_path(grad, False, lead_lag, end_time, n_jobs)
    if time_aug:
        moved = torch.cat([moved, torch.zeros_like(moved[..., :1])], dim=-1)
    return moved, None, None, None, None


transform_path.register_autograd(_transform_backward, setup_context=_setup)
transform_path_backprop.register_autograd(_transform_backprop_backward, setup_context=_setup)
