"""Array arguments: numpy arrays and torch tensors in, the same container out.

Every public function accepts numpy arrays or torch tensors (CPU or CUDA) and returns what it was
given. :func:`operand` turns one array argument into an :class:`Operand` -- the data in the form
the native code reads, plus what is needed to allocate results of the same kind:

- a numpy array or a CPU tensor becomes a zero-copy numpy view of the caller's data, except where
  the native code cannot read it in place: a byte-swapped array (e.g. ``'>f8'`` read from a file
  or the network) or a misaligned one (e.g. ``np.frombuffer(buf, offset=1)``, as buffers
  unpickled by Dask workers can be) is copied once into native order;
- a CUDA tensor stays the tensor, read through its device pointer.

:func:`check_same_kind` checks that the arrays of one call agree; :func:`empty` allocates results;
:func:`native_view` reshapes an array to what the native function reads. torch is never imported
here: a tensor can only reach us if the caller already imported it.
"""

from __future__ import annotations

import math
import os
import sys
import warnings
from typing import Any, NamedTuple

import numpy as np

from .exceptions import ArgumentTypeError, DeviceError, InvalidArgumentError, OutOfMemoryError, ShapeError

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def torch_module() -> Any:
    """The torch module if the process has imported it, else None."""
    return sys.modules.get("torch")


class Operand(NamedTuple):
    """One validated array argument.

    ``array`` is what the native code reads: a numpy view of the caller's data (a copy only for
    byte-swapped or misaligned numpy arrays), or for a CUDA tensor the detached tensor itself.
    ``device`` is the tensor's ``torch.device``, None for numpy input.
    """

    name: str
    array: Any
    dtype: np.dtype
    device: Any

    @property
    def kind(self) -> str:
        """``"numpy"`` or ``"torch"``: the container results are returned in."""
        return "numpy" if self.device is None else "torch"

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.array.shape)

    @property
    def on_gpu(self) -> bool:
        return self.device is not None and self.device.type == "cuda"


def dtype_error(name: str, dtype: Any) -> ArgumentTypeError:
    """The one message for an array of an unsupported dtype."""
    return ArgumentTypeError(f"{name}.dtype must be float32 or float64, got {dtype}")


_warned_about_grad = False


def _warn_untracked_gradient(name: str) -> None:
    global _warned_about_grad
    if not _warned_about_grad:
        _warned_about_grad = True
        warnings.warn(
            f"{name} requires grad, but the functions at tensorsig's top level return plain results "
            "that torch cannot differentiate. Use tensorsig.torch_api (the same functions, "
            "differentiable twice) for gradients. This warning is shown once.",
            UserWarning,
            stacklevel=4,
        )


def operand(value: Any, name: str, *, warn_grad: bool = True) -> Operand:
    """Validates one array argument: a float32/float64 numpy array, CPU or CUDA torch tensor.

    ``warn_grad``: warn (once per process) when a tensor that requires grad reaches a function
    that does not track gradients (the plain API); torch_api's operators pass False.
    """
    if isinstance(value, np.ndarray):
        dtype = value.dtype
        if dtype not in _FLOAT_DTYPES:
            native = dtype.newbyteorder("=")
            if native not in _FLOAT_DTYPES:
                raise dtype_error(name, dtype)
            value, dtype = value.astype(native), native  # byte-swapped: one copy in native order
        elif not value.flags.aligned:
            value = value.copy()
        return Operand(name, value, dtype, None)
    torch = torch_module()
    if torch is not None and isinstance(value, torch.Tensor):
        if value.dtype is torch.float64:
            dtype = _FLOAT_DTYPES[1]
        elif value.dtype is torch.float32:
            dtype = _FLOAT_DTYPES[0]
        else:
            raise dtype_error(name, value.dtype)
        if warn_grad and value.requires_grad and torch.is_grad_enabled():
            _warn_untracked_gradient(name)
        # detach: the result is a plain tensor; resolve_neg: the native code cannot see torch's
        # lazy negation.
        tensor = value.detach().resolve_neg()
        device = value.device
        if device.type == "cuda":
            return Operand(name, tensor, dtype, device)
        if device.type != "cpu":
            raise DeviceError(
                f"{name} is on {device}; tensorsig computes on the CPU and on CUDA GPUs. Move it with "
                ".cpu() first"
            )
        return Operand(name, tensor.numpy(), dtype, device)
    raise ArgumentTypeError(
        f"{name} must be of type numpy.ndarray or torch.Tensor, got {type(value).__name__}"
    )


def require_cpu(op: Operand, what: str) -> None:
    """Refuses an operand on a GPU for ``what``, which has CPU kernels only, with a
    :class:`~tensorsig.exceptions.DeviceError` that says how to move it (before any work)."""
    if op.on_gpu:
        raise DeviceError(
            f"tensorsig computes {what} on the CPU only for now; move {op.name} there with .cpu() first"
        )


def check_same_kind(operands: tuple[Operand, ...]) -> None:
    """All operands are numpy arrays, or all torch tensors on one device, of one dtype."""
    first = operands[0]
    for op in operands[1:]:
        if op.device != first.device or op.dtype != first.dtype:
            names = ", ".join(o.name for o in operands)
            if op.kind != first.kind:
                raise InvalidArgumentError(f"{names} must all be numpy arrays or all torch tensors")
            if op.device != first.device:
                raise InvalidArgumentError(f"{names} must be on the same device")
            raise InvalidArgumentError(
                f"{names} must have the same dtype, got {first.name}.dtype={first.dtype} "
                f"and {op.name}.dtype={op.dtype}"
            )


def empty(like: Operand, shape: tuple[int, ...]) -> tuple[Any, Any]:
    """An uninitialised result of the same container, dtype and device as ``like``.

    Returns the result and the form of it the native code fills: a writable numpy view, or the
    CUDA tensor itself.
    """
    if like.device is None:
        check_fits(shape, like.dtype)
        out = np.empty(shape, dtype=like.dtype)
        return out, out
    torch = torch_module()
    dtype = torch.float32 if like.dtype == _FLOAT_DTYPES[0] else torch.float64
    if like.on_gpu:
        # torch's allocator raises its own OutOfMemoryError, against the GPU's memory.
        out = torch.empty(shape, dtype=dtype, device=like.device)
        return out, out
    check_fits(shape, like.dtype)
    out = torch.empty(shape, dtype=dtype)
    return out, out.numpy()


def native_view(array: Any, shape: tuple[int, ...], rows: bool) -> Any:
    """``array`` (numpy array or CUDA tensor) reshaped to ``shape`` (a view whenever possible),
    and C-contiguous when read as ``rows`` (a copy only if it is not already)."""
    if tuple(array.shape) != shape:
        array = array.reshape(shape)
    return contiguous(array) if rows else array


def contiguous(array: Any) -> Any:
    """``array`` (numpy array or CUDA tensor) C-contiguous: itself when it already is, else a copy."""
    if isinstance(array, np.ndarray):
        return array if array.flags.c_contiguous else np.ascontiguousarray(array)
    return array.contiguous()


def has_values(array: Any) -> bool:
    """Whether a numpy array or tensor holds at least one value."""
    return 0 not in array.shape


def _physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


_PHYSICAL_MEMORY = _physical_memory()


def check_fits(shape: tuple[int, ...], dtype: np.dtype) -> None:
    """Raises MemoryError, before allocating, for a result larger than the machine's memory."""
    nbytes = math.prod(shape) * dtype.itemsize
    if _PHYSICAL_MEMORY is not None and nbytes > _PHYSICAL_MEMORY:
        raise OutOfMemoryError(
            f"the result would take {nbytes / 2**30:.3g} GiB, more than this machine's "
            f"{_PHYSICAL_MEMORY / 2**30:.3g} GiB of memory (shape {shape}, {dtype})"
        )


# --- roles: what an array argument's shape must be, checked on shapes alone ------------------------
# Pure functions over tuples of ints, shared by the numpy facade and torch's fake tensors.

Shape = tuple[int, ...]


def path_shape(shape: Shape, name: str = "path") -> tuple[Shape, int, int]:
    """``(batch_shape, length, dimension)`` of a path argument ``(..., length, dimension)``."""
    if len(shape) < 2:
        raise ShapeError(
            f"{name} must have shape (..., length, dimension): at least rank 2, got rank {len(shape)}"
        )
    if shape[-1] == 0:
        raise ShapeError(f"{name} has 0 channels (dimension); a path needs at least one")
    return shape[:-2], shape[-2], shape[-1]


def path_operand(value: Any, name: str = "path") -> tuple[Operand, Shape, int, int]:
    """A path argument ``(*batch, length, dimension)``: its operand, batch shape, length and
    dimension."""
    op = operand(value, name)
    return (op, *path_shape(op.shape, name))


def merge_batch(array: Any, batch: Shape) -> Any:
    """``array`` (numpy array or tensor) with its leading ``batch`` dimensions merged into one (a
    view whenever possible)."""
    return array.reshape((math.prod(batch), *array.shape[len(batch) :]))


def rows_shape(shape: Shape, name: str) -> tuple[Shape, int]:
    """``(batch_shape, width)`` of an argument of flat rows ``(..., width)`` (signatures, their
    gradients)."""
    if len(shape) < 1:
        raise ShapeError(f"{name} must have at least rank 1, got rank 0")
    return shape[:-1], shape[-1]


def check_width(shape: Shape, name: str, width: int) -> None:
    """Rows of ``shape`` have ``width`` values."""
    if shape[-1] != width:
        raise ShapeError(f"{name} is of incorrect length. Expected {width}, got {shape[-1]}")
