"""Argument checks shared by the public functions.

Each check raises the exception pysiglib raises for the same mistake (``TypeError`` for a wrong
type, ``ValueError`` for a wrong value), with a message naming the argument and what was expected.
"""

from __future__ import annotations

from typing import Any

from . import _core


def _type_name(value: Any) -> str:
    return type(value).__name__


def check_bool(value: Any, name: str) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be of type bool, got {_type_name(value)} instead")


def check_non_negative_int(value: Any, name: str) -> None:
    # bool is an int subclass, but degree=True is a bug, not a degree.
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be of type int, got {_type_name(value)} instead")
    if value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {name} = {value}")


def check_float(value: Any, name: str) -> None:
    if not isinstance(value, float):
        raise TypeError(f"{name} must be of type float, got {_type_name(value)} instead")


def check_n_jobs(n_jobs: Any) -> int:
    """Validates ``n_jobs`` (pysiglib's convention) and returns it in the native code's range."""
    if not isinstance(n_jobs, int) or isinstance(n_jobs, bool):
        raise TypeError(f"n_jobs must be of type int, got {_type_name(n_jobs)} instead")
    if n_jobs == 0:
        raise ValueError("n_jobs cannot be 0")
    # The native code caps large counts at a few threads per core; beyond 64 bits, cap here.
    n_jobs = max(min(n_jobs, 2**62), -(2**62))
    _core.resolve_n_jobs(n_jobs)
    return n_jobs


def check_path_flags(time_aug: Any, lead_lag: Any, end_time: Any) -> None:
    check_bool(time_aug, "time_aug")
    check_bool(lead_lag, "lead_lag")
    check_float(end_time, "end_time")


def augmented_dimension(dimension: int, time_aug: bool, lead_lag: bool) -> int:
    """The number of channels after lead-lag (doubles) and time augmentation (adds one)."""
    return (2 * dimension if lead_lag else dimension) + int(time_aug)


def signature_length(dimension: int, degree: int, scalar_term: bool) -> int:
    """Coefficients of a signature of ``dimension`` (already augmented) truncated at ``degree``;
    ValueError when the count cannot be represented."""
    try:
        return _core.sig_length(dimension, degree, scalar_term)
    except OverflowError:  # a Python int beyond 64 bits
        raise ValueError(
            f"a signature of dimension {dimension}, degree {degree} is too large to represent"
        ) from None


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
    raise ValueError(
        f"{name} has incompatible length {length} for dimension={dimension}{widened}, degree={degree} "
        f"(expected {full} with the scalar term or {full - 1} without)"
    )
