"""The shapes ML code feeds, not only the long paths and large batches: signatures over a grid of
batch sizes, path lengths, dimensions and degrees, and the fixed cost of a call.

``python -m tensorsig bench --section grid`` (or ``call``). Each grid workload aims at 1.2x
pysiglib's speed, and the grid as a whole at a geometric mean of 2x.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

import tensorsig as ts

from ._bench import (
    Workload,
    _ratio_at_least,
    horner_flops,
    sig_backprop_workload,
    sig_combine_workload,
    sig_workload,
)
from ._bench_logsig import log_sig_workload

BATCHES = (1, 8, 64, 256)
LENGTHS = (2, 10, 100, 1000)
#: (dimension, degree): from two letters at degree 10 to forty letters at degree 2.
DIMENSIONS_DEGREES = ((2, 10), (2, 6), (3, 6), (4, 5), (6, 4), (12, 3), (20, 2), (40, 2))
#: Each shape's goal against pysiglib, and the grid's geometric mean.
SHAPE_GOAL, MEAN_GOAL = 1.2, 2.0
#: The fixed cost of a call on a (2, 3) path at degree 3: at most this many microseconds with
#: numpy, and the torch operator at most this many times the numpy call.
CALL_GOAL_US, TORCH_CALL_GOAL = 5.0, 2.0


def grid_workloads(quick: bool = False) -> list[Workload]:
    """Forward signatures over the grid, float64 and float32 (float64 only when ``quick``)."""
    dtypes = (np.float64,) if quick else (np.float64, np.float32)
    workloads = []
    for dtype, (dim, degree), batch, length in itertools.product(
        dtypes, DIMENSIONS_DEGREES, BATCHES, LENGTHS
    ):
        if batch * length * ts.sig_length(dim, degree) > 4e9:  # keep each run well under a second
            continue
        workloads.append(sig_workload(batch, length, dim, degree, dtype, target=SHAPE_GOAL, iis=False))
    return workloads


def summary(workloads: list[Workload]) -> str:
    """The grid's geometric mean against pysiglib and the shapes below the per-shape goal."""
    return _summary("grid", workloads)


def _summary(label: str, workloads: list[Workload]) -> str:
    ratios = {w.name: w.times["pysiglib"] / w.times["tensorsig"] for w in workloads if "pysiglib" in w.times}
    if not ratios:
        return "pysiglib is not installed: no ratios."
    mean = math.exp(sum(math.log(r) for r in ratios.values()) / len(ratios))
    below = sorted((r, name) for name, r in ratios.items() if r < SHAPE_GOAL)
    lines = [
        f"{label}: {len(ratios)} shapes, geometric mean {mean:.2f}x pysiglib (goal {MEAN_GOAL}x), "
        f"min {min(ratios.values()):.2f}x; {len(below)} below {SHAPE_GOAL}x"
    ]
    lines += [f"  {r:.2f}x  {name}" for r, name in below]
    return "\n".join(lines)


#: The other families' grid: coarser than the signatures' (their costs follow the same
#: dimensions, degrees and lengths), over the same (dimension, degree) pairs.
FAMILY_BATCHES = (1, 64)
FAMILY_LENGTHS = (10, 1000)
#: Batches of Chen products (they have no length).
COMBINE_BATCHES = (1, 64, 1024)


def family_grid_workloads(quick: bool = False) -> list[Workload]:
    """``sig_backprop``, ``sig_combine``, ``sig_combine_backprop`` and ``log_sig`` (pysiglib's
    default Lyndon-words method) over batch x length x (dimension, degree), float64, each shape
    aiming at :data:`SHAPE_GOAL` against pysiglib like the signatures' grid. ``quick`` keeps
    the paths of 10 points and the batches of up to 64 Chen products."""
    lengths = FAMILY_LENGTHS[:1] if quick else FAMILY_LENGTHS
    combine_batches = COMBINE_BATCHES[:2] if quick else COMBINE_BATCHES
    goal, check = f">= {SHAPE_GOAL}x pysiglib", _ratio_at_least("pysiglib", SHAPE_GOAL)
    workloads = []
    for (dim, degree), batch, length in itertools.product(DIMENSIONS_DEGREES, FAMILY_BATCHES, lengths):
        if batch * length * ts.sig_length(dim, degree) > 1e9:  # keep each run well under a second
            continue
        # Against pysiglib only: at 10 points the gradient's own goal (at most 3 forward passes)
        # measures the forward call's fixed cost more than the gradient.
        gradient = sig_backprop_workload(batch, length, dim, degree, np.float64)
        log_sig = log_sig_workload(batch, length, dim, degree, method=1)
        for workload in (gradient, log_sig):
            workload.target, workload.check = goal, check
            workloads.append(workload)
    for (dim, degree), batch in itertools.product(DIMENSIONS_DEGREES, combine_batches):
        for backprop in (False, True):
            workloads.append(
                sig_combine_workload(batch, dim, degree, np.float64, backprop, target=SHAPE_GOAL)
            )
    return workloads


def family_summary(workloads: list[Workload]) -> str:
    """Each family's geometric mean against pysiglib and its shapes below the per-shape goal."""
    families: dict[str, list[Workload]] = {}
    for w in workloads:
        families.setdefault(w.name.split()[0], []).append(w)
    return "\n".join(_summary(family, members) for family, members in families.items())


def _call(function: Callable[..., Any], *args: Any) -> Callable[[], Any]:
    return lambda: function(*args)


def call_workloads() -> list[Workload]:
    """The fixed cost of one call on a (2, 3) path at degree 3: numpy, torch (plain API and
    torch_api's differentiable operator), against pysiglib's."""
    import torch

    import tensorsig.torch_api as ta

    path = np.random.default_rng(0).normal(size=(2, 3))
    tensor = torch.from_numpy(path.copy())
    numpy_call = Workload("call: sig (2, 3) N=3, numpy", {"tensorsig": _call(ts.sig, path, 3)})
    torch_call = Workload("call: torch_api.sig (2, 3) N=3, tensor", {"tensorsig": _call(ta.sig, tensor, 3)})
    pysiglib = _peer_or_none("pysiglib")
    if pysiglib is not None:
        numpy_call.runs["pysiglib"] = _call(pysiglib.sig, path, 3)
        torch_call.runs["pysiglib"] = _call(pysiglib.torch_api.sig, tensor, 3)
    numpy_call.target = f"<= {CALL_GOAL_US:g} us"
    numpy_call.check = lambda t: t["tensorsig"] <= CALL_GOAL_US * 1e-6
    numpy_call.flops = horner_flops(3, 3, 1)
    torch_call.target = f"<= {TORCH_CALL_GOAL:g}x the numpy call"
    torch_call.check = lambda t: t["tensorsig"] <= TORCH_CALL_GOAL * numpy_call.times["tensorsig"]
    torch_call.detail = lambda t: f"{t['tensorsig'] / numpy_call.times['tensorsig']:.2f}x numpy"
    return [numpy_call, torch_call]


def _peer_or_none(name: str) -> Any:
    from ._bench import _peer

    return _peer(name)
