r"""BCH products and joins of log-signatures (Lyndon bracket coordinates, method 2 or 3 of
:func:`log_sig`), and the log-signatures of straight segments.
"""

from __future__ import annotations

from typing import Any

from . import _core
from ._logsig_arrays import _batched, _operands
from ._operands import empty, has_values, merge_batch
from ._run import native
from ._specs import logsig as meta
from .exceptions import ShapeError

_BRACKETS_ONLY = (
    "The log-signatures must be in Lyndon bracket coordinates (``log_sig(..., method=2)`` or "
    "``method=3``). Method-1 vectors (Lyndon-word coefficients) have the same length but other "
    "coordinates; pysiglib 4.0 takes them silently and returns wrong numbers (they agree only for "
    "two-letter paths up to degree 4), and tensorsig cannot tell them apart either: convert them "
    "first (``sig_to_log_sig(logsig_to_sig(ls, d, N, method=1), d, N, method=2)``)."
)


def log_sig_combine(
    log_sig1: Any,
    log_sig2: Any,
    dimension: int,
    degree: int,
    *,
    time_aug: bool = False,
    lead_lag: bool = False,
    n_jobs: int = 1,
) -> Any:
    r"""Baker–Campbell–Hausdorff product of log-signatures: the log-signature of a concatenation.

    If x₂ starts where x₁ ends,

        log S(x₁ * x₂) = BCH(L₁, L₂) = log(exp(L₁) ⊗ exp(L₂)),

    truncated at degree N. Computed exactly so in the tensor algebra (two exponentials,
    one Chen product, the logarithm's Lyndon-word coefficients solved into bracket coordinates)
    rather than by the BCH series' nested brackets.

    Parameters
    ----------
    log_sig1, log_sig2 : numpy.ndarray or torch.Tensor
        ``(*batch, log_sig_length)``, one shape, dtype and container. {brackets}
    dimension, degree : int
        Of the paths, before the transforms; both positive.
    time_aug, lead_lag : bool
        Whether the log-signatures were computed with these transforms.
    n_jobs : int
        Threads, as for :func:`sig`.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        BCH(L₁, L₂), same shape, container and dtype.

    Examples
    --------
    >>> import numpy as np, tensorsig
    >>> x = np.random.default_rng(0).normal(size=(4, 21, 3))
    >>> l1, l2 = tensorsig.log_sig(x[:, :11], 4, method=2), tensorsig.log_sig(x[:, 10:], 4, method=2)
    >>> np.allclose(tensorsig.log_sig_combine(l1, l2, 3, 4), tensorsig.log_sig(x, 4, method=2))
    True
    """
    ops = _operands([log_sig1, log_sig2], ["log_sig1", "log_sig2"])
    shape, aug, n_jobs = meta.log_sig_combine_meta(
        (ops[0].shape, ops[1].shape), ("log_sig1", "log_sig2"), dimension, degree, time_aug, lead_lag, n_jobs
    )
    batch_shape = shape[:-1]
    result, out = empty(ops[0], shape)
    if has_values(out):
        native(ops[0], _core.log_sig_combine)(
            _batched(ops[0], batch_shape), _batched(ops[1], batch_shape), merge_batch(out, batch_shape),
            aug, degree, n_jobs,
        )  # fmt: skip
    return result


def log_sig_combine_backprop(
    deriv: Any,
    ls1: Any,
    ls2: Any,
    dimension: int,
    degree: int,
    *,
    time_aug: bool = False,
    lead_lag: bool = False,
    n_jobs: int = 1,
) -> tuple[Any, Any]:
    r"""Gradients through :func:`log_sig_combine`: given
    ∂F / ∂ BCH(L₁, L₂), returns
    (∂F / ∂L₁, ∂F / ∂L₂).

    Parameters
    ----------
    deriv : numpy.ndarray or torch.Tensor
        The gradient with respect to the product, shaped like ``ls1``.
    ls1, ls2 : numpy.ndarray or torch.Tensor
        The log-signatures given to :func:`log_sig_combine`.
    dimension, degree, time_aug, lead_lag, n_jobs
        As for :func:`log_sig_combine`.

    Returns
    -------
    (d_ls1, d_ls2)

    Examples
    --------
    >>> import numpy as np, tensorsig
    >>> rng = np.random.default_rng(0)
    >>> l1, l2 = (tensorsig.log_sig(rng.normal(size=(4, 9, 2)), 3, method=2) for _ in range(2))
    >>> d1, d2 = tensorsig.log_sig_combine_backprop(np.ones((4, 5)), l1, l2, 2, 3)
    >>> d1.shape, d2.shape
    ((4, 5), (4, 5))
    """
    names = ["ls1", "ls2", "deriv"]
    ops = _operands([ls1, ls2, deriv], names)
    shape, aug, n_jobs = meta.log_sig_combine_meta(
        tuple(op.shape for op in ops), tuple(names), dimension, degree, time_aug, lead_lag, n_jobs
    )
    batch_shape = shape[:-1]
    (result1, out1), (result2, out2) = empty(ops[0], shape), empty(ops[0], shape)
    if has_values(out1):
        native(ops[0], _core.log_sig_combine_backprop)(
            _batched(ops[2], batch_shape), _batched(ops[0], batch_shape), _batched(ops[1], batch_shape),
            merge_batch(out1, batch_shape), merge_batch(out2, batch_shape), aug, degree, n_jobs,
        )  # fmt: skip
    return result1, result2


def log_sig_join(log_sig: Any, displacement: Any, dimension: int, degree: int, *, n_jobs: int = 1) -> Any:
    r"""The log-signature of a path extended by a straight segment.

        BCH(L, v) = log(exp(L) ⊗ exp(v)),

    v the segment's displacement, at level 1. exp(L) ⊗ exp(v) is one
    fused multiply-exponentiate step of the signature engine.

    Parameters
    ----------
    log_sig : numpy.ndarray or torch.Tensor
        ``(*batch, log_sig_length(dimension, degree))``. {brackets}
    displacement : numpy.ndarray or torch.Tensor
        ``(*batch, dimension)``, same container and dtype.
    dimension : int
        The dimension the log-signatures live in (after any transforms: there are no flags).
    degree : int
        Truncation level, at least 1.
    n_jobs : int
        Threads, as for :func:`sig`.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        Shaped like ``log_sig``.

    Examples
    --------
    >>> import numpy as np, tensorsig
    >>> x = np.random.default_rng(0).normal(size=(4, 10, 3))
    >>> joined = tensorsig.log_sig_join(tensorsig.log_sig(x[:, :-1], 3, method=2), x[:, -1] - x[:, -2], 3, 3)
    >>> np.allclose(joined, tensorsig.log_sig(x, 3, method=2))
    True
    """
    ops = _operands([log_sig, displacement], ["log_sig", "displacement"])
    shape, n_jobs = meta.log_sig_join_meta(
        (ops[0].shape,), ("log_sig",), ops[1].shape, dimension, degree, n_jobs
    )
    batch_shape = shape[:-1]
    result, out = empty(ops[0], shape)
    if has_values(out):
        native(ops[0], _core.log_sig_join)(
            _batched(ops[0], batch_shape), _batched(ops[1], batch_shape), merge_batch(out, batch_shape),
            dimension, degree, n_jobs,
        )  # fmt: skip
    return result


def log_sig_join_backprop(
    d_out: Any, log_sig: Any, displacement: Any, dimension: int, degree: int, *, n_jobs: int = 1
) -> tuple[Any, Any]:
    r"""Gradients through :func:`log_sig_join`: given
    ∂F / ∂ BCH(L, v), returns
    (∂F / ∂L, ∂F / ∂v).

    Parameters
    ----------
    d_out : numpy.ndarray or torch.Tensor
        Shaped like ``log_sig``.
    log_sig, displacement, dimension, degree, n_jobs
        As for :func:`log_sig_join`.

    Returns
    -------
    (d_log_sig, d_displacement)

    Examples
    --------
    >>> import numpy as np, tensorsig
    >>> ls, v = np.zeros((2, 5)), np.ones((2, 2))
    >>> d_ls, d_v = tensorsig.log_sig_join_backprop(np.ones((2, 5)), ls, v, 2, 3)
    >>> d_v.shape
    (2, 2)
    """
    ops = _operands([d_out, log_sig, displacement], ["d_out", "log_sig", "displacement"])
    shape, n_jobs = meta.log_sig_join_meta(
        (ops[1].shape, ops[0].shape), ("log_sig", "d_out"), ops[2].shape, dimension, degree, n_jobs
    )
    batch_shape = shape[:-1]
    (result1, out1), (result2, out2) = empty(ops[0], shape), empty(ops[0], ops[2].shape)
    if has_values(out1):
        native(ops[0], _core.log_sig_join_backprop)(
            _batched(ops[0], batch_shape), _batched(ops[1], batch_shape), _batched(ops[2], batch_shape),
            merge_batch(out1, batch_shape), merge_batch(out2, batch_shape), dimension, degree, n_jobs,
        )  # fmt: skip
    elif has_values(out2):
        out2[...] = 0
    return result1, result2


for _function in (log_sig_combine, log_sig_join):
    _function.__doc__ = (_function.__doc__ or "").replace("{brackets}", _BRACKETS_ONLY)


def linear_log_sig(
    displacement: Any,
    dimension: int,
    degree: int,
    *,
    method: int = 1,
    scalar_term: bool = False,
    n_jobs: int = 1,
) -> Any:
    r"""The log-signature of a straight segment: log exp(v) = v, at level 1.

    In every method's coordinates the first ``dimension`` values (after method 0's scalar term)
    are v and the rest are 0: the single letters come first, and a straight line has no
    higher terms.

    Parameters
    ----------
    displacement : numpy.ndarray or torch.Tensor
        ``(*batch, dimension)``, float32 or float64.
    dimension : int
        Its length (as pysiglib, 0 is allowed and gives an empty result).
    degree : int
        Truncation level (as pysiglib, 0 is allowed).
    method : int
        ``0``-``3``, as for :func:`log_sig`.
    scalar_term : bool
        Method 0: a leading 0.
    n_jobs : int
        Validated, not used: nothing is computed.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        ``(*batch, width)``, the width of :func:`log_sig`'s result.

    Examples
    --------
    >>> import numpy as np, tensorsig
    >>> tensorsig.linear_log_sig(np.array([1.0, 2.0]), 2, 3, method=2)
    array([1., 2., 0., 0., 0.])
    """
    (op,) = _operands([displacement], ["displacement"])
    shape, offset = meta.linear_log_sig_meta(op.shape, dimension, degree, method, scalar_term, n_jobs)
    result, out = empty(op, shape)
    out[...] = 0
    if shape[-1] > offset:
        out[..., offset : offset + dimension] = op.array
    return result


def linear_log_sig_backprop(
    derivs: Any,
    displacement: Any,
    dimension: int,
    degree: int,
    *,
    method: int = 1,
    scalar_term: bool = False,
    n_jobs: int = 1,
) -> Any:
    r"""Gradient through :func:`linear_log_sig`: the derivatives at the displacement's
    coordinates (0 for ``degree = 0``).

    Parameters
    ----------
    derivs : numpy.ndarray or torch.Tensor
        Shaped like :func:`linear_log_sig`'s result.
    displacement, dimension, degree, method, scalar_term, n_jobs
        As for :func:`linear_log_sig`.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        Shaped like ``displacement``.

    Examples
    --------
    >>> import numpy as np, tensorsig
    >>> tensorsig.linear_log_sig_backprop(np.arange(5.0), np.zeros(2), 2, 3, method=2)
    array([0., 1.])
    """
    ops = _operands([displacement, derivs], ["displacement", "derivs"])
    shape, offset = meta.linear_log_sig_meta(ops[0].shape, dimension, degree, method, scalar_term, n_jobs)
    if ops[1].shape != shape:
        raise ShapeError(
            f"derivs must have the shape of linear_log_sig's result, {shape}, got {ops[1].shape}"
        )
    result, out = empty(ops[0], ops[0].shape)
    out[...] = 0
    if shape[-1] > offset:
        out[...] = ops[1].array[..., offset : offset + dimension]
    return result
