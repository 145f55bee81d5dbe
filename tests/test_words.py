"""Word helpers: pysiglib's order and indices, Lyndon words by their definition, validated input."""

from __future__ import annotations

import itertools

import pytest

import tensorsig as ts


def test_words_are_ordered_by_length_then_lexicographically():
    assert ts.words(2, 2) == [(), (0,), (1,), (0, 0), (0, 1), (1, 0), (1, 1)]
    assert ts.words(3, 0) == [()] and ts.words(0, 3) == [()]
    assert ts.words_of_length(2, 0) == [()] and ts.words_of_length(0, 2) == []


@pytest.mark.parametrize(("d", "n"), [(1, 4), (2, 3), (3, 3), (4, 2)])
def test_word_indices_follow_the_signature_layout(d, n):
    """Word i of ts.words is coefficient i of a signature with its scalar term."""
    for st in (False, True):
        all_words = ts.words(d, n)[0 if st else 1 :]
        for index, word in enumerate(all_words):
            assert ts.word_to_idx(word, d, scalar_term=st) == index
            assert ts.idx_to_word(index, d, scalar_term=st) == word
    assert len(ts.words(d, n)) == ts.sig_length(d, n, scalar_term=True)


def _is_lyndon_by_rotations(word):
    return bool(word) and all(word < word[i:] + word[:i] for i in range(1, len(word)))


@pytest.mark.parametrize(("d", "n"), [(1, 4), (2, 6), (3, 4), (5, 2)])
def test_lyndon_words_are_the_words_smaller_than_their_rotations(d, n):
    expected = [w for w in ts.words(d, n) if _is_lyndon_by_rotations(w)]
    assert ts.lyndon_words(d, n) == expected
    assert [w for w in ts.words(d, n) if ts.is_lyndon(w)] == expected
    for length in range(n + 1):
        assert ts.lyndon_words_of_length(d, length) == [w for w in expected if len(w) == length]


def test_lyndon_counts_follow_witts_formula():
    # d=2: 2, 1, 2, 3, 6, 9, 18 Lyndon words of lengths 1..7.
    assert [len(ts.lyndon_words_of_length(2, n)) for n in range(1, 8)] == [2, 1, 2, 3, 6, 9, 18]


def test_is_lyndon_edge_cases():
    assert not ts.is_lyndon(()) and ts.is_lyndon((0,)) and not ts.is_lyndon((0, 0))
    assert ts.is_lyndon([0, 1])  # a list is read as a word (pysiglib needs a tuple)


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: ts.word_to_idx((), 3), ValueError, "empty word has no index"),
        (lambda: ts.word_to_idx((3,), 3), ValueError, r"letters in the range \[0, 3\)"),
        (lambda: ts.word_to_idx((-1,), 3), ValueError, "letters in the range"),
        (lambda: ts.word_to_idx((0.0,), 3), TypeError, "tuple of integers"),
        (lambda: ts.word_to_idx("01", 3), TypeError, "tuple of integers, got str"),
        (lambda: ts.idx_to_word(-1, 3), ValueError, "idx must be a non-negative integer"),
        (lambda: ts.idx_to_word(2, 0), ValueError, "alphabet_size must be at least 1"),
        (lambda: ts.idx_to_word(1.0, 3), TypeError, "idx must be of type int"),
        (lambda: ts.words(-1, 2), ValueError, "alphabet_size must be a non-negative integer"),
        (lambda: ts.lyndon_words(2.0, 2), TypeError, "alphabet_size must be of type int"),
        (lambda: ts.words_of_length(2, -1), ValueError, "length must be a non-negative integer"),
    ],
)
def test_bad_arguments_raise_named_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_matches_pysiglib():
    pysiglib = pytest.importorskip("pysiglib")
    for d, n in itertools.product(range(4), range(5)):
        assert ts.words(d, n) == pysiglib.words(d, n)
        assert ts.lyndon_words(d, n) == pysiglib.lyndon_words(d, n)
        for w in ts.words(d, n)[1:]:
            assert ts.word_to_idx(w, d) == pysiglib.word_to_idx(w, d)
            assert ts.is_lyndon(w) == pysiglib.is_lyndon(w)
