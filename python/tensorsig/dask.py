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

import functools
import string
from collections.abc import Callable
from typing import Any

import numpy as np

try:
    import dask.array as da
    from dask.delayed import delayed
except ModuleNotFoundError as error:  # pragma: no cover - exercised in a subprocess test
    raise ModuleNotFoundError(
        'tensorsig.dask needs dask: pip install "dask[array]" (or pip install "tensorsig[dask]")',
        name=error.name,
    ) from error

from . import _combine, _logsig, _sigkernel, _signature, _transform
from ._specs import OpSpec
from ._specs import logsig as _logsig_meta
from ._specs import sigkernel as _sigkernel_meta
from ._specs.combine import SIG_COMBINE
from ._specs.signature import SIG, SIG_BACKPROP
from ._specs.transform import TRANSFORM_PATH
from .exceptions import ArgumentTypeError, InvalidArgumentError, ShapeError

__all__ = ["log_sig", "sig", "sig_backprop", "sig_combine", "sig_kernel_gram", "sig_mmd", "transform_path"]


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
    _check_known_chunks(arrays, spec.arrays)
    meta = spec.meta(*(a.shape for a in arrays), *(params[p.name] for p in spec.params))
    if meta.passthrough:
        passthrough: da.Array = arrays[0]
        return passthrough
    # The native views merge the batch axes into one: what follows them is each array's core.
    cores = [len((view or (0,))[1:]) for view in meta.views[: len(arrays)]]
    batch_rank = arrays[0].ndim - cores[0]
    return _blockwise(eager, arrays, spec.arrays, cores, [s[batch_rank:] for s in meta.outputs], params)


def _check_known_chunks(arrays: tuple[Any, ...], names: tuple[str, ...]) -> None:
    for a, name in zip(arrays, names):
        if any(np.isnan(n) for n in a.shape):
            raise ShapeError(f"{name} has unknown chunk sizes; call {name}.compute_chunk_sizes() first")


def _blockwise(
    eager: Callable[..., Any],
    arrays: tuple[Any, ...],
    names: tuple[str, ...],
    cores: list[int],
    out_cores: list[tuple[int, ...]],
    params: dict[str, Any],
) -> da.Array:
    """``eager(*blocks, **params)`` as a generalised ufunc: each array has ``cores[i]`` trailing
    core axes (one chunk each: refused otherwise), each result the core shape ``out_cores[j]``."""
    letters = iter(string.ascii_lowercase)
    in_dims = []
    for a, name, core in zip(arrays, names, cores):
        for axis in range(a.ndim - core, a.ndim):
            if len(a.chunks[axis]) > 1:
                raise ShapeError(
                    f"{name} is chunked along axis {axis}, one of its {core} core axes (the path "
                    f"or coefficient axes), which tensorsig does not cut: chunk only the batch axes, "
                    f"e.g. {name}.rechunk({{{', '.join(f'{k}: -1' for k in range(-core, 0))}}})"
                )
        in_dims.append([next(letters) for _ in range(core)])
    out_dims: list[list[str]] = []
    sizes: dict[str, int] = {}
    for shape in out_cores:
        dims = [next(letters) for _ in shape]
        sizes.update(zip(dims, shape))
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


def log_sig(
    path: Any,
    degree: int,
    *,
    time_aug: bool = False,
    lead_lag: bool = False,
    end_time: float = 1.0,
    method: int = 1,
    scalar_term: bool = False,
    n_jobs: int = 1,
) -> da.Array:
    """:func:`tensorsig.log_sig` over a dask array of paths ``(*batch, length, dimension)``,
    chunked along the batch axes only (without ``correction``: pass corrected signatures through
    :func:`tensorsig.sig_to_log_sig` block by block instead). Each worker process builds the
    method's tables once, on its first block."""
    path = _as_dask(path, "path")
    _check_known_chunks((path,), ("path",))
    shape, _ = _logsig_meta.log_sig_meta(
        path.shape, degree, time_aug, lead_lag, end_time, method, scalar_term, n_jobs
    )
    params = dict(
        degree=degree,
        time_aug=time_aug,
        lead_lag=lead_lag,
        end_time=end_time,
        method=method,
        scalar_term=scalar_term,
        n_jobs=n_jobs,
    )
    return _blockwise(_logsig.log_sig, (path,), ("path",), [2], [shape[path.ndim - 2 :]], params)


def sig_kernel_gram(path1: Any, path2: Any, **options: Any) -> da.Array:
    """:func:`tensorsig.sig_kernel_gram` of two dask arrays of paths ``(n1, length1, d)`` and
    ``(n2, length2, d)``, chunked along their first axis: one task per pair of chunks, the
    ``(n1, n2)`` result chunked alike. ``sig_kernel_gram(x, x)`` (the same array twice) computes
    each block above the diagonal once and transposes it below (unless the dyadic orders of the two
    sides differ, which makes the kernel asymmetric). Options as in the eager function
    (``static_kernel``, ``dyadic_order``, ``normalize``, ...), except ``return_grid``.

    >>> import dask.array as da, numpy as np, tensorsig, tensorsig.dask as tsd
    >>> x = np.random.default_rng(0).normal(size=(6, 20, 2)).cumsum(axis=1) / 20
    >>> gram = tsd.sig_kernel_gram(da.from_array(x, chunks=(3, 20, 2)), da.from_array(x, chunks=(3, 20, 2)))
    >>> gram.chunks
    ((3, 3), (3, 3))
    >>> np.allclose(gram.compute(), tensorsig.sig_kernel_gram(x, x))
    True
    """
    same = path2 is path1
    x = _as_dask(path1, "path1")
    y = x if same else _as_dask(path2, "path2")
    _check_known_chunks((x, y), ("path1", "path2"))
    for a, name in ((x, "path1"), (y, "path2")):
        if a.ndim != 3:
            raise ShapeError(
                f"{name} must have shape (n_paths, length, dimension) in tensorsig.dask.sig_kernel_gram, "
                f"got {a.shape}; reshape the batch axes into one"
            )
        _blockwise_checks(a, name)
    if options.get("return_grid", False):
        raise InvalidArgumentError("tensorsig.dask.sig_kernel_gram does not return grids (return_grid=True)")
    static_kernel = options.pop("static_kernel", None)
    normalize = options.pop("normalize", False)
    plan = _sigkernel_meta.sig_kernel_gram_meta(x.shape, y.shape, normalize=normalize, **options)
    # k(x_i, x_j) = k(x_j, x_i) unless the two paths are refined differently (dyadic orders).
    mirror = same and plan.solver.symmetric
    if normalize and not isinstance(normalize, bool):
        raise ArgumentTypeError(f"normalize must be of type bool, got {type(normalize).__name__}")
    dtype = np.result_type(x.dtype, y.dtype)
    gram = functools.partial(_sigkernel.sig_kernel_gram, static_kernel=static_kernel, **options)
    blocks: dict[tuple[int, int], da.Array] = {}
    for i, rows in enumerate(x.chunks[0]):
        for j, columns in enumerate(y.chunks[0]):
            if mirror and i > j:
                blocks[i, j] = blocks[j, i].T
            elif mirror and i == j:  # one block against itself: the eager symmetric half
                task = delayed(_symmetric_gram)(x.blocks[i], gram)
                blocks[i, j] = da.from_delayed(task, shape=(rows, columns), dtype=dtype)
            else:
                task = delayed(gram)(x.blocks[i], y.blocks[j])
                blocks[i, j] = da.from_delayed(task, shape=(rows, columns), dtype=dtype)
    result: da.Array = da.block(
        [[blocks[i, j] for j in range(len(y.chunks[0]))] for i in range(len(x.chunks[0]))]
    )
    if not normalize:
        return result
    paired = {k: v for k, v in options.items() if k != "max_batch"}
    k1 = _diagonal_kernels(x, static_kernel, paired)
    k2 = k1 if same else _diagonal_kernels(y, static_kernel, paired)
    denominator = k1[:, None] * k2[None, :]
    normalized: da.Array = da.where(denominator > 0, result / da.sqrt(da.maximum(denominator, 1e-30)), np.nan)
    cast: da.Array = normalized.astype(dtype)
    return cast


def _symmetric_gram(block: np.ndarray, gram: Callable[..., Any]) -> Any:
    """The Gram matrix of ``block`` with itself: the same object twice, so that only the pairs
    ``i <= j`` are solved."""
    return gram(block, block)


def _blockwise_checks(a: da.Array, name: str) -> None:
    for axis in (1, 2):
        if len(a.chunks[axis]) > 1:
            raise ShapeError(
                f"{name} is chunked along axis {axis} (the path or channel axis), which tensorsig does "
                f"not cut: chunk only the first axis, e.g. {name}.rechunk({{1: -1, 2: -1}})"
            )


def _diagonal_kernels(x: da.Array, static_kernel: Any, options: dict[str, Any]) -> da.Array:
    """``k(x_i, x_i)`` for each path of ``x``, block by block."""

    def on_itself(block: np.ndarray) -> Any:
        return _sigkernel.sig_kernel(block, block, static_kernel=static_kernel, **options)

    return _blockwise(on_itself, (x,), ("path",), [2], [()], {})


def sig_mmd(sample1: Any, sample2: Any, **options: Any) -> da.Array:
    """:func:`tensorsig.sig_mmd` of two dask arrays of paths ``(m, length1, d)`` and
    ``(n, length2, d)``: the three Gram matrices of :func:`sig_kernel_gram`, blockwise, reduced
    by dask's tree reductions to a lazy 0-d array. Options as in :func:`sig_kernel_gram`."""
    x = _as_dask(sample1, "sample1")
    y = _as_dask(sample2, "sample2")
    for a, name in ((x, "sample1"), (y, "sample2")):
        if a.ndim == 3 and a.shape[0] < 2:
            raise ShapeError(f"{name} must hold at least 2 paths, got {a.shape[0]}")
    xx = sig_kernel_gram(x, x, **options)
    xy = sig_kernel_gram(x, y, **options)
    yy = sig_kernel_gram(y, y, **options)
    mmd: da.Array = _off_diagonal_mean(xx) - 2.0 * xy.mean() + _off_diagonal_mean(yy)
    return mmd


def _off_diagonal_mean(gram: da.Array) -> da.Array:
    """As the eager :func:`tensorsig.sig_mmd`: the mean of the entries off the diagonal."""
    m = gram.shape[0]
    mean: da.Array = (gram.sum() - da.trace(gram)) / (m * (m - 1))
    return mean
