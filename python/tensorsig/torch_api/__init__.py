"""Differentiable tensorsig for torch: ``tensorsig.torch_api``.

The same public names as ``tensorsig`` (less the ``*_backprop`` functions, as in pysiglib's
torch_api). The array functions -- ``sig`` (``signature``), ``sig_combine``, ``transform_path`` --
run on ``torch.library`` custom operators in the ``tensorsig`` namespace, each with a fake
implementation and registered autograd, so they

- differentiate with respect to every tensor input (paths; both signatures of a product), for all
  flags, batch shapes, float32 and float64;
- differentiate twice: ``torch.autograd.grad(..., create_graph=True)`` through ``sig`` and
  ``sig_combine`` gives exact second derivatives (gradient penalties, Hessian-vector products),
  which pysiglib does not (it silently drops them);
- trace under ``torch.compile(..., fullgraph=True)`` with no graph break.

The same holds for ``sig_join``, ``linear_sig`` (twice) and ``sig_coef`` (once). The
log-signature and signature-kernel functions (``log_sig``, ``sig_to_log_sig``, ``sig_kernel``,
``sig_mmd``, ...) and ``sig`` with ``correction``/``stream``/``lengths`` differentiate once so far,
as in pysiglib (their backward passes are the plain ``*_backprop`` functions; a second derivative
raises rather than returning zeros), and run eagerly under ``torch.compile``.

A call that needs none of that -- CPU tensors that record no graph (no ``requires_grad``, or
under ``torch.no_grad()``), outside torch.compile, torch function or dispatch modes and functorch
transforms -- skips the operator's dispatch, which costs more than a small signature: it runs the
plain function on numpy views of the tensors and returns tensors over its results (a GPU tensor
goes to the operator's eager implementation directly). Same checks, same values.

numpy inputs pass straight through to the plain functions and return numpy arrays, as in pysiglib.
Everything else (``sig_length``, the word helpers, ...) is the same object as in ``tensorsig``.
The operators themselves are ``torch.ops.tensorsig.<op>`` for every op of tensorsig's op table,
backward passes included.

>>> import torch, tensorsig.torch_api as ta
>>> path = torch.randn(8, 50, 3, dtype=torch.float64, requires_grad=True)
>>> loss = ta.sig(path, 4, time_aug=True).pow(2).sum()
>>> (grad,) = torch.autograd.grad(loss, path, create_graph=True)
>>> grad.pow(2).sum().backward()   # a gradient penalty: second derivatives
>>> path.grad.shape
torch.Size([8, 50, 3])
"""

from __future__ import annotations

try:
    import torch  # noqa: F401
except ModuleNotFoundError as error:  # pragma: no cover - exercised in a subprocess test
    raise ModuleNotFoundError(
        "tensorsig.torch_api needs PyTorch, which is not installed: pip install torch "
        '(or pip install "tensorsig[torch]"). The rest of tensorsig works without it.',
        name=error.name,
    ) from error

from .. import (
    Context,
    LinearKernel,
    LogSigStream,
    LogSigWindowStream,
    Matern12Kernel,
    Matern32Kernel,
    Matern52Kernel,
    PolynomialKernel,
    RationalQuadraticKernel,
    RBFKernel,
    ScaledLinearKernel,
    SigStream,
    SigWindowStream,
    StaticKernel,
    TensorsigError,
    clear_cache,
    cuda_available,
    cuda_unavailable_reason,
    extract_sig_coef,
    idx_to_word,
    is_lyndon,
    log_sig_length,
    lyndon_words,
    lyndon_words_of_length,
    prepare_log_sig,
    set_cache_dir,
    sig_length,
    word_to_idx,
    words,
    words_of_length,
)
from .. import _combine as _plain_combine
from .. import _sig_coef as _plain_sig_coef
from .. import _sig_join as _plain_sig_join
from .. import _signature as _plain_signature
from .. import _transform as _plain_transform
from .._specs import OPS
from . import _combine, _extras, _signature, _transform  # noqa: F401  (each registers its family's autograd)
from ._dispatch import differentiable
from ._logsig import linear_log_sig, log_sig, log_sig_combine, log_sig_join, logsig_to_sig, sig_to_log_sig
from ._sigkernel import expected_sig_score, sig_kernel, sig_kernel_gram, sig_mmd, sig_score

sig = differentiable(
    _plain_signature.sig,
    OPS["sig"],
    with_options=_signature.sig_with_options_autograd,
    shortcut=_signature.sig_of_cpu_tensor,
)
#: Alias of :func:`sig`, as in pysiglib.
signature = sig
sig_combine = differentiable(_plain_combine.sig_combine, OPS["sig_combine"])
transform_path = differentiable(_plain_transform.transform_path, OPS["transform_path"])
sig_join = differentiable(_plain_sig_join.sig_join, OPS["sig_join"])
linear_sig = differentiable(_plain_sig_join.linear_sig, OPS["linear_sig"])
sig_coef = differentiable(_plain_sig_coef.sig_coef, OPS["sig_coef"])

__all__ = [
    "Context",
    "LinearKernel",
    "LogSigStream",
    "LogSigWindowStream",
    "Matern12Kernel",
    "Matern32Kernel",
    "Matern52Kernel",
    "PolynomialKernel",
    "RBFKernel",
    "RationalQuadraticKernel",
    "ScaledLinearKernel",
    "SigStream",
    "SigWindowStream",
    "StaticKernel",
    "TensorsigError",
    "clear_cache",
    "cuda_available",
    "cuda_unavailable_reason",
    "expected_sig_score",
    "extract_sig_coef",
    "idx_to_word",
    "is_lyndon",
    "linear_log_sig",
    "linear_sig",
    "log_sig",
    "log_sig_combine",
    "log_sig_join",
    "log_sig_length",
    "logsig_to_sig",
    "lyndon_words",
    "lyndon_words_of_length",
    "prepare_log_sig",
    "set_cache_dir",
    "sig",
    "sig_coef",
    "sig_combine",
    "sig_join",
    "sig_kernel",
    "sig_kernel_gram",
    "sig_length",
    "sig_mmd",
    "sig_score",
    "sig_to_log_sig",
    "signature",
    "transform_path",
    "word_to_idx",
    "words",
    "words_of_length",
]
