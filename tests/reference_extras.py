"""Naive numpy references for the signature extras (joins, straight segments, chosen coefficients),
from their definitions and ``reference.py``'s exponentials and Chen products. Only for tiny inputs.

* A join is the Chen product of a signature with the power series ``tensor_exp(v)``.
* A coefficient is read off the full signature at the word's index, or, for words longer than a
  full signature can afford, computed by the defining iterated sum over segments: letters of the
  word are assigned to segments in order, and ``m`` consecutive letters on one linear segment
  with increment ``z`` contribute ``z[l_1]…z[l_m] / m!`` (the volume of the ``m``-simplex).
"""

from math import factorial

import numpy as np

import reference as ref


def _flat_levels(sig, d, degree):
    """``(levels, scalar_term)`` of a flat signature, its format inferred from its length."""
    scalar_term = ref._infer_scalar_term(np.shape(sig)[-1], d, degree)
    levels = ref.flat_to_levels(sig, d, degree, scalar_term)
    levels[0] = np.ones(1)
    return levels, scalar_term


def sig_join(sig, displacement, dimension, degree, prepend=False):
    """``sig ⊗ exp(v)`` (or ``exp(v) ⊗ sig``), in the input's format, by Chen products."""
    s = np.asarray(sig, dtype=np.float64)
    v = np.asarray(displacement, dtype=np.float64)
    out = np.zeros(s.shape)
    for idx in np.ndindex(s.shape[:-1]):
        levels, scalar_term = _flat_levels(s[idx], dimension, degree)
        e = ref.tensor_exp(v[idx], degree)
        product = ref.chen_product(e, levels, degree) if prepend else ref.chen_product(levels, e, degree)
        out[idx] = ref.levels_to_flat(product, scalar_term)
    return out


def linear_sig(displacement, degree, scalar_term=False):
    """``exp(v)`` by its power series."""
    v = np.asarray(displacement, dtype=np.float64)
    d = v.shape[-1]
    out = np.zeros((*v.shape[:-1], ref.sig_length(d, degree, scalar_term=scalar_term)))
    for idx in np.ndindex(v.shape[:-1]):
        out[idx] = ref.levels_to_flat(ref.tensor_exp(v[idx], degree), scalar_term)
    return out


def word_index(word, d):
    """Index of a non-empty word in a flat signature without the scalar term."""
    index = 0
    for letter in word:
        index = index * d + letter + 1
    return index - 1


def _iterated_sum(increments, word):
    """``S^word`` of a piecewise-linear path with the given increments ``(n, d)``, by the
    defining sum over the ways of assigning the word's letters, in order, to the segments:
    ``F[i]`` is the coefficient of ``word[:i]`` over the segments seen so far."""
    k = len(word)
    f = np.zeros(k + 1)
    f[0] = 1.0
    for z in increments:
        new = np.zeros(k + 1)
        for i in range(k + 1):
            # the last m letters of word[:i] lie on this segment
            new[i] = sum(
                f[i - m] * np.prod([z[c] for c in word[i - m : i]]) / factorial(m) for m in range(i + 1)
            )
        f = new
    return f[k]


def sig_coef(path, words, time_aug=False, lead_lag=False, end_time=1.0, prefixes=False, max_full_degree=4):
    """Chosen coefficients: read off ``reference.sig`` when every word is at most
    ``max_full_degree`` long, else from the iterated sums."""
    x = ref.transform_path(path, time_aug, lead_lag, end_time)
    d = x.shape[-1]
    if isinstance(words, tuple):
        words = [words]
    wanted = list(words)
    if prefixes:  # every non-empty prefix of each word; an empty word is its own entry
        wanted = [p for w in words for p in ([w[:i] for i in range(1, len(w) + 1)] or [()])]
    degree = max(len(w) for w in wanted)
    out = np.zeros((*x.shape[:-2], len(wanted)))
    if degree <= max_full_degree:
        full = ref.sig(x, degree)
        for j, w in enumerate(wanted):
            out[..., j] = 1.0 if not w else full[..., word_index(w, d)]
        return out
    for idx in np.ndindex(x.shape[:-2]):
        increments = np.diff(x[idx], axis=0)
        for j, w in enumerate(wanted):
            out[(*idx, j)] = _iterated_sum(increments, w)
    return out
