"""First-order torch twins of the functions that have no custom operator yet (log-signatures,
signature kernels): the plain function forward and its ``*_backprop`` backward, in one
``torch.autograd.Function``.

Such a twin differentiates once, with respect to each tensor input that requires grad; a second
derivative raises (``once_differentiable``) instead of silently returning zeros; under
``torch.compile`` it runs eagerly (a graph break). Tensors that do not require grad go straight
to the plain function.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

import torch
from torch.autograd.function import once_differentiable

from ..exceptions import InvalidArgumentError

F = TypeVar("F", bound=Callable[..., Any])


def first_order(
    plain: F,
    backprop: Callable[..., Any],
    *,
    inputs: tuple[str, ...],
    grad: str,
    rename: dict[str, str] | None = None,
    needs: tuple[str, ...] = (),
) -> F:
    """``plain``'s torch twin, differentiable with respect to its array parameters ``inputs``.

    The backward pass calls ``backprop`` with the cotangent as its parameter ``grad`` and the
    forward call's arguments under the same names (``rename`` maps a forward name to
    backprop's, when they differ); ``needs`` names backprop's flags that say which gradients to
    compute, one per input (``left_deriv``, ``right_deriv``). ``backprop`` returns one gradient
    per input, in order (a lone array for one input).
    """
    signature = inspect.signature(plain)
    accepted = set(inspect.signature(backprop).parameters)
    rename = rename or {}

    def backward_arguments(arguments: dict[str, Any]) -> dict[str, Any]:
        named = {rename.get(name, name): value for name, value in arguments.items()}
        return {name: value for name, value in named.items() if name in accepted}

    class Function(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, arguments: dict[str, Any], *tensors: torch.Tensor) -> Any:
            result = plain(**arguments, **dict(zip(inputs, tensors)))
            ctx.save_for_backward(*tensors)
            ctx.arguments = arguments
            return result

        @staticmethod
        @once_differentiable
        def backward(ctx: Any, cotangent: torch.Tensor) -> tuple[Any, ...]:
            arguments = {**ctx.arguments, **dict(zip(inputs, ctx.saved_tensors))}
            flags = dict(zip(needs, ctx.needs_input_grad[1:]))
            gradients = backprop(**backward_arguments(arguments), **{grad: cotangent.contiguous()}, **flags)
            if len(inputs) == 1:
                gradients = (gradients,)
            wanted = ctx.needs_input_grad[1:]
            return (None, *(g if w else None for g, w in zip(gradients, wanted)))

    @functools.wraps(plain)
    def twin(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        tensors = [bound.arguments[name] for name in inputs]
        tracked = torch.is_grad_enabled() and any(
            isinstance(t, torch.Tensor) and t.requires_grad for t in tensors
        )
        if not tracked:
            return plain(*args, **kwargs)
        if not all(isinstance(t, torch.Tensor) for t in tensors):
            raise InvalidArgumentError(f"{', '.join(inputs)} must all be numpy arrays or all torch tensors")
        arguments = {name: value for name, value in bound.arguments.items() if name not in inputs}
        return Function.apply(arguments, *tensors)

    twin.__module__ = "tensorsig.torch_api"
    twin.__doc__ = (plain.__doc__ or "") + (
        "\n    In ``tensorsig.torch_api``, differentiable once with respect to every tensor argument"
        " (a second derivative raises).\n"
    )
    return twin  # type: ignore[return-value]  # functools.wraps keeps plain's signature
