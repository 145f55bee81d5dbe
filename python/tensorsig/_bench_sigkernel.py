"""Benchmark workloads of the signature kernels, side by side with pysiglib:
``workloads(quick)`` for the table of ``tensorsig._bench``. float64, ``n_jobs=1`` unless named."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import tensorsig as ts

from ._bench import Workload, _peer, _ratio_at_least


def _paths(count: int, length: int, dim: int, seed: int) -> np.ndarray:
    steps = np.random.default_rng(seed).normal(size=(count, length, dim)) / np.sqrt(length)
    paths: np.ndarray = steps.cumsum(axis=1)
    return paths


def _workload(
    name: str, ours: Callable[[], Any], theirs: Callable[[Any], Callable[[], Any]], target: float
) -> Workload:
    """``ours`` against ``theirs(pysiglib)`` (when pysiglib is installed)."""
    runs = {"tensorsig": ours}
    pysiglib = _peer("pysiglib")
    if pysiglib is not None:
        runs["pysiglib"] = theirs(pysiglib)
    return Workload(name, runs, target=f">= {target}x pysiglib", check=_ratio_at_least("pysiglib", target))


def gram_workload(
    count: int, length: int, dim: int, target: float, rbf: float | None = None, **options: Any
) -> Workload:
    """A Gram matrix; ``rbf``: with each library's own ``RBFKernel(rbf)``."""
    x, y = _paths(count, length, dim, 0), _paths(count, length, dim, 1)
    described = ", ".join(f"{k}={v}" for k, v in options.items()) + (f", RBFKernel({rbf})" if rbf else "")

    def kernel(library: Any) -> dict[str, Any]:
        return {"static_kernel": library.RBFKernel(rbf)} if rbf else {}

    return _workload(
        f"sig_kernel_gram {count}x{count} L={length} d={dim} {described}",
        lambda: ts.sig_kernel_gram(x, y, **options, **kernel(ts)),
        lambda peer: lambda: peer.sig_kernel_gram(x, y, **options, **kernel(peer)),
        target,
    )


def gram_backprop_workload(count: int, length: int, dim: int, target: float, **options: Any) -> Workload:
    x, y = _paths(count, length, dim, 0), _paths(count, length, dim, 1)
    derivs = np.ones((count, count))
    described = ", ".join(f"{k}={v}" for k, v in options.items())
    return _workload(
        f"sig_kernel_gram_backprop {count}x{count} L={length} d={dim} {described}",
        lambda: ts.sig_kernel_gram_backprop(derivs, x, y, **options),
        lambda peer: lambda: peer.sig_kernel_gram_backprop(derivs, x, y, **options),
        target,
    )


def pairs_workload(count: int, length: int, dim: int, target: float, **options: Any) -> Workload:
    x, y = _paths(count, length, dim, 2), _paths(count, length, dim, 3)
    return _workload(
        f"sig_kernel {count} pairs L={length} d={dim} dyadic_order={options['dyadic_order']}",
        lambda: ts.sig_kernel(x, y, **options),
        lambda peer: lambda: peer.sig_kernel(x, y, **options),
        target,
    )


def mmd_workload(count: int, length: int, dim: int, target: float) -> Workload:
    x, y = _paths(count, length, dim, 4), _paths(count, length, dim, 5) + 0.1
    return _workload(
        f"sig_mmd {count} vs {count} L={length} d={dim} dyadic_order=1",
        lambda: ts.sig_mmd(x, y, dyadic_order=1),
        lambda peer: lambda: peer.sig_mmd(x, y, dyadic_order=1),
        target,
    )


def torch_gram_workload(count: int, length: int, dim: int, target: float) -> Workload:
    """A Gram matrix and its gradient through torch_api, against pysiglib's torch_api."""
    import torch

    import tensorsig.torch_api as ta

    x = torch.from_numpy(_paths(count, length, dim, 0))
    y = torch.from_numpy(_paths(count, length, dim, 1))

    def step(api: Any) -> Callable[[], Any]:
        def run() -> Any:
            leaf = x.clone().requires_grad_(True)
            api.sig_kernel_gram(leaf, y, dyadic_order=1).sum().backward()
            return leaf.grad

        return run

    return _workload(
        f"torch sig_kernel_gram fwd+bwd {count}x{count} L={length} d={dim} dyadic_order=1",
        step(ta),
        lambda _: step(_peer("pysiglib.torch_api")),
        target,
    )


def workloads(quick: bool) -> list[Workload]:
    """The signature-kernel targets: forward >= 2x pysiglib, backward >= 4x (``quick``: smaller
    batches)."""
    small = 8 if quick else 16
    out = [
        gram_workload(small, 200, 4, 2.0, dyadic_order=1),
        gram_workload(small, 200, 4, 2.0, rbf=1.0, dyadic_order=1),
        gram_workload(small, 200, 4, 2.0, method="polynomial", order=3),
        pairs_workload(16 if quick else 64, 500, 8, 2.0, dyadic_order=0),
        gram_backprop_workload(small, 200, 4, 4.0, dyadic_order=1),
        mmd_workload(small * 2, 200, 4, 2.0),
        gram_workload(small * 2, 200, 4, 2.0, dyadic_order=1, n_jobs=-1),
    ]
    if _peer("torch") is not None:
        out.insert(5, torch_gram_workload(small, 200, 4, 4.0))
    return out
