"""Chen products of signatures and their gradients."""

from __future__ import annotations

from typing import Any

from ._arrays import Operand, check_same_kind, contiguous, empty, has_values, native, operand
from ._checks import augmented_dimension, check_bool, check_n_jobs, check_non_negative_int, infer_scalar_term
from ._signature import _as_batch


def _signature_operands(
    values: list[Any], names: list[str], dimension: int, degree: int, time_aug: bool, lead_lag: bool
) -> tuple[list[Operand], int, bool]:
    """Validates arrays of signatures that must share shape, dtype and container; returns them,
    the augmented dimension and whether they carry the scalar term."""
    check_non_negative_int(dimension, "dimension")
    check_non_negative_int(degree, "degree")
    check_bool(time_aug, "time_aug")
    check_bool(lead_lag, "lead_lag")
    ops = [operand(v, n) for v, n in zip(values, names)]
    for op in ops:
        if op.array.ndim < 1:
            raise ValueError(f"{op.name} must have at least rank 1, got rank 0")
    if dimension == 0:
        raise ValueError("dimension must be at least 1, got dimension = 0")
    aug = augmented_dimension(dimension, time_aug, lead_lag)
    scalar_term = infer_scalar_term(ops[0].shape[-1], ops[0].name, dimension, degree, time_aug, lead_lag)
    check_same_kind(*ops)
    for op in ops[1:]:
        if op.shape[-1] != ops[0].shape[-1]:
            raise ValueError(
                f"{op.name} is of incorrect length. Expected {ops[0].shape[-1]}, got {op.shape[-1]}"
            )
        if op.shape[:-1] != ops[0].shape[:-1]:
            all_names = ", ".join(names)
            raise ValueError(
                f"{all_names} have different batch shapes: {ops[0].shape[:-1]} and {op.shape[:-1]}"
            )
    return ops, aug, scalar_term


def sig_combine(
    sig1: Any,
    sig2: Any,
    dimension: int,
    degree: int,
    *,
    time_aug: bool = False,
    lead_lag: bool = False,
    n_jobs: int = 1,
) -> Any:
    r"""Chen product of two truncated signatures: the signature of the concatenated path.

    If :math:`x_2` starts where :math:`x_1` ends, Chen's identity gives

    .. math::

        S(x_1 * x_2) = S(x_1) \otimes S(x_2), \qquad
        \left(A \otimes B\right)^{(k)} = \sum_{i=0}^{k} A^{(i)} \otimes B^{(k-i)},

    with :math:`A^{(0)} = B^{(0)} = 1`.

    Parameters
    ----------
    sig1, sig2 : numpy.ndarray or torch.Tensor
        Signatures of one shape ``(*batch, sig_length)``, dtype and container. Whether they carry
        the scalar term is inferred from ``sig_length``; their scalar entries are taken to be 1,
        as for every signature.
    dimension : int
        Dimension of the underlying paths, before the transforms.
    degree : int
        Truncation level of both signatures.
    time_aug, lead_lag : bool
        Whether the signatures were computed with these transforms (they widen the dimension).
    n_jobs : int
        Threads, as in :func:`sig`.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        :math:`S(x_1) \otimes S(x_2)`, same shape, format, container and dtype as ``sig1``.

    Examples
    --------
    >>> import numpy as np, tensorsig
    >>> rng = np.random.default_rng(0)
    >>> x1, x2 = rng.normal(size=(8, 20, 3)), rng.normal(size=(8, 20, 3))
    >>> x2 = np.concatenate([x1[:, -1:], x2], axis=1)   # x2 starts where x1 ends
    >>> joined = tensorsig.sig_combine(tensorsig.sig(x1, 3), tensorsig.sig(x2, 3), 3, 3)
    >>> np.allclose(joined, tensorsig.sig(np.concatenate([x1, x2[:, 1:]], axis=1), 3))
    True
    """
    n_jobs = check_n_jobs(n_jobs)
    (op1, op2), aug, scalar_term = _signature_operands(
        [sig1, sig2], ["sig1", "sig2"], dimension, degree, time_aug, lead_lag
    )
    batch_shape = op1.shape[:-1]
    result, out = empty(op1, op1.shape)
    if has_values(out):
        native(op1, "sig_combine")(
            contiguous(_as_batch(op1.array, batch_shape)),
            contiguous(_as_batch(op2.array, batch_shape)),
            _as_batch(out, batch_shape),
            aug,
            degree,
            scalar_term,
            n_jobs,
        )
    return result


def sig_combine_backprop(
    deriv: Any,
    sig1: Any,
    sig2: Any,
    dimension: int,
    degree: int,
    *,
    time_aug: bool = False,
    lead_lag: bool = False,
    n_jobs: int = 1,
) -> tuple[Any, Any]:
    r"""Gradients through :func:`sig_combine`.

    Given :math:`G = \partial F / \partial (A \otimes B)`, returns

    .. math::

        \frac{\partial F}{\partial A^{(l)}_u} = G^{(l)}_u + \sum_{r \ge 1} \sum_v G^{(l+r)}_{uv} B^{(r)}_v,
        \qquad
        \frac{\partial F}{\partial B^{(r)}_v} = G^{(r)}_v + \sum_{l \ge 1} \sum_u A^{(l)}_u G^{(l+r)}_{uv},

    where :math:`uv` is the concatenation of the words :math:`u` and :math:`v`. The scalar entries,
    which :func:`sig_combine` does not read, get gradient 0.

    Parameters
    ----------
    deriv : numpy.ndarray or torch.Tensor
        :math:`\partial F / \partial (S_1 \otimes S_2)`, same shape as ``sig1``.
    sig1, sig2 : numpy.ndarray or torch.Tensor
        The signatures given to :func:`sig_combine`.
    dimension, degree, time_aug, lead_lag, n_jobs
        As for :func:`sig_combine`.

    Returns
    -------
    (dsig1, dsig2)
        Gradients with respect to ``sig1`` and ``sig2``, in their shape, format and container.

    Examples
    --------
    >>> import numpy as np, tensorsig
    >>> rng = np.random.default_rng(0)
    >>> s1 = tensorsig.sig(rng.normal(size=(10, 100, 5)), 3, time_aug=True)
    >>> s2 = tensorsig.sig(rng.normal(size=(10, 100, 5)), 3, time_aug=True)
    >>> combined = tensorsig.sig_combine(s1, s2, 5, 3, time_aug=True)
    >>> d1, d2 = tensorsig.sig_combine_backprop(np.ones_like(combined), s1, s2, 5, 3, time_aug=True)
    >>> d1.shape == s1.shape and d2.shape == s2.shape
    True
    """
    n_jobs = check_n_jobs(n_jobs)
    (op1, op2, deriv_op), aug, scalar_term = _signature_operands(
        [sig1, sig2, deriv], ["sig1", "sig2", "sig_combined_deriv"], dimension, degree, time_aug, lead_lag
    )
    batch_shape = op1.shape[:-1]
    result1, out1 = empty(op1, op1.shape)
    result2, out2 = empty(op1, op1.shape)
    if has_values(out1):
        native(op1, "sig_combine_backprop")(
            contiguous(_as_batch(deriv_op.array, batch_shape)),
            contiguous(_as_batch(op1.array, batch_shape)),
            contiguous(_as_batch(op2.array, batch_shape)),
            _as_batch(out1, batch_shape),
            _as_batch(out2, batch_shape),
            aug,
            degree,
            scalar_term,
            n_jobs,
        )
    return result1, result2
