"""The public torch_api functions: each calls its operator, or skips the operator's dispatch when
nothing needs it.

:func:`differentiable` makes a plain function's torch twin. Tensors that autograd, torch.compile,
a dispatch mode or functorch must see go through ``torch.ops.tensorsig.<op>``; plain CPU tensors go
straight to the numpy function on views of their memory (the dispatch alone costs ten times a small
signature: the ``call`` section of the benchmark), or for ``sig`` to a native shortcut that reads
the tensor itself; anything that is not a tensor goes to the plain function, numpy in and numpy
out, as pysiglib's torch_api does.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec, TypeVar, cast

import torch

from .._specs import OpSpec
from ._registry import check_tensors, encoded, operators, run_eagerly

P = ParamSpec("P")
R = TypeVar("R")

#: functorch's test for its wrapped tensors (vmap, grad), where this torch has it.
_functorch_wrapped = getattr(torch._C._functorch, "is_functorch_wrapped_tensor", None)


# The tests of ``_needs_operator``, bound once: each global or attribute lookup costs a fraction of
# a short path's signature.
_is_compiling = torch.compiler.is_compiling
_torch_function_mode_enabled = torch._C._is_torch_function_mode_enabled
_dispatch_modes = torch._C._len_torch_dispatch_stack  # the user modes that _python_dispatch sees
_grad_enabled = torch.is_grad_enabled
_from_numpy = torch.from_numpy
_Tensor = torch.Tensor


def _needs_operator(tensors: Sequence[Any], cpu: bool) -> bool:
    """Whether a call must go through its operator: for autograd to record it, under
    torch.compile or export (tracing, fake or functional tensors), inside a torch function or
    dispatch mode, or on tensors that functorch wraps (vmap, grad); with ``cpu``, also for
    tensors off the CPU (the numpy views need host memory). Any other call would only reach the
    operator's eager implementation, after a dispatch that costs ten times a small signature
    (the ``call`` section of the benchmark)."""
    if _is_compiling() or _torch_function_mode_enabled() or _dispatch_modes() or _functorch_wrapped is None:
        return True
    grad = _grad_enabled()
    for t in tensors:
        if type(t) is not _Tensor or (cpu and not t.is_cpu):
            return True
        if (grad and t.requires_grad) or _functorch_wrapped(t):
            return True
    return False


def _numpy_view(tensor: torch.Tensor) -> Any:
    """A CPU tensor's values as a numpy array, without a copy where torch can give one."""
    # Autograd's zero tensors have no memory: numpy() raises on them, or reads garbage (torch 2.4).
    if tensor._is_zerotensor():
        return torch.zeros(tensor.shape, dtype=tensor.dtype).numpy()
    try:
        return tensor.numpy()
    except RuntimeError:  # it requires grad, or holds a lazy negation or conjugation
        return tensor.detach().resolve_neg().resolve_conj().numpy()


def _as_tensor(result: Any, inputs: Sequence[Any]) -> torch.Tensor:
    """A plain function's numpy result as a tensor sharing its memory (copied if it is an input:
    transform_path with nothing to do)."""
    for array in inputs:
        if result is array:
            return _from_numpy(result.copy())
    return _from_numpy(result)


_MISSING = inspect.Parameter.empty


def differentiable(
    plain: Callable[P, R],
    spec: OpSpec,
    *,
    with_options: Callable[..., Any] | None = None,
    shortcut: Callable[..., Any] | None = None,
) -> Callable[P, R]:
    """``plain``'s torch_api twin: the same signature and docstring; tensors go through the
    operator (differentiable), anything else to ``plain`` (numpy in, numpy out, as pysiglib's
    torch_api does). ``plain``'s parameters are ``spec``'s arrays then its params, in order, among
    which ``with_options`` names keyword options of its own (``sig``'s ``correction``, ``stream``
    and ``lengths``): a call that sets any of them away from its default goes to
    ``with_options(**arguments)`` instead of the operator. ``shortcut``, if given, is tried first
    on a call without keywords whose arrays are CPU tensors that need no operator: it takes the
    positional arguments and returns the result, or None to leave the call to ``plain``."""
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

    def function(*args: Any, **kwargs: Any) -> Any:
        # Plain CPU tensors, given positionally, with no option set, go to ``shortcut`` or to
        # ``plain`` on numpy views of their memory (no copy), its results wrapped back as tensors
        # (no copy either). The caller's own arguments are passed on: binding them anew costs
        # more than the signature of a short path. (Arrays given by keyword take the operator's
        # path: same results.)
        if count <= len(args) <= positional and (
            not kwargs or all(kwargs.get(name, default) is default for name, default in option_defaults)
        ):
            tensors = args[:count]
            if not _needs_operator(tensors, True):
                if shortcut is not None and not kwargs:
                    result = shortcut(*args)
                    if result is not None:
                        return result
                views = [_numpy_view(t) for t in tensors]
                results: Any = plain(*views, *args[count:], **kwargs)
                if type(results) is tuple:
                    return tuple(_as_tensor(r, views) for r in results)
                return _as_tensor(results, views)
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
        if not all(a.is_cpu for a in arrays) and not _needs_operator(arrays, False):
            return run_eagerly(spec, tuple(arrays), params)
        check_tensors(spec, tuple(arrays), params)
        return op(*arrays, *encoded(spec, params))

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
