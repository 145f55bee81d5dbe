"""The process cache of log-signature tables: no preparation, threads, fork, and the disk copy."""

from __future__ import annotations

import multiprocessing
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import tensorsig as ts
from tensorsig._logsig_cache import _basis_cached


def test_nothing_needs_preparing(rng):
    ts.clear_cache()
    assert not _basis_cached(3, 5)
    out = ts.log_sig(rng.normal(size=(2, 6, 3)), 5, method=2)
    assert out.shape == (2, ts.log_sig_length(3, 5))
    assert _basis_cached(3, 5)


def test_threads_racing_on_a_cold_cache_agree(rng):
    ts.clear_cache()
    path = rng.normal(size=(3, 8, 4))
    expected = None
    results: list = [None] * 8
    barrier = threading.Barrier(len(results))

    def work(i):
        barrier.wait()
        results[i] = ts.log_sig(path, 5, method=2)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(results))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expected = ts.log_sig(path, 5, method=2)
    for r in results:
        np.testing.assert_array_equal(r, expected)


def _child_log_sig(queue, path, clear):
    if clear:
        ts.clear_cache()
    queue.put((ts._logsig_cache._basis_cached(4, 4), ts.log_sig(path, 4, method=2, n_jobs=2)))


@pytest.mark.skipif(sys.platform == "win32", reason="fork is POSIX")
# Python 3.12+ warns that forking a process with threads may deadlock: that is what is tested.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
@pytest.mark.parametrize("clear", [False, True])
def test_a_forked_child_uses_or_rebuilds_the_tables(rng, clear):
    path = rng.normal(size=(5, 10, 4))
    expected = ts.log_sig(path, 4, method=2, n_jobs=2)  # warms the cache and a pool of threads
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_child_log_sig, args=(queue, path, clear))
    child.start()
    cached, result = queue.get(timeout=60)
    child.join(timeout=60)
    assert child.exitcode == 0
    assert cached is not clear  # inherited from the parent, or rebuilt after clear_cache
    np.testing.assert_array_equal(result, expected)
    assert _basis_cached(4, 4)  # the child's clear_cache does not touch the parent


@pytest.fixture
def cache_dir(tmp_path):
    previous = ts._logsig_cache._cache_dir
    ts.set_cache_dir(str(tmp_path))
    yield tmp_path / "tensorsig"
    ts._logsig_cache._cache_dir = previous


def test_disk_cache_round_trip(cache_dir, rng):
    ts.prepare_log_sig(3, 4, 2, use_disk=True)
    (file,) = cache_dir.iterdir()
    assert file.name == "lyndon_basis_3_4_v1.bin"
    written = file.read_bytes()
    ts.clear_cache()
    ts.prepare_log_sig(3, 4, 3, use_disk=True)  # read back, not rewritten
    assert _basis_cached(3, 4) and file.read_bytes() == written
    ts.prepare_log_sig(2, 3, 1, time_aug=True, lead_lag=True, use_disk=True)
    assert (cache_dir / "lyndon_basis_5_3_v1.bin").exists()
    ts.clear_cache(use_disk=True)
    assert not cache_dir.exists()


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[: len(b) // 2],  # truncated
        lambda b: b[:100] + bytes([b[100] ^ 1]) + b[101:],  # one bit flipped
        lambda b: b"",  # empty
        lambda b: b"not a cache file at all",
        lambda b: b[:8] + (2).to_bytes(4, "little") + b[12:],  # another format version
    ],
)
def test_a_damaged_disk_file_is_rebuilt_not_trusted(cache_dir, rng, damage):
    ts.prepare_log_sig(3, 4, 2, use_disk=True)
    file = cache_dir / "lyndon_basis_3_4_v1.bin"
    good = file.read_bytes()
    file.write_bytes(damage(good))
    ts.clear_cache()
    ts.prepare_log_sig(3, 4, 2, use_disk=True)
    assert file.read_bytes() == good
    path = rng.normal(size=(2, 7, 3))
    import reference_logsig as ref

    np.testing.assert_allclose(
        ts.log_sig(path, 4, method=2), ref.log_sig(path, 4, method=2), rtol=1e-10, atol=1e-12
    )


def test_a_file_for_another_shape_is_not_loaded(cache_dir):
    ts.prepare_log_sig(3, 4, 2, use_disk=True)
    other = cache_dir / "lyndon_basis_3_5_v1.bin"
    other.write_bytes((cache_dir / "lyndon_basis_3_4_v1.bin").read_bytes())
    ts.clear_cache()
    ts.prepare_log_sig(3, 5, 2, use_disk=True)
    assert other.read_bytes() != (cache_dir / "lyndon_basis_3_4_v1.bin").read_bytes()


def test_set_cache_dir_checks_its_argument(tmp_path):
    with pytest.raises(TypeError, match="dir must be of type str"):
        ts.set_cache_dir(Path(tmp_path))
    with pytest.raises(ValueError, match="does not exist"):
        ts.set_cache_dir(str(tmp_path / "missing"))
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="not a directory"):
        ts.set_cache_dir(str(tmp_path / "file"))


def test_prepare_and_clear_check_their_arguments():
    with pytest.raises(ValueError, match="method must be one of 0, 1, 2 or 3"):
        ts.prepare_log_sig(3, 4, 4)
    with pytest.raises(ValueError, match="device must be"):
        ts.prepare_log_sig(3, 4, 2, device="gpu")
    with pytest.raises(ValueError, match="device must be"):
        ts.clear_cache(device="tpu")
    with pytest.raises(TypeError, match="use_disk must be of type bool"):
        ts.prepare_log_sig(3, 4, 2, use_disk=1)
    with pytest.raises(ValueError, match="degree must be a positive integer"):
        ts.prepare_log_sig(3, 0, 2)
    ts.prepare_log_sig(3, 4, 0)  # method 0 needs nothing
