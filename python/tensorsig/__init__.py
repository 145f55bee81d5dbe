"""tensorsig: truncated path signatures, Chen products and their gradients.

A drop-in for pysiglib 4.0's API -- same names, arguments, defaults and outputs -- on a Rust core.
Functions take numpy arrays or torch tensors (float32 or float64, any batch shape; CPU or CUDA)
and return the same kind on the same device; every computation releases the GIL.

>>> import numpy as np, tensorsig
>>> path = np.random.default_rng(0).normal(size=(32, 100, 5))
>>> tensorsig.sig(path, 3).shape
(32, 155)
"""

from . import _core
from ._combine import sig_combine, sig_combine_backprop
from ._cuda import cuda_available, cuda_unavailable_reason
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

__version__: str = _core.__version__

#: Alias of :func:`sig`, as in pysiglib.
signature = sig


def __getattr__(name: str):
    # `tensorsig.torch_api` imports torch: only on first use, as pysiglib users reach for it.
    if name == "torch_api":
        import importlib

        return importlib.import_module(".torch_api", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Context",
    "LinearKernel",
    "Matern12Kernel",
    "Matern32Kernel",
    "Matern52Kernel",
    "PolynomialKernel",
    "RBFKernel",
    "RationalQuadraticKernel",
    "ScaledLinearKernel",
    "StaticKernel",
    "__version__",
    "cuda_available",
    "cuda_unavailable_reason",
    "expected_sig_score",
    "idx_to_word",
    "is_lyndon",
    "lyndon_words",
    "lyndon_words_of_length",
    "sig",
    "sig_backprop",
    "sig_combine",
    "sig_combine_backprop",
    "sig_kernel",
    "sig_kernel_backprop",
    "sig_kernel_gram",
    "sig_kernel_gram_backprop",
    "sig_length",
    "sig_mmd",
    "sig_score",
    "signature",
    "transform_path",
    "transform_path_backprop",
    "word_to_idx",
    "words",
    "words_of_length",
]
