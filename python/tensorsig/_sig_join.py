"""Signatures extended by a straight segment (joins), signatures of straight segments, and the
joins' gradients."""

from __future__ import annotations

from typing import cast

from ._run import run
from ._specs.extras import LINEAR_SIG, SIG_JOIN, SIG_JOIN_BACKPROP
from ._typing import Array


def sig_join(
    sig: Array,
    displacement: Array,
    dimension: int,
    degree: int,
    *,
    prepend: bool = False,
    n_jobs: int = 1,
) -> Array:
    r"""Extends signatures by a straight segment: S(x) ⊗ exp(v), or with
    ``prepend`` exp(v) ⊗ S(x).

    The signature of the straight segment from 0 to v is
    exp(v) = (1, v, v^(⊗ 2)/2!, …, v^(⊗ N)/N!), so by Chen's identity the
    result is the signature of the path x with the point xₗₐₛₜ + v
    appended (or x₀ - v put in front). It is computed as one fused multiply-exponentiate
    (Horner's scheme, about dᴺ multiply-adds per signature, as one step of :func:`sig`),
    never as a Chen product with a materialised exp(v), and without copying ``sig``
    first when appending. The result goes to a new array; ``sig`` is never modified.

    Parameters
    ----------
    sig : numpy.ndarray or torch.Tensor
        Signatures, ``(*batch, sig_length)``, float32 or float64, with or without the scalar
        term (inferred from ``sig_length``; the output keeps the format, and a scalar entry is
        read as 1, as for every signature).
    displacement : numpy.ndarray or torch.Tensor
        The segments v, ``(*batch, dimension)``: the same batch shape, container and
        dtype as ``sig``. Unlike pysiglib 4.0, which silently drops the first of
        ``dimension + 1`` values, a displacement of any other width is a ValueError.
    dimension : int
        d, the signatures' dimension (there are no transform flags: pass the dimension
        after any time augmentation or lead-lag).
    degree : int
        Their truncation level N.
    prepend : bool
        Put the segment in front of the path instead of after it.
    n_jobs : int
        Threads, as in :func:`sig`.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        The extended signatures, same shape, format, container and dtype as ``sig``.

    Raises
    ------
    TypeError
        For arrays that are not float32/float64 numpy arrays or torch tensors, or arguments of
        the wrong type (``prepend`` must be a bool).
    ValueError
        For a ``sig`` length that fits neither format, a displacement whose last axis is not
        ``dimension``, different batch shapes, containers or dtypes, ``dimension = 0``.

    Examples
    --------
    >>> import numpy as np, tensorsig
    >>> path = np.random.default_rng(0).normal(size=(10, 3))
    >>> v = np.array([0.5, -1.0, 2.0])
    >>> joined = tensorsig.sig_join(tensorsig.sig(path, 4), v, 3, 4)
    >>> np.allclose(joined, tensorsig.sig(np.vstack([path, path[-1] + v]), 4))
    True
    >>> front = tensorsig.sig_join(tensorsig.sig(path, 4), v, 3, 4, prepend=True)
    >>> np.allclose(front, tensorsig.sig(np.vstack([path[0] - v, path]), 4))
    True
    """
    return cast(Array, run(SIG_JOIN, (sig, displacement), (dimension, degree, prepend, n_jobs)))


def sig_join_backprop(
    d_out: Array,
    sig: Array,
    displacement: Array,
    dimension: int,
    degree: int,
    *,
    prepend: bool = False,
    n_jobs: int = 1,
) -> tuple[Array, Array]:
    r"""Gradients through :func:`sig_join`.

    Given G = ∂F / ∂ (S ⊗ exp(v)) (or of
    exp(v) ⊗ S with ``prepend``), returns ∂F / ∂S and
    ∂F / ∂v. One backward pass of the fused multiply-exponentiate per
    signature, which reads S as given: the join is not recomputed and nothing is
    recovered by walking back, so it costs about twice the join.

    Parameters
    ----------
    d_out : numpy.ndarray or torch.Tensor
        G, shaped like ``sig``.
    sig, displacement, dimension, degree, prepend, n_jobs
        As given to :func:`sig_join`.

    Returns
    -------
    (d_sig, d_displacement)
        Shaped like ``sig`` and ``displacement``, same container and dtype. A scalar entry of
        ``sig``, which the join does not read, gets gradient 0.

    Raises
    ------
    TypeError, ValueError
        As :func:`sig_join`, and ValueError when ``d_out`` is not shaped like ``sig``.

    Examples
    --------
    >>> import numpy as np, tensorsig
    >>> rng = np.random.default_rng(0)
    >>> s = tensorsig.sig(rng.normal(size=(4, 20, 3)), 3)
    >>> v = rng.normal(size=(4, 3))
    >>> joined = tensorsig.sig_join(s, v, 3, 3)
    >>> d_sig, d_v = tensorsig.sig_join_backprop(np.ones_like(joined), s, v, 3, 3)
    >>> d_sig.shape, d_v.shape
    ((4, 39), (4, 3))
    """
    d_sig, d_displacement = run(
        SIG_JOIN_BACKPROP, (d_out, sig, displacement), (dimension, degree, prepend, n_jobs)
    )
    return d_sig, d_displacement


def linear_sig(
    displacement: Array,
    dimension: int,
    degree: int,
    *,
    scalar_term: bool = False,
    n_jobs: int = 1,
) -> Array:
    r"""Signatures of straight segments: exp(v) = (1, v, v^(⊗ 2)/2!, …,
    v^(⊗ N)/N!), the signature of the path from 0 to v.

    Level k is computed as the outer product (v/k) ⊗ level k-1:
    d + d² + ⋯ + dᴺ multiplications in all.

    Parameters
    ----------
    displacement : numpy.ndarray or torch.Tensor
        v, ``(*batch, dimension)``, float32 or float64. Unlike pysiglib 4.0, which
        silently drops the first of ``dimension + 1`` values, any other width is a ValueError.
    dimension : int
        d.
    degree : int
        Truncation level N.
    scalar_term : bool
        Include the level-0 term (the constant 1) at index 0.
    n_jobs : int
        Threads, as in :func:`sig`.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        ``(*batch, sig_length(dimension, degree, scalar_term=scalar_term))``, same container and
        dtype as ``displacement``.

    Raises
    ------
    TypeError, ValueError
        For a displacement that is not a float32/float64 array or tensor of rank >= 1 with
        ``dimension`` values in its last axis, or bad ``dimension``/``degree``/flags.

    Examples
    --------
    >>> import numpy as np, tensorsig
    >>> tensorsig.linear_sig(np.array([1.0, 2.0]), 2, 2)
    array([1. , 2. , 0.5, 1. , 1. , 2. ])
    >>> v = np.random.default_rng(0).normal(size=(5, 3))
    >>> np.allclose(tensorsig.linear_sig(v, 3, 4), tensorsig.sig(np.stack([0 * v, v], axis=1), 4))
    True
    """
    return cast(Array, run(LINEAR_SIG, (displacement,), (dimension, degree, scalar_term, n_jobs)))
