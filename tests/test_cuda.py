"""The GPU path on machines without a GPU: kernels compile, arguments are checked, errors are clear.

Results on a GPU are checked against the CPU by ``benches/gpu_check.py`` on a machine with one;
here NVRTC (from torch's CUDA wheels) compiles every kernel for the data-centre architectures, the
native entry points validate what they are handed before touching the driver, and without a driver
tensorsig says so instead of crashing.
"""

from __future__ import annotations

import glob
import inspect
import os

import numpy as np
import pytest

import tensorsig
from ops import CASES
from tensorsig import _core, _cuda
from tensorsig._specs import OPS

pytestmark = pytest.mark.skipif(not getattr(_core, "HAS_CUDA", False), reason="built without CUDA")

HAS_DRIVER = bool(glob.glob("/dev/nvidia[0-9]*"))


def nvrtc_or_skip() -> None:
    _cuda.ensure_ready()
    try:
        _core.cuda_nvrtc_version()
    except RuntimeError as error:
        pytest.skip(f"NVRTC is not installed: {error}")


# (double, dimension, degree, dual, architecture): both element types and both arithmetics on
# Hopper, and the shapes users run (lead-lag + time widths, deep and wide, degree 0 and 1) on Ampere.
SPECS = [
    (False, 5, 4, False, "sm_90"),
    (True, 5, 4, False, "sm_90"),
    (False, 5, 4, True, "sm_90"),
    (True, 5, 4, True, "sm_90"),
    (True, 2, 7, False, "sm_80"),
    (False, 16, 3, False, "sm_80"),
    (True, 11, 3, True, "sm_80"),
    (True, 3, 0, False, "sm_80"),
    (False, 1, 1, True, "sm_80"),
    (False, 8, 3, False, "compute_90"),
]


@pytest.mark.parametrize(("double", "dim", "degree", "dual", "arch"), SPECS)
def test_kernels_compile(double, dim, degree, dual, arch):
    nvrtc_or_skip()
    assert _core.cuda_compile_check(double, dim, degree, dual, arch) > 1000


def test_compile_errors_carry_nvrtc_log():
    nvrtc_or_skip()
    with pytest.raises(RuntimeError, match="gpu-architecture"):
        _core.cuda_compile_check(True, 3, 2, False, "sm_1")


@pytest.mark.skipif(HAS_DRIVER, reason="a GPU driver is present")
def test_unavailable_without_a_driver_says_why():
    assert tensorsig.cuda_available() is False
    assert "driver" in tensorsig.cuda_unavailable_reason()
    with pytest.raises(RuntimeError, match="driver"):
        _core.cuda_device_count()


def test_nvrtc_found_next_to_torch():
    torch = pytest.importorskip("torch")
    if not torch.version.cuda:
        pytest.skip("torch without CUDA")
    candidates = _cuda._nvrtc_candidates()
    assert candidates and os.path.exists(candidates[0])
    assert candidates[0].endswith(f".so.{torch.version.cuda.split('.')[0]}")


class FakeCudaArray:
    """Looks like a CUDA array to the native code, at an address nothing may read."""

    def __init__(self, shape, typestr="<f8", strides=None, ptr=0xDEAD0000):
        self.__cuda_array_interface__ = {
            "shape": tuple(shape),
            "typestr": typestr,
            "data": (ptr, False),
            "strides": strides,
            "version": 3,
        }


def call_sig(path, out, degree=2):
    return _core.sig(path, out, degree, False, False, 1.0, False, 1, launch=(0, 0))


@pytest.mark.parametrize(
    ("path", "out", "error", "match"),
    [
        (FakeCudaArray((2, 10, 3), "<i8"), FakeCudaArray((2, 12)), TypeError, "float32 or float64"),
        (FakeCudaArray((10, 3)), FakeCudaArray((2, 12)), ValueError, "3 dimensions"),
        (FakeCudaArray((2, 10, 0)), FakeCudaArray((2, 0)), ValueError, "0 channels"),
        (FakeCudaArray((2, 10, 3)), FakeCudaArray((2, 13)), ValueError, "values where 24"),
        (FakeCudaArray((2, 10, 3)), FakeCudaArray((2, 12), "<f4"), ValueError, "same dtype"),
        (FakeCudaArray((2, 10, 3)), FakeCudaArray((2, 12), strides=(8, 16)), ValueError, "C-contiguous"),
        (FakeCudaArray((2, 10, 3), strides=(240, -24, 8)), FakeCudaArray((2, 12)), ValueError, "negative"),
        (
            FakeCudaArray((2, 10, 3), strides=(240, 24, 3)),
            FakeCudaArray((2, 12)),
            ValueError,
            "whole elements",
        ),
        (np.zeros((2, 10, 3)), FakeCudaArray((2, 12)), TypeError, "out must be a numpy array"),
    ],
)
def test_arguments_checked_before_any_launch(path, out, error, match):
    with pytest.raises(error, match=match):
        call_sig(path, out)


@pytest.mark.skipif(HAS_DRIVER, reason="a GPU driver is present")
def test_valid_arguments_reach_the_driver_check():
    with pytest.raises(RuntimeError, match="driver"):
        call_sig(FakeCudaArray((2, 10, 3)), FakeCudaArray((2, 12)))


def test_a_numpy_array_among_cuda_operands_is_refused():
    with pytest.raises(TypeError, match="out must be a CUDA array"):
        call_sig(FakeCudaArray((2, 10, 3)), np.zeros((2, 12)))


def test_options_with_cpu_kernels_only_are_refused_on_a_gpu():
    with pytest.raises(tensorsig.exceptions.DeviceError, match="correction, lengths or stream on the CPU"):
        _core.sig(
            FakeCudaArray((2, 10, 3)), FakeCudaArray((2, 12)), 2, False, False, 1.0, False, 1,
            lengths=np.array([10, 9]), launch=(0, 0),
        )  # fmt: skip


@pytest.mark.skipif(HAS_DRIVER, reason="the ops with GPU kernels would launch them on fake pointers")
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_every_op_refuses_gpu_operands_exactly_when_it_has_no_gpu_kernels(rng, case):
    # The op table's `cuda` flag and the bindings' GPU arms are two statements of one fact.
    spec = OPS[case.op]
    arrays = case.arrays(rng)
    signature = inspect.signature(case.function).parameters.items()
    values = {name: p.default for name, p in signature if p.default is not inspect.Parameter.empty}
    values.update(case.params)
    meta = spec.meta(*(a.shape for a in arrays), *(values[p.name] for p in spec.params))
    if meta.passthrough:
        return
    read = [FakeCudaArray(view) for view in meta.views if view is not None]
    if spec.cuda:
        with pytest.raises(RuntimeError, match="driver"):
            spec.native(*read, *meta.native_args, launch=(0, 0))
    else:
        with pytest.raises(tensorsig.exceptions.DeviceError, match=f"{case.op} on the CPU only"):
            spec.native(*read, *meta.native_args, launch=(0, 0))


def test_a_cuda_array_needs_the_launch_parameters():
    with pytest.raises(TypeError, match="needs launch=\\(device, stream\\)"):
        _core.sig(FakeCudaArray((2, 10, 3)), FakeCudaArray((2, 12)), 2, False, False, 1.0, False, 1)


def test_an_op_without_gpu_kernels_refuses_a_cuda_array_by_name():
    # sig_join has CPU kernels only: the binding says so before reading any array.
    with pytest.raises(tensorsig.exceptions.DeviceError, match="sig_join on the CPU only"):
        sig, displacement, out = FakeCudaArray((2, 7)), FakeCudaArray((2, 2)), FakeCudaArray((2, 7))
        _core.sig_join(sig, displacement, out, 2, 2, False, True, 1, launch=(0, 0))
