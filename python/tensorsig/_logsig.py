r"""Log-signatures of paths, conversions to and from signatures, and their gradients.

The log-signature of a path is the logarithm of its signature in the truncated tensor algebra,
log S(x) = Σ_(n ≥ 1) (-1)ⁿ⁺¹ (S(x) - 1)^(⊗ n) / n, an element of the free
Lie algebra: it carries the signature's information in far fewer coordinates. ``method`` picks
the coordinates, exactly as pysiglib 4.0 does:

* ``0``: the expanded tensor, in the signature's layout (iisignature's ``'X'``);
* ``1``: its coefficients at the Lyndon words (signatory's ``"words"``);
* ``2``: coordinates in the Lyndon bracket basis, the standard bracketings of the Lyndon words
  (iisignature's ``'S'``, signatory's ``"brackets"``);
* ``3``: the same coordinates as ``2``, from paths only (pysiglib computes them by BCH).

Lyndon coordinates are ordered by length, then lexicographically (:func:`lyndon_words`). Their
number is Witt's formula (:func:`log_sig_length`). Nothing needs preparing: the tables of a
dimension and degree are built on first use, once per process (:func:`prepare_log_sig` exists
for pysiglib code and for the optional disk cache).
"""

from __future__ import annotations

import warnings
from typing import Any

from . import _core
from ._logsig_arrays import _batched, _cpu_only
from ._logsig_convert import sig_to_log_sig
from ._operands import check_same_kind, empty, has_values, merge_batch, operand, path_operand
from ._run import native
from ._signature import sig
from ._specs import logsig as meta
from .exceptions import ArgumentTypeError


def log_sig_length(dimension: int, degree: int, *, time_aug: bool = False, lead_lag: bool = False) -> int:
    r"""Number of coordinates of a log-signature in Lyndon coordinates (methods 1-3).

    Witt's formula: the dimension of the free Lie algebra over d letters truncated at
    degree N,

        Σₖ₌₁ᴺ 1/k Σ_(j | k) μ(k/j)  dʲ,

    μ the Möbius function and d the dimension after the transforms
    (``lead_lag`` doubles it, ``time_aug`` adds one). The expanded form (method 0) has
    :func:`sig_length` coefficients instead.

    Parameters
    ----------
    dimension, degree : int
        Both positive.
    time_aug, lead_lag : bool
        Count the channels the transforms add.

    Returns
    -------
    int

    Raises
    ------
    TypeError
        For non-integer or non-bool arguments.
    ValueError
        For a dimension or degree below 1, or a count too large to represent.

    Examples
    --------
    >>> import tensorsig
    >>> tensorsig.log_sig_length(3, 4)
    32
    >>> tensorsig.log_sig_length(3, 4, time_aug=True, lead_lag=True)
    728
    """
    return meta.log_sig_length_meta(dimension, degree, time_aug, lead_lag)


def _warn_not_finite() -> None:
    warnings.warn(
        "log_sig produced NaN or Inf values. This is typically caused by NaN/Inf in the path or by "
        "paths with large increments overflowing; consider normalising your paths.",
        RuntimeWarning,
        stacklevel=3,
    )


def _correction_given(correction: Any) -> bool:
    """Whether ``correction`` is a non-empty array (None and empty arrays mean none)."""
    if correction is None:
        return False
    shape = getattr(correction, "shape", None)
    if shape is None:
        raise ArgumentTypeError(
            f"correction must be of type numpy.ndarray or torch.Tensor, got {type(correction).__name__}"
        )
    return 0 not in tuple(shape)


def log_sig(
    path: Any,
    degree: int,
    *,
    time_aug: bool = False,
    lead_lag: bool = False,
    end_time: float = 1.0,
    method: int = 1,
    scalar_term: bool = False,
    correction: Any = None,
    n_jobs: int = 1,
) -> Any:
    r"""Truncated log-signature of a path, or of each path in a batch.

        log S(x) = Σₙ₌₁ᴺ ((-1)ⁿ⁺¹)/n (S(x) - 1)^(⊗ n),

    truncated at degree N, in the coordinates of ``method`` (pysiglib's):

    * ``0``: the expanded tensor, every word's coefficient, in :func:`sig`'s layout
      (iisignature ``'X'``);
    * ``1``: the coefficients of log S(x) at the Lyndon words (signatory ``"words"``).
      Not coordinates in a basis of the Lie algebra: they differ from method 2 from
      d = 3, N = 3 on, and functions that need Lie coordinates (:func:`log_sig_combine`,
      :func:`log_sig_join`) cannot take them;
    * ``2``: the coordinates c_w of log S(x) = Σ_w c_w P(w) in the Lyndon
      bracket basis, P(w) = [P(u), P(v)] for the standard factorisation w = uv
      (v the longest proper Lyndon suffix) (iisignature ``'S'``, signatory ``"brackets"``;
      Reutenauer, *Free Lie Algebras*, 1993, §5.1);
    * ``3``: method 2's coordinates, which pysiglib computes by BCH from the path. tensorsig
      computes them as method 2, whose arithmetic is both cheaper and as exact (see below).

    Methods 1-3 have :func:`log_sig_length` coordinates, ordered as :func:`lyndon_words`.

    **How.** The signatures of a chunk of paths are computed by :func:`sig`'s engine, then each
    is turned into its row of the result: the logarithm by Horner's scheme
    x(1 - x(1/2 - x(1/3 - ⋯))) on truncated Chen products (x = S - 1
    has no scalar term, so the inner factors are needed to ever lower degrees), and for methods
    1-3 only its coefficients at Lyndon words, solved into bracket coordinates by a sparse
    unitriangular system. At degree 2 the signature is skipped: the Lévy areas
    1/2 Σₜ (x_(t,i) + x_(t+1,i) - 2x_(0,i)) Δx_(t,j) - 1/2 Sᵢ Sⱼ
    are a matrix product of the steps' midpoints and increments, half the work of the
    signature's second level. Memory is bounded by the chunk, not the batch: method 3's promise of
    never forming a batch of signatures holds for every method. pysiglib's BCH for method 3
    folds each increment in with a step that costs more than the signature's fused
    multiply-exponentiate, and is about three times slower than its own method 2.

    Parameters
    ----------
    path : numpy.ndarray or torch.Tensor
        float32 or float64, ``(length, dimension)`` or ``(*batch, length, dimension)``; any memory
        layout; never modified. CPU only for now (a CUDA tensor raises RuntimeError).
    degree : int
        Truncation level N ≥ 1.
    time_aug, lead_lag, end_time
        The path transforms, as for :func:`sig`.
    method : int
        ``0``, ``1``, ``2`` or ``3``, as above. Default ``1``, as pysiglib.
    scalar_term : bool
        Method 0 only: a leading 0 (the logarithm's scalar term). Ignored by methods 1-3.
    correction : numpy.ndarray or torch.Tensor or None
        A per-segment correction of levels 2 and above, added before each segment's exponential,
        as for :func:`sig` (whose ``correction`` it is passed to; it needs a :func:`sig` that
        accepts it, else TypeError). None or an empty array mean none. A non-Lie correction (the
        Itô term) needs ``method=0``; it is refused with ``method=3`` and ``lead_lag``.
    n_jobs : int
        Threads, as for :func:`sig`.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        Same container and dtype as ``path``, ``(*batch, width)`` with
        ``width = sig_length(dimension, degree, time_aug=..., lead_lag=..., scalar_term=...)`` for
        method 0 and ``log_sig_length(dimension, degree, time_aug=..., lead_lag=...)`` otherwise.
        A single-point path has the zero log-signature.

    Raises
    ------
    TypeError
        For arguments of the wrong type.
    ValueError
        For ``degree = 0``, a method outside 0-3, a path without channels, a correction with
        method 3 or lead-lag.

    Warns
    -----
    RuntimeWarning
        When the result contains NaN or Inf.

    Examples
    --------
    >>> import numpy as np, tensorsig
    >>> path = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    >>> tensorsig.log_sig(path, 2, method=2)   # increment (1, 1), then the Lévy area 1/2
    array([1. , 1. , 0.5])
    >>> paths = np.random.default_rng(0).normal(size=(32, 100, 3))
    >>> tensorsig.log_sig(paths, 4, time_aug=True, method=2).shape
    (32, 90)
    """
    corrected = _correction_given(correction)
    op, batch_shape, _length, _dimension = path_operand(path)
    out_shape, n_jobs = meta.log_sig_meta(
        op.shape, degree, time_aug, lead_lag, end_time, method, scalar_term, n_jobs, corrected
    )
    if corrected:
        signature = sig(
            path, degree, time_aug=time_aug, lead_lag=lead_lag, end_time=end_time,
            scalar_term=scalar_term, correction=correction, n_jobs=n_jobs,
        )  # fmt: skip
        return sig_to_log_sig(
            signature,
            op.shape[-1],
            degree,
            time_aug=time_aug,
            lead_lag=lead_lag,
            method=method,
            n_jobs=n_jobs,
        )
    _cpu_only(op)
    result, out = empty(op, out_shape)
    if has_values(out):
        finite = native(op, _core.log_sig)(
            merge_batch(op.array, batch_shape),
            merge_batch(out, batch_shape),
            degree,
            time_aug,
            lead_lag,
            end_time,
            method,
            scalar_term,
            n_jobs,
        )
        if not finite:
            _warn_not_finite()
    return result


def _log_sig_backprop(
    path: Any,
    log_sig_derivs: Any,
    degree: int,
    *,
    time_aug: bool = False,
    lead_lag: bool = False,
    end_time: float = 1.0,
    method: int = 1,
    scalar_term: bool = False,
    n_jobs: int = 1,
) -> Any:
    r"""Gradient of :func:`log_sig` (any method) with respect to the path: given
    ∂F / ∂ log S(x) in ``log_sig``'s output shape, returns
    ∂F / ∂x shaped like ``path``.

    The signatures of a chunk of paths are recomputed, their gradients taken through the
    conversion (the transposed triangular solve, then the adjoint of the logarithm's Horner
    scheme), and walked back along the paths as :func:`sig_backprop` does. pysiglib has no
    public equivalent (it chains ``sig_backprop`` and ``sig_to_log_sig_backprop``).
    """
    op, batch_shape, _length, _dimension = path_operand(path)
    derivs_op = operand(log_sig_derivs, "log_sig_derivs")
    check_same_kind((op, derivs_op))
    _cpu_only(op)
    out_shape, n_jobs = meta.log_sig_backprop_meta(
        op.shape, derivs_op.shape, degree, time_aug, lead_lag, end_time, method, scalar_term, n_jobs
    )
    result, out = empty(op, out_shape)
    if has_values(out):
        native(op, _core.log_sig_backprop)(
            merge_batch(op.array, batch_shape),
            _batched(derivs_op, batch_shape),
            merge_batch(out, batch_shape),
            degree,
            time_aug,
            lead_lag,
            end_time,
            method,
            scalar_term,
            n_jobs,
        )
    elif has_values(result):
        out[...] = 0
    return result


def _log_sig_from_path_backprop(grad_output: Any, path: Any, degree: int, *, n_jobs: int = 1) -> Any:
    """Gradient of ``log_sig(path, degree, method=3)`` with respect to ``path`` (pysiglib's
    private ``log_sig_backprop._log_sig_from_path_backprop``, same arguments: the path already
    transformed)."""
    return _log_sig_backprop(path, grad_output, degree, method=3, n_jobs=n_jobs)
