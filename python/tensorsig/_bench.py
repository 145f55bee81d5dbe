"""Side-by-side timings of tensorsig against pysiglib and iisignature.

Each workload runs every library on the same inputs, interleaved (A, B, C, A, B, C, ...) so that
drifts in machine load hit all of them alike, and reports the minimum over repeats. Ratios are
``peer time / tensorsig time``: above 1 means tensorsig is faster. Timings are wall-clock and
only meaningful relative to each other within one run.
"""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import tensorsig as ts


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


def _peer(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _progress(done: int, total: int, label: str) -> None:
    width = 30
    filled = width * done // max(total, 1)
    sys.stderr.write(f"\r  [{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label[:48]:<48}")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def measure(workloads: list[Workload], repeats: int = 5, budget_s: float = 2.0) -> None:
    """Fills each workload's ``times`` with the minimum over interleaved rounds: rounds go on
    until a workload has used ``budget_s`` seconds (at least two rounds) or run ``10 * repeats``
    of them. Short workloads thus get many samples, whose minimum a busy moment cannot skew.

    Each round starts with the next library in turn: whoever runs right after another library
    finds the shared input already in cache (or the caches flushed by a slow peer), and no
    library should always be the one that does."""
    for i, w in enumerate(workloads):
        _progress(i, len(workloads), w.name)
        for f in w.runs.values():
            f()  # warm-up: pools, caches, page faults
        best = dict.fromkeys(w.runs, float("inf"))
        spent = 0.0
        libs = list(w.runs.items())
        for r in range(10 * repeats):
            for lib, f in libs[r % len(libs) :] + libs[: r % len(libs)]:
                start = time.perf_counter()
                f()
                elapsed = time.perf_counter() - start
                best[lib] = min(best[lib], elapsed)
                spent += elapsed
            if r >= 1 and spent > budget_s:
                break
        w.times = best
    _progress(len(workloads), len(workloads), "done")


def format_table(workloads: list[Workload]) -> str:
    peers = [p for p in ("pysiglib", "iisignature") if any(p in w.times for w in workloads)]
    header = ["workload", "tensorsig ms", *(f"{p} ms" for p in peers), *(f"vs {p}" for p in peers)]
    header += ["GFLOP/s", "target", "met"]
    rows = []
    for w in workloads:
        ours = w.times["tensorsig"]
        row = [w.name, f"{ours * 1e3:.3f}"]
        row += [f"{w.times[p] * 1e3:.3f}" if p in w.times else "-" for p in peers]
        row += [f"{w.times[p] / ours:.2f}x" if p in w.times else "-" for p in peers]
        row.append(f"{w.flops / ours / 1e9:.1f}" if w.flops else "-")
        row.append(w.target or "-")
        verdict = "-" if w.check is None else ("yes" if w.check(w.times) else "NO")
        row.append(verdict + (f" ({w.detail(w.times)})" if w.detail else ""))
        rows.append(row)
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [line.format(*header), line.format(*("-" * w for w in widths))]
    out += [line.format(*r) for r in rows]
    return "\n".join(out)


def _ratio_at_least(peer: str, minimum: float) -> Callable[[dict[str, float]], bool]:
    return lambda t: peer not in t or t[peer] / t["tensorsig"] >= minimum


def sig_workload(batch, length, dim, degree, dtype, n_jobs=1, target=None, iis=True) -> Workload:
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


def sig_backprop_workload(batch, length, dim, degree, dtype, n_jobs=1, target=None) -> Workload:
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
        target=f">= {target}x pysiglib, <= 3x own fwd" if target else "<= 3x own fwd",
        check=check,
        detail=lambda t: f"{t['tensorsig'] / t['tensorsig fwd']:.2f}x own fwd",
    )


def sig_combine_workload(batch, dim, degree, dtype, backprop=False, target=None) -> Workload:
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
