"""Memory layouts, read-only and untouched inputs, empty batches and degenerate paths."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import reference as ref
import tensorsig as ts
from conftest import DTYPES, assert_close


def layouts(base: np.ndarray):
    """The same values as ``base`` in memory layouts a user can hand over."""
    yield "fortran", np.asfortranarray(base)
    yield "transposed", np.ascontiguousarray(base.swapaxes(-1, -2)).swapaxes(-1, -2)
    padded = np.zeros((*base.shape[:-1], base.shape[-1] * 2))
    padded[..., ::2] = base
    yield "strided", padded[..., ::2]
    yield "reversed", np.ascontiguousarray(base[:, ::-1])[:, ::-1]
    readonly = base.copy()
    readonly.flags.writeable = False
    yield "read-only", readonly
    yield "torch-transposed", torch.from_numpy(np.ascontiguousarray(base.swapaxes(-1, -2))).transpose(-1, -2)


@pytest.mark.parametrize("flags", [{}, {"time_aug": True, "lead_lag": True}])
def test_any_layout_gives_the_right_answer(rng, flags):
    base = rng.normal(size=(3, 6, 2))
    expected = ref.sig(base, 3, **flags)
    sig = ts.sig(base, 3, **flags)
    derivs = rng.normal(size=sig.shape)
    expected_grad = ref.sig_backprop(base, derivs, 3, **flags)
    for _name, path in layouts(base):
        assert_close(ts.sig(path, 3, **flags), expected, np.float64)
        sig_in = torch.from_numpy(sig) if isinstance(path, torch.Tensor) else np.asfortranarray(sig)
        derivs_in = torch.from_numpy(derivs) if isinstance(path, torch.Tensor) else derivs[:, ::1]
        assert_close(ts.sig_backprop(path, sig_in, derivs_in, 3, **flags), expected_grad, np.float64)
        if flags:
            assert_close(ts.transform_path(path, **flags), ref.transform_path(base, **flags), np.float64)


def test_broadcast_paths_are_read_in_place(rng):
    row = rng.normal(size=(1, 5, 2))
    broadcast = np.broadcast_to(row, (4, 5, 2))  # stride 0 over the batch
    out = ts.sig(broadcast, 3)
    assert_close(out, np.repeat(ref.sig(row, 3), 4, axis=0), np.float64)


def test_inputs_are_never_modified(rng):
    path = rng.normal(size=(2, 5, 3))
    sig = ts.sig(path, 3)
    derivs = rng.normal(size=sig.shape)
    saved = [a.copy() for a in (path, sig, derivs)]
    ts.sig_backprop(path, sig, derivs, 3)
    ts.sig_combine(sig, sig, 3, 3)
    ts.sig_combine_backprop(derivs, sig, sig, 3, 3)
    ts.transform_path(path, lead_lag=True)
    for a, b in zip((path, sig, derivs), saved):
        np.testing.assert_array_equal(a, b)


def test_requires_grad_tensors_give_plain_results_and_one_warning(rng, monkeypatch):
    from tensorsig import _operands

    monkeypatch.setattr(_operands, "_warned_about_grad", False)
    path = torch.tensor(rng.normal(size=(2, 4, 2)), requires_grad=True)
    with pytest.warns(UserWarning, match="Use tensorsig.torch_api"):
        out = ts.sig(path, 2)
    assert isinstance(out, torch.Tensor) and not out.requires_grad
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ts.sig(path, 2)  # once per process
        with torch.no_grad():
            ts.sig(path, 2)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("container", ["numpy", "torch"])
@pytest.mark.parametrize("batch", [(0,), (2, 0), (0, 3)])
def test_empty_batches_give_empty_results(dtype, container, batch):
    path = np.zeros((*batch, 5, 2), dtype=dtype)
    if container == "torch":
        path = torch.from_numpy(path)
    sig = ts.sig(path, 3, time_aug=True, lead_lag=True)
    assert tuple(sig.shape) == (*batch, ts.sig_length(2, 3, time_aug=True, lead_lag=True))
    grad = ts.sig_backprop(path, sig, sig, 3, time_aug=True, lead_lag=True)
    assert tuple(grad.shape) == tuple(path.shape)
    combined = ts.sig_combine(sig, sig, 2, 3, time_aug=True, lead_lag=True)
    assert tuple(combined.shape) == tuple(sig.shape)
    d1, d2 = ts.sig_combine_backprop(sig, sig, sig, 2, 3, time_aug=True, lead_lag=True)
    assert tuple(d1.shape) == tuple(d2.shape) == tuple(sig.shape)


@pytest.mark.parametrize(
    "flags", [{}, {"time_aug": True}, {"lead_lag": True}, {"time_aug": True, "lead_lag": True}]
)
@pytest.mark.parametrize("length", [0, 1])
def test_degenerate_paths_have_the_zero_signature(flags, length):
    """One point (or none: pysiglib crashes on that with lead-lag) has no increments."""
    path = np.full((3, length, 2), 7.0)
    sig = ts.sig(path, 3, scalar_term=True, **flags)
    assert np.all(sig[..., 0] == 1) and np.all(sig[..., 1:] == 0)
    grad = ts.sig_backprop(path, sig, np.ones_like(sig), 3, **flags)
    assert grad.shape == path.shape and np.all(grad == 0)


def test_degree_zero():
    path = np.ones((2, 4, 3))
    assert ts.sig(path, 0).shape == (2, 0)
    np.testing.assert_array_equal(ts.sig(path, 0, scalar_term=True), np.ones((2, 1)))
    np.testing.assert_array_equal(
        ts.sig_backprop(path, np.ones((2, 1)), np.ones((2, 1)), 0), np.zeros_like(path)
    )
    np.testing.assert_array_equal(
        ts.sig_combine(np.full((2, 1), 5.0), np.ones((2, 1)), 3, 0), np.ones((2, 1))
    )


def test_scalar_entries_are_read_as_one_like_pysiglib(rng):
    s = ts.sig(rng.normal(size=(2, 4, 2)), 3, scalar_term=True)
    scaled = s.copy()
    scaled[:, 0] = 3.0
    np.testing.assert_array_equal(ts.sig_combine(scaled, scaled, 2, 3), ts.sig_combine(s, s, 2, 3))
    d1, d2 = ts.sig_combine_backprop(np.ones_like(s), s, s, 2, 3)
    assert np.all(d1[:, 0] == 0) and np.all(d2[:, 0] == 0)
