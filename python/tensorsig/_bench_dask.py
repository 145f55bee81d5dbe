"""tensorsig.dask against the eager functions: the cost of going through dask's distributed
scheduler (two local process workers) instead of one eager call with every thread.

Both sides read the same paths from a Zarr store on disk, as a data set larger than memory would
be read: the eager call loads it whole and signs it with ``n_jobs=-1``; the dask graph reads and
signs it chunk by chunk on the workers. Needs the ``dask`` extra and zarr.
"""

from __future__ import annotations

import atexit
import contextlib
import tempfile
from collections.abc import Callable
from typing import Any

import numpy as np

import tensorsig as ts

from ._bench import Workload


def _start_cluster() -> Any:
    """A client of two local single-threaded process workers, shut down when the process exits
    (after the section's workloads have been timed)."""
    from distributed import Client, LocalCluster

    stack = contextlib.ExitStack()
    atexit.register(stack.close)
    cluster = stack.enter_context(
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    )
    client = stack.enter_context(Client(cluster))
    client.wait_for_workers(2)
    return client


def _overhead(times: dict[str, float]) -> str:
    return f"eager {times['eager'] * 1e3:.0f} ms: dask {times['tensorsig'] / times['eager'] - 1:+.0%}"


def workloads(quick: bool) -> list[Workload]:
    """``sig`` over a Zarr store (1 GB; 100 MB when quick) and a 256 x 256 Gram matrix of
    length-200 paths in R^4 (64 x 64 when quick), each through dask and eagerly."""
    try:
        import dask.array as da
        import zarr
    except ModuleNotFoundError:
        print("   (skipped: needs dask, distributed and zarr: pip install 'tensorsig[dask]' zarr)")
        return []
    import tensorsig.dask as tsd

    batch = 3_125 if quick else 31_250  # x 1000 points x 4 channels x 8 bytes = 100 MB or 1 GB
    store = tempfile.mkdtemp(prefix="tensorsig-bench-") + "/paths.zarr"
    chunk = batch // 8
    array = zarr.create_array(store, shape=(batch, 1000, 4), chunks=(chunk, 1000, 4), dtype="float64")
    rng = np.random.default_rng(0)
    for start in range(0, batch, chunk):
        array[start : start + chunk] = rng.normal(size=(chunk, 1000, 4)).cumsum(axis=1) / 30

    samples = 64 if quick else 256
    x = rng.normal(size=(samples, 200, 4)).cumsum(axis=1) / 15

    _start_cluster()  # the default scheduler of the dask graphs below
    runs_sig: dict[str, Callable[[], Any]] = {
        "tensorsig": lambda: tsd.sig(da.from_zarr(store), 4).compute(),
        "eager": lambda: ts.sig(np.asarray(zarr.open_array(store, mode="r")[:]), 4, n_jobs=-1),
    }
    lazy_x = da.from_array(x, chunks=(samples // 4, 200, 4))
    runs_gram: dict[str, Callable[[], Any]] = {
        "tensorsig": lambda: tsd.sig_kernel_gram(lazy_x, lazy_x, dyadic_order=0).compute(),
        "eager": lambda: ts.sig_kernel_gram(x, x, dyadic_order=0, n_jobs=-1),
    }
    size = f"{batch * 1000 * 4 * 8 / 1e9:.1f} GB"
    return [
        Workload(
            f"dask sig {batch}x1000x4 N=4 ({size} zarr), 2 procs",
            runs_sig,
            target="<= 1.15x eager",
            check=lambda t: t["tensorsig"] <= 1.15 * t["eager"],
            detail=_overhead,
        ),
        Workload(f"dask sig_kernel_gram {samples}x{samples} L=200 d=4, 2 procs", runs_gram, detail=_overhead),
    ]
