"""Running an op: its arrays parsed, its spec checking the rest, its results allocated, its native
function called -- the one code path behind every public array function."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from . import _cuda
from ._operands import Operand, check_same_kind, empty, native_view, operand, require_cpu, torch_module
from ._specs import OpSpec


def run(spec: OpSpec, arrays: tuple[Any, ...], params: tuple[Any, ...], *, warn_grad: bool = True) -> Any:
    """Runs ``spec`` on ``arrays`` (numpy arrays or torch tensors, in ``spec.arrays`` order) with
    ``params`` (in ``spec.params`` order); returns its result, or a tuple of them.

    ``warn_grad``: warn once when a tensor requiring grad reaches the plain API (torch_api's
    operators, which track gradients themselves, pass False).
    """
    ops = tuple(operand(value, name, warn_grad=warn_grad) for value, name in zip(arrays, spec.arrays))
    if len(ops) > 1:
        check_same_kind(ops)
    meta = spec.meta(*(op.shape for op in ops), *params)
    if not spec.cuda:
        require_cpu(ops[0], spec.name)
    if meta.passthrough:
        return arrays[0]
    like = ops[0]
    results, outs = zip(*(empty(like, shape) for shape in meta.outputs))
    if all(0 not in out.shape for out in outs):
        inputs = [
            native_view(op.array, view, op.name in spec.rows)
            for op, view in zip(ops, meta.views)
            if view is not None  # checked by the spec, not read by the native code
        ]
        outputs = [native_view(out, view or (), False) for out, view in zip(outs, meta.views[len(ops) :])]
        returned = native(like, spec.native)(*inputs, *outputs, *meta.native_args)
        if spec.after is not None:
            spec.after(returned)
    else:
        for out in outs:  # an empty result leaves nothing to compute in the others
            out[...] = 0
    return results[0] if spec.outputs == 1 else results


def native(like: Operand, function: Callable[..., Any]) -> Callable[..., Any]:
    """The native ``function`` ready for operands like ``like``: itself on the CPU, or bound to
    launch on the tensor's device and torch's current stream there (``launch=(device,
    stream)``), so that the launch is ordered with the caller's other work on that stream. The
    binding chooses the device from its operands; an op without GPU kernels refuses them."""
    if not like.on_gpu:
        return function
    _cuda.ensure_ready()
    torch = torch_module()
    index = like.device.index if like.device.index is not None else torch.cuda.current_device()
    stream = torch.cuda.current_stream(index).cuda_stream
    return functools.partial(function, launch=(index, stream))
