"""n_jobs, concurrent callers, the GIL and fork safety."""

from __future__ import annotations

import multiprocessing
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import tensorsig as ts
from conftest import assert_close
from ops import CASES

N_JOBS = [1, 2, -1, -2, 100] if (os.cpu_count() or 1) >= 2 else [1, -1, 100]


@pytest.mark.parametrize("n_jobs", N_JOBS)
@pytest.mark.parametrize("shape", [(16, 30, 3), (1, 3000, 2), (2, 2000, 3)])
def test_n_jobs_does_not_change_results(rng, n_jobs, shape):
    """Batches split over threads and long paths split in time both give the serial answer."""
    path = rng.normal(size=shape) / np.sqrt(shape[1])
    serial = ts.sig(path, 4, time_aug=True)
    assert_close(ts.sig(path, 4, time_aug=True, n_jobs=n_jobs), serial, np.float64)
    derivs = rng.normal(size=serial.shape)
    serial_grad = ts.sig_backprop(path, serial, derivs, 4, time_aug=True)
    assert_close(
        ts.sig_backprop(path, serial, derivs, 4, time_aug=True, n_jobs=n_jobs), serial_grad, np.float64
    )
    dim = shape[2]
    assert_close(
        ts.sig_combine(serial, serial, dim, 4, time_aug=True, n_jobs=n_jobs),
        ts.sig_combine(serial, serial, dim, 4, time_aug=True),
        np.float64,
    )


def test_many_python_threads_agree(rng):
    paths = [rng.normal(size=(8, 50, 3)) for _ in range(16)]
    expected = [ts.sig(p, 4) for p in paths]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda p: ts.sig(p, 4, n_jobs=2), paths))
        grads = list(
            pool.map(lambda p: ts.sig_backprop(p, ts.sig(p, 4), np.ones_like(ts.sig(p, 4)), 4), paths)
        )
    for got, want in zip(results, expected):
        np.testing.assert_array_equal(got, want)
    for p, got in zip(paths, grads):
        np.testing.assert_array_equal(got, ts.sig_backprop(p, ts.sig(p, 4), np.ones_like(ts.sig(p, 4)), 4))


def test_the_gil_is_released_during_computation(rng):
    """A pure-Python thread keeps running while a long native call is in flight.

    Counted in loop iterations, not seconds: with the GIL held, the counter could only move in the
    interpreter's switch intervals before and after the call."""
    path = rng.normal(size=(64, 2000, 4)) * 0.01
    started, done = threading.Event(), threading.Event()
    ticks_during = 0

    def spin():
        nonlocal ticks_during
        started.wait()
        while not done.is_set():
            ticks_during += 1

    spinner = threading.Thread(target=spin)
    spinner.start()
    started.set()
    for _ in range(3):
        ts.sig(path, 5)
    done.set()
    spinner.join()
    assert ticks_during > 10_000


def _child_computes(queue):
    path = np.random.default_rng(1).normal(size=(8, 400, 3))
    queue.put(float(ts.sig(path, 4, n_jobs=2).sum()))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child_does_not_deadlock(rng):
    """Like a torch DataLoader worker: the parent's thread pools exist, their threads do not."""
    path = np.random.default_rng(1).normal(size=(8, 400, 3))
    expected = float(ts.sig(path, 4, n_jobs=2).sum())  # the parent builds its pool first
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_child_computes, args=(queue,))
    child.start()
    child.join(timeout=120)
    if child.is_alive():
        child.kill()
        pytest.fail("the forked child deadlocked")
    assert child.exitcode == 0
    assert queue.get(timeout=10) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("n_jobs", [2, -1, -1000])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_every_op_gives_the_serial_answer_on_threads(rng, case, n_jobs):
    arrays = case.arrays(rng)
    serial, threaded = case.call(*arrays, n_jobs=1), case.call(*arrays, n_jobs=n_jobs)
    for s, t in zip(*((serial, threaded) if isinstance(serial, tuple) else ((serial,), (threaded,)))):
        np.testing.assert_array_equal(s, t)
