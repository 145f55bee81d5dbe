"""One spec per op: what each native operation takes, checks and returns, as data.

An :class:`OpSpec` names an op's array arguments and its other parameters (with their types, for
torch's operator schemas) and carries its *metadata function*: given the shapes of the arrays and
the values of the parameters, it validates everything that does not need the data and returns a
:class:`Meta` -- the shapes of the results, the shapes in which the native code reads each array
(batch dimensions merged) and the native function's other arguments.

Metadata functions are pure Python over tuples of ints, ints, floats and bools (and stay within
what torch.compile's tracer follows back to torch 2.4: no ``NamedTuple._replace``, for one), so
one function serves three callers: the numpy facade allocates its results from it
(``tensorsig._run``), torch's fake tensors take their shapes from it (``tensorsig.torch_api``),
and ``torch.compile`` traces it.
Each check and each error message exists once, in these functions or the role parsers of
``tensorsig._operands``.

The families register their specs in :data:`OPS` (``signature``, ``combine``, ``transform``,
``extras``); the op table of the tests (``tests/ops.py``) and the torch registry are built from
it. Log-signatures and signature kernels compose several native calls per public function (tables
from the process cache, one solve per pair), so their metadata functions (``logsig``,
``sigkernel``) are called by their facades and torch operators directly; they follow the same
rules (pure Python over shapes and scalars, each check once).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

Shape = tuple[int, ...]


class Words:
    """The type of a ``words`` parameter (one word as a tuple of letters, or a list of words).
    torch operators take it flattened, :func:`encode_words`; their implementations decode it."""


def encode_words(words: Any) -> list[int]:
    """A list of words as one list of ints (torch's ``int[]``): each word's length, then its
    letters; one word (a tuple) is a list of one. Anything else is passed through for the spec to
    refuse."""
    if isinstance(words, tuple):
        words = [words]
    if not isinstance(words, list) or not all(isinstance(w, tuple | list) for w in words):
        return words  # type: ignore[no-any-return]
    return [n for w in words for n in (len(w), *w)]


def decode_words(flat: list[int]) -> list[tuple[int, ...]]:
    """The inverse of :func:`encode_words`."""
    words, at = [], 0
    while at < len(flat):
        words.append(tuple(flat[at + 1 : at + 1 + flat[at]]))
        at += 1 + flat[at]
    return words


class Param(NamedTuple):
    """A non-array parameter of an op, in the order the op takes it."""

    name: str
    #: ``int``, ``float``, ``bool`` or :class:`Words`: the type of the torch operator's argument.
    type: type


class Meta(NamedTuple):
    """What a metadata function returns for one call."""

    #: The shape of each result, as the caller receives it.
    outputs: tuple[Shape, ...]
    #: The shape in which the native function reads each array argument, then each result
    #: (leading batch dimensions merged into one); None for an argument the native function does
    #: not take (checked, not read).
    views: tuple[Shape | None, ...]
    #: The native function's non-array arguments, in order (the thread count last).
    native_args: tuple[Any, ...]
    #: Return the first array argument itself and compute nothing (``transform_path`` without a
    #: transform, as in pysiglib).
    passthrough: bool = False


@dataclass(frozen=True)
class OpSpec:
    """One native operation."""

    #: The name of the native function and of the torch operator ``torch.ops.tensorsig.<name>``.
    name: str
    #: The array arguments, in order.
    arrays: tuple[str, ...]
    #: The other arguments, in order.
    params: tuple[Param, ...]
    #: ``meta(*array_shapes, *param_values) -> Meta``.
    meta: Callable[..., Meta]
    #: How many results the op returns (a tuple when more than one).
    outputs: int = 1
    #: The array arguments the native code reads as flat C-contiguous rows (signatures,
    #: gradients); the others (paths) are read in place with any non-negative strides.
    rows: frozenset[str] = frozenset()
    #: Called with the native function's return value (e.g. to warn about non-finite results).
    after: Callable[[Any], None] | None = None
    #: Whether the op has GPU kernels; without them, CUDA tensors are refused before any
    #: allocation.
    cuda: bool = False

    @property
    def native(self) -> Callable[..., Any]:
        """The op's binding, ``tensorsig._core.<name>`` (CPU or GPU, by its operands)."""
        from .. import _core

        return getattr(_core, self.name)  # type: ignore[no-any-return]


#: Every op, by name.
OPS: dict[str, OpSpec] = {}


def register(spec: OpSpec) -> OpSpec:
    """Adds ``spec`` to :data:`OPS` and returns it."""
    if spec.name in OPS:
        raise RuntimeError(f"op {spec.name!r} is registered twice")
    OPS[spec.name] = spec
    return spec


# The families register their ops on import.
from . import combine, extras, signature, transform  # noqa: E402

__all__ = [
    "OPS",
    "Meta",
    "OpSpec",
    "Param",
    "Words",
    "combine",
    "decode_words",
    "encode_words",
    "extras",
    "register",
    "signature",
    "transform",
]
