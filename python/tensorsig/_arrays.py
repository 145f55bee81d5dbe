"""numpy arrays and torch tensors in, the same container out.

Every public function accepts numpy arrays or torch tensors and returns what it was given. This
module turns each array argument into an :class:`Operand` -- a zero-copy numpy view of the data
for the native code, plus what is needed to allocate results of the same kind -- and checks that
the arguments of one call agree with each other. torch is never imported here: a tensor can only
reach us if the caller already imported it.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _torch() -> Any:
    """The torch module if the process has imported it, else None."""
    return sys.modules.get("torch")


@dataclass(frozen=True)
class Operand:
    """One validated array argument.

    ``array`` is a numpy view of the caller's data (never a copy for numpy inputs or CPU tensors),
    ``kind`` is ``"numpy"`` or ``"torch"``, and ``device`` the tensor's device (None for numpy).
    """

    name: str
    array: np.ndarray
    kind: str
    device: Any = None

    @property
    def dtype(self) -> np.dtype:
        return self.array.dtype

    @property
    def shape(self) -> tuple[int, ...]:
        return self.array.shape


def operand(value: Any, name: str) -> Operand:
    """Validates one array argument: a float32/float64 numpy array or CPU torch tensor."""
    if isinstance(value, np.ndarray):
        _check_dtype(value.dtype, name)
        return Operand(name, value, "numpy")
    torch = _torch()
    if torch is not None and isinstance(value, torch.Tensor):
        if value.dtype not in (torch.float32, torch.float64):
            raise TypeError(f"{name}.dtype must be float32 or float64, got {value.dtype}")
        if value.device.type != "cpu":
            raise RuntimeError(
                f"{name} is on {value.device}, but this build of tensorsig computes on the CPU only; "
                f"move it with .cpu() first"
            )
        # detach: the result is a plain tensor; resolve_neg: numpy cannot see torch's lazy negation.
        return Operand(name, value.detach().resolve_neg().numpy(), "torch", value.device)
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


def empty(like: Operand, shape: tuple[int, ...]) -> tuple[Any, np.ndarray]:
    """An uninitialised result of the same container, dtype and device as ``like``.

    Returns the result and a writable numpy view of it for the native code to fill.
    """
    check_fits(shape, like.dtype)
    if like.kind == "numpy":
        out = np.empty(shape, dtype=like.dtype)
        return out, out
    torch = _torch()
    dtype = torch.float32 if like.dtype == np.float32 else torch.float64
    out = torch.empty(shape, dtype=dtype, device=like.device)
    return out, out.numpy()


def contiguous(array: np.ndarray) -> np.ndarray:
    """``array`` as a C-contiguous array: itself when it already is, else a copy."""
    return np.ascontiguousarray(array)


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
