"""Side-by-side timings of the log-signature family against pysiglib and iisignature.

pysiglib's tables are prepared before timing (its preparation is mandatory and untimed); so are
iisignature's. tensorsig's are built by the warm-up call, as a user's first call would. Targets:
at least 1.5x pysiglib and 10x iisignature where it has the method.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

import tensorsig as ts
from tensorsig._bench import Workload, _peer

_IIS_MODES = {0: "X", 2: "S", 3: "S"}


def _paths(batch: int, length: int, dim: int, dtype: Any, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    paths: np.ndarray = (rng.normal(size=(batch, length, dim)) / np.sqrt(length)).astype(dtype)
    return paths


def _targets(
    pysiglib_ratio: float, iis_ratio: float | None
) -> tuple[str, Callable[[dict[str, float]], bool]]:
    text = f">= {pysiglib_ratio}x pysiglib" + (f", >= {iis_ratio:g}x iisignature" if iis_ratio else "")

    def check(t: dict[str, float]) -> bool:
        ours = t["tensorsig"]
        ok = "pysiglib" not in t or t["pysiglib"] / ours >= pysiglib_ratio
        return ok and (iis_ratio is None or "iisignature" not in t or t["iisignature"] / ours >= iis_ratio)

    return text, check


def log_sig_workload(
    batch: int,
    length: int,
    dim: int,
    degree: int,
    method: int,
    dtype: npt.DTypeLike = np.float64,
    n_jobs: int = 1,
) -> Workload:
    """``log_sig`` of random paths, every library on the same array."""
    path = _paths(batch, length, dim, dtype)
    runs: dict[str, Callable[[], Any]] = {
        "tensorsig": lambda: ts.log_sig(path, degree, method=method, n_jobs=n_jobs)
    }
    pysiglib, iisignature = _peer("pysiglib"), _peer("iisignature")
    if pysiglib is not None:
        for m in {1: (1,), 2: (2,), 3: (3,)}.get(method, ()):
            pysiglib.prepare_log_sig(dim, degree, m)
        runs["pysiglib"] = lambda: pysiglib.log_sig(path, degree, method=method, n_jobs=n_jobs)
    mode = _IIS_MODES.get(method)
    if iisignature is not None and mode and n_jobs == 1:
        prepared = iisignature.prepare(dim, degree, mode)
        runs["iisignature"] = lambda: iisignature.logsig(path, prepared, mode)
    target, check = _targets(1.5, 10.0 if "iisignature" in runs else None)
    jobs = f" n_jobs={n_jobs}" if n_jobs != 1 else ""
    name = f"log_sig {batch}x{length} d={dim} N={degree} m={method} {np.dtype(dtype).name}{jobs}"
    return Workload(name, runs, target=target, check=check)


def sig_to_log_sig_workload(count: int, dim: int, degree: int, method: int) -> Workload:
    sigs = ts.sig(_paths(count, 8, dim, np.float64, seed=1), degree)
    runs: dict[str, Callable[[], Any]] = {
        "tensorsig": lambda: ts.sig_to_log_sig(sigs, dim, degree, method=method)
    }
    pysiglib = _peer("pysiglib")
    if pysiglib is not None:
        if method:
            pysiglib.prepare_log_sig(dim, degree, method)
        runs["pysiglib"] = lambda: pysiglib.sig_to_log_sig(sigs, dim, degree, method=method)
    target, check = _targets(1.5, None)
    return Workload(f"sig_to_log_sig {count} d={dim} N={degree} m={method}", runs, target=target, check=check)


def torch_log_sig_workload(batch: int, length: int, dim: int, degree: int, method: int) -> Workload:
    """Forward and backward through the path, on torch tensors. tensorsig's plain functions
    (``log_sig`` then its private path gradient, as its torch op will call them) against
    pysiglib's ``torch_api.log_sig`` with autograd."""
    torch = _peer("torch")
    path = torch.from_numpy(_paths(batch, length, dim, np.float64, seed=2))
    grad = torch.from_numpy(np.random.default_rng(3).normal(size=(batch, ts.log_sig_length(dim, degree))))

    def ours() -> Any:
        ts.log_sig(path, degree, method=method)
        return ts._logsig._log_sig_backprop(path, grad, degree, method=method)

    runs: dict[str, Callable[[], Any]] = {
        "tensorsig": ours,
        "tensorsig fwd": lambda: ts.log_sig(path, degree, method=method),
    }
    pysiglib = _peer("pysiglib")
    if pysiglib is not None:
        import pysiglib.torch_api as pta

        pysiglib.prepare_log_sig(dim, degree, method)

        def theirs() -> Any:
            x = path.clone().requires_grad_(True)
            pta.log_sig(x, degree, method=method).backward(grad)
            return x.grad

        runs["pysiglib"] = theirs

    def check(t: dict[str, float]) -> bool:
        own = t["tensorsig"] / t["tensorsig fwd"] <= 4.0
        return own and ("pysiglib" not in t or t["pysiglib"] / t["tensorsig"] >= 1.5)

    return Workload(
        f"torch log_sig fwd+bwd {batch}x{length} d={dim} N={degree} m={method}",
        runs,
        target=">= 1.5x pysiglib, fwd+bwd <= 4x own fwd",
        check=check,
        detail=lambda t: f"{t['tensorsig'] / t['tensorsig fwd']:.2f}x own fwd",
    )


def build_tables_workload(dim: int, degree: int) -> Workload:
    """Building the tables of a new (d, N) from nothing (tensorsig's first call; pysiglib's
    prepare_log_sig)."""
    from tensorsig import _core

    def ours() -> None:
        ts.clear_cache()
        _core.prepare_log_sig(dim, degree)

    runs: dict[str, Callable[[], Any]] = {"tensorsig": ours}
    pysiglib = _peer("pysiglib")
    if pysiglib is not None:

        def theirs() -> None:
            pysiglib.clear_cache()
            pysiglib.prepare_log_sig(dim, degree, 2)

        runs["pysiglib"] = theirs
    return Workload(
        f"build log-sig tables d={dim} N={degree}",
        runs,
        target="< 0.25 s",
        check=lambda t: t["tensorsig"] < 0.25,
        detail=lambda t: f"{t['tensorsig'] * 1e3:.1f} ms",
    )


def workloads(quick: bool) -> list[Workload]:
    """The issue's workloads (``quick``: a quarter of each batch)."""
    scale = 4 if quick else 1
    f32 = np.float32
    out = [
        log_sig_workload(256 // scale, 1000, 4, 3, 2),
        log_sig_workload(256 // scale, 1000, 8, 3, 1, f32),
        log_sig_workload(32 // scale, 1000, 2, 6, 2),
        log_sig_workload(64 // scale, 1000, 3, 4, 3),
        log_sig_workload(256 // scale, 1000, 16, 2, 1),
        sig_to_log_sig_workload(10_000 // scale, 5, 4, 2),
        log_sig_workload(256 // scale, 1000, 4, 4, 1, n_jobs=-1),
        build_tables_workload(8, 5),
    ]
    if _peer("torch") is not None:
        out.insert(6, torch_log_sig_workload(64 // scale, 1000, 4, 3, 2))
    return out
