"""tensorsig on dask arrays: signature features of more paths than fit in memory.

Each function takes the same arguments as its eager twin in ``tensorsig`` and returns a lazy
``dask.array.Array``: one task per chunk of the batch axes, each running the eager function on
its block (which releases the GIL, so dask's threads and a cluster's workers run blocks in
parallel). Shapes, chunks and dtypes of the results come from tensorsig's op specs, exact before
anything is computed, so downstream graphs build without computing. The path axis and the
channel axis (a signature's coefficient axis) must each be one chunk: a path cannot be cut
without changing its signature, and tensorsig never rechunks it behind your back -- the error
says how to rechunk if you mean to.

Threads: ``n_jobs`` is per task (default 1). dask already runs one task per thread or worker;
``n_jobs > 1`` inside each would oversubscribe the machine, unless there are fewer chunks than
cores.

>>> import dask.array as da, numpy as np, tensorsig, tensorsig.dask as tsd
>>> paths = da.from_array(np.random.default_rng(0).normal(size=(1000, 50, 3)), chunks=(250, 50, 3))
>>> features = tsd.sig(paths, 3, time_aug=True)            # lazy: nothing computed yet
>>> features.shape, features.chunks[0], features.dtype
((1000, 84), (250, 250, 250, 250), dtype('float64'))
>>> np.allclose(features.compute(), tensorsig.sig(paths.compute(), 3, time_aug=True))
True

Requires the ``dask`` extra (``pip install "tensorsig[dask]"``); ``import tensorsig`` never
imports dask.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from typing import Any

import numpy as np

try:
    import dask.array as da
except ModuleNotFoundError as error:  # pragma: no cover - exercised in a subprocess test
    raise ModuleNotFoundError(
        'tensorsig.dask needs dask: pip install "dask[array]" (or pip install "tensorsig[dask]")',
        name=error.name,
    ) from error

from . import _combine, _signature, _transform
from ._specs import OpSpec
from ._specs.combine import SIG_COMBINE
from ._specs.signature import SIG, SIG_BACKPROP
from ._specs.transform import TRANSFORM_PATH
from .exceptions import ArgumentTypeError, ShapeError

__all__ = ["sig", "sig_backprop", "sig_combine", "transform_path"]


def _as_dask(value: Any, name: str) -> Any:
    if isinstance(value, da.Array):
        return value
    if isinstance(value, np.ndarray):
        return da.from_array(value, chunks=value.shape or ())
    raise ArgumentTypeError(f"{name} must be a dask.array.Array or numpy.ndarray, got {type(value).__name__}")


def _apply(
    spec: OpSpec, eager: Callable[..., Any], arrays: tuple[Any, ...], params: dict[str, Any]
) -> da.Array:
    """``eager`` over the blocks of ``arrays`` (chunked along their batch axes only), as a
    generalised ufunc whose core dimensions and output sizes come from ``spec``."""
    arrays = tuple(_as_dask(a, name) for a, name in zip(arrays, spec.arrays))
    for a, name in zip(arrays, spec.arrays):
        if any(np.isnan(n) for n in a.shape):
            raise ShapeError(f"{name} has unknown chunk sizes; call {name}.compute_chunk_sizes() first")
    meta = spec.meta(*(a.shape for a in arrays), *(params[p.name] for p in spec.params))
    if meta.passthrough:
        passthrough: da.Array = arrays[0]
        return passthrough
    # The native views merge the batch axes into one: what follows them is each array's core.
    cores = [(view or (0,))[1:] for view in meta.views]
    letters = iter(string.ascii_lowercase)
    in_dims = []
    for a, name, core in zip(arrays, spec.arrays, cores[: len(arrays)]):
        for axis in range(a.ndim - len(core), a.ndim):
            if len(a.chunks[axis]) > 1:
                raise ShapeError(
                    f"{name} is chunked along axis {axis}, one of its {len(core)} core axes (the path "
                    f"or coefficient axes), which tensorsig does not cut: chunk only the batch axes, "
                    f"e.g. {name}.rechunk({{{', '.join(f'{k}: -1' for k in range(-len(core), 0))}}})"
                )
        in_dims.append([next(letters) for _ in core])
    batch_rank = arrays[0].ndim - len(cores[0])
    out_dims: list[list[str]] = []
    sizes: dict[str, int] = {}
    for shape in meta.outputs:
        dims = [next(letters) for _ in shape[batch_rank:]]
        sizes.update(zip(dims, shape[batch_rank:]))
        out_dims.append(dims)
    signature = (
        ",".join(f"({','.join(d)})" for d in in_dims) + "->" + ",".join(f"({','.join(d)})" for d in out_dims)
    )
    dtype = np.result_type(*(a.dtype for a in arrays))
    result: da.Array = da.apply_gufunc(
        lambda *blocks: eager(*blocks, **params),
        signature,
        *arrays,
        output_dtypes=dtype if len(out_dims) == 1 else tuple(dtype for _ in out_dims),
        output_sizes=sizes,
        allow_rechunk=False,
        vectorize=False,
    )
    return result


def sig(
    path: Any,
    degree: int,
    *,
    time_aug: bool = False,
    lead_lag: bool = False,
    end_time: float = 1.0,
    horner: bool = True,
    scalar_term: bool = False,
    n_jobs: int = 1,
) -> da.Array:
    """:func:`tensorsig.sig` over a dask array of paths ``(*batch, length, dimension)``, chunked
    along the batch axes: a lazy ``(*batch, sig_length)`` array with the same batch chunks."""
    params = dict(
        degree=degree,
        time_aug=time_aug,
        lead_lag=lead_lag,
        end_time=end_time,
        horner=horner,
        scalar_term=scalar_term,
        n_jobs=n_jobs,
    )
    return _apply(SIG, _signature.sig, (path,), params)


def sig_backprop(
    path: Any,
    sig: Any,
    sig_derivs: Any,
    degree: int,
    *,
    time_aug: bool = False,
    lead_lag: bool = False,
    end_time: float = 1.0,
    n_jobs: int = 1,
) -> da.Array:
    """:func:`tensorsig.sig_backprop` block by block: path, signatures and their gradients share
    batch axes (chunked alike or rechunked to a common chunking of the batch axes)."""
    params = dict(degree=degree, time_aug=time_aug, lead_lag=lead_lag, end_time=end_time, n_jobs=n_jobs)
    return _apply(SIG_BACKPROP, _signature.sig_backprop, (path, sig, sig_derivs), params)


def sig_combine(
    sig1: Any,
    sig2: Any,
    dimension: int,
    degree: int,
    *,
    time_aug: bool = False,
    lead_lag: bool = False,
    n_jobs: int = 1,
) -> da.Array:
    """:func:`tensorsig.sig_combine` block by block, over batches of signatures chunked alike."""
    params = dict(dimension=dimension, degree=degree, time_aug=time_aug, lead_lag=lead_lag, n_jobs=n_jobs)
    return _apply(SIG_COMBINE, _combine.sig_combine, (sig1, sig2), params)


def transform_path(
    path: Any,
    *,
    time_aug: bool = False,
    lead_lag: bool = False,
    end_time: float = 1.0,
    n_jobs: int = 1,
) -> da.Array:
    """:func:`tensorsig.transform_path` block by block."""
    params = dict(time_aug=time_aug, lead_lag=lead_lag, end_time=end_time, n_jobs=n_jobs)
    return _apply(TRANSFORM_PATH, _transform.transform_path, (path,), params)
