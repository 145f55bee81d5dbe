"""torch twins of the signature-kernel family, differentiable once (see ``_eager``).

``normalize=True`` divides by ``sqrt(k(x, x) k(y, y))`` with torch operations on three
differentiable kernels, and the scores and MMD are the plain functions' formulas over the
differentiable Gram matrices.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

import torch

from .. import _sigkernel, _sigkernel_backprop, _sigkernel_metrics
from ._eager import first_order

_NEEDS = ("left_deriv", "right_deriv")

_sig_kernel = first_order(
    _sigkernel.sig_kernel,
    _sigkernel_backprop.sig_kernel_backprop,
    inputs=("path1", "path2"),
    grad="derivs",
    needs=_NEEDS,
)
_sig_kernel_gram = first_order(
    _sigkernel.sig_kernel_gram,
    _sigkernel_backprop.sig_kernel_gram_backprop,
    inputs=("path1", "path2"),
    grad="derivs",
    needs=_NEEDS,
)


def _normalized(k: torch.Tensor, k1: torch.Tensor, k2: torch.Tensor, name: str) -> torch.Tensor:
    """``k / sqrt(k1 k2)``, NaN (with a RuntimeWarning) where ``k1 k2 <= 0``, as the plain
    functions do."""
    denominator = k1 * k2
    bad = denominator <= 0
    if bool(bad.any()):
        warnings.warn(f"{name}: {_sigkernel._NORMALIZE_WARNING}", RuntimeWarning, stacklevel=3)
    ratio = k / torch.sqrt(denominator.clamp_min(1e-30))
    return torch.where(bad, torch.full_like(ratio, float("nan")), ratio)


def _tracked(*tensors: Any) -> bool:
    return torch.is_grad_enabled() and any(isinstance(t, torch.Tensor) and t.requires_grad for t in tensors)


@functools.wraps(_sigkernel.sig_kernel)
def sig_kernel(path1: Any, path2: Any, **options: Any) -> Any:
    if not options.get("normalize", False) or not _tracked(path1, path2):
        return _sig_kernel(path1, path2, **options)
    options["normalize"] = False
    if options.get("return_grid", False):  # refused by the plain function's checks
        return _sigkernel.sig_kernel(path1, path2, **{**options, "normalize": True})
    k = _sig_kernel(path1, path2, **options)
    k1 = _sig_kernel(path1, path1, **options)
    k2 = k1 if path2 is path1 else _sig_kernel(path2, path2, **options)
    return _normalized(k, k1, k2, "sig_kernel(normalize=True)")


@functools.wraps(_sigkernel.sig_kernel_gram)
def sig_kernel_gram(path1: Any, path2: Any, **options: Any) -> Any:
    if not options.get("normalize", False) or not _tracked(path1, path2):
        return _sig_kernel_gram(path1, path2, **options)
    options["normalize"] = False
    if options.get("return_grid", False):  # refused by the plain function's checks
        return _sigkernel.sig_kernel_gram(path1, path2, **{**options, "normalize": True})
    gram = _sig_kernel_gram(path1, path2, **options)
    paired = {k: v for k, v in options.items() if k != "max_batch"}
    k1 = _sig_kernel(path1, path1, **paired)
    k2 = k1 if path2 is path1 else _sig_kernel(path2, path2, **paired)
    k1 = k1.reshape(*k1.shape, *(1,) * k2.ndim)
    return _normalized(gram, k1, k2, "sig_kernel_gram(normalize=True)")


sig_mmd = _sigkernel_metrics.with_gram(_sigkernel_metrics.sig_mmd, sig_kernel_gram)
sig_score = _sigkernel_metrics.with_gram(_sigkernel_metrics.sig_score, sig_kernel_gram)
expected_sig_score = _sigkernel_metrics.with_gram(_sigkernel_metrics.expected_sig_score, sig_kernel_gram)

for _twin in (sig_kernel, sig_kernel_gram, sig_mmd, sig_score, expected_sig_score):
    _twin.__module__ = "tensorsig.torch_api"

__all__ = ["expected_sig_score", "sig_kernel", "sig_kernel_gram", "sig_mmd", "sig_score"]
