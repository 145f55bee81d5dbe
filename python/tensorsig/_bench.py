"""Side-by-side timings of tensorsig against pysiglib and iisignature.

Each workload runs every library on the same inputs, interleaved (A, B, C, A, B, C, ...) so that
drifts in machine load hit all of them alike, and reports the minimum over repeats. Ratios are
``peer time / tensorsig time``: above 1 means tensorsig is faster. Timings are wall-clock and
only meaningful relative to each other within one run.
"""

from __future__ import annotations

import importlib
import sys
import textwrap
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

import tensorsig as ts

T = TypeVar("T")


@dataclass
class Workload:
    """One benchmark: a name, a callable per library, a flop count and a target ratio."""

    name: str
    runs: dict[str, Callable[[], Any]]
    flops: float = 0.0
    target: str = ""
    check: Callable[[dict[str, float]], bool] | None = None
    #: Measured numbers behind the verdict that the ratio columns do not show.
    detail: Callable[[dict[str, float]], str] | None = None
    times: dict[str, float] = field(default_factory=dict)


def horner_flops(dim: int, degree: int, increments: int) -> float:
    """Flops of the fused multiply-exponentiate: level k's chain does a multiply and an add per
    coefficient of levels 2..k, so a step costs 2·Σ_{k≤N} Σ_{2≤j≤k} d^j."""
    per_step = sum(2 * dim**j for k in range(2, degree + 1) for j in range(2, k + 1)) + 2 * dim * degree
    return float(per_step * increments)


#: The libraries tensorsig is timed against, in the order of the table's columns.
PEERS = ("pysiglib", "iisignature")

#: How to install the peers (iisignature's build imports numpy, so it needs numpy installed first
#: and no build isolation).
PEER_HINT = (
    'Add pysiglib with pip install ".[bench]" (it brings torch, ~3 GB), and iisignature, after numpy, '
    "with pip install --no-build-isolation iisignature."
)


def _peer(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def progress(
    items: Iterable[T], label: str, total: int | None = None, describe: Callable[[T], str] | None = None
) -> Iterable[T]:
    """``items`` with a tqdm progress bar on stderr, showing ``describe(item)`` for the item in
    progress, when stderr is a terminal.

    tqdm's ``disable=None`` turns the bar off when stderr is not a terminal (a log, a pipe, CI),
    where its carriage returns would only garble the output. Without tqdm there is no bar: it is
    an optional dependency (the ``demo`` extra)."""
    try:
        from tqdm import tqdm
    except ImportError:
        return items
    bar = tqdm(items, desc=label, total=total, disable=None, leave=False, file=sys.stderr, dynamic_ncols=True)
    if describe is None:
        return bar  # type: ignore[no-any-return]

    def described() -> Iterator[T]:
        for item in bar:
            bar.set_postfix_str(describe(item))
            yield item

    return described()


def measure(
    workloads: list[Workload], repeats: int = 5, budget_s: float = 2.0, show_progress: bool = True
) -> None:
    """Fills each workload's ``times`` with the minimum over interleaved rounds: rounds go on
    until a workload has used ``budget_s`` seconds (at least two rounds) or run ``10 * repeats``
    of them. Short workloads thus get many samples, whose minimum a busy moment cannot skew.

    Each round starts with the next library in turn: whoever runs right after another library
    finds the shared input already in cache (or the caches flushed by a slow peer), and no
    library should always be the one that does."""
    shown = progress(workloads, "timing", len(workloads), lambda w: w.name) if show_progress else workloads
    for w in shown:
        calls = {}
        for lib, f in w.runs.items():
            f()  # warm-up: pools, caches, page faults
            start = time.perf_counter()
            f()
            calls[lib] = _calls_per_sample(time.perf_counter() - start)
        best = dict.fromkeys(w.runs, float("inf"))
        spent = 0.0
        libs = list(w.runs.items())
        for r in range(10 * repeats):
            for lib, f in libs[r % len(libs) :] + libs[: r % len(libs)]:
                n = calls[lib]
                start = time.perf_counter()
                for _ in range(n):
                    f()
                elapsed = time.perf_counter() - start
                best[lib] = min(best[lib], elapsed / n)
                spent += elapsed
            if r >= 1 and spent > budget_s:
                break
        w.times = best


#: The shortest sample: calls quicker than this are timed in runs of several back to back.
MIN_SAMPLE_S = 200e-6


def _calls_per_sample(call_s: float) -> int:
    """How many back-to-back calls one sample times, for calls that took ``call_s`` seconds once.
    A call of a few microseconds timed alone measures the timer and whatever the other library
    left in the caches as much as the call; timed in runs it measures what a loop of such calls
    costs (as ``timeit`` does), for every library alike."""
    return max(1, min(1000, int(MIN_SAMPLE_S / max(call_s, 1e-9))))


def format_rows(header: list[str], rows: list[list[str]]) -> str:
    """A plain-text table: left-aligned columns under a header and a rule."""
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [line.format(*header), line.format(*("-" * w for w in widths))]
    out += [line.format(*r) for r in rows]
    return "\n".join(line.rstrip() for line in out)


def format_table(workloads: list[Workload]) -> str:
    """The timings of measured workloads, with ratios to each peer and, where a workload has a
    goal, whether this run reached it (:func:`legend` explains the columns)."""
    peers = [p for p in PEERS if any(p in w.times for w in workloads)]
    goals = any(w.target or w.check is not None for w in workloads)
    header = ["workload", "tensorsig ms", *(f"{p} ms" for p in peers), *(f"vs {p}" for p in peers)]
    header += ["GFLOP/s", *(["goal", "reached"] if goals else [])]
    rows = []
    for w in workloads:
        ours = w.times["tensorsig"]
        row = [w.name, f"{ours * 1e3:.3f}"]
        row += [f"{w.times[p] * 1e3:.3f}" if p in w.times else "-" for p in peers]
        row += [f"{w.times[p] / ours:.2f}x" if p in w.times else "-" for p in peers]
        row.append(f"{w.flops / ours / 1e9:.1f}" if w.flops else "-")
        if goals:
            row.append(w.target or "-")
            verdict = "-" if w.check is None else ("yes" if w.check(w.times) else "NO")
            row.append(verdict + (f" ({w.detail(w.times)})" if w.detail else ""))
        rows.append(row)
    return format_rows(header, rows)


def legend(workloads: list[Workload]) -> str:
    """What the names and columns of :func:`format_table` mean, for the columns it shows."""
    peers = [p for p in PEERS if any(p in w.times for w in workloads)]
    lines = [
        "sig 128x256x5 N=4: signatures of a batch of 128 paths, each of 256 points in 5 channels "
        "(batch x length x channels), truncated at degree N=4; sig_backprop: their gradients; "
        "sig_combine 10000 d=5 N=4: 10000 Chen products of two degree-4 signatures in 5 channels.",
        "ms: the best wall-clock time over interleaved repeats (noisy on a busy machine). "
        "GFLOP/s: tensorsig's arithmetic rate.",
    ]
    if peers:
        lines.append(
            "vs pysiglib: pysiglib's time / tensorsig's, so above 1x tensorsig is faster "
            "(likewise for each peer)."
        )
    if any(w.target or w.check is not None for w in workloads):
        lines.append(
            "goal: the speed-up over pysiglib a workload is built to reach, and for gradients a cap on "
            "their time in units of tensorsig's own forward pass (sig); reached: whether this run did "
            "(a peer that is not installed is not held against it)."
        )
    missing = [p for p in PEERS if _peer(p) is None]
    if missing:
        lines.append(f"Not installed, so not timed: {', '.join(missing)}. {PEER_HINT}")
    return "\n".join(textwrap.fill(line, 100, subsequent_indent="  ") for line in lines)


def _ratio_at_least(peer: str, minimum: float) -> Callable[[dict[str, float]], bool]:
    return lambda t: peer not in t or t[peer] / t["tensorsig"] >= minimum


def sig_workload(
    batch: int,
    length: int,
    dim: int,
    degree: int,
    dtype: Any,
    n_jobs: int = 1,
    target: float | None = None,
    iis: bool = True,
) -> Workload:
    """Forward signatures of random paths, every library on the same array."""
    rng = np.random.default_rng(0)
    path = (rng.normal(size=(batch, length, dim)) / np.sqrt(length)).astype(dtype)
    runs: dict[str, Callable[[], Any]] = {"tensorsig": lambda: ts.sig(path, degree, n_jobs=n_jobs)}
    pysiglib, iisignature = _peer("pysiglib"), _peer("iisignature")
    if pysiglib is not None:
        runs["pysiglib"] = lambda: pysiglib.sig(path, degree, n_jobs=n_jobs)
    if iisignature is not None and iis and n_jobs == 1:
        runs["iisignature"] = lambda: iisignature.sig(path, degree)
    name = f"sig {batch}x{length}x{dim} N={degree} {np.dtype(dtype).name}" + (
        f" n_jobs={n_jobs}" if n_jobs != 1 else ""
    )
    return Workload(
        name,
        runs,
        flops=horner_flops(dim, degree, batch * (length - 1)),
        target=f">= {target}x pysiglib" if target else "",
        check=_ratio_at_least("pysiglib", target) if target else None,
    )


def sig_backprop_workload(
    batch: int, length: int, dim: int, degree: int, dtype: Any, n_jobs: int = 1, target: float | None = None
) -> Workload:
    rng = np.random.default_rng(1)
    path = (rng.normal(size=(batch, length, dim)) / np.sqrt(length)).astype(dtype)
    sig = ts.sig(path, degree)
    derivs = rng.normal(size=sig.shape).astype(dtype)
    runs: dict[str, Callable[[], Any]] = {
        "tensorsig": lambda: ts.sig_backprop(path, sig, derivs, degree, n_jobs=n_jobs),
        "tensorsig fwd": lambda: ts.sig(path, degree, n_jobs=n_jobs),
    }
    pysiglib = _peer("pysiglib")
    if pysiglib is not None:
        runs["pysiglib"] = lambda: pysiglib.sig_backprop(path, sig, derivs, degree, n_jobs=n_jobs)

    def check(t: dict[str, float]) -> bool:
        own = t["tensorsig"] / t["tensorsig fwd"] <= 3.0
        return own and ("pysiglib" not in t or t["pysiglib"] / t["tensorsig"] >= (target or 0))

    return Workload(
        f"sig_backprop {batch}x{length}x{dim} N={degree} {np.dtype(dtype).name}",
        runs,
        flops=3 * horner_flops(dim, degree, batch * (length - 1)),
        target=f">= {target}x pysiglib, <= 3x sig" if target else "<= 3x sig",
        check=check,
        detail=lambda t: f"{t['tensorsig'] / t['tensorsig fwd']:.2f}x sig",
    )


def sig_combine_workload(
    batch: int, dim: int, degree: int, dtype: Any, backprop: bool = False, target: float | None = None
) -> Workload:
    rng = np.random.default_rng(2)
    s1 = ts.sig((rng.normal(size=(batch, 4, dim)) * 0.3).astype(dtype), degree)
    s2 = ts.sig((rng.normal(size=(batch, 4, dim)) * 0.3).astype(dtype), degree)
    g = rng.normal(size=s1.shape).astype(dtype)
    pysiglib = _peer("pysiglib")
    if backprop:
        runs: dict[str, Callable[[], Any]] = {
            "tensorsig": lambda: ts.sig_combine_backprop(g, s1, s2, dim, degree)
        }
        if pysiglib is not None:
            runs["pysiglib"] = lambda: pysiglib.sig_combine_backprop(g, s1, s2, dim, degree)
    else:
        runs = {"tensorsig": lambda: ts.sig_combine(s1, s2, dim, degree)}
        if pysiglib is not None:
            runs["pysiglib"] = lambda: pysiglib.sig_combine(s1, s2, dim, degree)
    name = f"sig_combine{'_backprop' if backprop else ''} {batch} d={dim} N={degree} {np.dtype(dtype).name}"
    return Workload(
        name,
        runs,
        target=f">= {target}x pysiglib" if target else "",
        check=_ratio_at_least("pysiglib", target) if target else None,
    )


def demo_workloads() -> list[Workload]:
    """A short table for ``python -m tensorsig``."""
    return [
        sig_workload(128, 256, 5, 4, np.float64),
        sig_workload(128, 256, 5, 4, np.float32),
        sig_workload(1, 10_000, 3, 7, np.float64),
        sig_backprop_workload(128, 256, 5, 4, np.float64),
        sig_combine_workload(10_000, 5, 4, np.float64),
    ]


def full_workloads() -> list[Workload]:
    """Every target of the CPU-speed work (``python -m tensorsig bench``)."""
    f64, f32 = np.float64, np.float32
    workloads = []
    shapes = [
        (256, 100, 2, 7),
        (128, 256, 5, 4),
        (64, 1000, 3, 6),
        (32, 200, 4, 5),
        (16, 500, 8, 5),
        (256, 1000, 8, 2),
        (1, 10_000, 3, 7),
        (1, 10_000, 6, 3),
        (4, 2000, 2, 7),
    ]
    for dtype, target in ((f64, 1.5), (f32, 1.5)):
        for batch, length, dim, degree in shapes:
            workloads.append(sig_workload(batch, length, dim, degree, dtype, target=target))
    for batch, length, dim, degree in [
        (128, 256, 5, 4),
        (32, 1000, 3, 6),
        (16, 500, 8, 5),
        (1, 10_000, 3, 7),
    ]:
        for dtype in (f64, f32):
            workloads.append(sig_backprop_workload(batch, length, dim, degree, dtype, target=4.0))
    workloads.append(sig_combine_workload(10_000, 5, 4, f64, target=1.2))
    workloads.append(sig_combine_workload(10_000, 5, 4, f64, backprop=True, target=1.5))
    workloads.append(sig_workload(256, 1000, 4, 5, f64, n_jobs=-1, target=1.5))
    workloads.append(sig_workload(1, 20_000, 3, 7, f64, n_jobs=-1, target=1.5))
    return workloads
