"""Memory layouts, read-only and untouched inputs, empty batches and degenerate paths."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import reference as ref
import tensorsig as ts
from conftest import DTYPES, assert_close, to_numpy
from ops import CASES


def _misaligned(a: np.ndarray) -> np.ndarray:
    """The values of ``a`` in a buffer one byte off alignment, as np.frombuffer(offset=1) gives
    (and as buffers unpickled by Dask workers can be)."""
    raw = bytearray(a.nbytes + 1)
    view = np.frombuffer(raw, dtype=a.dtype, offset=1).reshape(a.shape)
    view[...] = a
    assert not view.flags.aligned
    return view


def _read_only(a: np.ndarray) -> np.ndarray:
    a = a.copy()
    a.flags.writeable = False
    return a


def _strided(a: np.ndarray) -> np.ndarray:
    padded = np.zeros((*a.shape[:-1], a.shape[-1] * 2))
    padded[..., ::2] = a
    return padded[..., ::2]


#: Ways a user can hand over the same values: each maps an array to one holding the same values.
LAYOUTS = {
    "fortran": np.asfortranarray,
    "transposed": lambda a: np.ascontiguousarray(a.swapaxes(0, -1)).swapaxes(0, -1),
    "strided": _strided,
    "negative-strides": lambda a: np.ascontiguousarray(a[..., ::-1])[..., ::-1],
    "zero-strides": lambda a: np.broadcast_to(a[:1], a.shape),
    "read-only": _read_only,
    "misaligned": _misaligned,
    "byte-swapped": lambda a: a.astype(a.dtype.newbyteorder()),
    "torch-transposed": lambda a: torch.from_numpy(np.ascontiguousarray(a.swapaxes(0, -1))).swapaxes(0, -1),
    "torch-strided": lambda a: torch.from_numpy(_strided(a)),
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_every_array_argument_in_every_layout(rng, case, layout):
    """Each array argument of each op, in each layout, gives the result of the same values laid
    out contiguously (pysiglib copies such inputs too; nothing is refused)."""
    arrays = case.arrays(rng)
    torch_layout = layout.startswith("torch")
    plain = [torch.from_numpy(a) if torch_layout else a for a in arrays]
    expected = case.call(*plain)
    for i in range(len(arrays)):
        given = list(plain)
        given[i] = LAYOUTS[layout](arrays[i])
        saved = to_numpy(given[i]).copy()
        if layout == "zero-strides":  # other values than arrays[i]: compare with their own copy
            expected_here = case.call(*[*plain[:i], np.ascontiguousarray(given[i]), *plain[i + 1 :]])
        else:
            expected_here = expected
        got = case.call(*given)
        for g, e in zip(*((got, expected_here) if isinstance(got, tuple) else ((got,), (expected_here,)))):
            np.testing.assert_array_equal(to_numpy(g), to_numpy(e))
        np.testing.assert_array_equal(to_numpy(given[i]), saved)  # inputs are never modified


def test_broadcast_paths_are_read_in_place(rng):
    row = rng.normal(size=(1, 5, 2))
    broadcast = np.broadcast_to(row, (4, 5, 2))  # stride 0 over the batch
    out = ts.sig(broadcast, 3)
    assert_close(out, np.repeat(ref.sig(row, 3), 4, axis=0), np.float64)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_inputs_are_never_modified(rng, case):
    arrays = case.arrays(rng)
    saved = [a.copy() for a in arrays]
    case.call(*arrays)
    for a, b in zip(arrays, saved):
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
