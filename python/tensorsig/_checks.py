"""Argument checks shared by the public functions.

Each check raises the exception pysiglib raises for the same mistake (a ``TypeError`` for a wrong
type, a ``ValueError`` for a wrong value; here the :mod:`tensorsig.exceptions` subclasses of them),
with a message naming the argument and what was expected. Everything is pure Python over ints and
bools, so that the checks also run on fake tensors' shapes under ``torch.compile``.
"""

from __future__ import annotations

from typing import Any

from . import _core
from .exceptions import ArgumentTypeError, InvalidArgumentError, ShapeError


def _type_name(value: Any) -> str:
    return type(value).__name__


def check_bool(value: Any, name: str) -> None:
    if not isinstance(value, bool):
        raise ArgumentTypeError(f"{name} must be of type bool, got {_type_name(value)} instead")


def check_non_negative_int(value: Any, name: str) -> None:
    # bool is an int subclass, but degree=True is a bug, not a degree.
    if not isinstance(value, int) or isinstance(value, bool):
        raise ArgumentTypeError(f"{name} must be of type int, got {_type_name(value)} instead")
    if value < 0:
        raise InvalidArgumentError(f"{name} must be a non-negative integer, got {name} = {value}")


def check_float(value: Any, name: str) -> None:
    if not isinstance(value, float):
        raise ArgumentTypeError(f"{name} must be of type float, got {_type_name(value)} instead")


#: Threads the machine offers, as the native thread pools count them.
_ALL_THREADS = _core.resolve_n_jobs(-1)


def check_n_jobs(n_jobs: Any) -> int:
    """Validates ``n_jobs`` and returns the number of threads it stands for.

    pysiglib's convention, which is joblib's: 1 runs serially, ``n > 1`` uses n threads, -1 all
    the machine's threads and ``-k`` all but ``k - 1`` of them. As in joblib, ``-k`` beyond the
    machine's count uses one thread instead of failing, so that code written on a large machine
    runs on a small one. 0 is an error. Pure Python, so that torch.compile traces it."""
    if not isinstance(n_jobs, int) or isinstance(n_jobs, bool):
        raise ArgumentTypeError(f"n_jobs must be of type int, got {_type_name(n_jobs)} instead")
    if n_jobs == 0:
        raise InvalidArgumentError("n_jobs cannot be 0")
    if n_jobs < 0:
        return max(1, _ALL_THREADS + 1 + n_jobs)
    # The native code caps large counts at a few threads per core; beyond 64 bits, cap here.
    return min(n_jobs, 2**62)


def check_path_flags(time_aug: Any, lead_lag: Any, end_time: Any) -> None:
    check_bool(time_aug, "time_aug")
    check_bool(lead_lag, "lead_lag")
    check_float(end_time, "end_time")


def augmented_dimension(dimension: int, time_aug: bool, lead_lag: bool) -> int:
    """The number of channels after lead-lag (doubles) and time augmentation (adds one)."""
    return (2 * dimension if lead_lag else dimension) + int(time_aug)


#: The largest element count any buffer may have (its size in float64 must fit an isize).
_MAX_ELEMENTS = (2**63 - 1) // 8 - 1


def _too_large(dimension: int, degree: int) -> ShapeError:
    return ShapeError(f"a signature of dimension {dimension}, degree {degree} is too large to represent")


def signature_length(dimension: int, degree: int, scalar_term: bool) -> int:
    """Coefficients of a signature of ``dimension`` (already augmented) truncated at ``degree``;
    ValueError when the count cannot be represented. Mirrors the native ``Layout::new``, in pure
    Python so that torch.compile traces it."""
    length, level = 0, 1
    for _ in range(degree):
        level *= dimension
        length += level
        if length > _MAX_ELEMENTS:
            raise _too_large(dimension, degree)
        if level == 0 or dimension == 1:
            length += (degree - 1 - _) * level  # the remaining levels are all the same size
            break
    if length > _MAX_ELEMENTS:
        raise _too_large(dimension, degree)
    return length + int(scalar_term)


def infer_scalar_term(
    length: int, name: str, dimension: int, degree: int, time_aug: bool = False, lead_lag: bool = False
) -> bool:
    """Whether signatures of ``length`` coefficients carry the scalar term, or ValueError when the
    length fits neither format for this dimension, degree and transforms."""
    aug = augmented_dimension(dimension, time_aug, lead_lag)
    full = signature_length(aug, degree, True)
    if length == full:
        return True
    if length == full - 1:
        return False
    widened = f" ({aug} channels after the transforms)" if aug != dimension else ""
    raise ShapeError(
        f"{name} has incompatible length {length} for dimension={dimension}{widened}, degree={degree} "
        f"(expected {full} with the scalar term or {full - 1} without)"
    )
