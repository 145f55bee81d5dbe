"""``sig`` and ``sig_backprop`` with their optional arguments: ``correction`` (pysiglib's
per-segment higher-level terms), ``lengths`` (ragged batches) and ``stream`` (the signature of every
prefix).

Calls that use none of them take the op table's ``sig`` / ``sig_backprop`` (``tensorsig._run``);
these functions serve the others. Each option is checked in two parts: a pure metadata function over
shapes, ints and bools (``*_meta``), and the parsing of its array argument, both before anything
is allocated. The base arguments are checked by the op specs' own metadata functions, so each check
and message exists once.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import _core
from ._checks import check_n_jobs, check_non_negative_int, check_path_flags
from ._operands import Operand, check_same_kind, empty, native_view, operand, path_shape, torch_module
from ._run import native
from ._specs.signature import SIG, SIG_BACKPROP, warn_if_not_finite
from .exceptions import ArgumentTypeError, DeviceError, InvalidArgumentError, ShapeError

Shape = tuple[int, ...]


def uses_options(correction: Any, stream: Any, lengths: Any) -> bool:
    """Whether a call needs this module (any option away from its default)."""
    return correction is not None or stream is not False or lengths is not None


def correction_level(dimension: int, degree: int, width: int) -> int:
    """The highest level ``m`` of correction rows of ``width`` values over ``dimension`` channels:
    ``width = d² + … + d^m`` with ``2 ≤ m ≤ degree``."""
    if degree < 2:
        raise ShapeError(
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
    raise ShapeError(
        f"correction length must be a prefix of tensor levels 2..degree: d^2 + ... + d^m values per row "
        f"with 2 <= m <= {degree} for d = {dimension} (the path's own channels, without time), got {width}"
    )


def correction_meta(
    shape: Shape | None, batch: Shape, length: int, dimension: int, degree: int, lead_lag: bool
) -> Shape | None:
    """Checks a correction's shape against the path's and returns the shape the native code reads
    it in -- ``(C,)``, ``(L - 1, C)`` or ``(batch, L - 1, C)`` with the batch dimensions merged --
    or None for no correction (None, or an empty array)."""
    if shape is None or math.prod(shape) == 0:
        return None
    if lead_lag:
        raise InvalidArgumentError(
            "correction cannot be used with lead_lag=True (lead-lag segments have no correction rows)"
        )
    segments = max(length - 1, 0)
    if len(shape) == 1:
        native_shape: Shape = shape
    elif len(shape) == 2 and shape[0] == segments:
        native_shape = shape
    elif len(shape) >= 2 and shape == (*batch, segments, shape[-1]):
        native_shape = (math.prod(batch), segments, shape[-1])
    else:
        per_path, path = (*batch, segments, "C"), (*batch, length, dimension)
        raise ShapeError(
            f"correction shape must be (C,), (path.shape[-2] - 1, C) or {per_path} for path shape "
            f"{path}, got {shape}"
        )
    correction_level(dimension, degree, shape[-1])
    return native_shape


def stream_steps(length: int, lead_lag: bool) -> int:
    """Prefix signatures of a path of ``length`` points: one per increment of the transformed
    path."""
    points = 2 * length - 1 if lead_lag and length > 0 else length
    return max(points - 1, 0)


def lengths_operand(lengths: Any, batch: Shape, length: int) -> Any:
    """``lengths`` (a numpy array, torch tensor, list or int of integers, shaped like the batch)
    as the native code reads it: a flat int64 array, every value checked to lie in
    ``1..length``. None stays None."""
    if lengths is None:
        return None
    torch = torch_module()
    if torch is not None and isinstance(lengths, torch.Tensor):
        if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
            raise ArgumentTypeError(f"lengths must hold integers, got a tensor of {lengths.dtype}")
        lengths = lengths.detach().cpu().numpy()
    elif isinstance(lengths, bool | float):
        raise ArgumentTypeError(f"lengths must hold integers, got {type(lengths).__name__}")
    elif not isinstance(lengths, np.ndarray | list | tuple | int | np.integer):
        raise ArgumentTypeError(
            f"lengths must be a numpy array, torch tensor or list of integers, got {type(lengths).__name__}"
        )
    array = np.asarray(lengths)
    if array.size == 0 and not isinstance(lengths, np.ndarray):
        array = array.astype(np.int64)  # an empty list reads as float64
    if array.dtype.kind not in "iu":
        raise ArgumentTypeError(f"lengths must hold integers, got dtype {array.dtype}")
    if array.shape != batch:
        raise ShapeError(f"lengths must have the paths' batch shape {batch}, got shape {array.shape}")
    bad = np.flatnonzero((array < 1) | (array > length))
    if bad.size:
        index = np.unravel_index(int(bad[0]), array.shape) if array.ndim else ()
        raise InvalidArgumentError(
            f"lengths must lie in 1..{length} (a path uses its first lengths[i] of its {length} points), "
            f"got lengths[{', '.join(map(str, index))}] = {array[index]}"
        )
    return np.ascontiguousarray(array.reshape(-1), dtype=np.int64)


def _options(
    path: Operand,
    correction: Any,
    lengths: Any,
    stream: Any,
    degree: int,
    lead_lag: bool,
) -> dict[str, Any]:
    """The native keyword arguments for the options, validated (the path's own checks done)."""
    if not isinstance(stream, bool):
        raise ArgumentTypeError(f"stream must be of type bool, got {type(stream).__name__}")
    *batch_list, length, dimension = path.shape
    batch = tuple(batch_list)
    options: dict[str, Any] = {}
    if correction is not None:
        corr = operand(correction, "correction")
        check_same_kind((path, corr))
        native_shape = correction_meta(corr.shape, batch, length, dimension, degree, lead_lag)
        if native_shape is not None:
            options["correction"] = native_view(corr.array, native_shape, True)
    native_lengths = lengths_operand(lengths, batch, length)
    if native_lengths is not None:
        options["lengths"] = native_lengths
    if stream:
        options["stream"] = True
    refuse_on_gpu(path, "correction" in options, "lengths" in options, stream)
    return options


def refuse_on_gpu(path: Operand, correction: bool, lengths: bool, stream: bool) -> None:
    """The GPU kernels sign whole, uncorrected, equal-length paths only (for now)."""
    if not path.on_gpu:
        return
    asked = [
        name
        for name, given in (("correction", correction), ("lengths", lengths), ("stream", stream))
        if given
    ]
    if asked:
        one = len(asked) == 1
        raise DeviceError(
            f"{', '.join(asked)} {'is' if one else 'are'} not supported for CUDA tensors yet; "
            f"compute on the CPU (path.cpu()) or leave {'it' if one else 'them'} at the default"
        )


def sig_with_options(
    path: Any,
    degree: int,
    time_aug: bool,
    lead_lag: bool,
    end_time: float,
    horner: bool,
    scalar_term: bool,
    correction: Any,
    n_jobs: int,
    stream: Any,
    lengths: Any,
) -> Any:
    """:func:`tensorsig.sig` with ``correction``, ``stream`` or ``lengths``."""
    op = operand(path, "path")
    meta = SIG.meta(op.shape, degree, time_aug, lead_lag, end_time, horner, scalar_term, n_jobs)
    options = _options(op, correction, lengths, stream, degree, lead_lag)
    (shape,) = meta.outputs
    flat_path, flat_out = (view or () for view in meta.views)
    if stream:
        steps = stream_steps(op.shape[-2], lead_lag)
        shape = (*shape[:-1], steps, shape[-1])
        flat_out = (flat_out[0], steps, flat_out[1])
    result, out = empty(op, shape)
    if 0 not in shape:
        finite = native(op, _core.sig)(
            native_view(op.array, flat_path, False),
            native_view(out, flat_out, False),
            *meta.native_args,
            **options,
        )
        warn_if_not_finite(finite)
    return result


def sig_backprop_with_options(
    path: Any,
    sig: Any,
    sig_derivs: Any,
    degree: int,
    time_aug: bool,
    lead_lag: bool,
    end_time: float,
    correction: Any,
    n_jobs: int,
    stream: Any,
    lengths: Any,
) -> Any:
    """:func:`tensorsig.sig_backprop` with ``correction``, ``stream`` or ``lengths``."""
    ops = (operand(path, "path"), operand(sig, "sig"), operand(sig_derivs, "sig_derivs"))
    check_same_kind(ops)
    path_op, sig_op, derivs_op = ops
    # The base arguments first, as sig_with_options does through SIG.meta.
    path_shape(path_op.shape)
    check_non_negative_int(degree, "degree")
    check_path_flags(time_aug, lead_lag, end_time)
    check_n_jobs(n_jobs)
    options = _options(path_op, correction, lengths, stream, degree, lead_lag)
    # With stream, each batch entry has one signature per step: checked as a batch of steps.
    steps: Shape = (stream_steps(path_op.shape[-2], lead_lag),) if stream else ()
    rows = []
    for other in (sig_op, derivs_op):
        expected = len(path_op.shape) - 2 + len(steps) + 1
        if len(other.shape) != expected or other.shape[len(path_op.shape) - 2 : -1] != steps:
            if stream:
                width = other.shape[-1] if other.shape else "sig_length"
                raise ShapeError(
                    f"with stream=True, {other.name} must have shape (*batch, steps, sig_length) = "
                    f"{(*path_op.shape[:-2], *steps, width)} for path shape {path_op.shape}, got "
                    f"{other.shape}"
                )
        rows.append(other.shape[: len(path_op.shape) - 2] + other.shape[-1:] if stream else other.shape)
    meta = SIG_BACKPROP.meta(path_op.shape, *rows, degree, time_aug, lead_lag, end_time, n_jobs)
    flat_path, flat_sig, flat_derivs, flat_out = (view or () for view in meta.views)
    if stream:
        flat_sig = flat_derivs = (flat_sig[0], steps[0], flat_sig[1])
    result, out = empty(path_op, path_op.shape)
    if 0 not in path_op.shape:
        native(path_op, _core.sig_backprop)(
            native_view(path_op.array, flat_path, False),
            native_view(sig_op.array, flat_sig, True),
            native_view(derivs_op.array, flat_derivs, True),
            native_view(out, flat_out, False),
            *meta.native_args,
            **options,
        )
    return result
