"""``stream=True`` (every prefix's signature) and ``lengths=`` (ragged batches) on sig and
sig_backprop, over every engine: lanes (small signatures), rows (large ones: 8 letters at degree
5), and paths cut in time (a few long paths)."""

from __future__ import annotations

import numpy as np
import pytest

import reference as ref
import tensorsig as ts
from conftest import CONTAINERS, DTYPES, FLAGS, assert_close, make, to_numpy

# (batch, length, dimension, degree, n_jobs) by engine: lanes; lanes with whole blocks gathered
# at once; the row engine (8 letters at degree 5, forwards and backwards); lanes cutting a few
# long paths into pieces; rows cutting them (4 letters at degree 6, n_jobs=4), whose gradients
# take lanes cut into pieces.
ENGINES = {
    "lanes": ((5,), 9, 2, 3, 1),
    "lanes-long": ((9,), 40, 3, 4, 1),
    "rows": ((2,), 6, 8, 5, 1),
    "lane-pieces": ((2,), 700, 2, 4, 1),
    "row-pieces": ((2,), 600, 4, 6, 4),
}
LARGE = {"rows", "row-pieces"}


def engines(*names):
    """Every engine with every flag, but lead-lag (which doubles the letters) on small ones only."""
    return [
        pytest.param(*ENGINES[name], flags, id=f"{name}-{flags}")
        for name in names
        for flags in FLAGS
        if not (name in LARGE and flags.get("lead_lag"))
    ]


ARGS = ("batch", "length", "dim", "degree", "n_jobs", "flags")


def prefix_signatures(path, degree, flags, scalar_term=False):
    """sig of every prefix of the transformed path, by signing each prefix on its own."""
    transformed = ts.transform_path(path, **flags) if flags else path
    steps = transformed.shape[-2] - 1
    return np.stack(
        [ts.sig(transformed[..., : t + 2, :], degree, scalar_term=scalar_term) for t in range(steps)], -2
    )


@pytest.mark.parametrize("flags", FLAGS)
def test_stream_matches_the_reference(rng, flags):
    path = rng.normal(size=(2, 5, 2))
    for scalar_term in (False, True):
        ours = ts.sig(path, 3, stream=True, scalar_term=scalar_term, **flags)
        assert_close(ours, ref.sig_stream(path, 3, scalar_term=scalar_term, **flags), np.float64)


@pytest.mark.parametrize(ARGS, engines("lanes", "lanes-long", "rows"))
def test_stream_is_the_signature_of_every_prefix(rng, batch, length, dim, degree, n_jobs, flags):
    path = rng.normal(size=(*batch, length, dim)) / np.sqrt(length)
    ours = ts.sig(path, degree, stream=True, n_jobs=n_jobs, **flags)
    assert_close(ours, prefix_signatures(path, degree, flags), np.float64)
    # The last prefix is the whole signature; threads share the paths out, nothing else.
    assert_close(ours[..., -1, :], ts.sig(path, degree, **flags), np.float64)
    np.testing.assert_array_equal(ts.sig(path, degree, stream=True, n_jobs=3, **flags), ours)


@pytest.mark.parametrize(
    ("dim", "degree", "flags"),
    [pytest.param(2, 3, flags, id=f"lanes-{flags}") for flags in FLAGS]
    + [pytest.param(8, 5, flags, id=f"rows-{flags}") for flags in FLAGS if not flags.get("lead_lag")],
)
def test_stream_gradient_is_the_sum_of_the_prefixes_gradients(rng, dim, degree, flags):
    path = rng.normal(size=(3, 5, dim)) / 3
    s = ts.sig(path, degree, stream=True, **flags)
    g = rng.normal(size=s.shape)
    ours = ts.sig_backprop(path, s, g, degree, stream=True, **flags)
    transformed = ts.transform_path(path, **flags) if flags else path
    total = np.zeros_like(transformed)
    for t in range(s.shape[-2]):
        prefix = np.ascontiguousarray(transformed[..., : t + 2, :])
        total[..., : t + 2, :] += ts.sig_backprop(prefix, s[..., t, :], g[..., t, :], degree)
    expected = ts.transform_path_backprop(total, **flags) if flags else total
    assert_close(ours, expected, np.float64)

    def loss(x):
        return float(np.sum(g * ts.sig(x, degree, stream=True, **flags)))

    if dim <= 2:
        np.testing.assert_allclose(ours, ref.finite_difference_gradient(loss, path), atol=1e-7)


@pytest.mark.parametrize("time_aug", [False, True])
def test_stream_with_a_correction_is_the_corrected_signature_of_every_prefix(rng, time_aug):
    path = rng.normal(size=(2, 5, 2)) * 0.5
    c = rng.normal(size=(4, 4)) * 0.3
    flags = {"time_aug": True, "end_time": 4.0} if time_aug else {}
    ours = ts.sig(path, 3, correction=c, stream=True, **flags)
    for t in range(4):
        # Time runs over the whole path, one unit per point: the prefix through point t + 1 ends at t + 1.
        prefix = path[:, : t + 2]
        expected = ref.sig_corrected(prefix, 3, c[: t + 1], time_aug=time_aug, end_time=float(t + 1))
        assert_close(ours[:, t], expected, np.float64)
    g = rng.normal(size=ours.shape)
    grad = ts.sig_backprop(path, ours, g, 3, correction=c, stream=True, **flags)

    def loss(x):
        return float(np.sum(g * ts.sig(x, 3, correction=c, stream=True, **flags)))

    np.testing.assert_allclose(grad, ref.finite_difference_gradient(loss, path), atol=1e-7)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("container", CONTAINERS)
def test_stream_with_scalar_term_containers_and_dtypes(rng, container, dtype):
    path = make(rng.normal(size=(2, 3, 6, 2)) * 0.5, container, dtype)
    ours = ts.sig(path, 3, stream=True, scalar_term=True, time_aug=True)
    assert type(ours) is type(path) and ours.dtype == path.dtype and tuple(ours.shape) == (2, 3, 5, 40)
    assert np.all(to_numpy(ours)[..., 0] == 1)
    assert_close(
        ours, prefix_signatures(to_numpy(path).astype(np.float64), 3, {"time_aug": True}, True), dtype
    )
    g = make(rng.normal(size=tuple(ours.shape)), container, dtype)
    grad = ts.sig_backprop(path, ours, g, 3, stream=True, time_aug=True)
    assert type(grad) is type(path) and tuple(grad.shape) == tuple(path.shape)


def test_stream_of_paths_without_increments():
    assert ts.sig(np.zeros((4, 1, 3)), 2, stream=True).shape == (4, 0, 12)
    assert ts.sig(np.zeros((1, 3)), 2, stream=True, lead_lag=True).shape == (0, 42)
    grad = ts.sig_backprop(np.ones((4, 1, 3)), np.zeros((4, 0, 12)), np.zeros((4, 0, 12)), 2, stream=True)
    np.testing.assert_array_equal(grad, np.zeros((4, 1, 3)))


def ragged_lengths(rng, batch, length):
    lengths = rng.integers(1, length + 1, size=batch)
    lengths.flat[0] = length  # the longest, and the shortest possible
    if lengths.size > 1:
        lengths.flat[-1] = 1
    return lengths


@pytest.mark.parametrize(ARGS, engines(*ENGINES))
def test_ragged_equals_each_truncated_path_alone(rng, batch, length, dim, degree, n_jobs, flags):
    path = rng.normal(size=(*batch, length, dim)) / np.sqrt(length)
    lengths = ragged_lengths(rng, batch, length)
    lengths.flat[1 % lengths.size] = length // 2 + 1
    # Whatever lies past a path's end is never read.
    padded = path.copy()
    for i in np.ndindex(batch):
        padded[i][lengths[i] :] = np.nan
    ours = ts.sig(padded, degree, lengths=lengths, n_jobs=n_jobs, **flags)
    g = rng.normal(size=ours.shape)
    grad = ts.sig_backprop(padded, ours, g, degree, lengths=lengths, n_jobs=n_jobs, **flags)
    for i in np.ndindex(batch):
        alone = path[i][: lengths[i]]
        expected = ts.sig(alone, degree, **flags)
        assert_close(ours[i], expected, np.float64)
        expected_grad = ts.sig_backprop(alone, expected, g[i], degree, **flags)
        assert_close(grad[i][: lengths[i]], expected_grad, np.float64)
        assert np.all(grad[i][lengths[i] :] == 0)


@pytest.mark.parametrize("engine", ["lanes", "rows"])
def test_ragged_float32_matches_float64(rng, engine):
    batch, length, dim, degree, _ = ENGINES[engine]
    path = rng.normal(size=(*batch, length, dim)) / np.sqrt(length)
    lengths = ragged_lengths(rng, batch, length)
    for stream in (False, True):
        wide = ts.sig(path, degree, lengths=lengths, stream=stream, time_aug=True)
        narrow = ts.sig(path.astype(np.float32), degree, lengths=lengths, stream=stream, time_aug=True)
        assert narrow.dtype == np.float32
        assert_close(narrow, wide, np.float32)
        g = rng.normal(size=wide.shape)
        grad = ts.sig_backprop(path, wide, g, degree, lengths=lengths, stream=stream, time_aug=True)
        grad32 = ts.sig_backprop(
            path.astype(np.float32),
            narrow,
            g.astype(np.float32),
            degree,
            lengths=lengths,
            stream=stream,
            time_aug=True,
        )
        assert_close(grad32, grad, np.float32)


@pytest.mark.parametrize(ARGS, engines("lanes", "rows"))
def test_ragged_streams_repeat_the_whole_signature_past_the_end(
    rng, batch, length, dim, degree, n_jobs, flags
):
    path = rng.normal(size=(*batch, length, dim)) / np.sqrt(length)
    lengths = ragged_lengths(rng, batch, length)
    ours = ts.sig(path, degree, stream=True, lengths=lengths, n_jobs=n_jobs, **flags)
    g = rng.normal(size=ours.shape)
    grad = ts.sig_backprop(path, ours, g, degree, stream=True, lengths=lengths, n_jobs=n_jobs, **flags)
    steps = ours.shape[-2]
    for i in np.ndindex(batch):
        alone = path[i][: lengths[i]]
        whole = ts.sig(alone, degree, **flags)
        own = ts.sig(alone, degree, stream=True, **flags)
        assert_close(ours[i][: own.shape[0]], own, np.float64)
        assert_close(
            ours[i][own.shape[0] :],
            np.broadcast_to(whole, (steps - own.shape[0], whole.shape[0])),
            np.float64,
        )
        # Rows past the end are the whole signature: their gradients add onto the last prefix's.
        g_own = g[i][: own.shape[0]].copy()
        if own.shape[0]:
            g_own[-1] += g[i][own.shape[0] :].sum(axis=0)
            expected = ts.sig_backprop(alone, own, g_own, degree, stream=True, **flags)
        else:
            expected = np.zeros_like(alone)
        assert_close(grad[i][: lengths[i]], expected, np.float64)
        assert np.all(grad[i][lengths[i] :] == 0)


def test_ragged_correction_reads_each_paths_own_segments(rng):
    path = rng.normal(size=(3, 6, 2)) * 0.5
    c = rng.normal(size=(3, 5, 4)) * 0.2
    lengths = np.array([6, 3, 1])
    ours = ts.sig(path, 3, correction=c, lengths=lengths, time_aug=True)
    for i, n in enumerate(lengths):
        expected = ref.sig_corrected(path[i, :n], 3, c[i, : n - 1], time_aug=True)
        assert_close(ours[i], expected, np.float64)


@pytest.mark.parametrize("container", CONTAINERS)
def test_lengths_in_every_container(rng, container):
    torch = pytest.importorskip("torch")
    path = make(rng.normal(size=(2, 3, 5, 2)), container, np.float64)
    expected = ts.sig(path, 2, lengths=np.array([[5, 4, 3], [2, 1, 5]]))
    for lengths in (
        [[5, 4, 3], [2, 1, 5]],
        torch.tensor([[5, 4, 3], [2, 1, 5]]),
        np.array([[5, 4, 3], [2, 1, 5]], np.uint8),
    ):
        np.testing.assert_array_equal(to_numpy(ts.sig(path, 2, lengths=lengths)), to_numpy(expected))
    single = make(rng.normal(size=(5, 2)), container, np.float64)
    np.testing.assert_array_equal(to_numpy(ts.sig(single, 2, lengths=3)), to_numpy(ts.sig(single[:3], 2)))


def test_full_lengths_change_nothing(rng):
    path = rng.normal(size=(4, 7, 3))
    np.testing.assert_array_equal(ts.sig(path, 3, lengths=np.full(4, 7)), ts.sig(path, 3))


@pytest.mark.parametrize(
    ("lengths", "exc", "match"),
    [
        (np.array([5, 0]), ValueError, r"lengths must lie in 1..5 .* got lengths\[1\] = 0"),
        (np.array([6, 5]), ValueError, r"lengths must lie in 1..5 .* got lengths\[0\] = 6"),
        (np.array([-1, 5]), ValueError, "lengths must lie in 1..5"),
        (
            np.array([5, 5, 5]),
            ValueError,
            r"lengths must have the paths' batch shape \(2,\), got shape \(3,\)",
        ),
        (np.array([[5, 5]]), ValueError, "lengths must have the paths' batch shape"),
        (5, ValueError, "lengths must have the paths' batch shape"),
        (np.array([5.0, 5.0]), TypeError, "lengths must hold integers, got dtype float64"),
        (np.array([True, True]), TypeError, "lengths must hold integers, got dtype bool"),
        ([5.0, 4.0], TypeError, "lengths must hold integers"),
        (2.5, TypeError, "lengths must hold integers, got float"),
        ("5", TypeError, "lengths must be a numpy array, torch tensor or list of integers, got str"),
    ],
)
def test_bad_lengths(lengths, exc, match):
    path = np.zeros((2, 5, 3))
    with pytest.raises(exc, match=match):
        ts.sig(path, 2, lengths=lengths)
    s = ts.sig(path, 2)
    with pytest.raises(exc, match=match):
        ts.sig_backprop(path, s, s, 2, lengths=lengths)


def test_float_tensor_lengths_are_refused():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match=r"lengths must hold integers, got a tensor of torch\.float32"):
        ts.sig(np.zeros((2, 5, 3)), 2, lengths=torch.tensor([5.0, 4.0]))


def test_stream_gradient_needs_stream_shaped_signatures():
    path = np.zeros((2, 5, 3))
    whole, prefixes = ts.sig(path, 2), ts.sig(path, 2, stream=True)
    with pytest.raises(
        ValueError, match=r"with stream=True, sig must have shape \(\*batch, steps, sig_length\)"
    ):
        ts.sig_backprop(path, whole, whole, 2, stream=True)
    with pytest.raises(ValueError, match=r"\(2, 4, 12\) for path shape \(2, 5, 3\), got \(2, 3, 12\)"):
        ts.sig_backprop(path, prefixes[:, 1:], prefixes[:, 1:], 2, stream=True)
    with pytest.raises(ValueError, match="sig_derivs must have shape"):
        ts.sig_backprop(path, prefixes, prefixes[:, 1:], 2, stream=True)
    with pytest.raises(ValueError, match="path, sig and sig_derivs must have the same batch shape"):
        ts.sig_backprop(path, prefixes, prefixes, 2)
    with pytest.raises(TypeError, match="stream must be of type bool"):
        ts.sig(path, 2, stream=1)
    with pytest.raises(TypeError, match="stream must be of type bool"):
        ts.sig_backprop(path, whole, whole, 2, stream=None)


def test_cuda_tensors_refuse_the_new_keywords_clearly():
    torch = pytest.importorskip("torch")
    from tensorsig._operands import Operand
    from tensorsig._sig_options import refuse_on_gpu

    on_gpu = Operand("path", None, np.dtype(np.float32), torch.device("cuda", 0))
    refuse_on_gpu(on_gpu, False, False, False)
    with pytest.raises(ts.exceptions.DeviceError, match="lengths, stream are not supported for CUDA"):
        refuse_on_gpu(on_gpu, False, True, True)
    with pytest.raises(ts.exceptions.DeviceError, match="correction is not supported for CUDA tensors yet"):
        refuse_on_gpu(on_gpu, True, False, False)


def test_torch_api_differentiates_streams_ragged_batches_and_corrections_once():
    torch = pytest.importorskip("torch")
    import tensorsig.torch_api as ta

    path = torch.randn(3, 5, 2, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([5, 3, 2])
    correction = torch.full((4,), 0.1, dtype=torch.float64)
    for options in (
        {"stream": True, "time_aug": True},
        {"lengths": lengths, "time_aug": True},
        {"correction": correction},
        {"stream": True, "lengths": lengths},
    ):
        assert torch.autograd.gradcheck(lambda p: ta.sig(p, 3, **options), (path,))  # noqa: B023
    # The operator path and the options path agree where they overlap.
    full = ta.sig(path, 3, lengths=torch.tensor([5, 5, 5]))
    torch.testing.assert_close(full, ta.sig(path, 3))
    # Past each path's end, the gradient is 0.
    (grad,) = torch.autograd.grad(ta.sig(path, 3, lengths=lengths).sum(), path)
    assert bool((grad[1, 3:] == 0).all()) and bool((grad[2, 2:] == 0).all())
    # A second derivative is refused, not silently zero.
    (grad,) = torch.autograd.grad(ta.sig(path, 3, stream=True).pow(2).sum(), path, create_graph=True)
    with pytest.raises(RuntimeError, match=r"once_differentiable|does not require grad"):
        grad.sum().backward()
    # numpy in, numpy out.
    assert isinstance(ta.sig(path.detach().numpy(), 2, stream=True), np.ndarray)


def test_gradients_with_options_check_the_base_arguments_first():
    path = np.zeros((2, 5, 3))
    prefixes = ts.sig(path, 2, stream=True)
    with pytest.raises(TypeError, match="degree must be of type int"):
        ts.sig_backprop(path, prefixes, prefixes, 2.0, stream=True)
    with pytest.raises(ValueError, match="at least rank 2"):
        ts.sig_backprop(path[0, 0], prefixes, prefixes, 2, stream=True)


def test_torch_api_backward_sees_the_forward_lengths_and_correction():
    torch = pytest.importorskip("torch")
    import tensorsig.torch_api as ta

    path = torch.randn(2, 5, 2, dtype=torch.float64, requires_grad=True)
    lengths = np.array([3, 5])
    expected = torch.autograd.grad(ta.sig(path, 2, lengths=lengths.copy()).sum(), path)[0]
    result = ta.sig(path, 2, lengths=lengths)
    lengths[:] = 5  # a reused buffer: the backward pass keeps the forward's lengths
    torch.testing.assert_close(torch.autograd.grad(result.sum(), path)[0], expected)
    correction = torch.full((4,), 0.1, dtype=torch.float64)
    result = ta.sig(path, 2, correction=correction)
    correction.zero_()  # changed in place before backward: refused, as for any saved tensor
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        torch.autograd.grad(result.sum(), path)
