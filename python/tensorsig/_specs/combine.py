"""Specs of the Chen-product ops: ``sig_combine`` and ``sig_combine_backprop``."""

from __future__ import annotations

import math

from .._checks import augmented_dimension, check_bool, check_n_jobs, check_non_negative_int, infer_scalar_term
from .._operands import check_width, rows_shape
from ..exceptions import InvalidArgumentError, ShapeError
from . import Meta, OpSpec, Param, Shape, register

_PARAMS = (
    Param("dimension", int),
    Param("degree", int),
    Param("time_aug", bool),
    Param("lead_lag", bool),
    Param("n_jobs", int),
)


def _signatures(
    shapes: tuple[Shape, ...],
    names: tuple[str, ...],
    dimension: int,
    degree: int,
    time_aug: bool,
    lead_lag: bool,
    n_jobs: int,
    outputs: int,
) -> Meta:
    """Signatures of one shape that are combined entry by entry into ``outputs`` results shaped
    like them. The first's width says whether they carry the scalar term."""
    check_non_negative_int(dimension, "dimension")
    check_non_negative_int(degree, "degree")
    check_bool(time_aug, "time_aug")
    check_bool(lead_lag, "lead_lag")
    threads = check_n_jobs(n_jobs)
    for shape, name in zip(shapes, names):
        rows_shape(shape, name)
    if dimension == 0:
        raise InvalidArgumentError("dimension must be at least 1, got dimension = 0")
    first = shapes[0]
    scalar_term = infer_scalar_term(first[-1], names[0], dimension, degree, time_aug, lead_lag)
    for shape, name in zip(shapes[1:], names[1:]):
        check_width(shape, name, first[-1])
        if shape[:-1] != first[:-1]:
            raise ShapeError(f"{', '.join(names)} have different batch shapes: {first[:-1]} and {shape[:-1]}")
    flat = (math.prod(first[:-1]), first[-1])
    return Meta(
        outputs=(first,) * outputs,
        views=(flat,) * (len(shapes) + outputs),
        native_args=(augmented_dimension(dimension, time_aug, lead_lag), degree, scalar_term, threads),
    )


def sig_combine_meta(
    sig1: Shape, sig2: Shape, dimension: int, degree: int, time_aug: bool, lead_lag: bool, n_jobs: int
) -> Meta:
    return _signatures((sig1, sig2), ("sig1", "sig2"), dimension, degree, time_aug, lead_lag, n_jobs, 1)


SIG_COMBINE = register(
    OpSpec(
        "sig_combine",
        arrays=("sig1", "sig2"),
        params=_PARAMS,
        meta=sig_combine_meta,
        rows=frozenset({"sig1", "sig2"}),
        cuda=True,
    )
)


def sig_combine_backprop_meta(
    deriv: Shape,
    sig1: Shape,
    sig2: Shape,
    dimension: int,
    degree: int,
    time_aug: bool,
    lead_lag: bool,
    n_jobs: int,
) -> Meta:
    # pysiglib names the gradient `sig_combined_deriv` in its messages.
    names = ("sig1", "sig2", "sig_combined_deriv")
    return _signatures((sig1, sig2, deriv), names, dimension, degree, time_aug, lead_lag, n_jobs, 2)


SIG_COMBINE_BACKPROP = register(
    OpSpec(
        "sig_combine_backprop",
        arrays=("deriv", "sig1", "sig2"),
        params=_PARAMS,
        meta=sig_combine_backprop_meta,
        outputs=2,
        rows=frozenset({"deriv", "sig1", "sig2"}),
        cuda=True,
    )
)
