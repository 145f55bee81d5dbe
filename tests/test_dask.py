"""tensorsig.dask: lazy results equal to the eager ones over chunkings, exact metadata without
computing, the path axis never cut, and process workers of a distributed cluster."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import tensorsig as ts

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
import tensorsig.dask as tsd  # noqa: E402
from tensorsig.exceptions import ShapeError  # noqa: E402

#: Batch chunkings of 10 paths: even, uneven, one, and with an empty chunk.
CHUNKINGS = [(5, 5), (3, 4, 2, 1), (10,), (4, 0, 6)]


@pytest.fixture(scope="module")
def paths():
    return np.random.default_rng(0).normal(size=(10, 30, 3)) / 5


@pytest.mark.parametrize("chunks", CHUNKINGS, ids=str)
def test_results_equal_the_eager_functions(paths, chunks):
    x = da.from_array(paths, chunks=(chunks, 30, 3))
    flags = {"time_aug": True, "lead_lag": True}
    sigs = tsd.sig(x, 3, **flags)
    eager = ts.sig(paths, 3, **flags)
    # Equal to round-off, not bit for bit: a chunk of fewer paths than a SIMD pass holds has its
    # paths cut in time to fill the lanes, the pieces joined by Chen products.
    np.testing.assert_allclose(sigs.compute(), eager, rtol=1e-12, atol=1e-14)
    derivs = da.from_array(np.ones_like(eager), chunks=(chunks, -1))
    np.testing.assert_allclose(
        tsd.sig_backprop(x, sigs, derivs, 3, **flags).compute(),
        ts.sig_backprop(paths, eager, np.ones_like(eager), 3, **flags),
        rtol=1e-12,
        atol=1e-13,
    )
    np.testing.assert_allclose(
        tsd.sig_combine(sigs, sigs, 3, 3, **flags).compute(),
        ts.sig_combine(eager, eager, 3, 3, **flags),
        rtol=1e-12,
        atol=1e-14,
    )
    np.testing.assert_array_equal(tsd.transform_path(x, **flags).compute(), ts.transform_path(paths, **flags))


def test_metadata_is_exact_without_computing(paths):
    def explode(block):
        raise AssertionError("computed")

    x = da.from_array(paths, chunks=(4, 30, 3)).map_blocks(explode, dtype=np.float32)
    sigs = tsd.sig(x, 4, scalar_term=True)
    assert sigs.shape == (10, ts.sig_length(3, 4, scalar_term=True))
    assert sigs.chunks == ((4, 4, 2), (sigs.shape[1],))
    assert sigs.dtype == np.float32
    grads = tsd.sig_backprop(x, sigs, sigs, 4)
    assert grads.shape == x.shape and grads.chunks == x.chunks and grads.dtype == np.float32
    transformed = tsd.transform_path(x, lead_lag=True)
    assert transformed.shape == (10, 59, 6)


def test_more_batch_axes_keep_their_chunks(paths):
    x = da.from_array(paths.reshape(2, 5, 30, 3), chunks=(1, (2, 3), 30, 3))
    sigs = tsd.sig(x, 2)
    assert sigs.chunks[:2] == ((1, 1), (2, 3))
    np.testing.assert_allclose(sigs.compute(), ts.sig(paths.reshape(2, 5, 30, 3), 2), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("chunks", [(5, 10, 3), (5, 30, 2)])
def test_a_chunked_path_axis_is_refused_with_the_fix(paths, chunks):
    x = da.from_array(paths, chunks=chunks)
    with pytest.raises(ShapeError, match=r"rechunk\(\{-2: -1, -1: -1\}\)"):
        tsd.sig(x, 2)
    with pytest.raises(ShapeError, match="core axes"):
        tsd.sig_combine(*(da.from_array(np.zeros((4, 12)), chunks=(2, 6)),) * 2, 3, 2)


def test_bad_arguments_raise_before_any_graph_is_built(paths):
    x = da.from_array(paths, chunks=(5, 30, 3))
    with pytest.raises(TypeError, match="degree must be of type int"):
        tsd.sig(x, 2.0)
    with pytest.raises(TypeError, match=r"dask\.array\.Array or numpy\.ndarray"):
        tsd.sig([[0.0]], 2)


def test_process_workers_of_a_local_cluster(paths):
    """Two worker processes (spawned), the Rust thread pools and log-signature tables built afresh
    in each; uneven and empty chunks; every family."""
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        x = da.from_array(paths, chunks=((3, 0, 4, 3), 30, 3))
        np.testing.assert_allclose(
            tsd.sig(x, 3, n_jobs=2).compute(), ts.sig(paths, 3), rtol=1e-12, atol=1e-14
        )
        np.testing.assert_allclose(tsd.log_sig(x, 3, method=2).compute(), ts.log_sig(paths, 3, method=2))
        y = da.from_array(paths, chunks=(4, 30, 3))
        gram = tsd.sig_kernel_gram(y, y, dyadic_order=1).compute()
        np.testing.assert_allclose(gram, ts.sig_kernel_gram(paths, paths, dyadic_order=1), rtol=1e-12)


def test_importing_tensorsig_does_not_import_dask():
    code = "import sys, tensorsig; assert 'dask' not in sys.modules, 'dask imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("chunks", CHUNKINGS, ids=str)
def test_log_signatures_equal_the_eager_function(paths, chunks):
    x = da.from_array(paths, chunks=(chunks, 30, 3))
    for method in (0, 1, 2, 3):
        lazy = tsd.log_sig(x, 3, time_aug=True, method=method)
        expected = ts.log_sig(paths, 3, time_aug=True, method=method)
        assert lazy.shape == expected.shape and lazy.chunks[0] == x.chunks[0]
        np.testing.assert_allclose(lazy.compute(), expected, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("chunks", [(5, 5), (3, 4, 2, 1), (10,)], ids=str)
def test_gram_matrices_equal_the_eager_function_blockwise(paths, chunks):
    x = da.from_array(paths, chunks=(chunks, 30, 3))
    y = da.from_array(paths[:7] * 0.5, chunks=((4, 3), 30, 3))
    options = {"dyadic_order": 1, "time_aug": True}
    symmetric = tsd.sig_kernel_gram(x, x, **options)
    assert symmetric.chunks == (x.chunks[0], x.chunks[0])
    np.testing.assert_allclose(symmetric.compute(), ts.sig_kernel_gram(paths, paths, **options), rtol=1e-12)
    # The symmetric case solves each block above the diagonal once: the graph has one solve per
    # pair i <= j.
    solves = sum(1 for key in symmetric.__dask_graph__() if "gram" in str(key).split("-")[0])
    assert solves == len(chunks) * (len(chunks) + 1) // 2
    cross = tsd.sig_kernel_gram(x, y, **options)
    np.testing.assert_allclose(
        cross.compute(), ts.sig_kernel_gram(paths, paths[:7] * 0.5, **options), rtol=1e-12
    )
    normalized = tsd.sig_kernel_gram(x, y, dyadic_order=1, normalize=True, static_kernel=ts.RBFKernel(1.0))
    expected = ts.sig_kernel_gram(
        paths, paths[:7] * 0.5, dyadic_order=1, normalize=True, static_kernel=ts.RBFKernel(1.0)
    )
    np.testing.assert_allclose(normalized.compute(), expected, rtol=1e-12)


def test_mmd_is_a_tree_reduction_equal_to_the_eager_one(paths):
    x = da.from_array(paths, chunks=(4, 30, 3))
    y = da.from_array(paths[::-1] + 0.1, chunks=(5, 30, 3))
    lazy = tsd.sig_mmd(x, y, dyadic_order=1)
    assert lazy.shape == ()
    np.testing.assert_allclose(
        lazy.compute(), ts.sig_mmd(paths, paths[::-1] + 0.1, dyadic_order=1), rtol=1e-12
    )


def test_gram_refuses_cut_paths_grids_and_many_batch_axes(paths):
    with pytest.raises(ShapeError, match=r"rechunk\(\{1: -1, 2: -1\}\)"):
        tsd.sig_kernel_gram(da.from_array(paths, chunks=(5, 10, 3)), da.from_array(paths, chunks=(5, 30, 3)))
    with pytest.raises(ValueError, match="return_grid"):
        tsd.sig_kernel_gram(da.from_array(paths), da.from_array(paths), return_grid=True)
    with pytest.raises(ShapeError, match="reshape the batch axes into one"):
        tsd.sig_kernel_gram(da.from_array(paths.reshape(2, 5, 30, 3)), da.from_array(paths))
    with pytest.raises(ValueError, match="dyadic_order"):
        tsd.sig_kernel_gram(da.from_array(paths), da.from_array(paths), dyadic_order=-1)


def test_gram_of_one_array_with_different_dyadic_orders_is_not_mirrored(paths):
    """k(x_i, x_j) != k(x_j, x_i) when the two sides are refined differently: every block solved."""
    x = da.from_array(paths[:6], chunks=(3, 30, 3))
    lazy = tsd.sig_kernel_gram(x, x, dyadic_order=(0, 2))
    np.testing.assert_allclose(
        lazy.compute(), ts.sig_kernel_gram(paths[:6], paths[:6], dyadic_order=(0, 2)), rtol=1e-12
    )
