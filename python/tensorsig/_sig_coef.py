"""Chosen signature coefficients: straight from the path (with their gradients), or picked out of
a signature."""

from __future__ import annotations

from typing import Any

from ._arrays import check_same_kind, contiguous, empty, has_values, operand
from ._checks import augmented_dimension, check_bool, check_n_jobs, check_non_negative_int, check_path_flags
from ._checks import signature_length as _signature_length
from ._sig_join import native_cpu_only
from ._signature import _as_batch
from ._words import _word_to_idx


def _parse_words(
    words: Any, alphabet: int, dimension: int, allow_empty_list: bool = False
) -> list[tuple[int, ...]]:
    """``words`` (one word as a tuple of ints, or a list of words) as a list of tuples, with
    every letter checked against the ``alphabet`` of the (transformed) path."""
    if isinstance(words, tuple):
        word_list = [words]
    elif isinstance(words, list):
        word_list = words
        if not word_list and not allow_empty_list:
            raise ValueError("words must be a non-empty list of words (tuples of ints), got []")
    else:
        raise TypeError(
            "words must be a tuple of integers (one word) or a list of such tuples, "
            f"got {type(words).__name__}"
        )
    parsed = []
    for i, word in enumerate(word_list):
        if not isinstance(word, (tuple, list)):
            hint = " (for one word, pass a tuple such as (0, 1))" if isinstance(word, int) else ""
            raise TypeError(f"words[{i}] must be a tuple of integers, got {type(word).__name__}{hint}")
        for letter in word:
            if not isinstance(letter, int) or isinstance(letter, bool):
                raise TypeError(
                    f"words[{i}] must be a tuple of integers, found an element of type "
                    f"{type(letter).__name__} in {word!r}"
                )
            if not 0 <= letter < alphabet:
                channels = f"{alphabet} channels" + (
                    f" after the transforms ({dimension} before)" if alphabet != dimension else ""
                )
                raise ValueError(
                    f"Error processing words: words[{i}] = {tuple(word)} has letter {letter}, outside "
                    f"[0, {alphabet}) for a path of {channels}"
                )
        parsed.append(tuple(word))
    return parsed


def _prefix_outputs(words: list[tuple[int, ...]]) -> int:
    """Coefficients in pysiglib's ``prefixes=True`` layout: every non-empty prefix of each word,
    and one entry (the constant 1) for an empty word."""
    return sum(max(len(w), 1) for w in words)


def _check_path_shape(shape: tuple[int, ...]) -> tuple[tuple[int, ...], int, int]:
    if len(shape) < 2:
        raise ValueError(
            f"path must have shape (..., length, dimension): at least rank 2, got rank {len(shape)}"
        )
    *batch, length, dimension = shape
    if dimension == 0:
        raise ValueError("path has 0 channels (dimension); a path needs at least one")
    return tuple(batch), length, dimension


def _sig_coef_meta(
    path_shape: tuple[int, ...],
    words: Any,
    time_aug: Any,
    lead_lag: Any,
    end_time: Any,
    prefixes: Any,
    n_jobs: Any,
) -> tuple[tuple[int, ...], list[int], list[int], int]:
    """Checks :func:`sig_coef`'s arguments; returns the output shape, the words as their
    concatenated letters and their lengths (what the native code takes), and ``n_jobs``."""
    check_path_flags(time_aug, lead_lag, end_time)
    check_bool(prefixes, "prefixes")
    n_jobs = check_n_jobs(n_jobs)
    batch, _length, dimension = _check_path_shape(path_shape)
    parsed = _parse_words(words, augmented_dimension(dimension, time_aug, lead_lag), dimension)
    outputs = _prefix_outputs(parsed) if prefixes else len(parsed)
    letters = [letter for w in parsed for letter in w]
    return (*batch, outputs), letters, [len(w) for w in parsed], n_jobs


def sig_coef(
    path: Any,
    words: Any,
    *,
    time_aug: bool = False,
    lead_lag: bool = False,
    end_time: float = 1.0,
    prefixes: bool = False,
    n_jobs: int = 1,
) -> Any:
    r"""Chosen signature coefficients, computed straight from the path.

    The coefficient of the word :math:`I = (i_1, \ldots, i_k)` is the iterated integral

    .. math::

        S(x)^I = \int_{0 < t_1 < \cdots < t_k < T} dx^{i_1}_{t_1} \cdots dx^{i_k}_{t_k},

    the entry of the level-:math:`k` signature at :math:`I`, but computed without the truncated
    signature and with no degree cap. Across a linear segment with increment :math:`z`, Chen's
    identity read at :math:`I` needs only the coefficients of :math:`I`'s prefixes:

    .. math::

        S^{I} \leftarrow S^{I} + z_{i_k}\Big(S^{i_1 \ldots i_{k-1}} + \frac{z_{i_{k-1}}}{2}
        \Big(\cdots + \frac{z_{i_1}}{k}\Big)\Big),

    so the words and their prefixes are kept in a prefix trie (a prefix shared by several words,
    or a repeated word, is computed once) and each node of depth :math:`k` costs :math:`k`
    multiply-adds per segment. A step of the path costs the sum of the depths of the trie's
    nodes, at most :math:`\sum_w |w|(|w|+1)/2` and as little as :math:`\sum_w |w|` when the words
    share prefixes; the whole path :math:`O(\text{length} \times \text{that sum})`, independent of
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
        Return, for each word :math:`w` in turn, the coefficients of all its non-empty prefixes
        :math:`w_{:1}, \ldots, w` (one entry, 1, for an empty word): pysiglib's layout, which
        :func:`sig_coef_backprop` takes. They cost nothing extra.
    n_jobs : int
        Threads, as in :func:`sig`; the batch is split across them.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        ``(*batch, n)`` with ``n = len(words)``, or :math:`\sum_w \max(|w|, 1)` with
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
    op = operand(path, "path")
    shape, letters, lengths, n_jobs = _sig_coef_meta(
        op.shape, words, time_aug, lead_lag, end_time, prefixes, n_jobs
    )
    batch_shape = shape[:-1]
    result, out = empty(op, shape)
    if has_values(out):
        native_cpu_only(op, "sig_coef")(
            _as_batch(op.array, batch_shape),
            letters,
            lengths,
            _as_batch(out, batch_shape),
            time_aug,
            lead_lag,
            end_time,
            prefixes,
            n_jobs,
        )
    return result


def _sig_coef_backprop_meta(
    path_shape: tuple[int, ...],
    words: Any,
    coefs_shape: tuple[int, ...],
    derivs_shape: tuple[int, ...],
    time_aug: Any,
    lead_lag: Any,
    end_time: Any,
    n_jobs: Any,
) -> tuple[tuple[int, ...], list[int], list[int], int]:
    """Checks :func:`sig_coef_backprop`'s arguments; returns the output shape (the path's), the
    words as letters and lengths, and ``n_jobs``."""
    _, letters, lengths, n_jobs = _sig_coef_meta(
        path_shape, words, time_aug, lead_lag, end_time, True, n_jobs
    )
    batch_shape = tuple(path_shape[:-2])
    expected = (*batch_shape, sum(max(n, 1) for n in lengths))
    for name, shape in (("coefs", coefs_shape), ("derivs", derivs_shape)):
        if len(shape) < 1 or shape[-1] != expected[-1]:
            raise ValueError(
                f"Expected {name}.shape[-1] == {expected[-1]}, got {name} of shape {shape}. Please make "
                f"sure coefs was generated using prefixes=True."
            )
        if shape != expected:
            raise ValueError(f"{name} must have shape {expected} (the path's batch shape), got {shape}")
    return tuple(path_shape), letters, lengths, n_jobs


def sig_coef_backprop(
    path: Any,
    words: Any,
    coefs: Any,
    derivs: Any,
    *,
    time_aug: bool = False,
    lead_lag: bool = False,
    end_time: float = 1.0,
    n_jobs: int = 1,
) -> Any:
    r"""Gradient through :func:`sig_coef`: :math:`\partial F / \partial x` given
    :math:`\partial F / \partial S(x)^I` for the coefficients ``sig_coef(..., prefixes=True)``.

    The coefficients' values before each segment are recomputed by a forward pass over the trie
    (paths longer than a memory budget are done in :math:`\sqrt{\text{length}}` stretches between
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
        :math:`n = \sum_w \max(|w|, 1)`.
    derivs : numpy.ndarray or torch.Tensor
        :math:`\partial F / \partial` ``coefs``, same shape.
    time_aug, lead_lag, end_time, n_jobs
        As given to :func:`sig_coef`.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        :math:`\partial F / \partial x`, shaped like ``path``, same container and dtype.

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
    op, coefs_op, derivs_op = operand(path, "path"), operand(coefs, "coefs"), operand(derivs, "derivs")
    check_same_kind(op, coefs_op, derivs_op)
    shape, letters, lengths, n_jobs = _sig_coef_backprop_meta(
        op.shape, words, coefs_op.shape, derivs_op.shape, time_aug, lead_lag, end_time, n_jobs
    )
    batch_shape = shape[:-2]
    result, out = empty(op, shape)
    if has_values(out):
        native_cpu_only(op, "sig_coef_backprop")(
            _as_batch(op.array, batch_shape),
            letters,
            lengths,
            contiguous(_as_batch(derivs_op.array, batch_shape)),
            _as_batch(out, batch_shape),
            time_aug,
            lead_lag,
            end_time,
            n_jobs,
        )
    return result


def _extract_sig_coef_meta(
    sig_shape: tuple[int, ...], words: Any, dimension: Any, time_aug: Any, lead_lag: Any, scalar_term: Any
) -> tuple[tuple[int, ...], list[int]]:
    """Checks :func:`extract_sig_coef`'s arguments; returns the output shape and the indices of
    the words' coefficients along the signature's last axis."""
    check_non_negative_int(dimension, "dimension")
    check_bool(time_aug, "time_aug")
    check_bool(lead_lag, "lead_lag")
    check_bool(scalar_term, "scalar_term")
    if dimension == 0:
        raise ValueError("dimension must be at least 1, got dimension = 0")
    alphabet = augmented_dimension(dimension, time_aug, lead_lag)
    parsed = _parse_words(words, alphabet, dimension, allow_empty_list=True)
    if len(sig_shape) < 1:
        raise ValueError("sig must have at least rank 1, got rank 0")
    length = sig_shape[-1]
    longest = max((len(w) for w in parsed), default=0)
    # The length must be that of a signature of this alphabet and format at some degree, at
    # least the longest word's: this catches a wrong scalar_term (a shift by one) too.
    degree = longest
    while _signature_length(alphabet, degree, scalar_term) < length:
        degree += 1
    if _signature_length(alphabet, degree, scalar_term) != length:
        fmt = "with" if scalar_term else "without"
        raise ValueError(
            f"sig has length {length}, which is not the length of a signature of {alphabet} channels "
            f"{fmt} the scalar term at any degree >= {longest} (the longest word's length); check "
            f"dimension, time_aug, lead_lag and scalar_term"
        )
    return (*sig_shape[:-1], len(parsed)), [_word_to_idx(w, alphabet, scalar_term) for w in parsed]


def extract_sig_coef(
    sig: Any,
    words: Any,
    dimension: int,
    *,
    time_aug: bool = False,
    lead_lag: bool = False,
    scalar_term: bool = False,
) -> Any:
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
    op = operand(sig, "sig")
    _shape, idx = _extract_sig_coef_meta(op.shape, words, dimension, time_aug, lead_lag, scalar_term)
    return sig[..., idx]
