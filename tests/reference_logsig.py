"""Naive numpy reference for log-signatures, from the definitions, independent of tensorsig.

* The tensor logarithm is its power series ``Σ (-1)^{n+1} x^n / n`` with full Chen products of
  level lists (reference.chen_product), the exponential ``Σ L^n / n!`` likewise.
* Lyndon words by brute force: the words strictly smaller than all their rotations, sorted by
  length then lexicographically.
* The standard bracketing of a Lyndon word by brute force (its longest proper Lyndon suffix),
  expanded with ``[a, b] = ab - ba`` on dictionaries of words.
* Bracket coordinates by a dense least-squares solve against the expanded basis.

Slow and only for tiny inputs; every array is float64.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from reference import _aug_dim, chen_product, flat_to_levels, levels_to_flat, sig


def _power_series(levels, degree, coefficient):
    """``Σ_{n=1}^{N} coefficient(n) · x^n`` for ``x`` = levels with level 0 set to 0."""
    x = [np.zeros(1), *levels[1:]]
    power = [np.ones(1)] + [np.zeros_like(level) for level in levels[1:]]
    total = [np.zeros_like(level) for level in levels]
    for n in range(1, degree + 1):
        power = chen_product(power, x, degree)
        total = [t + coefficient(n) * p for t, p in zip(total, power)]
    return total


def tensor_log(levels, degree):
    """log(S) for a level list S with scalar term 1 (the scalar of the result is 0)."""
    return _power_series(levels, degree, lambda n: (-1) ** (n + 1) / n)


def tensor_exp(levels, degree):
    """exp(L) for a level list L (its scalar is ignored): the scalar of the result is 1."""
    out = _power_series(levels, degree, lambda n: 1 / math.factorial(n))
    out[0] = np.ones(1)
    return out


def is_lyndon(word) -> bool:
    return len(word) > 0 and all(tuple(word) < tuple(word[r:]) + tuple(word[:r]) for r in range(1, len(word)))


def lyndon_words(d, degree):
    return [w for k in range(1, degree + 1) for w in itertools.product(range(d), repeat=k) if is_lyndon(w)]


def bracket(word) -> dict:
    """The standard bracketing of a Lyndon word, expanded: {word: coefficient}."""
    if len(word) == 1:
        return {tuple(word): 1}
    split = next(i for i in range(1, len(word)) if is_lyndon(word[i:]))
    left, right = bracket(word[:split]), bracket(word[split:])
    out: dict = {}
    for (u, a), (v, b) in itertools.product(left.items(), right.items()):
        out[u + v] = out.get(u + v, 0) + a * b
        out[v + u] = out.get(v + u, 0) - a * b
    return {w: c for w, c in out.items() if c}


def _flat_index(word, d):
    """Index of a word in a flat tensor without the scalar term."""
    k = len(word)
    return sum(d**j for j in range(1, k)) + sum(letter * d ** (k - 1 - i) for i, letter in enumerate(word))


def basis_matrix(d, degree):
    """Columns: the expanded bracketings P(w) of the Lyndon words, in a flat tensor."""
    words = lyndon_words(d, degree)
    length = sum(d**k for k in range(1, degree + 1))
    matrix = np.zeros((length, len(words)))
    for j, w in enumerate(words):
        for u, c in bracket(w).items():
            matrix[_flat_index(u, d), j] = c
    return matrix


def _to_method(flat_log, d, degree, method, scalar_term):
    """The expanded logarithm (flat, no scalar) in the coordinates of ``method``."""
    if method == 0:
        return np.concatenate([np.zeros(int(scalar_term)), flat_log])
    if method == 1:
        return flat_log[[_flat_index(w, d) for w in lyndon_words(d, degree)]]
    coords, *_ = np.linalg.lstsq(basis_matrix(d, degree), flat_log, rcond=None)
    return coords


def sig_to_log_sig(s, dimension, degree, method=1, time_aug=False, lead_lag=False):
    d = _aug_dim(dimension, time_aug, lead_lag)
    s = np.asarray(s, dtype=np.float64)
    scalar_term = s.shape[-1] == sum(d**k for k in range(degree + 1))
    rows = []
    for idx in np.ndindex(s.shape[:-1]):
        levels = flat_to_levels(s[idx], d, degree, scalar_term)
        levels[0] = np.ones(1)
        flat = levels_to_flat(tensor_log(levels, degree), False)
        rows.append(_to_method(flat, d, degree, method, scalar_term))
    return np.array(rows).reshape(*s.shape[:-1], -1)


def log_sig(path, degree, method=1, time_aug=False, lead_lag=False, end_time=1.0, scalar_term=False):
    s = sig(path, degree, time_aug=time_aug, lead_lag=lead_lag, end_time=end_time, scalar_term=True)
    out = sig_to_log_sig(s, np.shape(path)[-1], degree, min(method, 2), time_aug, lead_lag)
    return out if method != 0 or scalar_term else out[..., 1:]


def _lie_element(coords, d, degree, method):
    """The Lie element (flat, no scalar) with coordinates ``coords`` in method 1 or 2."""
    matrix = basis_matrix(d, degree)
    if method == 1:
        rows = [_flat_index(w, d) for w in lyndon_words(d, degree)]
        coords = np.linalg.solve(matrix[rows], coords)
    return matrix @ coords


def logsig_to_sig(ls, dimension, degree, method=1, time_aug=False, lead_lag=False, scalar_term=False):
    d = _aug_dim(dimension, time_aug, lead_lag)
    ls = np.asarray(ls, dtype=np.float64)
    rows = []
    for idx in np.ndindex(ls.shape[:-1]):
        if method == 0:
            full = sum(d**k for k in range(degree + 1))
            scalar_term = ls.shape[-1] == full
            flat = ls[idx][int(scalar_term) :]
        else:
            flat = _lie_element(ls[idx], d, degree, method)
        levels = tensor_exp(flat_to_levels(flat, d, degree, False), degree)
        rows.append(levels_to_flat(levels, scalar_term))
    return np.array(rows).reshape(*ls.shape[:-1], -1)


def bch(a, b, d, degree):
    """log(exp(a) exp(b)) for bracket coordinates a, b (1-d arrays)."""
    ea = tensor_exp(flat_to_levels(_lie_element(a, d, degree, 2), d, degree, False), degree)
    eb = tensor_exp(flat_to_levels(_lie_element(b, d, degree, 2), d, degree, False), degree)
    flat = levels_to_flat(tensor_log(chen_product(ea, eb, degree), degree), False)
    return _to_method(flat, d, degree, 2, False)
