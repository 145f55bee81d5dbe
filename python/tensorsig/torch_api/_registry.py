"""The torch operators ``torch.ops.tensorsig.<op>``, built from the op table, and the public
functions that call them.

Each :class:`~tensorsig._specs.OpSpec` becomes one ``torch.library`` custom operator: its eager
implementation is the plain function's executor (tensors in, tensors allocated by torch out, on
the CPU or the tensor's GPU), and its fake implementation takes the results' shapes from the
spec's metadata function, which also validates: under ``torch.compile`` the same checks run on
fake tensors. Autograd formulas are registered per family (``_signature.py``, ...).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec, TypeVar, cast

import numpy as np
import torch
from torch.utils import _python_dispatch

from .._operands import Operand, check_same_kind, dtype_error
from .._run import run
from .._specs import OPS, OpSpec, Words, decode_words, encode_words

P = ParamSpec("P")
R = TypeVar("R")

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


def _decoded(spec: OpSpec, params: tuple[Any, ...]) -> tuple[Any, ...]:
    """An operator's parameters as the spec takes them (words come flattened)."""
    return tuple(decode_words(v) if p.type is Words else v for p, v in zip(spec.params, params))


def _encoded(spec: OpSpec, params: tuple[Any, ...]) -> tuple[Any, ...]:
    """Parameters as the operator takes them."""
    return tuple(encode_words(v) if p.type is Words else v for p, v in zip(spec.params, params))


def _run_eagerly(spec: OpSpec, tensors: tuple[Any, ...], params: tuple[Any, ...]) -> Any:
    """An operator's eager implementation: the plain function's executor on tensors."""
    result = run(spec, tensors, params, warn_grad=False)
    # An operator's output never aliases its input (transform_path without transforms).
    return result.clone() if result is tensors[0] else result


#: functorch's test for its wrapped tensors (vmap, grad), where this torch has it.
_functorch_wrapped = getattr(torch._C._functorch, "is_functorch_wrapped_tensor", None)


def _needs_operator(tensors: Sequence[Any]) -> bool:
    """Whether a call must go through its operator: for autograd to record it, under
    torch.compile or export (tracing, fake or functional tensors), inside a torch function or
    dispatch mode, or on tensors that functorch wraps (vmap, grad). Any other call would only
    reach the operator's eager implementation, after a dispatch that costs ten times a small
    signature (the ``call`` section of the benchmark)."""
    if (
        torch.compiler.is_compiling()
        or torch._C._is_torch_function_mode_enabled()
        or _python_dispatch._get_current_dispatch_mode() is not None
        or _functorch_wrapped is None
    ):
        return True
    grad = torch.is_grad_enabled()
    for t in tensors:
        if type(t) is not torch.Tensor or (grad and t.requires_grad) or _functorch_wrapped(t):
            return True
    return False


def _numpy_view(tensor: torch.Tensor) -> Any:
    """A CPU tensor's values as a numpy array, without a copy."""
    try:
        return tensor.numpy()
    except RuntimeError:  # it requires grad, or holds a lazy negation or conjugation
        return tensor.detach().resolve_neg().resolve_conj().numpy()


def _plain_on_cpu_tensors(
    plain: Callable[..., Any], count: int, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """``plain(*args, **kwargs)`` with its array arguments (CPU tensors, the first ``count``
    positional arguments) as numpy views of them (no copy), its results wrapped back as tensors
    (no copy either, unless a result is an input itself: transform_path with nothing to do). The
    caller's own arguments are passed on: binding them anew costs more than the signature of a
    short path."""
    views = [_numpy_view(a) for a in args[:count]]
    results = plain(*views, *args[count:], **kwargs)
    if type(results) is tuple:
        return tuple(_as_tensor(result, views) for result in results)
    return _as_tensor(results, views)


def _as_tensor(result: Any, inputs: list[Any]) -> torch.Tensor:
    """A plain function's numpy result as a tensor sharing its memory (copied if it is an input)."""
    for array in inputs:
        if result is array:
            return torch.from_numpy(result.copy())
    return torch.from_numpy(result)


def _define(spec: OpSpec) -> Any:
    count = len(spec.arrays)

    def eager(*args: Any) -> Any:
        return _run_eagerly(spec, args[:count], _decoded(spec, args[count:]))

    def fake(*args: Any) -> Any:
        tensors = args[:count]
        meta = spec.meta(*(tuple(t.shape) for t in tensors), *_decoded(spec, args[count:]))
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


_MISSING = inspect.Parameter.empty


def differentiable(
    plain: Callable[P, R], spec: OpSpec, *, with_options: Callable[..., Any] | None = None
) -> Callable[P, R]:
    """``plain``'s torch_api twin: the same signature and docstring; tensors go through the
    operator (differentiable), anything else to ``plain`` (numpy in, numpy out, as pysiglib's
    torch_api does). ``plain``'s parameters are ``spec``'s arrays then its params, in order, among
    which ``with_options`` names keyword options of its own (``sig``'s ``correction``, ``stream``
    and ``lengths``): a call that sets any of them away from its default goes to
    ``with_options(**arguments)`` instead of the operator."""
    signature = inspect.signature(plain)
    parameters = list(signature.parameters.values())
    names = [p.name for p in parameters]
    spec_names = [*spec.arrays, *(p.name for p in spec.params)]
    if [n for n in names if n in spec_names] != spec_names or (with_options is None and names != spec_names):
        raise RuntimeError(f"{plain.__name__}'s parameters do not follow its spec: {names}")
    positional = sum(p.kind is p.POSITIONAL_OR_KEYWORD for p in parameters)
    defaults = [p.default for p in parameters]
    required = [i for i, default in enumerate(defaults) if default is _MISSING]
    index = {name: i for i, name in enumerate(names)}
    in_spec = [index[n] for n in spec_names]
    options = [(i, defaults[i]) for i, n in enumerate(names) if n not in spec_names]
    count = len(spec.arrays)
    op = operators[spec.name]

    option_defaults = [(names[i], default) for i, default in options]

    def on_cpu_without_operator(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        """Whether this call's arrays are CPU tensors, given positionally, that need no operator,
        with no option set. (Arrays given by keyword take the operator's path: same results.)"""
        if not count <= len(args) <= positional:
            return False
        if kwargs:
            for name, default in option_defaults:
                if kwargs.get(name, default) is not default:
                    return False
        arrays = args[:count]
        for array in arrays:
            if type(array) is not torch.Tensor or not array.is_cpu:
                return False
        return not _needs_operator(arrays)

    def function(*args: Any, **kwargs: Any) -> Any:
        if on_cpu_without_operator(args, kwargs):
            return _plain_on_cpu_tensors(plain, count, args, kwargs)
        if len(args) > positional:
            raise TypeError(f"{plain.__name__}() takes {positional} positional arguments, {len(args)} given")
        values = [*args, *defaults[len(args) :]]
        for key, value in kwargs.items():
            at = index.get(key, -1)
            if not len(args) <= at:
                raise TypeError(f"{plain.__name__}() got an unexpected or repeated keyword argument {key!r}")
            values[at] = value
        arrays = values[:count]
        for array in arrays:
            if not isinstance(array, torch.Tensor):
                return plain(*args, **kwargs)
        for i in required:  # `in` would compare tensors elementwise
            if values[i] is _MISSING:
                missing = [n for n, v in zip(names, values) if v is _MISSING]
                raise TypeError(f"{plain.__name__}() missing required arguments: {', '.join(missing)}")
        for i, default in options:
            if values[i] is not default:
                return with_options(**dict(zip(names, values)))  # type: ignore[misc]
        params = tuple(values[i] for i in in_spec[count:])
        # CPU tensors that reach this line need the operator (the first test said so); GPU
        # tensors may still run without its dispatch.
        if not all(a.is_cpu for a in arrays) and not _needs_operator(arrays):
            return _run_eagerly(spec, tuple(arrays), params)
        check_tensors(spec, tuple(arrays), params)
        return op(*arrays, *_encoded(spec, params))

    function.__signature__ = signature  # type: ignore[attr-defined]
    function.__name__ = function.__qualname__ = plain.__name__
    function.__module__ = "tensorsig.torch_api"
    function.__doc__ = (plain.__doc__ or "") + (
        "\n    In ``tensorsig.torch_api``, differentiable (twice) with respect to every tensor argument"
        + (
            "; with any of the options ``correction``, ``stream`` or ``lengths``, once with respect "
            "to the path (the correction is a constant).\n"
            if with_options is not None
            else ".\n"
        )
    )
    return cast(Callable[P, R], function)
