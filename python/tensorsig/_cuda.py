"""Finding what the GPU kernels need at run time: the CUDA driver and NVRTC.

The wheel carries no CUDA libraries. The kernels are compiled on first use by NVRTC, which torch's
CUDA wheels install (``site-packages/nvidia/.../lib``); the driver comes with the GPU. Nothing here
runs until a CUDA tensor reaches tensorsig or :func:`cuda_available` is called.
"""

from __future__ import annotations

import glob
import os
import sys
import threading

from . import _core
from .exceptions import DeviceError

_lock = threading.Lock()
_ready = False


def _nvrtc_candidates() -> list[str]:
    """NVRTC libraries installed in site-packages by the NVIDIA wheels, the one matching torch's
    CUDA version first (it is known to work with the installed driver)."""
    patterns = ("nvidia/cu*/lib/libnvrtc.so.*", "nvidia/cuda_nvrtc/lib/libnvrtc.so.*")
    found: list[str] = []
    for root in sys.path:
        if not root or not os.path.isdir(os.path.join(root, "nvidia")):
            continue
        for pattern in patterns:
            found += [p for p in glob.glob(os.path.join(root, pattern)) if "builtins" not in p]
    torch = sys.modules.get("torch")
    cuda_major = (getattr(getattr(torch, "version", None), "cuda", None) or "").split(".")[0]

    def preference(path: str) -> tuple[bool, str]:
        return (not path.endswith(f".so.{cuda_major}") if cuda_major else True, path)

    return sorted(set(found), key=preference)


def ensure_ready() -> None:
    """Points the native code at NVRTC, once; raises DeviceError (a RuntimeError) for a build
    without CUDA."""
    global _ready
    if _ready:
        return
    if not getattr(_core, "HAS_CUDA", False):
        raise DeviceError("this build of tensorsig was compiled without CUDA support")
    with _lock:
        if not _ready:
            candidates = _nvrtc_candidates()
            if candidates and "TENSORSIG_NVRTC" not in os.environ:
                _core.cuda_set_nvrtc_path(candidates[0])
            _ready = True


def cuda_available() -> bool:
    """Whether tensorsig can compute on a CUDA GPU here: a build with CUDA support, an NVIDIA
    driver with at least one GPU, and NVRTC (installed with torch's CUDA wheels, or named by the
    ``TENSORSIG_NVRTC`` environment variable).

    Kernels are compiled for the GPU at hand the first time each is used (about a second),
    then cached for the process. :func:`cuda_unavailable_reason` says what is missing.

    >>> import tensorsig
    >>> isinstance(tensorsig.cuda_available(), bool)
    True
    """
    return cuda_unavailable_reason() is None


def cuda_unavailable_reason() -> str | None:
    """Why :func:`cuda_available` is False, or None when it is True.

    >>> import tensorsig
    >>> reason = tensorsig.cuda_unavailable_reason()
    >>> (reason is None) == tensorsig.cuda_available()
    True
    """
    try:
        ensure_ready()
        _core.cuda_device_count()
        _core.cuda_nvrtc_version()
    except RuntimeError as error:
        return str(error)
    return None
