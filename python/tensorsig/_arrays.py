"""numpy arrays and torch tensors in, the same container out.

Every public function accepts numpy arrays or torch tensors and returns what it was given. This
module turns each array argument into an :class:`Operand` -- the data in the form the native code
reads (a zero-copy numpy view for numpy arrays and CPU tensors, the tensor itself for CUDA
tensors), plus what is needed to allocate results of the same kind -- checks that the arguments of
one call agree with each other, and picks the native function for the operands' device
(:func:`native`). torch is never imported here: a tensor can only reach us if the caller already
imported it.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _core, _cuda

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _torch() -> Any:
    """The torch module if the process has imported it, else None."""
    return sys.modules.get("torch")


@dataclass(frozen=True)
class Operand:
    """One validated array argument.

    ``array`` is what the native code reads: a numpy view of the caller's data (never a copy for
    numpy inputs or CPU tensors), or for a CUDA tensor the detached tensor itself. ``kind`` is
    ``"numpy"`` or ``"torch"``, and ``device`` the tensor's device (None for numpy).
    """

    name: str
    array: Any
    kind: str
    dtype: np.dtype
    device: Any = None

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.array.shape)

    @property
    def on_gpu(self) -> bool:
        return self.device is not None and self.device.type == "cuda"


def operand(value: Any, name: str) -> Operand:
    """Validates one array argument: a float32/float64 numpy array, CPU or CUDA torch tensor."""
    if isinstance(value, np.ndarray):
        _check_dtype(value.dtype, name)
        return Operand(name, value, "numpy", value.dtype)
    torch = _torch()
    if torch is not None and isinstance(value, torch.Tensor):
        if value.dtype not in (torch.float32, torch.float64):
            raise TypeError(f"{name}.dtype must be float32 or float64, got {value.dtype}")
        dtype = np.dtype(np.float32 if value.dtype == torch.float32 else np.float64)
        # detach: the result is a plain tensor; resolve_neg: the native code cannot see torch's
        # lazy negation.
        tensor = value.detach().resolve_neg()
        if value.device.type == "cuda":
            return Operand(name, tensor, "torch", dtype, value.device)
        if value.device.type != "cpu":
            raise RuntimeError(
                f"{name} is on {value.device}; tensorsig computes on the CPU and on CUDA GPUs. "
                f"Move it with .cpu() first"
            )
        return Operand(name, tensor.numpy(), "torch", dtype, value.device)
    raise TypeError(f"{name} must be of type numpy.ndarray or torch.Tensor, got {type(value).__name__}")


def _check_dtype(dtype: np.dtype, name: str) -> None:
    if dtype not in _FLOAT_DTYPES:
        raise TypeError(f"{name}.dtype must be float32 or float64, got {dtype}")


def check_same_kind(*operands: Operand) -> None:
    """All operands are numpy arrays, or all torch tensors on one device, of one dtype."""
    first = operands[0]
    names = ", ".join(op.name for op in operands)
    for op in operands[1:]:
        if op.kind != first.kind:
            raise ValueError(f"{names} must all be numpy arrays or all torch tensors")
        if op.device != first.device:
            raise ValueError(f"{names} must be on the same device")
        if op.dtype != first.dtype:
            raise ValueError(
                f"{names} must have the same dtype, got {first.name}.dtype={first.dtype} "
                f"and {op.name}.dtype={op.dtype}"
            )


def empty(like: Operand, shape: tuple[int, ...]) -> tuple[Any, Any]:
    """An uninitialised result of the same container, dtype and device as ``like``.

    Returns the result and the form of it the native code fills: a writable numpy view, or the
    CUDA tensor itself.
    """
    if like.kind == "numpy":
        check_fits(shape, like.dtype)
        out = np.empty(shape, dtype=like.dtype)
        return out, out
    torch = _torch()
    dtype = torch.float32 if like.dtype == np.float32 else torch.float64
    if like.on_gpu:
        # torch's allocator raises its own OutOfMemoryError, against the GPU's memory.
        out = torch.empty(shape, dtype=dtype, device=like.device)
        return out, out
    check_fits(shape, like.dtype)
    out = torch.empty(shape, dtype=dtype, device=like.device)
    return out, out.numpy()


def has_values(array: Any) -> bool:
    """Whether a numpy array or tensor holds at least one value."""
    return 0 not in array.shape


def contiguous(array: Any) -> Any:
    """``array`` (numpy array or CUDA tensor) C-contiguous: itself when it already is, else a copy."""
    if isinstance(array, np.ndarray):
        return np.ascontiguousarray(array)
    return array.contiguous()


def native(like: Operand, name: str) -> Callable[..., Any]:
    """The native function ``name`` for operands like ``like``: ``_core.<name>`` on the CPU, or
    ``_core.cuda_<name>`` bound to the tensor's device and torch's current stream on it, so that
    the launch is ordered with the caller's other work on that stream."""
    if not like.on_gpu:
        return getattr(_core, name)
    _cuda.ensure_ready()
    torch = _torch()
    index = like.device.index if like.device.index is not None else torch.cuda.current_device()
    stream = torch.cuda.current_stream(index).cuda_stream
    return functools.partial(getattr(_core, f"cuda_{name}"), device=index, stream=stream)


def _physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


_PHYSICAL_MEMORY = _physical_memory()


def check_fits(shape: tuple[int, ...], dtype: np.dtype) -> None:
    """Raises MemoryError, before allocating, for a result larger than the machine's memory."""
    nbytes = int(np.prod(shape, dtype=object)) * np.dtype(dtype).itemsize
    if _PHYSICAL_MEMORY is not None and nbytes > _PHYSICAL_MEMORY:
        raise MemoryError(
            f"the result would take {nbytes / 2**30:.3g} GiB, more than this machine's "
            f"{_PHYSICAL_MEMORY / 2**30:.3g} GiB of memory (shape {shape}, {np.dtype(dtype)})"
        )
