"""Chen products of signatures and their gradients."""

from __future__ import annotations

from typing import cast

from ._run import run
from ._specs.combine import SIG_COMBINE, SIG_COMBINE_BACKPROP
from ._typing import Array


def sig_combine(
    sig1: Array,
    sig2: Array,
    dimension: int,
    degree: int,
    *,
    time_aug: bool = False,
    lead_lag: bool = False,
    n_jobs: int = 1,
) -> Array:
    r"""Chen product of two truncated signatures: the signature of the concatenated path.

    If x₂ starts where x₁ ends, Chen's identity gives

        S(x₁ * x₂) = S(x₁) ⊗ S(x₂),
        (A ⊗ B)⁽ᵏ⁾ = Σᵢ₌₀ᵏ A⁽ⁱ⁾ ⊗ B⁽ᵏ⁻ⁱ⁾,

    with A⁽⁰⁾ = B⁽⁰⁾ = 1.

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
        S(x₁) ⊗ S(x₂), same shape, format, container and dtype as ``sig1``.

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
    return cast(Array, run(SIG_COMBINE, (sig1, sig2), (dimension, degree, time_aug, lead_lag, n_jobs)))


def sig_combine_backprop(
    deriv: Array,
    sig1: Array,
    sig2: Array,
    dimension: int,
    degree: int,
    *,
    time_aug: bool = False,
    lead_lag: bool = False,
    n_jobs: int = 1,
) -> tuple[Array, Array]:
    r"""Gradients through :func:`sig_combine`.

    Given G = ∂F / ∂ (A ⊗ B), returns

        ∂F/(∂A⁽ˡ⁾ᵤ) = G⁽ˡ⁾ᵤ + Σ_(r ≥ 1) Σᵥ G⁽ˡ⁺ʳ⁾ᵤᵥ B⁽ʳ⁾ᵥ,

        ∂F/(∂B⁽ʳ⁾ᵥ) = G⁽ʳ⁾ᵥ + Σ_(l ≥ 1) Σᵤ A⁽ˡ⁾ᵤ G⁽ˡ⁺ʳ⁾ᵤᵥ,

    where uv is the concatenation of the words u and v. The scalar entries,
    which :func:`sig_combine` does not read, get gradient 0.

    Parameters
    ----------
    deriv : numpy.ndarray or torch.Tensor
        ∂F / ∂ (S₁ ⊗ S₂), same shape as ``sig1``.
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
    d1, d2 = run(SIG_COMBINE_BACKPROP, (deriv, sig1, sig2), (dimension, degree, time_aug, lead_lag, n_jobs))
    return d1, d2
