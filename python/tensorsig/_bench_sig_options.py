"""Timings of ``sig``'s options against the peers that have them: ``correction`` (pysiglib),
``stream=True`` (iisignature's ``format=2``, the signature at every point) and ragged batches
(``lengths``; no peer has them: against pysiglib signing each time-augmented path in its own
call, what a pysiglib user does instead, since padding would shift the time channel)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import tensorsig as ts

from ._bench import Workload, _peer, _ratio_at_least, horner_flops


def _paths(batch: int, length: int, dim: int, dtype: Any, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    paths: np.ndarray = (rng.normal(size=(batch, length, dim)) / np.sqrt(length)).astype(dtype)
    return paths


def _target(peer: str, target: float | None) -> dict[str, Any]:
    if target is None:
        return {}
    return {"target": f">= {target}x {peer}", "check": _ratio_at_least(peer, target)}


def correction_workload(
    batch: int,
    length: int,
    dim: int,
    degree: int,
    dtype: Any,
    backprop: bool = False,
    target: float | None = None,
) -> Workload:
    """The Itô signature (a level-2 correction on every segment) of Brownian-like paths."""
    path = _paths(batch, length, dim, dtype, 3)
    correction = (-0.5 / length * np.eye(dim).ravel()).astype(dtype)
    sig = ts.sig(path, degree, correction=correction)
    derivs = np.random.default_rng(4).normal(size=sig.shape).astype(dtype)
    pysiglib = _peer("pysiglib")
    runs: dict[str, Callable[[], Any]]
    if backprop:
        runs = {"tensorsig": lambda: ts.sig_backprop(path, sig, derivs, degree, correction=correction)}
        if pysiglib is not None:
            runs["pysiglib"] = lambda: pysiglib.sig_backprop(path, sig, derivs, degree, correction=correction)
    else:
        runs = {"tensorsig": lambda: ts.sig(path, degree, correction=correction)}
        if pysiglib is not None:
            runs["pysiglib"] = lambda: pysiglib.sig(path, degree, correction=correction)
    op = "sig_backprop" if backprop else "sig"
    return Workload(
        f"{op} correction {batch}x{length}x{dim} N={degree} {np.dtype(dtype).name}",
        runs,
        **_target("pysiglib", target),
    )


def stream_workload(
    batch: int, length: int, dim: int, degree: int, dtype: Any, target: float | None = None
) -> Workload:
    """Every prefix's signature; iisignature's ``sig(path, degree, 2)`` returns the same array."""
    path = _paths(batch, length, dim, dtype, 5)
    runs: dict[str, Callable[[], Any]] = {
        "tensorsig": lambda: ts.sig(path, degree, stream=True),
        "tensorsig whole": lambda: ts.sig(path, degree),
    }
    iisignature = _peer("iisignature")
    if iisignature is not None:
        runs["iisignature"] = lambda: iisignature.sig(path, degree, 2)
    return Workload(
        f"sig stream=True {batch}x{length}x{dim} N={degree} {np.dtype(dtype).name}",
        runs,
        flops=horner_flops(dim, degree, batch * (length - 1)),
        detail=lambda t: f"{t['tensorsig'] / t['tensorsig whole']:.1f}x own whole signature",
        **_target("iisignature", target),
    )


def ragged_workload(
    batch: int, length: int, dim: int, degree: int, dtype: Any, target: float | None = None
) -> Workload:
    """Time-augmented paths of lengths spread over ``length // 4 .. length``."""
    path = _paths(batch, length, dim, dtype, 6)
    lengths = np.random.default_rng(7).integers(length // 4, length + 1, size=batch)
    runs: dict[str, Callable[[], Any]] = {
        "tensorsig": lambda: ts.sig(path, degree, time_aug=True, lengths=lengths),
    }
    pysiglib = _peer("pysiglib")
    if pysiglib is not None:
        alone = [np.ascontiguousarray(p[:n]) for p, n in zip(path, lengths)]
        runs["pysiglib"] = lambda: [pysiglib.sig(p, degree, time_aug=True) for p in alone]
    return Workload(
        f"sig lengths= {batch}x{length}x{dim} N={degree} time_aug {np.dtype(dtype).name}",
        runs,
        flops=horner_flops(dim + 1, degree, int(np.sum(lengths - 1))),
        **_target("pysiglib", target),
    )


def workloads(quick: bool) -> list[Workload]:
    """The options' workloads; ``quick`` keeps the smaller ones."""
    f64 = np.float64
    out = [
        correction_workload(128, 256, 3, 4, f64),
        correction_workload(128, 256, 3, 4, f64, backprop=True),
        stream_workload(32, 100, 3, 4, f64),
        stream_workload(64, 200, 5, 3, f64),
        ragged_workload(256, 200, 3, 4, f64),
    ]
    if not quick:
        out += [
            correction_workload(32, 200, 5, 5, f64),
            stream_workload(8, 100, 8, 5, f64),
            ragged_workload(64, 1000, 5, 4, f64),
        ]
    return out
