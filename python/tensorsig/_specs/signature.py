"""Specs of the signature ops: ``sig``, ``sig_backprop`` and the second-order ``sig_backprop_jvp``."""

from __future__ import annotations

import math
import warnings

from .._checks import (
    augmented_dimension,
    check_bool,
    check_n_jobs,
    check_non_negative_int,
    check_path_flags,
    infer_scalar_term,
    signature_length,
)
from .._operands import check_width, path_shape, rows_shape
from ..exceptions import ShapeError
from . import Meta, OpSpec, Param, Shape, register

_PATH_FLAGS = (Param("time_aug", bool), Param("lead_lag", bool), Param("end_time", float))


def sig_meta(
    path: Shape,
    degree: int,
    time_aug: bool,
    lead_lag: bool,
    end_time: float,
    horner: bool,
    scalar_term: bool,
    n_jobs: int,
) -> Meta:
    check_non_negative_int(degree, "degree")
    check_bool(horner, "horner")
    check_path_flags(time_aug, lead_lag, end_time)
    check_bool(scalar_term, "scalar_term")
    threads = check_n_jobs(n_jobs)
    batch, length, dimension = path_shape(path)
    width = signature_length(augmented_dimension(dimension, time_aug, lead_lag), degree, scalar_term)
    count = math.prod(batch)
    return Meta(
        outputs=((*batch, width),),
        views=((count, length, dimension), (count, width)),
        native_args=(degree, time_aug, lead_lag, end_time, scalar_term, threads),
    )


def warn_if_not_finite(finite: bool, stacklevel: int = 4) -> None:
    """Warns (at the user's call, ``stacklevel`` frames up) when ``sig`` returned NaN or Inf."""
    if not finite:
        warnings.warn(
            "sig produced NaN or Inf values. This is typically caused by NaN/Inf in the path or by "
            "paths with large increments overflowing; consider normalising your paths.",
            RuntimeWarning,
            stacklevel=stacklevel,
        )


SIG = register(
    OpSpec(
        "sig",
        arrays=("path",),
        params=(
            Param("degree", int),
            *_PATH_FLAGS,
            Param("horner", bool),
            Param("scalar_term", bool),
            Param("n_jobs", int),
        ),
        meta=sig_meta,
        after=warn_if_not_finite,
        cuda=True,
    )
)


def _gradient_rows(
    path: Shape, rows: tuple[Shape, ...], names: tuple[str, ...], degree: int, time_aug: bool, lead_lag: bool
) -> tuple[Shape, int, int, int, bool]:
    """The shared checks of a path and signature-shaped rows of the same batch (a signature and
    its gradient): returns the path's batch shape, length and dimension, the rows' width and
    whether they carry the scalar term (inferred from the first's width)."""
    batch, length, dimension = path_shape(path)
    for shape, name in zip(rows, names):
        rows_shape(shape, name)
    width = rows[0][-1]
    scalar_term = infer_scalar_term(width, names[0], dimension, degree, time_aug, lead_lag)
    for shape, name in zip(rows, names):
        check_width(shape, name, width)
        if shape[:-1] != batch:
            raise ShapeError(
                f"path, {' and '.join(names)} must have the same batch shape, got {batch} for path "
                f"and {shape[:-1]} for {name}"
            )
    return batch, length, dimension, width, scalar_term


def sig_backprop_meta(
    path: Shape,
    sig: Shape,
    sig_derivs: Shape,
    degree: int,
    time_aug: bool,
    lead_lag: bool,
    end_time: float,
    n_jobs: int,
) -> Meta:
    check_non_negative_int(degree, "degree")
    check_path_flags(time_aug, lead_lag, end_time)
    threads = check_n_jobs(n_jobs)
    batch, length, dimension, width, scalar_term = _gradient_rows(
        path, (sig, sig_derivs), ("sig", "sig_derivs"), degree, time_aug, lead_lag
    )
    count = math.prod(batch)
    flat_path = (count, length, dimension)
    return Meta(
        outputs=(path,),
        views=(flat_path, (count, width), (count, width), flat_path),
        native_args=(degree, time_aug, lead_lag, end_time, scalar_term, threads),
    )


SIG_BACKPROP = register(
    OpSpec(
        "sig_backprop",
        arrays=("path", "sig", "sig_derivs"),
        params=(Param("degree", int), *_PATH_FLAGS, Param("n_jobs", int)),
        meta=sig_backprop_meta,
        rows=frozenset({"sig", "sig_derivs"}),
        cuda=True,
    )
)


def sig_backprop_jvp_meta(
    path: Shape,
    directions: Shape,
    sig_derivs: Shape,
    degree: int,
    time_aug: bool,
    lead_lag: bool,
    end_time: float,
    n_jobs: int,
) -> Meta:
    check_non_negative_int(degree, "degree")
    check_path_flags(time_aug, lead_lag, end_time)
    threads = check_n_jobs(n_jobs)
    batch, length, dimension, width, scalar_term = _gradient_rows(
        path, (sig_derivs,), ("sig_derivs",), degree, time_aug, lead_lag
    )
    path_shape(directions, "directions")
    if directions != path:
        raise ShapeError(f"directions must be shaped like path, {path}, got {directions}")
    count = math.prod(batch)
    flat_path = (count, length, dimension)
    return Meta(
        outputs=(sig_derivs, path),
        views=(flat_path, flat_path, (count, width), (count, width), flat_path),
        native_args=(degree, time_aug, lead_lag, end_time, scalar_term, threads),
    )


SIG_BACKPROP_JVP = register(
    OpSpec(
        "sig_backprop_jvp",
        arrays=("path", "directions", "sig_derivs"),
        params=(Param("degree", int), *_PATH_FLAGS, Param("n_jobs", int)),
        meta=sig_backprop_jvp_meta,
        outputs=2,
        rows=frozenset({"sig_derivs"}),
        cuda=True,
    )
)
