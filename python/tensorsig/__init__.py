"""tensorsig: path signatures, log-signatures, signature kernels and their gradients.

A drop-in for pysiglib 4.0's API -- same names, arguments, defaults and outputs -- on a Rust core.
Functions take numpy arrays or torch tensors (float32 or float64, any batch shape; CPU or CUDA)
and return the same kind on the same device; every computation releases the GIL.

>>> import numpy as np, tensorsig
>>> path = np.random.default_rng(0).normal(size=(32, 100, 5))
>>> tensorsig.sig(path, 3).shape
(32, 155)
"""

from . import _core, exceptions  # noqa: F401  (tensorsig.exceptions: the exception classes)
from ._combine import sig_combine, sig_combine_backprop
from ._cuda import cuda_available, cuda_unavailable_reason
from ._logsig import log_sig, log_sig_length
from ._logsig_bch import (
    linear_log_sig,
    linear_log_sig_backprop,
    log_sig_combine,
    log_sig_combine_backprop,
    log_sig_join,
    log_sig_join_backprop,
)
from ._logsig_cache import clear_cache, prepare_log_sig, set_cache_dir
from ._logsig_convert import logsig_to_sig, logsig_to_sig_backprop, sig_to_log_sig, sig_to_log_sig_backprop
from ._logsig_streams import LogSigStream, LogSigWindowStream
from ._sig_coef import extract_sig_coef, sig_coef, sig_coef_backprop
from ._sig_join import linear_sig, sig_join, sig_join_backprop
from ._sigkernel import sig_kernel, sig_kernel_gram
from ._sigkernel_backprop import sig_kernel_backprop, sig_kernel_gram_backprop
from ._sigkernel_metrics import expected_sig_score, sig_mmd, sig_score
from ._signature import sig, sig_backprop, sig_length
from ._static_kernels import (
    Context,
    LinearKernel,
    Matern12Kernel,
    Matern32Kernel,
    Matern52Kernel,
    PolynomialKernel,
    RationalQuadraticKernel,
    RBFKernel,
    ScaledLinearKernel,
    StaticKernel,
)
from ._streams import SigStream, SigWindowStream
from ._transform import transform_path, transform_path_backprop
from ._words import (
    idx_to_word,
    is_lyndon,
    lyndon_words,
    lyndon_words_of_length,
    word_to_idx,
    words,
    words_of_length,
)
from .exceptions import TensorsigError

__version__: str = _core.__version__

#: Alias of :func:`sig`, as in pysiglib.
signature = sig


def __getattr__(name: str) -> object:
    # `tensorsig.torch_api` imports torch: only on first use, as pysiglib users reach for it.
    if name == "torch_api":
        import importlib

        return importlib.import_module(".torch_api", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    "__version__",
    "clear_cache",
    "cuda_available",
    "cuda_unavailable_reason",
    "expected_sig_score",
    "extract_sig_coef",
    "idx_to_word",
    "is_lyndon",
    "linear_log_sig",
    "linear_log_sig_backprop",
    "linear_sig",
    "log_sig",
    "log_sig_combine",
    "log_sig_combine_backprop",
    "log_sig_join",
    "log_sig_join_backprop",
    "log_sig_length",
    "logsig_to_sig",
    "logsig_to_sig_backprop",
    "lyndon_words",
    "lyndon_words_of_length",
    "prepare_log_sig",
    "set_cache_dir",
    "sig",
    "sig_backprop",
    "sig_coef",
    "sig_coef_backprop",
    "sig_combine",
    "sig_combine_backprop",
    "sig_join",
    "sig_join_backprop",
    "sig_kernel",
    "sig_kernel_backprop",
    "sig_kernel_gram",
    "sig_kernel_gram_backprop",
    "sig_length",
    "sig_mmd",
    "sig_score",
    "sig_to_log_sig",
    "sig_to_log_sig_backprop",
    "signature",
    "transform_path",
    "transform_path_backprop",
    "word_to_idx",
    "words",
    "words_of_length",
]
