"""Signatures of paths and their gradients."""

from __future__ import annotations

from typing import cast

from ._checks import augmented_dimension, check_bool, check_non_negative_int, signature_length
from ._run import run
from ._specs.signature import SIG, SIG_BACKPROP, SIG_BACKPROP_JVP
from ._typing import Array


def sig_length(
    dimension: int,
    degree: int,
    *,
    time_aug: bool = False,
    lead_lag: bool = False,
    scalar_term: bool = False,
) -> int:
    r"""Number of coefficients of a truncated signature.

    .. math::

        \sum_{k=0}^{N} d^k = \frac{d^{N+1} - 1}{d - 1},

    less one without the scalar term, where :math:`d` is the path's dimension after the transforms
    (``lead_lag`` doubles it, ``time_aug`` adds one) and :math:`N` the degree.

    Parameters
    ----------
    dimension : int
        Number of channels of the path, :math:`d`.
    degree : int
        Truncation level, :math:`N`.
    time_aug, lead_lag : bool
        Count the channels the transforms add, as :func:`sig` does.
    scalar_term : bool
        Count the leading constant 1.

    Returns
    -------
    int

    Raises
    ------
    ValueError
        When the length cannot be represented (e.g. ``sig_length(30, 13)``).

    Examples
    --------
    >>> import tensorsig
    >>> tensorsig.sig_length(3, 4, scalar_term=True)
    121
    >>> tensorsig.sig_length(3, 4, time_aug=True, lead_lag=True, scalar_term=True)
    2801
    """
    check_non_negative_int(dimension, "dimension")
    check_non_negative_int(degree, "degree")
    check_bool(time_aug, "time_aug")
    check_bool(lead_lag, "lead_lag")
    check_bool(scalar_term, "scalar_term")
    return signature_length(augmented_dimension(dimension, time_aug, lead_lag), degree, scalar_term)


def sig(
    path: Array,
    degree: int,
    *,
    time_aug: bool = False,
    lead_lag: bool = False,
    end_time: float = 1.0,
    horner: bool = True,
    scalar_term: bool = False,
    n_jobs: int = 1,
) -> Array:
    r"""Truncated signature of a path, or of each path in a batch.

    For a path :math:`x: [0, T] \to \mathbb{R}^d` the signature truncated at degree :math:`N` is

    .. math::

        S(x) = \left(1, S(x)^{(1)}, \ldots, S(x)^{(N)}\right), \qquad
        S(x)^{(k)} = \int_{0 < t_1 < \cdots < t_k < T} dx_{t_1} \otimes \cdots \otimes dx_{t_k}
        \in (\mathbb{R}^d)^{\otimes k}.

    The path is taken piecewise linear between its points, so its signature is the Chen product
    :math:`\exp(z_1) \otimes \cdots \otimes \exp(z_{L-1})` of the exponentials of its increments;
    each is folded in with a fused multiply-exponentiate (Horner's scheme), about :math:`d^N`
    multiply-adds per increment.

    Parameters
    ----------
    path : numpy.ndarray or torch.Tensor
        float32 or float64, shape ``(length, dimension)`` for one path or
        ``(*batch, length, dimension)`` for a batch. Any memory layout; never modified. A CUDA
        tensor is computed on its GPU, on torch's current stream, and the result stays there.
    degree : int
        Truncation level :math:`N \ge 0`.
    time_aug : bool
        Append time as the last channel, :math:`\hat x_{t_i} = (x_{t_i}, t_i)`, with the
        :math:`t_i` evenly spaced from 0 to ``end_time``.
    lead_lag : bool
        Take the signature of the lead-lag transformed path (see :func:`transform_path`); with
        ``time_aug`` too, time is appended after the lead-lag transform.
    end_time : float
        The time of the last point when ``time_aug`` is set.
    horner : bool
        Accepted for pysiglib compatibility. tensorsig always uses the fused Horner step, which
        is both faster and at least as accurate as the direct product, so the flag does not
        change the result.
    scalar_term : bool
        Include the level-0 term (the constant 1) at index 0.
    n_jobs : int
        Threads: 1 runs serially, -1 uses all, and :math:`n < -1` all but :math:`|n| - 1`.
        A batch is split across threads; a few long paths are instead cut in time, the pieces
        signed in parallel and joined by Chen products. The GIL is released throughout, so other
        Python threads run meanwhile. Unused for CUDA tensors, which use the whole GPU.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        Same container and dtype as ``path``, shape ``(*batch, sig_length)`` where
        ``sig_length = sig_length(dimension, degree, time_aug=..., lead_lag=..., scalar_term=...)``.
        The word :math:`(i_1, \ldots, i_k)` of level :math:`k` sits at offset
        :math:`d + \cdots + d^{k-1} + i_1 d^{k-1} + \cdots + i_k` (plus one with the scalar term).
        A path of a single point has the zero signature.

    Warns
    -----
    RuntimeWarning
        When the result contains NaN or Inf (checked in the native code, without a temporary
        array the size of the result). Not checked for CUDA tensors: it would wait for the GPU.

    Examples
    --------
    >>> import numpy as np, tensorsig
    >>> line = np.array([[0.0, 0.0], [1.0, 2.0]])   # a straight line: S = exp(increment)
    >>> tensorsig.sig(line, 2)
    array([1. , 2. , 0.5, 1. , 1. , 2. ])
    >>> paths = np.random.default_rng(0).normal(size=(32, 100, 3))
    >>> tensorsig.sig(paths, 4, time_aug=True, n_jobs=-1).shape
    (32, 340)
    """
    return cast(Array, run(SIG, (path,), (degree, time_aug, lead_lag, end_time, horner, scalar_term, n_jobs)))


def sig_backprop(
    path: Array,
    sig: Array,
    sig_derivs: Array,
    degree: int,
    *,
    time_aug: bool = False,
    lead_lag: bool = False,
    end_time: float = 1.0,
    n_jobs: int = 1,
) -> Array:
    r"""Gradient of a scalar function of signatures with respect to the paths.

    Given :math:`\partial F / \partial S(x)` for signatures :math:`S(x)` computed by :func:`sig`,
    returns :math:`\partial F / \partial x`. The path is walked backwards from :math:`S(x)`,
    undoing each increment with :math:`\exp(-z_t)` while the gradient is pushed through it, so
    the extra memory does not grow with the path's length and the cost is about three forward
    passes.

    Parameters
    ----------
    path : numpy.ndarray or torch.Tensor
        The paths, as given to :func:`sig`: ``(*batch, length, dimension)``.
    sig : numpy.ndarray or torch.Tensor
        Their signatures, ``(*batch, sig_length)``, with or without the scalar term (inferred
        from the length). The walk back starts from these values.
    sig_derivs : numpy.ndarray or torch.Tensor
        :math:`\partial F / \partial S(x)`, same shape as ``sig``. The derivative of the scalar
        term, if present, does not contribute.
    degree : int
        The truncation level used for ``sig``.
    time_aug, lead_lag, end_time
        The transforms used for ``sig``.
    n_jobs : int
        Threads, as in :func:`sig`.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        :math:`\partial F / \partial x`, same shape, container and dtype as ``path``.

    Examples
    --------
    >>> import numpy as np, tensorsig
    >>> path = np.random.default_rng(0).normal(size=(10, 50, 3))
    >>> s = tensorsig.sig(path, 4, time_aug=True)
    >>> grad = tensorsig.sig_backprop(path, s, np.ones_like(s), 4, time_aug=True)
    >>> grad.shape
    (10, 50, 3)
    """
    return cast(
        Array, run(SIG_BACKPROP, (path, sig, sig_derivs), (degree, time_aug, lead_lag, end_time, n_jobs))
    )


def _sig_backprop_jvp(
    path: Array,
    directions: Array,
    sig_derivs: Array,
    degree: int,
    *,
    time_aug: bool = False,
    lead_lag: bool = False,
    end_time: float = 1.0,
    n_jobs: int = 1,
) -> tuple[Array, Array]:
    r"""Second derivatives of signatures, by forward-over-reverse differentiation.

    For :math:`F = \langle G, S(x) \rangle` (``G = sig_derivs``) and a direction :math:`v`
    shaped like the path, returns ``(jvp, hvp)``: :math:`dS(x)[v]` (shaped like ``sig_derivs``,
    0 at a scalar term) and :math:`\nabla^2 F(x)\, v` (shaped like the path). The first is also
    the derivative of :func:`sig_backprop`'s result with respect to ``sig_derivs`` along ``v``,
    the second its derivative along ``v``: together, the double backward of a signature. Both
    are exact (the signature and its backward pass run on dual numbers :math:`x + \varepsilon v`).
    """
    jvp, hvp = run(
        SIG_BACKPROP_JVP,
        (path, directions, sig_derivs),
        (degree, time_aug, lead_lag, end_time, n_jobs),
        warn_grad=False,
    )
    return jvp, hvp
