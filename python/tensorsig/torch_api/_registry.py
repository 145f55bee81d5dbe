"""The torch operators ``torch.ops.tensorsig.<op>``, built from the op table.

Each :class:`~tensorsig._specs.OpSpec` becomes one ``torch.library`` custom operator: its eager
implementation is the plain function's executor (tensors in, tensors allocated by torch out, on
the CPU or the tensor's GPU), and its fake implementation takes the results' shapes from the
spec's metadata function, which also validates: under ``torch.compile`` the same checks run on
fake tensors. Autograd formulas are registered per family (``_signature.py``, ...); the public
functions that call the operators are built by ``_dispatch.differentiable``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .._operands import Operand, check_same_kind, dtype_error
from .._run import run
from .._specs import OPS, OpSpec, Words, decode_words, encode_words

_SCHEMA_TYPES = {int: "int", float: "float", bool: "bool", Words: "int[]"}
_NUMPY_DTYPES: dict[torch.dtype, np.dtype[Any]] = {
    torch.float32: np.dtype(np.float32),
    torch.float64: np.dtype(np.float64),
}


def _schema(spec: OpSpec) -> str:
    arguments = [f"Tensor {name}" for name in spec.arrays]
    arguments += [f"{_SCHEMA_TYPES[param.type]} {param.name}" for param in spec.params]
    results = "Tensor" if spec.outputs == 1 else "(" + ", ".join(["Tensor"] * spec.outputs) + ")"
    return f"({', '.join(arguments)}) -> {results}"


def decoded(spec: OpSpec, params: tuple[Any, ...]) -> tuple[Any, ...]:
    """An operator's parameters as the spec takes them (words come flattened)."""
    return tuple(decode_words(v) if p.type is Words else v for p, v in zip(spec.params, params))


def encoded(spec: OpSpec, params: tuple[Any, ...]) -> tuple[Any, ...]:
    """Parameters as the operator takes them."""
    return tuple(encode_words(v) if p.type is Words else v for p, v in zip(spec.params, params))


def run_eagerly(spec: OpSpec, tensors: tuple[Any, ...], params: tuple[Any, ...]) -> Any:
    """An operator's eager implementation: the plain function's executor on tensors."""
    result = run(spec, tensors, params, warn_grad=False)
    # An operator's output never aliases its input (transform_path without transforms).
    return result.clone() if result is tensors[0] else result


def _define(spec: OpSpec) -> Any:
    count = len(spec.arrays)

    def eager(*args: Any) -> Any:
        return run_eagerly(spec, args[:count], decoded(spec, args[count:]))

    def fake(*args: Any) -> Any:
        tensors = args[:count]
        meta = spec.meta(*(tuple(t.shape) for t in tensors), *decoded(spec, args[count:]))
        shapes = (tuple(tensors[0].shape),) if meta.passthrough else meta.outputs
        results = tuple(tensors[0].new_empty(shape) for shape in shapes)
        return results[0] if spec.outputs == 1 else results

    op = torch.library.custom_op(f"tensorsig::{spec.name}", eager, mutates_args=(), schema=_schema(spec))
    op.register_fake(fake)
    return op


#: The operators, by op name.
operators: dict[str, Any] = {name: _define(spec) for name, spec in OPS.items()}


def check_tensors(spec: OpSpec, tensors: tuple[torch.Tensor, ...], params: tuple[Any, ...]) -> None:
    """The plain API's checks on tensors' metadata alone: dtypes, one device, then the spec
    (which also holds for fake tensors under torch.compile)."""
    operands = []
    for tensor, name in zip(tensors, spec.arrays):
        dtype = _NUMPY_DTYPES.get(tensor.dtype)
        if dtype is None:
            raise dtype_error(name, tensor.dtype)
        operands.append(Operand(name, tensor, dtype, tensor.device))
    check_same_kind(tuple(operands))
    spec.meta(*(tuple(t.shape) for t in tensors), *params)
