"""Specs of the path transforms: ``transform_path`` and ``transform_path_backprop``."""

from __future__ import annotations

import math

from .._checks import check_n_jobs, check_path_flags
from .._operands import path_shape
from ..exceptions import ShapeError
from . import Meta, OpSpec, Param, Shape, register

_PARAMS = (Param("time_aug", bool), Param("lead_lag", bool), Param("end_time", float), Param("n_jobs", int))


def transform_path_meta(path: Shape, time_aug: bool, lead_lag: bool, end_time: float, n_jobs: int) -> Meta:
    check_path_flags(time_aug, lead_lag, end_time)
    if not (time_aug or lead_lag):
        return Meta(outputs=(path,), views=(), native_args=(), passthrough=True)
    threads = check_n_jobs(n_jobs)
    batch, length, dimension = path_shape(path)
    if time_aug and length < 2:
        raise ShapeError(f"transform_path(time_aug=True) requires path length >= 2, got {length}")
    new_length = 2 * length - 1 if lead_lag and length > 0 else length
    new_dimension = (2 * dimension if lead_lag else dimension) + int(time_aug)
    count = math.prod(batch)
    return Meta(
        outputs=((*batch, new_length, new_dimension),),
        views=((count, length, dimension), (count, new_length, new_dimension)),
        native_args=(time_aug, lead_lag, end_time, threads),
    )


TRANSFORM_PATH = register(
    OpSpec("transform_path", arrays=("path",), params=_PARAMS, meta=transform_path_meta, cuda=True)
)


def transform_path_backprop_meta(
    derivs: Shape, time_aug: bool, lead_lag: bool, end_time: float, n_jobs: int
) -> Meta:
    check_path_flags(time_aug, lead_lag, end_time)
    if not (time_aug or lead_lag):
        return Meta(outputs=(derivs,), views=(), native_args=(), passthrough=True)
    threads = check_n_jobs(n_jobs)
    batch, new_length, new_dimension = path_shape(derivs, "derivs")
    dimension = new_dimension - int(time_aug)
    if lead_lag:
        if dimension % 2:
            raise ShapeError(
                f"derivs has {new_dimension} channels, which no lead-lag"
                f"{' + time' if time_aug else ''} path has (expected an even number"
                f"{' plus one' if time_aug else ''})"
            )
        if new_length % 2 == 0 and new_length > 0:
            raise ShapeError(f"derivs has {new_length} points; a lead-lag path has an odd number (2L - 1)")
        dimension //= 2
    if dimension == 0:
        raise ShapeError(f"derivs has {new_dimension} channels, leaving none for the original path")
    length = (new_length + 1) // 2 if lead_lag else new_length
    count = math.prod(batch)
    return Meta(
        outputs=((*batch, length, dimension),),
        views=((count, new_length, new_dimension), (count, length, dimension)),
        native_args=(length, dimension, time_aug, lead_lag, end_time, threads),
    )


TRANSFORM_PATH_BACKPROP = register(
    OpSpec(
        "transform_path_backprop",
        arrays=("derivs",),
        params=_PARAMS,
        meta=transform_path_backprop_meta,
        rows=frozenset({"derivs"}),
        cuda=True,
    )
)
