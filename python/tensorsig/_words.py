"""Words over an alphabet ``{0, …, d-1}``: the index of a signature coefficient, and Lyndon words.

A word ``(i1, …, ik)`` names the coefficient of the signature's level ``k`` at
``d + … + d^(k-1) + i1·d^(k-1) + … + ik`` (pysiglib's and iisignature's layout). Words are listed
by length, then lexicographically; Lyndon words come from Duval's algorithm, which yields them in
lexicographic order. Everything here is pure Python and cached, as in pysiglib.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from typing import Any

from ._checks import check_bool, check_non_negative_int
from .exceptions import ArgumentTypeError, InvalidArgumentError


def _as_word(word: Any, alphabet_size: int | None = None) -> tuple[int, ...]:
    """``word`` as a tuple of letters, or TypeError/ValueError naming what is wrong."""
    if not isinstance(word, (tuple, list)):
        raise ArgumentTypeError(f"word must be a tuple of integers, got {type(word).__name__}")
    for letter in word:
        if not isinstance(letter, int) or isinstance(letter, bool):
            raise ArgumentTypeError(
                f"word must be a tuple of integers. Found element of type {type(letter)} instead."
            )
    if alphabet_size is not None and any(not 0 <= letter < alphabet_size for letter in word):
        raise InvalidArgumentError(f"word must only contain letters in the range [0, {alphabet_size})")
    return tuple(word)


def words(alphabet_size: int, max_length: int) -> list[tuple[int, ...]]:
    """All words of length ``0..max_length`` over ``{0, …, alphabet_size - 1}``, by length and
    then lexicographically: the order of a signature's coefficients (with its scalar term).

    Raises TypeError for non-integer arguments and ValueError for negative ones.

    >>> import tensorsig
    >>> tensorsig.words(2, 2)
    [(), (0,), (1,), (0, 0), (0, 1), (1, 0), (1, 1)]
    """
    check_non_negative_int(alphabet_size, "alphabet_size")
    check_non_negative_int(max_length, "max_length")
    out: list[tuple[int, ...]] = [()]
    for length in range(1, max_length + 1):
        out += itertools.product(range(alphabet_size), repeat=length)
    return out


def words_of_length(alphabet_size: int, length: int) -> list[tuple[int, ...]]:
    """All words of exactly ``length`` letters, lexicographically (``[()]`` for length 0).

    >>> import tensorsig
    >>> tensorsig.words_of_length(2, 2)
    [(0, 0), (0, 1), (1, 0), (1, 1)]
    """
    check_non_negative_int(alphabet_size, "alphabet_size")
    check_non_negative_int(length, "length")
    return list(itertools.product(range(alphabet_size), repeat=length))


def word_to_idx(word: Sequence[int], alphabet_size: int, *, scalar_term: bool = False) -> int:
    r"""The index of ``word``'s coefficient in a flat signature over ``alphabet_size`` letters.

    With the scalar term the empty word is at 0 and (w₁, …, wₙ) at
    Σᵢ (wᵢ + 1)  d^( n-i); without it every index is one less and the empty word
    has none.

    Parameters
    ----------
    word : tuple of int (a list is accepted too)
        Letters in ``[0, alphabet_size)``.
    alphabet_size : int
        d, the signature's dimension (after any transforms).
    scalar_term : bool
        Whether the signature indexed carries the scalar term.

    Raises
    ------
    TypeError
        For a word that is not a sequence of ints.
    ValueError
        For letters out of range, or the empty word without ``scalar_term``.

    >>> import tensorsig
    >>> tensorsig.word_to_idx((1, 0), 3), tensorsig.word_to_idx((1, 0), 3, scalar_term=True)
    (6, 7)
    """
    check_non_negative_int(alphabet_size, "alphabet_size")
    check_bool(scalar_term, "scalar_term")
    return _word_to_idx(_as_word(word, alphabet_size), alphabet_size, scalar_term)


@functools.cache
def _word_to_idx(word: tuple[int, ...], alphabet_size: int, scalar_term: bool) -> int:
    if not word and not scalar_term:
        raise InvalidArgumentError(
            "The empty word has no index in a signature with scalar_term=False. Pass "
            "scalar_term=True if your signature includes the leading scalar 1."
        )
    index = 0
    for letter in word:
        index = index * alphabet_size + letter + 1
    return index - (not scalar_term)


def idx_to_word(idx: int, alphabet_size: int, *, scalar_term: bool = False) -> tuple[int, ...]:
    """The word whose coefficient sits at ``idx`` in a flat signature: the inverse of
    :func:`word_to_idx`.

    Unlike pysiglib 4.0, which returns ``()`` for ``idx=-1`` and loops or divides by zero for a
    zero or negative alphabet, the arguments are checked: ValueError for a negative index (or 0
    without letters), TypeError for non-integers.

    >>> import tensorsig
    >>> tensorsig.idx_to_word(6, 3), tensorsig.idx_to_word(0, 3, scalar_term=True)
    ((1, 0), ())
    """
    check_non_negative_int(idx, "idx")
    check_non_negative_int(alphabet_size, "alphabet_size")
    check_bool(scalar_term, "scalar_term")
    if alphabet_size == 0:
        raise InvalidArgumentError("alphabet_size must be at least 1 to index a word")
    return _idx_to_word(idx, alphabet_size, scalar_term)


@functools.cache
def _idx_to_word(idx: int, alphabet_size: int, scalar_term: bool) -> tuple[int, ...]:
    remaining = idx + (not scalar_term)
    letters: list[int] = []
    while remaining > 0:
        remaining, digit = divmod(remaining - 1, alphabet_size)
        letters.append(digit)
    return tuple(reversed(letters))


def lyndon_words_of_length(alphabet_size: int, length: int) -> list[tuple[int, ...]]:
    """Lyndon words of exactly ``length`` letters, lexicographically (Duval's algorithm); ``[]``
    for an empty alphabet or length 0.

    A Lyndon word is strictly smaller than each of its proper rotations. Their number is Witt's
    formula 1/n Σ_(k | n) μ(n/k)  dᵏ, the dimension of the free Lie
    algebra's degree-``n`` part: a log-signature's coordinates (methods 1-3) are indexed by them.

    >>> import tensorsig
    >>> tensorsig.lyndon_words_of_length(2, 3)
    [(0, 0, 1), (0, 1, 1)]
    """
    check_non_negative_int(alphabet_size, "alphabet_size")
    check_non_negative_int(length, "length")
    return list(_lyndon_words_of_length(alphabet_size, length))


@functools.cache
def _lyndon_words_of_length(alphabet_size: int, length: int) -> tuple[tuple[int, ...], ...]:
    if alphabet_size == 0 or length == 0:
        return ()
    out: list[tuple[int, ...]] = []
    # Duval: the next word of at most `length` letters after w repeats w to the full length,
    # drops trailing maximal letters and increments the last one. Lyndon words of exactly
    # `length` letters are those it yields at that length.
    word = [-1]
    while word:
        word[-1] += 1
        if len(word) == length:
            out.append(tuple(word))
        position = len(word)
        while len(word) < length:
            word.append(word[len(word) - position])
        while word and word[-1] == alphabet_size - 1:
            word.pop()
    return tuple(out)


def lyndon_words(alphabet_size: int, max_length: int) -> list[tuple[int, ...]]:
    """All Lyndon words of length ``1..max_length``, by length and then lexicographically: the
    order of log-signature coordinates (pysiglib's, iisignature's and signatory's).

    >>> import tensorsig
    >>> tensorsig.lyndon_words(2, 3)
    [(0,), (1,), (0, 1), (0, 0, 1), (0, 1, 1)]
    """
    check_non_negative_int(alphabet_size, "alphabet_size")
    check_non_negative_int(max_length, "max_length")
    return [w for n in range(1, max_length + 1) for w in _lyndon_words_of_length(alphabet_size, n)]


def is_lyndon(word: Sequence[int]) -> bool:
    """Whether ``word`` is a Lyndon word: non-empty and strictly smaller than every proper
    suffix (equivalently, every proper rotation).

    >>> import tensorsig
    >>> tensorsig.is_lyndon((0, 1)), tensorsig.is_lyndon((1, 0)), tensorsig.is_lyndon((0, 0, 1))
    (True, False, True)
    """
    return _is_lyndon(_as_word(word))


@functools.cache
def _is_lyndon(word: tuple[int, ...]) -> bool:
    return bool(word) and all(word < word[i:] for i in range(1, len(word)))
