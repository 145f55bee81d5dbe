"""Signatures to log-signatures and back (the logarithm and the exponential), with gradients."""

from __future__ import annotations

from typing import Any

from . import _core
from ._checks import augmented_dimension
from ._logsig_arrays import _batched, _operands
from ._operands import empty, has_values, merge_batch
from ._run import native
from ._specs import logsig as meta


def sig_to_log_sig(
    sig: Any,
    dimension: int,
    degree: int,
    *,
    time_aug: bool = False,
    lead_lag: bool = False,
    method: int = 1,
    n_jobs: int = 1,
) -> Any:
    r"""Log-signatures of signatures: log S in the coordinates of ``method``.

    ``method`` is 0, 1 or 2 as in :func:`log_sig` (3 exists only from paths: ValueError).

    Parameters
    ----------
    sig : numpy.ndarray or torch.Tensor
        Signatures ``(*batch, sig_length)`` as :func:`sig` returns them, with or without the
        scalar term (inferred from the length). Taken to be group-like (scalar term 1).
    dimension : int
        Dimension of the paths, before the transforms.
    degree : int
        Truncation level of the signatures, at least 1.
    time_aug, lead_lag : bool
        Whether the signatures were computed with these transforms.
    method : int
        ``0``, ``1`` or ``2``.
    n_jobs : int
        Threads, as for :func:`sig`.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        ``(*batch, log_sig_length)`` for methods 1 and 2; for method 0 ``sig``'s shape and
        format, with 0 for the scalar term.

    Raises
    ------
    ValueError
        For a length that is no signature's of this dimension and degree, ``degree = 0``, or
        ``method`` outside 0-2.

    Examples
    --------
    >>> import numpy as np, tensorsig
    >>> paths = np.random.default_rng(0).normal(size=(8, 50, 3))
    >>> s = tensorsig.sig(paths, 4)
    >>> np.allclose(tensorsig.sig_to_log_sig(s, 3, 4, method=2), tensorsig.log_sig(paths, 4, method=2))
    True
    """
    (op,) = _operands([sig], ["sig"])
    out_shape, scalar_term, n_jobs = meta.sig_to_log_sig_meta(
        op.shape, dimension, degree, time_aug, lead_lag, method, n_jobs
    )
    batch_shape = op.shape[:-1]
    result, out = empty(op, out_shape)
    if has_values(out):
        native(op, _core.sig_to_log_sig)(
            _batched(op, batch_shape),
            merge_batch(out, batch_shape),
            augmented_dimension(dimension, time_aug, lead_lag),
            degree,
            scalar_term,
            method,
            n_jobs,
        )
    return result


def sig_to_log_sig_backprop(
    sig: Any,
    log_sig_derivs: Any,
    dimension: int,
    degree: int,
    *,
    time_aug: bool = False,
    lead_lag: bool = False,
    method: int = 1,
    n_jobs: int = 1,
) -> Any:
    r"""Gradient through :func:`sig_to_log_sig`: given
    ∂F / ∂ log S, returns ∂F / ∂S.

    For methods 1 and 2 the gradient goes back through the transposed triangular solve (method
    2) and the Lyndon-word coefficients of the logarithm; for method 0 through the whole
    logarithm. Each is the exact adjoint of the forward's Horner scheme.

    Parameters
    ----------
    sig : numpy.ndarray or torch.Tensor
        The signatures given to :func:`sig_to_log_sig`.
    log_sig_derivs : numpy.ndarray or torch.Tensor
        ∂F / ∂ log S, shaped like :func:`sig_to_log_sig`'s result.
    dimension, degree, time_aug, lead_lag, method, n_jobs
        As for :func:`sig_to_log_sig` (method 3 raises ValueError, where pysiglib 4.0 fails in
        its native code).

    Returns
    -------
    numpy.ndarray or torch.Tensor
        ∂F / ∂S, shaped like ``sig`` (0 at a scalar term).

    Examples
    --------
    >>> import numpy as np, tensorsig
    >>> s = tensorsig.sig(np.random.default_rng(0).normal(size=(4, 20, 2)), 3)
    >>> g = tensorsig.sig_to_log_sig_backprop(s, np.ones((4, 5)), 2, 3, method=2)
    >>> g.shape
    (4, 14)
    """
    ops = _operands([sig, log_sig_derivs], ["sig", "log_sig_derivs"])
    out_shape, scalar_term, n_jobs = meta.sig_to_log_sig_backprop_meta(
        ops[0].shape, ops[1].shape, dimension, degree, time_aug, lead_lag, method, n_jobs
    )
    batch_shape = out_shape[:-1]
    result, out = empty(ops[0], out_shape)
    if has_values(out):
        native(ops[0], _core.sig_to_log_sig_backprop)(
            _batched(ops[0], batch_shape),
            _batched(ops[1], batch_shape),
            merge_batch(out, batch_shape),
            augmented_dimension(dimension, time_aug, lead_lag),
            degree,
            scalar_term,
            method,
            n_jobs,
        )
    return result


def logsig_to_sig(
    log_sig: Any,
    dimension: int,
    degree: int,
    *,
    time_aug: bool = False,
    lead_lag: bool = False,
    method: int = 1,
    scalar_term: bool = False,
    n_jobs: int = 1,
) -> Any:
    r"""Signatures of log-signatures: the truncated exponential, the exact inverse of
    :func:`sig_to_log_sig`.

        S = exp(L) = Σₙ₌₀ᴺ (L^(⊗ n))/(n!),

    evaluated by Horner's scheme 1 + L(1 + L/2(1 + L/3(⋯))) on
    truncated Chen products. For method 2, L = Σ_w c_w P(w) is expanded from the
    bracket coordinates first; for method 1, the coordinates are first solved from the
    Lyndon-word coefficients (a Lie element is determined by them).

    Parameters
    ----------
    log_sig : numpy.ndarray or torch.Tensor
        Methods 1 and 2: ``(*batch, log_sig_length)``. Method 0: signature-shaped, with or
        without the scalar term (inferred from the length; its value is ignored).
    dimension : int
        Dimension of the paths, before the transforms.
    degree : int
        Truncation level, at least 1.
    time_aug, lead_lag : bool
        Whether the log-signatures were computed with these transforms.
    method : int
        ``0``, ``1`` or ``2``, as for :func:`log_sig` (3: ValueError).
    scalar_term : bool
        Methods 1 and 2: whether the result has the leading 1. Method 0 keeps its input's format.
    n_jobs : int
        Threads, as for :func:`sig`.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        ``(*batch, sig_length)``. Matches iisignature's ``logsigtosig`` for method 2.

    Raises
    ------
    ValueError
        For a wrong length (pysiglib 4.0 silently drops a leading value of a log-signature one
        too long; tensorsig refuses it), ``degree = 0`` or ``method`` outside 0-2.

    Examples
    --------
    >>> import numpy as np, tensorsig
    >>> paths = np.random.default_rng(0).normal(size=(8, 50, 3))
    >>> ls = tensorsig.log_sig(paths, 4, method=2)
    >>> np.allclose(tensorsig.logsig_to_sig(ls, 3, 4, method=2), tensorsig.sig(paths, 4))
    True
    """
    (op,) = _operands([log_sig], ["log_sig"])
    out_shape, scalar_term, n_jobs = meta.logsig_to_sig_meta(
        op.shape, dimension, degree, time_aug, lead_lag, method, scalar_term, n_jobs
    )
    batch_shape = out_shape[:-1]
    result, out = empty(op, out_shape)
    if has_values(out):
        native(op, _core.logsig_to_sig)(
            _batched(op, batch_shape),
            merge_batch(out, batch_shape),
            augmented_dimension(dimension, time_aug, lead_lag),
            degree,
            method,
            scalar_term,
            n_jobs,
        )
    return result


def logsig_to_sig_backprop(
    log_sig: Any,
    sig_derivs: Any,
    dimension: int,
    degree: int,
    *,
    time_aug: bool = False,
    lead_lag: bool = False,
    method: int = 1,
    scalar_term: bool = False,
    n_jobs: int = 1,
) -> Any:
    r"""Gradient through :func:`logsig_to_sig`: given ∂F / ∂S, returns
    ∂F / ∂L, shaped like ``log_sig`` (0 at a method-0 scalar term).

    The adjoint of the exponential's Horner scheme, then of the bracket expansion (and for
    method 1 of the triangular solve).

    Parameters
    ----------
    log_sig : numpy.ndarray or torch.Tensor
        The log-signatures given to :func:`logsig_to_sig`.
    sig_derivs : numpy.ndarray or torch.Tensor
        ∂F / ∂S, shaped like :func:`logsig_to_sig`'s result.
    dimension, degree, time_aug, lead_lag, method, scalar_term, n_jobs
        As for :func:`logsig_to_sig`.

    Returns
    -------
    numpy.ndarray or torch.Tensor

    Examples
    --------
    >>> import numpy as np, tensorsig
    >>> ls = tensorsig.log_sig(np.random.default_rng(0).normal(size=(4, 20, 2)), 3, method=2)
    >>> tensorsig.logsig_to_sig_backprop(ls, np.ones((4, 14)), 2, 3, method=2).shape
    (4, 5)
    """
    ops = _operands([log_sig, sig_derivs], ["log_sig", "sig_derivs"])
    out_shape, scalar_term, n_jobs = meta.logsig_to_sig_backprop_meta(
        ops[0].shape, ops[1].shape, dimension, degree, time_aug, lead_lag, method, scalar_term, n_jobs
    )
    batch_shape = out_shape[:-1]
    result, out = empty(ops[0], out_shape)
    if has_values(out):
        native(ops[0], _core.logsig_to_sig_backprop)(
            _batched(ops[0], batch_shape),
            _batched(ops[1], batch_shape),
            merge_batch(out, batch_shape),
            augmented_dimension(dimension, time_aug, lead_lag),
            degree,
            method,
            scalar_term,
            n_jobs,
        )
    return result
