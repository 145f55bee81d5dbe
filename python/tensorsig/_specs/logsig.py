"""Metadata of the log-signature functions: argument checks and output shapes, in pure Python.

Every public log-signature function validates its non-array arguments and its arrays' shapes
here, before touching any data: each ``<op>_meta`` takes shapes (tuples of ints), ints, floats
and bools only and returns the output shape(s) (and any parameter it resolves, such as a scalar
term inferred from a length). Nothing here calls numpy or torch, so the same functions can serve
torch fake tensors and ``torch.compile``.
"""

from __future__ import annotations

from typing import Any

from .._checks import (
    _MAX_ELEMENTS,
    augmented_dimension,
    check_bool,
    check_n_jobs,
    check_non_negative_int,
    check_path_flags,
    infer_scalar_term,
    signature_length,
)
from ..exceptions import ArgumentTypeError, InvalidArgumentError, ShapeError

Shape = tuple[int, ...]


def check_positive_int(value: Any, name: str) -> None:
    check_non_negative_int(value, name)
    if value == 0:
        raise InvalidArgumentError(f"{name} must be a positive integer, got {name} = 0")


def check_method(method: Any, allowed: tuple[int, ...] = (0, 1, 2, 3), function: str = "") -> int:
    """``method`` is an int among ``allowed`` (pysiglib's 0-3), else TypeError/ValueError."""
    if not isinstance(method, int) or isinstance(method, bool):
        raise ArgumentTypeError(f"method must be of type int, got {type(method).__name__} instead")
    if method not in (0, 1, 2, 3):
        raise InvalidArgumentError(f"method must be one of 0, 1, 2 or 3, got method = {method}")
    if method not in allowed:
        if method == 3:
            raise InvalidArgumentError(
                f"method=3 is not supported in {function}: it computes log-signatures from paths "
                "(log_sig(path, degree, method=3)); method=2 has the same coordinates"
            )
        listed = ", ".join(map(str, allowed))
        raise InvalidArgumentError(f"method must be one of {listed} in {function}, got method = {method}")
    return method


def _mobius(n: int) -> int:
    sign, p = 1, 2
    while p * p <= n:
        if n % p == 0:
            n //= p
            if n % p == 0:
                return 0
            sign = -sign
        p += 1
    return -sign if n > 1 else sign


def lyndon_count(dimension: int, degree: int) -> int:
    """Witt's formula, summed: the number of Lyndon words of length 1..degree over ``dimension``
    letters; ValueError when the count (or the signature it comes from) cannot be represented."""
    signature_length(dimension, degree, False)  # the same overflow bound as the native layout
    total = 0
    for k in range(1, degree + 1):
        total += sum(_mobius(k // j) * dimension**j for j in range(1, k + 1) if k % j == 0) // k
        if dimension <= 1:
            break  # no Lyndon word over one letter is longer than it
    if total > _MAX_ELEMENTS:
        raise ShapeError(
            f"a log-signature of dimension {dimension}, degree {degree} is too large to represent"
        )
    return total


def log_sig_length_meta(dimension: Any, degree: Any, time_aug: Any, lead_lag: Any) -> int:
    check_positive_int(dimension, "dimension")
    check_positive_int(degree, "degree")
    check_bool(time_aug, "time_aug")
    check_bool(lead_lag, "lead_lag")
    return lyndon_count(augmented_dimension(dimension, time_aug, lead_lag), degree)


def _width(aug: int, degree: int, method: int, scalar_term: bool) -> int:
    """Coefficients of one log-signature in ``method``'s coordinates."""
    if method == 0:
        return signature_length(aug, degree, scalar_term)
    return lyndon_count(aug, degree)


def _path_shape(shape: Shape, name: str = "path") -> tuple[Shape, int, int]:
    if len(shape) < 2:
        raise ShapeError(
            f"{name} must have shape (..., length, dimension): at least rank 2, got rank {len(shape)}"
        )
    *batch, length, dimension = shape
    if dimension == 0:
        raise ShapeError(f"{name} has 0 channels (dimension); a path needs at least one")
    return tuple(batch), length, dimension


def _rows(shape: Shape, width: int, name: str) -> Shape:
    """The batch shape of rows of ``width`` values, or ValueError naming ``name``."""
    if len(shape) < 1:
        raise ShapeError(f"{name} must have at least rank 1, got rank 0")
    if shape[-1] != width:
        raise ShapeError(f"{name} is of incorrect length. Expected {width}, got {shape[-1]}")
    return shape[:-1]


def _same_batch(names: str, *batches: Shape) -> None:
    if any(b != batches[0] for b in batches[1:]):
        raise ShapeError(f"{names} must have the same batch shape, got {', '.join(map(str, batches))}")


def log_sig_meta(
    path_shape: Shape,
    degree: Any,
    time_aug: Any,
    lead_lag: Any,
    end_time: Any,
    method: Any,
    scalar_term: Any,
    n_jobs: Any,
    correction: bool = False,
) -> tuple[Shape, int]:
    """Output shape of :func:`tensorsig.log_sig` and the native ``n_jobs``. ``correction``: a
    non-empty correction is given."""
    check_positive_int(degree, "degree")
    check_path_flags(time_aug, lead_lag, end_time)
    check_method(method)
    check_bool(scalar_term, "scalar_term")
    n_jobs = check_n_jobs(n_jobs)
    batch, _length, dimension = _path_shape(path_shape)
    if correction:
        if method == 3:
            raise InvalidArgumentError("correction is not supported with log_sig method=3")
        if lead_lag:
            raise InvalidArgumentError("correction cannot be used with lead_lag=True")
    aug = augmented_dimension(dimension, time_aug, lead_lag)
    return (*batch, _width(aug, degree, method, scalar_term)), n_jobs


def log_sig_backprop_meta(
    path_shape: Shape,
    derivs_shape: Shape,
    degree: Any,
    time_aug: Any,
    lead_lag: Any,
    end_time: Any,
    method: Any,
    scalar_term: Any,
    n_jobs: Any,
) -> tuple[Shape, int]:
    """Output shape (the path's) of the path gradient of :func:`tensorsig.log_sig`."""
    out_shape, n_jobs = log_sig_meta(
        path_shape, degree, time_aug, lead_lag, end_time, method, scalar_term, n_jobs
    )
    if tuple(derivs_shape) != out_shape:
        raise ShapeError(
            f"log_sig_derivs must have the log-signatures' shape {out_shape}, got {derivs_shape}"
        )
    return tuple(path_shape), n_jobs


def _signature_args(
    dimension: Any, degree: Any, time_aug: Any, lead_lag: Any, n_jobs: Any
) -> tuple[int, int]:
    check_positive_int(dimension, "dimension")
    check_positive_int(degree, "degree")
    check_bool(time_aug, "time_aug")
    check_bool(lead_lag, "lead_lag")
    return augmented_dimension(dimension, time_aug, lead_lag), check_n_jobs(n_jobs)


def sig_to_log_sig_meta(
    sig_shape: Shape,
    dimension: Any,
    degree: Any,
    time_aug: Any,
    lead_lag: Any,
    method: Any,
    n_jobs: Any,
    function: str = "sig_to_log_sig",
) -> tuple[Shape, bool, int]:
    """Output shape of :func:`tensorsig.sig_to_log_sig`, the inferred scalar term of ``sig`` and
    the native ``n_jobs``."""
    aug, n_jobs = _signature_args(dimension, degree, time_aug, lead_lag, n_jobs)
    check_method(method, (0, 1, 2), function)
    if len(sig_shape) < 1:
        raise ShapeError("sig must have at least rank 1, got rank 0")
    scalar_term = infer_scalar_term(sig_shape[-1], "sig", dimension, degree, time_aug, lead_lag)
    return (*sig_shape[:-1], _width(aug, degree, method, scalar_term)), scalar_term, n_jobs


def sig_to_log_sig_backprop_meta(
    sig_shape: Shape,
    derivs_shape: Shape,
    dimension: Any,
    degree: Any,
    time_aug: Any,
    lead_lag: Any,
    method: Any,
    n_jobs: Any,
) -> tuple[Shape, bool, int]:
    """Output shape (``sig``'s) of :func:`tensorsig.sig_to_log_sig_backprop`, the scalar term and
    ``n_jobs``."""
    out, scalar_term, n_jobs = sig_to_log_sig_meta(
        sig_shape, dimension, degree, time_aug, lead_lag, method, n_jobs, "sig_to_log_sig_backprop"
    )
    _same_batch("sig and log_sig_derivs", sig_shape[:-1], _rows(derivs_shape, out[-1], "log_sig_derivs"))
    return tuple(sig_shape), scalar_term, n_jobs


def logsig_to_sig_meta(
    log_sig_shape: Shape,
    dimension: Any,
    degree: Any,
    time_aug: Any,
    lead_lag: Any,
    method: Any,
    scalar_term: Any,
    n_jobs: Any,
    function: str = "logsig_to_sig",
) -> tuple[Shape, bool, int]:
    """Output shape of :func:`tensorsig.logsig_to_sig`, the scalar term of its output (for
    method 0 inferred from the input, which it keeps) and ``n_jobs``."""
    aug, n_jobs = _signature_args(dimension, degree, time_aug, lead_lag, n_jobs)
    check_method(method, (0, 1, 2), function)
    check_bool(scalar_term, "scalar_term")
    if len(log_sig_shape) < 1:
        raise ShapeError("log_sig must have at least rank 1, got rank 0")
    if method == 0:
        scalar_term = infer_scalar_term(log_sig_shape[-1], "log_sig", dimension, degree, time_aug, lead_lag)
    else:
        _rows(log_sig_shape, lyndon_count(aug, degree), "log_sig")
    return (*log_sig_shape[:-1], signature_length(aug, degree, scalar_term)), scalar_term, n_jobs


def logsig_to_sig_backprop_meta(
    log_sig_shape: Shape,
    derivs_shape: Shape,
    dimension: Any,
    degree: Any,
    time_aug: Any,
    lead_lag: Any,
    method: Any,
    scalar_term: Any,
    n_jobs: Any,
) -> tuple[Shape, bool, int]:
    """Output shape (``log_sig``'s) of :func:`tensorsig.logsig_to_sig_backprop`."""
    out, scalar_term, n_jobs = logsig_to_sig_meta(
        log_sig_shape,
        dimension,
        degree,
        time_aug,
        lead_lag,
        method,
        scalar_term,
        n_jobs,
        "logsig_to_sig_backprop",
    )
    _same_batch("log_sig and sig_derivs", log_sig_shape[:-1], _rows(derivs_shape, out[-1], "sig_derivs"))
    return tuple(log_sig_shape), scalar_term, n_jobs


def log_sig_combine_meta(
    shapes: tuple[Shape, ...],
    names: tuple[str, ...],
    dimension: Any,
    degree: Any,
    time_aug: Any,
    lead_lag: Any,
    n_jobs: Any,
) -> tuple[Shape, int, int]:
    """The common shape of :func:`tensorsig.log_sig_combine`'s (or its backprop's) arrays, the
    augmented dimension and ``n_jobs``."""
    aug, n_jobs = _signature_args(dimension, degree, time_aug, lead_lag, n_jobs)
    width = lyndon_count(aug, degree)
    batches = [_rows(shape, width, name) for shape, name in zip(shapes, names)]
    _same_batch(", ".join(names), *batches)
    return tuple(shapes[0]), aug, n_jobs


def log_sig_join_meta(
    shapes: tuple[Shape, ...],
    names: tuple[str, ...],
    displacement_shape: Shape,
    dimension: Any,
    degree: Any,
    n_jobs: Any,
) -> tuple[Shape, int]:
    """The log-signatures' shape for :func:`tensorsig.log_sig_join` (or its backprop), given the
    shapes of its log-signature-shaped arrays and of the displacements, and ``n_jobs``."""
    check_positive_int(dimension, "dimension")
    check_positive_int(degree, "degree")
    n_jobs = check_n_jobs(n_jobs)
    width = lyndon_count(dimension, degree)
    batches = [_rows(shape, width, name) for shape, name in zip(shapes, names)]
    batches.append(_rows(displacement_shape, dimension, "displacement"))
    _same_batch(", ".join((*names, "displacement")), *batches)
    return tuple(shapes[0]), n_jobs


def linear_log_sig_meta(
    displacement_shape: Shape, dimension: Any, degree: Any, method: Any, scalar_term: Any, n_jobs: Any
) -> tuple[Shape, int]:
    """Output shape of :func:`tensorsig.linear_log_sig` and where the displacement goes in it.
    As pysiglib, ``dimension`` and ``degree`` may be 0 here (a length of at most one)."""
    check_non_negative_int(dimension, "dimension")
    check_non_negative_int(degree, "degree")
    check_method(method)
    check_bool(scalar_term, "scalar_term")
    check_n_jobs(n_jobs)
    if len(displacement_shape) < 1 or displacement_shape[-1] != dimension:
        raise ShapeError(
            f"displacement must have shape (..., dimension) = (..., {dimension}), got {displacement_shape}"
        )
    offset = int(method == 0 and scalar_term)
    if degree == 0 or dimension == 0:
        width = offset
    else:
        width = _width(dimension, degree, method, scalar_term)
    return (*displacement_shape[:-1], width), offset


def prepare_log_sig_meta(
    dimension: Any, degree: Any, method: Any, time_aug: Any, lead_lag: Any, use_disk: Any, device: Any
) -> int:
    """The augmented dimension :func:`tensorsig.prepare_log_sig` prepares for."""
    check_positive_int(dimension, "dimension")
    check_positive_int(degree, "degree")
    check_method(method)
    check_bool(time_aug, "time_aug")
    check_bool(lead_lag, "lead_lag")
    check_bool(use_disk, "use_disk")
    check_device(device)
    aug = augmented_dimension(dimension, time_aug, lead_lag)
    lyndon_count(aug, degree)
    return aug


def check_device(device: Any) -> None:
    if not isinstance(device, str):
        raise ArgumentTypeError(f"device must be of type str, got {type(device).__name__} instead")
    if device not in ("cpu", "cuda", "both"):
        raise InvalidArgumentError(f"device must be 'cpu', 'cuda', or 'both', got device = {device!r}")
