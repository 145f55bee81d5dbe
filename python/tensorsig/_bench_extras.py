"""Benchmark workloads of the signature extras (joins, chosen coefficients, streams), side by side
with pysiglib: ``workloads(quick)`` for the table of ``tensorsig._bench``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import tensorsig as ts

from ._bench import Workload, _peer, _ratio_at_least

#: Ten words of lengths 1 to 6 over 8 letters, with no shared prefixes.
WORDS = [
    (3,),
    (0, 5),
    (7, 2, 4),
    (1, 1, 6, 0),
    (2, 7, 3, 5, 1),
    (6, 0, 4, 4, 2, 7),
    (5, 3, 1, 7, 0, 6),
    (4, 6, 2, 0, 3),
    (0, 2, 5, 7),
    (7, 7, 1),
]


def _workload(name: str, runs: dict[str, Callable[[], Any]], target: float | None) -> Workload:
    return Workload(
        name,
        runs,
        target=f">= {target}x pysiglib" if target else "",
        check=_ratio_at_least("pysiglib", target) if target else None,
    )


def sig_coef_workload(
    batch: int, length: int, dim: int, backprop: bool = False, target: float | None = None
) -> Workload:
    rng = np.random.default_rng(3)
    path = rng.normal(size=(batch, length, dim)) / np.sqrt(length)
    pysiglib = _peer("pysiglib")
    if backprop:
        coefs = ts.sig_coef(path, WORDS, prefixes=True)
        derivs = rng.normal(size=coefs.shape)
        runs: dict[str, Callable[[], Any]] = {
            "tensorsig": lambda: ts.sig_coef_backprop(path, WORDS, coefs, derivs)
        }
        if pysiglib is not None:
            # pysiglib overwrites derivs: it gets a fresh copy each time (a copy of 10 KiB).
            runs["pysiglib"] = lambda: pysiglib.sig_coef_backprop(path, WORDS, coefs, derivs.copy())
    else:
        runs = {"tensorsig": lambda: ts.sig_coef(path, WORDS)}
        if pysiglib is not None:
            runs["pysiglib"] = lambda: pysiglib.sig_coef(path, WORDS)
    name = f"sig_coef{'_backprop' if backprop else ''} {batch}x{length}x{dim}, 10 words <= 6 letters"
    return _workload(name, runs, target)


def sig_join_workload(
    batch: int,
    dim: int,
    degree: int,
    prepend: bool = False,
    backprop: bool = False,
    target: float | None = None,
) -> Workload:
    rng = np.random.default_rng(4)
    sigs = ts.sig(rng.normal(size=(batch, 4, dim)) * 0.3, degree)
    v = rng.normal(size=(batch, dim)) * 0.3
    g = rng.normal(size=sigs.shape)
    pysiglib = _peer("pysiglib")
    if backprop:
        runs: dict[str, Callable[[], Any]] = {
            "tensorsig": lambda: ts.sig_join_backprop(g, sigs, v, dim, degree, prepend=prepend)
        }
        if pysiglib is not None:
            runs["pysiglib"] = lambda: pysiglib.sig_join_backprop(g, sigs, v, dim, degree, prepend=prepend)
    else:
        runs = {"tensorsig": lambda: ts.sig_join(sigs, v, dim, degree, prepend=prepend)}
        if pysiglib is not None:
            runs["pysiglib"] = lambda: pysiglib.sig_join(sigs, v, dim, degree, prepend=prepend)
    name = (
        f"sig_join{'_backprop' if backprop else ''}{' prepend' if prepend else ''} {batch} d={dim} N={degree}"
    )
    return _workload(name, runs, target)


def stream_push_workload(points: int, dim: int, degree: int, target: float | None = None) -> Workload:
    """A stream built by pushing ``points`` points one at a time."""
    path = np.random.default_rng(5).normal(size=(points, dim))
    pysiglib = _peer("pysiglib")

    def pushes(make_stream: Callable[[], Any]) -> Callable[[], Any]:
        def run() -> Any:
            stream = make_stream()
            for point in path:
                stream.push(point)
            return stream

        return run

    runs = {"tensorsig": pushes(lambda: ts.SigStream(dim, degree))}
    if pysiglib is not None:
        runs["pysiglib"] = pushes(lambda: pysiglib.SigStream(dim, degree))
    return _workload(f"SigStream {points} single pushes d={dim} N={degree}", runs, target)


def stream_query_workload(points: int, queries: int, dim: int, degree: int) -> Workload:
    """Interval queries on a stream of pushed points (exact here; by inverse products in
    pysiglib)."""
    rng = np.random.default_rng(6)
    path = rng.normal(size=(points, dim))
    starts = rng.integers(0, points - 1, size=queries)
    intervals = [(int(s), int(rng.integers(s + 1, points))) for s in starts]
    ours = ts.SigStream(dim, degree)
    ours.push_batch(path)
    runs: dict[str, Callable[[], Any]] = {"tensorsig": lambda: ours.sig_batch(intervals)}
    pysiglib = _peer("pysiglib")
    if pysiglib is not None:
        theirs = pysiglib.SigStream(dim, degree)
        for point in path:
            theirs.push(point)
        runs["pysiglib"] = lambda: theirs.sig_batch(intervals)
    return _workload(
        f"SigStream {queries} interval queries of {points} points d={dim} N={degree}", runs, None
    )


def workloads(quick: bool) -> list[Workload]:
    """The extras' targets (issue 16), plus untargeted rows for the other directions."""
    rows = [
        sig_coef_workload(256, 1000, 8, target=1.5),
        sig_join_workload(10_000, 5, 4, target=1.5),
        stream_push_workload(2_000 if quick else 10_000, 3, 4, target=1.5),
    ]
    if not quick:
        rows += [
            sig_coef_workload(256, 1000, 8, backprop=True),
            sig_join_workload(10_000, 5, 4, prepend=True),
            sig_join_workload(10_000, 5, 4, backprop=True),
            stream_query_workload(10_000, 200, 3, 4),
        ]
    return rows
