"""Chosen signature coefficients: straight from the path (with their gradients), or picked out of
a signature."""

from __future__ import annotations

from typing import Any, cast

from ._operands import operand
from ._run import run
from ._specs.extras import SIG_COEF, SIG_COEF_BACKPROP, extract_sig_coef_indices
from ._typing import Array


def sig_coef(
    path: Array,
    words: Any,
    *,
    time_aug: bool = False,
    lead_lag: bool = False,
    end_time: float = 1.0,
    prefixes: bool = False,
    n_jobs: int = 1,
) -> Array:
    r"""Chosen signature coefficients, computed straight from the path.

    The coefficient of the word I = (i₁, …, iₖ) is the iterated integral

        S(x)^I = ∫_(0 < t₁ < ⋯ < tₖ < T) dx^(i₁)_(t₁) ⋯ dx^(iₖ)_(tₖ),

    the entry of the level-k signature at I, but computed without the truncated
    signature and with no degree cap. Across a linear segment with increment z, Chen's
    identity read at I needs only the coefficients of I's prefixes:

        S^I ← S^I + z_(iₖ)(S^(i₁ … iₖ₋₁) + (z_(iₖ₋₁))/2
        (⋯ + (z_(i₁))/k)),

    so the words and their prefixes are kept in a prefix trie (a prefix shared by several words,
    or a repeated word, is computed once) and each node of depth k costs k
    multiply-adds per segment. A step of the path costs the sum of the depths of the trie's
    nodes, at most Σ_w |w|(|w|+1)/2 and as little as Σ_w |w| when the words
    share prefixes; the whole path O(length × that sum), independent of
    the dimension. Time augmentation and lead-lag generate the increments on the fly. The method
    is pysiglib's (``sig_coef``); the trie is tensorsig's.

    Parameters
    ----------
    path : numpy.ndarray or torch.Tensor
        ``(*batch, length, dimension)``, float32 or float64, any memory layout.
    words : tuple of int, or list of tuples of int
        One word, or a non-empty list of words. Letters index the channels of the transformed
        path: ``[0, d')`` with ``d' = 2·dimension`` with ``lead_lag`` (lag channels first, then
        lead) plus one, the last, with ``time_aug``. The empty word ``()`` gives 1.
    time_aug, lead_lag, end_time
        The transforms, as in :func:`sig`.
    prefixes : bool
        Return, for each word w in turn, the coefficients of all its non-empty prefixes
        w_(:1), …, w (one entry, 1, for an empty word): pysiglib's layout, which
        :func:`sig_coef_backprop` takes. They cost nothing extra.
    n_jobs : int
        Threads, as in :func:`sig`; the batch is split across them.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        ``(*batch, n)`` with ``n = len(words)``, or Σ_w max(|w|, 1) with
        ``prefixes``; same container and dtype as ``path``. A path of one point has every
        coefficient 0 but the empty word's, which is always 1 (pysiglib 4.0 gives 0 for it).

    Raises
    ------
    TypeError
        For a path that is not a float32/float64 array or tensor, words that are not tuples of
        ints, flags of the wrong type.
    ValueError
        For an empty list of words, a letter outside ``[0, d')``, a path of rank < 2 or with 0
        channels.

    Examples
    --------
    >>> import numpy as np, tensorsig
    >>> path = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    >>> tensorsig.sig_coef(path, [(0, 1), (1, 0), (0, 0, 0, 0, 0), ()])   # 1/5! for the last but one
    array([1.        , 0.        , 0.00833333, 1.        ])
    >>> tensorsig.sig_coef(path, [(0, 1), (1,)], prefixes=True)
    array([1., 1., 1.])
    >>> x = np.random.default_rng(0).normal(size=(8, 50, 3))
    >>> coefs = tensorsig.sig_coef(x, [(0, 2), (2, 1, 1)], time_aug=True)
    >>> full = tensorsig.sig(x, 3, time_aug=True)
    >>> words = [(0, 2), (2, 1, 1)]
    >>> idx = [tensorsig.word_to_idx(w, 4) for w in words]
    >>> np.allclose(coefs, full[:, idx])
    True
    """
    return cast(Array, run(SIG_COEF, (path,), (words, time_aug, lead_lag, end_time, prefixes, n_jobs)))


def sig_coef_backprop(
    path: Array,
    words: Any,
    coefs: Array,
    derivs: Array,
    *,
    time_aug: bool = False,
    lead_lag: bool = False,
    end_time: float = 1.0,
    n_jobs: int = 1,
) -> Array:
    r"""Gradient through :func:`sig_coef`: ∂F / ∂x given
    ∂F / ∂S(x)^I for the coefficients ``sig_coef(..., prefixes=True)``.

    The coefficients' values before each segment are recomputed by a forward pass over the trie
    (paths longer than a memory budget are done in √length stretches between
    checkpoints, at the cost of one more forward pass), and the gradient is pushed back through
    each segment's update (each chain's adjoint costs about three times the chain): in all about
    seven times :func:`sig_coef`'s time, exact to round-off whatever the path's length.
    ``coefs`` is checked for its shape but not read.

    Unlike pysiglib 4.0, which overwrites ``derivs`` on the CPU, tensorsig never modifies its
    inputs.

    Parameters
    ----------
    path : numpy.ndarray or torch.Tensor
        The paths given to :func:`sig_coef`, ``(*batch, length, dimension)``.
    words : tuple of int, or list of tuples of int
        The words given to :func:`sig_coef`.
    coefs : numpy.ndarray or torch.Tensor
        ``sig_coef(path, words, prefixes=True, ...)``: ``(*batch, n)``,
        n = Σ_w max(|w|, 1).
    derivs : numpy.ndarray or torch.Tensor
        ∂F / ∂ ``coefs``, same shape.
    time_aug, lead_lag, end_time, n_jobs
        As given to :func:`sig_coef`.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        ∂F / ∂x, shaped like ``path``, same container and dtype.

    Raises
    ------
    TypeError, ValueError
        As :func:`sig_coef`, and ValueError when ``coefs`` or ``derivs`` is not
        ``(*batch, n)`` (coefficients computed without ``prefixes=True``).

    Examples
    --------
    >>> import numpy as np, tensorsig
    >>> x = np.random.default_rng(0).normal(size=(4, 30, 2))
    >>> words = [(0, 1), (1, 1, 0)]
    >>> coefs = tensorsig.sig_coef(x, words, prefixes=True)
    >>> coefs.shape
    (4, 5)
    >>> tensorsig.sig_coef_backprop(x, words, coefs, np.ones_like(coefs)).shape
    (4, 30, 2)
    """
    return cast(
        Array, run(SIG_COEF_BACKPROP, (path, coefs, derivs), (words, time_aug, lead_lag, end_time, n_jobs))
    )


def extract_sig_coef(
    sig: Array,
    words: Any,
    dimension: int,
    *,
    time_aug: bool = False,
    lead_lag: bool = False,
    scalar_term: bool = False,
) -> Array:
    r"""Picks the coefficients of chosen words out of signatures: ``sig[..., idx]`` with ``idx``
    from :func:`word_to_idx` on the alphabet of the transformed path.

    Unlike pysiglib 4.0, which does not look at the signature's length (a signature too short
    raises an IndexError, a wrong ``scalar_term`` silently shifts every coefficient by one), the
    length of ``sig`` must be that of a signature of the transformed path's channels, in the
    format ``scalar_term`` says, at some degree at least the longest word's length; otherwise a
    ValueError says so. ``scalar_term`` is not inferred (as in pysiglib): it says the format.

    Parameters
    ----------
    sig : numpy.ndarray or torch.Tensor
        Signatures, ``(*batch, sig_length)``. A torch tensor is indexed as it is (on its device,
        with autograd).
    words : tuple of int, or list of tuples of int
        One word or a list of words (an empty list gives ``(*batch, 0)``); letters in
        ``[0, d')`` for the transformed dimension ``d'``. The empty word needs ``scalar_term``.
    dimension : int
        The paths' dimension before the transforms.
    time_aug, lead_lag : bool
        The transforms the signatures were computed with.
    scalar_term : bool
        Whether ``sig`` carries the scalar term at index 0.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        ``(*batch, len(words))``, a copy, same container and dtype as ``sig``.

    Raises
    ------
    TypeError, ValueError
        For bad words (as :func:`sig_coef`), the empty word without ``scalar_term``, or a
        ``sig`` length that fits no degree (see above).

    Examples
    --------
    >>> import numpy as np, tensorsig
    >>> x = np.random.default_rng(0).normal(size=(8, 50, 2))
    >>> s = tensorsig.sig(x, 3, lead_lag=True, time_aug=True)
    >>> words = [(4,), (0, 2), (1, 3, 4)]
    >>> picked = tensorsig.extract_sig_coef(s, words, 2, lead_lag=True, time_aug=True)
    >>> np.allclose(picked, tensorsig.sig_coef(x, words, lead_lag=True, time_aug=True))
    True
    """
    op = operand(sig, "sig", warn_grad=False)  # indexing keeps autograd: nothing to warn about
    _shape, idx = extract_sig_coef_indices(op.shape, words, dimension, time_aug, lead_lag, scalar_term)
    return sig[..., idx]
