"""The optional arguments of :func:`tensorsig.sig` and :func:`tensorsig.sig_backprop`.

``correction`` (pysiglib's per-segment higher-level terms), ``lengths`` (ragged batches) and
``stream`` (the signature of every prefix). Each is checked in two parts: a pure metadata function
over shapes, ints and bools (``*_meta``: no numpy or torch calls, so that it can serve fake tensors
and torch.compile), and the parsing of the array argument itself, before anything is allocated.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np

from ._arrays import Operand, check_same_kind, contiguous, operand


def correction_level(dimension: int, degree: int, width: int) -> int:
    """The highest level ``m`` of correction rows of ``width`` values over ``dimension`` channels:
    ``width = d² + … + d^m`` with ``2 ≤ m ≤ degree``, else ValueError."""
    if degree < 2:
        raise ValueError(
            f"correction must be empty when degree < 2, got {width} values per row at degree {degree}"
        )
    total, level = 0, dimension
    for m in range(2, degree + 1):
        level *= dimension
        total += level
        if total == width:
            return m
        if total > width:
            break
    raise ValueError(
        f"correction length must be a prefix of tensor levels 2..degree: d^2 + ... + d^m values per row "
        f"with 2 <= m <= {degree} for d = {dimension} (the path's own channels, without time), got {width}"
    )


def correction_meta(
    shape: tuple[int, ...] | None,
    batch_shape: tuple[int, ...],
    length: int,
    dimension: int,
    degree: int,
    lead_lag: bool,
) -> tuple[int, ...] | None:
    """Checks a correction's shape against the path's and returns the shape the native code reads
    it in -- ``(C,)``, ``(L - 1, C)`` or ``(batch, L - 1, C)`` with the batch dimensions merged --
    or None for no correction (None, or an empty array)."""
    if shape is None or math.prod(shape) == 0:
        return None
    if lead_lag:
        raise ValueError(
            "correction cannot be used with lead_lag=True (lead-lag segments have no correction rows)"
        )
    segments = max(length - 1, 0)
    if len(shape) == 1:
        native: tuple[int, ...] = shape
    elif len(shape) == 2 and shape[0] == segments:
        native = shape
    elif len(shape) >= 2 and shape == (*batch_shape, segments, shape[-1]):
        native = (math.prod(batch_shape), segments, shape[-1])
    else:
        per_path, path_shape = (*batch_shape, segments, "C"), (*batch_shape, length, dimension)
        raise ValueError(
            f"correction shape must be (C,), (path.shape[-2] - 1, C) or {per_path} for path shape "
            f"{path_shape}, got {shape}"
        )
    correction_level(dimension, degree, shape[-1])
    return native


def correction_operand(
    correction: Any,
    path: Operand,
    batch_shape: tuple[int, ...],
    length: int,
    dimension: int,
    degree: int,
    lead_lag: bool,
) -> Any:
    """The correction as the native code reads it (a C-contiguous numpy array), or None."""
    if correction is None:
        return None
    op = operand(correction, "correction")
    check_same_kind(path, op)
    native = correction_meta(op.shape, batch_shape, length, dimension, degree, lead_lag)
    if native is None:
        return None
    return contiguous(op.array.reshape(native))


def lengths_meta(shape: tuple[int, ...], batch_shape: tuple[int, ...]) -> None:
    """``lengths`` has one entry per path."""
    if shape != batch_shape:
        raise ValueError(f"lengths must have the paths' batch shape {batch_shape}, got shape {shape}")


def lengths_operand(lengths: Any, batch_shape: tuple[int, ...], length: int) -> Any:
    """``lengths`` (a numpy array, torch tensor, list or int of integers, shaped like the batch)
    as the native code reads it: a flat int64 array, every value checked to lie in
    ``1..length``. None stays None."""
    if lengths is None:
        return None
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(lengths, torch.Tensor):
        if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
            raise TypeError(f"lengths must hold integers, got a tensor of {lengths.dtype}")
        lengths = lengths.detach().cpu().numpy()
    elif isinstance(lengths, (bool, float)):
        raise TypeError(f"lengths must hold integers, got {type(lengths).__name__}")
    elif not isinstance(lengths, (np.ndarray, list, tuple, int, np.integer)):
        raise TypeError(
            f"lengths must be a numpy array, torch tensor or list of integers, got {type(lengths).__name__}"
        )
    array = np.asarray(lengths)
    if array.size == 0 and not isinstance(lengths, np.ndarray):
        array = array.astype(np.int64)  # an empty list reads as float64
    if array.dtype.kind not in "iu":
        raise TypeError(f"lengths must hold integers, got dtype {array.dtype}")
    lengths_meta(tuple(array.shape), batch_shape)
    bad = np.flatnonzero((array < 1) | (array > length))
    if bad.size:
        index = np.unravel_index(int(bad[0]), array.shape) if array.ndim else ()
        raise ValueError(
            f"lengths must lie in 1..{length} (a path uses its first lengths[i] of its {length} points), "
            f"got lengths[{', '.join(map(str, index))}] = {array[index]}"
        )
    return np.ascontiguousarray(array.reshape(-1), dtype=np.int64)


def stream_steps(length: int, lead_lag: bool) -> int:
    """Prefix signatures of a path of ``length`` points: one per increment of the transformed
    path."""
    points = 2 * length - 1 if lead_lag and length > 0 else length
    return max(points - 1, 0)


def refuse_on_gpu(path: Operand, correction: Any, lengths: Any, stream: bool) -> None:
    """The GPU kernels sign whole, uncorrected, equal-length paths only (for now)."""
    if not path.on_gpu:
        return
    asked = [
        name
        for name, given in (("correction", correction), ("lengths", lengths), ("stream", stream))
        if given
    ]
    if asked:
        raise NotImplementedError(
            f"{', '.join(asked)} {'is' if len(asked) == 1 else 'are'} not supported for CUDA tensors yet; "
            f"compute on the CPU (path.cpu()) or leave {'it' if len(asked) == 1 else 'them'} at the default"
        )
