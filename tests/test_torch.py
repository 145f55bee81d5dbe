"""tensorsig.torch_api: autograd to second order, custom-operator checks, torch.compile."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.library import opcheck

import tensorsig
import tensorsig.torch_api as ta
from ops import CASES
from tensorsig._checks import signature_length

F64 = torch.float64
SIG_FLAGS = [
    {},
    {"time_aug": True},
    {"lead_lag": True},
    {"time_aug": True, "lead_lag": True, "end_time": 2.0, "scalar_term": True},
]


def rand(*shape, dtype=F64, grad=True, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, dtype=dtype, generator=g).mul_(0.7).requires_grad_(grad)


@pytest.mark.parametrize("flags", SIG_FLAGS)
@pytest.mark.parametrize("shape", [(5, 2), (3, 6, 2), (2, 1, 4, 3)])
def test_sig_gradcheck_and_gradgradcheck(flags, shape):
    path = rand(*shape)
    degree = 3 if shape[-1] == 2 else 2
    f = lambda p: ta.sig(p, degree, **flags)  # noqa: E731
    assert torch.autograd.gradcheck(f, (path,))
    assert torch.autograd.gradgradcheck(f, (path,))


@pytest.mark.parametrize("scalar_term", [False, True])
@pytest.mark.parametrize("batch", [(), (3,), (2, 2)])
def test_sig_combine_gradcheck_and_gradgradcheck(scalar_term, batch):
    width = signature_length(2, 3, scalar_term)
    a, b = rand(*batch, width, seed=1), rand(*batch, width, seed=2)
    f = lambda x, y: ta.sig_combine(x, y, 2, 3)  # noqa: E731
    assert torch.autograd.gradcheck(f, (a, b))
    assert torch.autograd.gradgradcheck(f, (a, b))


@pytest.mark.parametrize(
    "flags", [{"time_aug": True}, {"lead_lag": True}, {"time_aug": True, "lead_lag": True}]
)
def test_transform_path_gradcheck_and_gradgradcheck(flags):
    path = rand(2, 5, 3)
    f = lambda p: ta.transform_path(p, **flags)  # noqa: E731
    assert torch.autograd.gradcheck(f, (path,))
    assert torch.autograd.gradgradcheck(f, (path,))


def test_gradients_reach_both_signatures_and_the_path_through_a_chain():
    x1, x2 = rand(4, 6, 2, seed=3), rand(4, 6, 2, seed=4)
    combined = ta.sig_combine(ta.sig(x1, 3), ta.sig(x2, 3), 2, 3)
    combined.square().sum().backward()
    assert x1.grad is not None and x2.grad is not None
    assert x1.grad.abs().sum() > 0 and x2.grad.abs().sum() > 0


def test_double_backward_keeps_the_signature_term_in_a_mixed_graph():
    """pysiglib silently drops sig's second derivative here; it must equal a finite difference."""
    x = rand(2, 5, 2, seed=5)
    v = rand(2, 5, 2, grad=False, seed=6)

    def grad_of(p):
        loss = ta.sig(p, 3, time_aug=True).pow(2).sum() + p.pow(3).sum()
        return torch.autograd.grad(loss, p, create_graph=True)[0]

    (hvp,) = torch.autograd.grad(grad_of(x), x, v)
    eps = 1e-6
    up, down = (
        grad_of((x + eps * v).detach().requires_grad_()),
        grad_of((x - eps * v).detach().requires_grad_()),
    )
    fd = (up - down) / (2 * eps)
    torch.testing.assert_close(hvp, fd.detach(), rtol=1e-5, atol=1e-6)


def test_float32_runs_and_agrees_with_float64():
    x64 = rand(3, 20, 3, seed=7)
    x32 = x64.detach().float().requires_grad_()
    s64, s32 = ta.sig(x64, 3, time_aug=True), ta.sig(x32, 3, time_aug=True)
    assert s32.dtype == torch.float32
    torch.testing.assert_close(s32.double(), s64.detach(), rtol=1e-4, atol=1e-5)
    s64.sum().backward()
    s32.sum().backward()
    assert x32.grad.dtype == torch.float32
    torch.testing.assert_close(x32.grad.double(), x64.grad, rtol=1e-3, atol=1e-4)


def test_inputs_without_grad_give_plain_outputs():
    x = rand(2, 4, 2, grad=False)
    out = ta.sig(x, 2)
    assert not out.requires_grad and out.grad_fn is None
    torch.testing.assert_close(out, torch.from_numpy(tensorsig.sig(x.numpy(), 2)))


def test_calls_without_autograd_skip_the_dispatch_but_not_its_checks_or_results():
    # CPU tensors that need no graph run the plain function on numpy views: same values, a new
    # tensor (never the input), and the same errors as through the operator.
    x = rand(3, 6, 2, grad=False)
    direct = torch.ops.tensorsig.sig(x, 3, True, False, 1.0, True, False, 1)
    torch.testing.assert_close(ta.sig(x, 3, time_aug=True), direct, rtol=0, atol=0)
    torch.testing.assert_close(ta.sig(path=x, degree=3, time_aug=True), direct, rtol=0, atol=0)
    same = ta.transform_path(x)
    assert same.data_ptr() != x.data_ptr() and torch.equal(same, x)
    lazily_negated = x.neg()._neg_view()  # the values of x, behind torch's negative bit
    assert lazily_negated.is_neg()
    torch.testing.assert_close(ta.sig(lazily_negated, 2), ta.sig(x, 2), rtol=0, atol=0)
    with torch.no_grad():
        out = ta.sig(rand(3, 6, 2), 2)
    assert out.grad_fn is None and not out.requires_grad
    with pytest.raises(TypeError, match="degree must be of type int"):
        ta.sig(x, 2.0)


def test_the_native_read_of_cpu_tensors_matches_numpy_on_every_layout():
    # ta.sig(path, degree) on a plain CPU tensor reads the tensor's memory natively; every layout
    # torch can hand it must give numpy's values, and anything it cannot read must still work.
    base = rand(4, 7, 3, grad=False, seed=3)
    storage = torch.arange(64 * 8, dtype=F64).reshape(64, 8)
    layouts = {
        "contiguous": base,
        "one path": base[1],
        "transposed": base.transpose(1, 2).contiguous().transpose(1, 2),
        "strided slice": base[::2, 1::2, ::2],
        "offset view": base[1:, 2:],
        "broadcast": base[:1].expand(5, 7, 3),
        "float32": base.float(),
        "float32 one path, channels first": base[0].float().t().contiguous().t(),
        "inference tensor": torch.inference_mode()(lambda: base * 1)(),
        "offset storage": storage[3:10, 1:4] / 100,
    }
    for name, path in layouts.items():
        expected = tensorsig.sig(path.numpy(), 3)
        out = ta.sig(path, 3)
        assert type(out) is torch.Tensor and out.dtype == path.dtype, name
        np.testing.assert_array_equal(out.numpy(), expected, err_msg=name)
    with torch.no_grad():  # requires grad, but nothing records it
        torch.testing.assert_close(ta.sig(base.clone().requires_grad_(), 2), ta.sig(base, 2), rtol=0, atol=0)
    # What the native read leaves to the general path: half precision (refused there),
    # 0 points, a misaligned buffer, a sparse tensor.
    with pytest.raises(TypeError, match="float32 or float64"):
        ta.sig(base.half(), 2)
    assert ta.sig(torch.zeros(2, 0, 3, dtype=F64), 2).shape == (2, 12)
    floats = torch.frombuffer(bytearray(8 * 12 + 4), dtype=torch.float32, offset=4, count=24)
    misaligned = floats.view(torch.float64).reshape(4, 3)  # a malloc'd buffer, 4 bytes in
    assert misaligned.data_ptr() % 8 == 4
    np.testing.assert_array_equal(ta.sig(misaligned, 2).numpy(), tensorsig.sig(misaligned.numpy(), 2))
    with pytest.raises((TypeError, ValueError, RuntimeError)):
        ta.sig(base.to_sparse(), 2)
    # Autograd's zero tensors have no memory (data_ptr() is 0): read as the zeros they stand for.
    zeros = torch._efficientzerotensor((4, 7, 3), dtype=F64)
    torch.testing.assert_close(ta.sig(zeros, 3), ta.sig(torch.zeros(4, 7, 3, dtype=F64), 3), rtol=0, atol=0)


def test_dispatch_modes_still_see_the_operator():
    from torch.utils._python_dispatch import TorchDispatchMode

    class Recorder(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.ops = []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.ops.append(str(func))
            return func(*args, **(kwargs or {}))

    with Recorder() as recorder:
        ta.sig(rand(2, 4, 2, grad=False), 2)
    assert any("tensorsig.sig" in op for op in recorder.ops)


def test_a_batch_of_zero_paths():
    x = torch.zeros(0, 5, 3, dtype=F64, requires_grad=True)
    out = ta.sig(x, 3, time_aug=True)
    assert out.shape == (0, signature_length(4, 3, False))
    out.sum().backward()
    assert x.grad.shape == x.shape


def test_numpy_inputs_pass_through():
    path = np.random.default_rng(0).normal(size=(3, 5, 2))
    assert isinstance(ta.sig(path, 2), np.ndarray)
    s = ta.sig(path, 2)
    assert isinstance(ta.sig_combine(s, s, 2, 2), np.ndarray)
    assert isinstance(ta.transform_path(path, lead_lag=True), np.ndarray)
    assert ta.signature is ta.sig


def test_bad_arguments_are_refused_before_the_operator():
    x = rand(2, 4, 2)
    with pytest.raises(TypeError, match="degree must be of type int"):
        ta.sig(x, 2.0)
    with pytest.raises(ValueError, match="n_jobs cannot be 0"):
        ta.sig(x, 2, n_jobs=0)
    with pytest.raises(TypeError, match=r"path\.dtype must be float32 or float64"):
        ta.sig(x.to(torch.int64), 2)
    with pytest.raises(ValueError, match="sig1 has incompatible length"):
        ta.sig_combine(rand(2, 5), rand(2, 5), 2, 2)


# opcheck's own AOT test reads .grad of intermediate tensors, which torch warns about.
@pytest.mark.filterwarnings("ignore:The .grad attribute of a Tensor that is not a leaf")
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_opcheck(rng, case):
    """torch's operator checks (schema, fake tensors, autograd registration, AOT dispatch) on every
    case of the op table."""
    arrays = [torch.from_numpy(a).requires_grad_(case.differentiable) for a in case.arrays(rng)]
    opcheck(getattr(torch.ops.tensorsig, case.op).default, case.operator_args(*arrays))


class _SignatureModel(torch.nn.Module):
    """Signature features of a learned projection, then a linear read-out."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.proj = torch.nn.Linear(3, 3, dtype=F64)
        self.head = torch.nn.Linear(signature_length(4, 3, False), 1, dtype=F64)

    def forward(self, x):
        features = ta.sig(self.proj(x), 3, time_aug=True)
        mixed = ta.sig_combine(features, features.flip(0), 4, 3)
        return self.head(mixed).pow(2).mean()


@pytest.mark.parametrize("backend", ["aot_eager", "inductor"])
def test_torch_compile_fullgraph_matches_eager(backend):
    x = rand(4, 12, 3, grad=False, seed=15)
    model = _SignatureModel()
    model(x).backward()
    eager = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    torch._dynamo.reset()
    compiled = torch.compile(model, fullgraph=True, backend=backend)
    compiled(x).backward()
    for e, c in zip(eager, (p.grad for p in model.parameters())):
        torch.testing.assert_close(c, e)
