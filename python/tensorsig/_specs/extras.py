"""Specs of the signature extras: joins (``sig_join``), segments (``linear_sig``) and chosen
coefficients (``sig_coef``), with their gradients."""

from __future__ import annotations

import math
from typing import Any

from .._checks import (
    augmented_dimension,
    check_bool,
    check_n_jobs,
    check_non_negative_int,
    check_path_flags,
    infer_scalar_term,
    signature_length,
)
from .._operands import path_shape, rows_shape
from .._words import _word_to_idx
from ..exceptions import ArgumentTypeError, InvalidArgumentError, ShapeError
from . import Meta, OpSpec, Param, Shape, Words, register


def _check_dimension(dimension: Any) -> None:
    check_non_negative_int(dimension, "dimension")
    if dimension == 0:
        raise InvalidArgumentError("dimension must be at least 1, got dimension = 0")


def displacement_shape(shape: Shape, dimension: int) -> Shape:
    """The batch shape of a displacement ``(..., dimension)``. pysiglib 4.0 silently drops the
    first of ``dimension + 1`` values; tensorsig refuses them."""
    if len(shape) < 1:
        raise ShapeError("displacement must have shape (..., dimension): at least rank 1, got rank 0")
    if shape[-1] != dimension:
        quirk = (
            " (pysiglib 4.0 silently drops the first of dimension + 1 values; tensorsig refuses them)"
            if shape[-1] == dimension + 1
            else ""
        )
        raise ShapeError(
            f"displacement must have dimension = {dimension} values in its last axis, got shape "
            f"{shape}{quirk}"
        )
    return shape[:-1]


def _join(
    sig: Shape, displacement: Shape, dimension: int, degree: int, prepend: bool
) -> tuple[Shape, int, bool]:
    """The shared checks of a signature and the displacement it is joined with: returns the batch
    shape, the signatures' width and whether they carry the scalar term."""
    _check_dimension(dimension)
    check_non_negative_int(degree, "degree")
    check_bool(prepend, "prepend")
    batch, width = rows_shape(sig, "sig")
    scalar_term = infer_scalar_term(width, "sig", dimension, degree)
    if displacement_shape(displacement, dimension) != batch:
        raise ShapeError(
            f"sig and displacement must have the same batch shape, got {batch} for sig and "
            f"{displacement[:-1]} for displacement"
        )
    return batch, width, scalar_term


def sig_join_meta(
    sig: Shape, displacement: Shape, dimension: int, degree: int, prepend: bool, n_jobs: int
) -> Meta:
    batch, width, scalar_term = _join(sig, displacement, dimension, degree, prepend)
    threads = check_n_jobs(n_jobs)
    count = math.prod(batch)
    return Meta(
        outputs=(sig,),
        views=((count, width), (count, dimension), (count, width)),
        native_args=(dimension, degree, prepend, scalar_term, threads),
    )


_JOIN_PARAMS = (Param("dimension", int), Param("degree", int), Param("prepend", bool), Param("n_jobs", int))

SIG_JOIN = register(
    OpSpec(
        "sig_join",
        arrays=("sig", "displacement"),
        params=_JOIN_PARAMS,
        meta=sig_join_meta,
        rows=frozenset({"sig", "displacement"}),
    )
)


def sig_join_backprop_meta(
    d_out: Shape, sig: Shape, displacement: Shape, dimension: int, degree: int, prepend: bool, n_jobs: int
) -> Meta:
    rows_shape(d_out, "d_out")
    batch, width, scalar_term = _join(sig, displacement, dimension, degree, prepend)
    threads = check_n_jobs(n_jobs)
    if d_out != sig:
        raise ShapeError(f"d_out must be shaped like sig, {sig}, got {d_out}")
    count = math.prod(batch)
    rows, vectors = (count, width), (count, dimension)
    return Meta(
        outputs=(sig, displacement),
        views=(rows, rows, vectors, rows, vectors),
        native_args=(dimension, degree, prepend, scalar_term, threads),
    )


SIG_JOIN_BACKPROP = register(
    OpSpec(
        "sig_join_backprop",
        arrays=("d_out", "sig", "displacement"),
        params=_JOIN_PARAMS,
        meta=sig_join_backprop_meta,
        outputs=2,
        rows=frozenset({"d_out", "sig", "displacement"}),
    )
)


def linear_sig_meta(displacement: Shape, dimension: int, degree: int, scalar_term: bool, n_jobs: int) -> Meta:
    _check_dimension(dimension)
    check_non_negative_int(degree, "degree")
    check_bool(scalar_term, "scalar_term")
    threads = check_n_jobs(n_jobs)
    batch = displacement_shape(displacement, dimension)
    width = signature_length(dimension, degree, scalar_term)
    count = math.prod(batch)
    return Meta(
        outputs=((*batch, width),),
        views=((count, dimension), (count, width)),
        native_args=(dimension, degree, scalar_term, threads),
    )


LINEAR_SIG = register(
    OpSpec(
        "linear_sig",
        arrays=("displacement",),
        params=(
            Param("dimension", int),
            Param("degree", int),
            Param("scalar_term", bool),
            Param("n_jobs", int),
        ),
        meta=linear_sig_meta,
        rows=frozenset({"displacement"}),
    )
)


def parse_words(
    words: Any, alphabet: int, dimension: int, allow_empty_list: bool = False
) -> list[tuple[int, ...]]:
    """``words`` (one word as a tuple of ints, or a list of words) as a list of tuples, with
    every letter checked against the ``alphabet`` of the (transformed) path."""
    if isinstance(words, tuple):
        word_list = [words]
    elif isinstance(words, list):
        word_list = words
        if not word_list and not allow_empty_list:
            raise InvalidArgumentError("words must be a non-empty list of words (tuples of ints), got []")
    else:
        raise ArgumentTypeError(
            "words must be a tuple of integers (one word) or a list of such tuples, got "
            f"{type(words).__name__}"
        )
    parsed = []
    for i, word in enumerate(word_list):
        if not isinstance(word, tuple | list):
            hint = " (for one word, pass a tuple such as (0, 1))" if isinstance(word, int) else ""
            raise ArgumentTypeError(
                f"words[{i}] must be a tuple of integers, got {type(word).__name__}{hint}"
            )
        for letter in word:
            if not isinstance(letter, int) or isinstance(letter, bool):
                raise ArgumentTypeError(
                    f"words[{i}] must be a tuple of integers, found an element of type "
                    f"{type(letter).__name__} in {word!r}"
                )
            if not 0 <= letter < alphabet:
                channels = f"{alphabet} channels" + (
                    f" after the transforms ({dimension} before)" if alphabet != dimension else ""
                )
                raise InvalidArgumentError(
                    f"Error processing words: words[{i}] = {tuple(word)} has letter {letter}, outside "
                    f"[0, {alphabet}) for a path of {channels}"
                )
        parsed.append(tuple(word))
    return parsed


def prefix_layout(words: list[tuple[int, ...]]) -> int:
    """Coefficients in pysiglib's ``prefixes=True`` layout: every non-empty prefix of each word,
    and one entry (the constant 1) for an empty word."""
    return sum(max(len(w), 1) for w in words)


def _coefficients(
    path: Shape, words: Any, time_aug: bool, lead_lag: bool, end_time: float, prefixes: bool, n_jobs: int
) -> tuple[Shape, int, int, int, int, tuple[int, ...], tuple[int, ...], int]:
    check_path_flags(time_aug, lead_lag, end_time)
    check_bool(prefixes, "prefixes")
    threads = check_n_jobs(n_jobs)
    batch, length, dimension = path_shape(path)
    parsed = parse_words(words, augmented_dimension(dimension, time_aug, lead_lag), dimension)
    outputs = prefix_layout(parsed) if prefixes else len(parsed)
    letters = tuple(letter for w in parsed for letter in w)
    return (
        batch,
        math.prod(batch),
        length,
        dimension,
        outputs,
        letters,
        tuple(len(w) for w in parsed),
        threads,
    )


_COEF_FLAGS = (Param("time_aug", bool), Param("lead_lag", bool), Param("end_time", float))


def sig_coef_meta(
    path: Shape, words: Any, time_aug: bool, lead_lag: bool, end_time: float, prefixes: bool, n_jobs: int
) -> Meta:
    batch, count, length, dimension, outputs, letters, lengths, threads = _coefficients(
        path, words, time_aug, lead_lag, end_time, prefixes, n_jobs
    )
    return Meta(
        outputs=((*batch, outputs),),
        views=((count, length, dimension), (count, outputs)),
        native_args=(letters, lengths, time_aug, lead_lag, end_time, prefixes, threads),
    )


SIG_COEF = register(
    OpSpec(
        "sig_coef",
        arrays=("path",),
        params=(Param("words", Words), *_COEF_FLAGS, Param("prefixes", bool), Param("n_jobs", int)),
        meta=sig_coef_meta,
    )
)


def sig_coef_backprop_meta(
    path: Shape,
    coefs: Shape,
    derivs: Shape,
    words: Any,
    time_aug: bool,
    lead_lag: bool,
    end_time: float,
    n_jobs: int,
) -> Meta:
    batch, count, length, dimension, outputs, letters, lengths, threads = _coefficients(
        path, words, time_aug, lead_lag, end_time, True, n_jobs
    )
    expected = (*batch, outputs)
    for name, shape in (("coefs", coefs), ("derivs", derivs)):
        rows_shape(shape, name)
        if shape[-1] != outputs:
            raise ShapeError(
                f"Expected {name}.shape[-1] == {outputs}, got {name} of shape {shape}. Please make "
                f"sure coefs was generated using prefixes=True."
            )
        if shape != expected:
            raise ShapeError(f"{name} must have shape {expected} (the path's batch shape), got {shape}")
    flat_path = (count, length, dimension)
    return Meta(
        outputs=(path,),
        views=(flat_path, None, (count, outputs), flat_path),  # coefs: only checked
        native_args=(letters, lengths, time_aug, lead_lag, end_time, threads),
    )


SIG_COEF_BACKPROP = register(
    OpSpec(
        "sig_coef_backprop",
        arrays=("path", "coefs", "derivs"),
        params=(Param("words", Words), *_COEF_FLAGS, Param("n_jobs", int)),
        meta=sig_coef_backprop_meta,
        rows=frozenset({"derivs"}),
    )
)


def extract_sig_coef_indices(
    sig_shape: Shape, words: Any, dimension: Any, time_aug: Any, lead_lag: Any, scalar_term: Any
) -> tuple[Shape, list[int]]:
    """Checks ``extract_sig_coef``'s arguments (a pure function over shapes, not an op: the
    coefficients are picked by indexing); returns the output shape and the indices of the words'
    coefficients along the signature's last axis."""
    check_non_negative_int(dimension, "dimension")
    check_bool(time_aug, "time_aug")
    check_bool(lead_lag, "lead_lag")
    check_bool(scalar_term, "scalar_term")
    if dimension == 0:
        raise InvalidArgumentError("dimension must be at least 1, got dimension = 0")
    alphabet = augmented_dimension(dimension, time_aug, lead_lag)
    parsed = parse_words(words, alphabet, dimension, allow_empty_list=True)
    if len(sig_shape) < 1:
        raise ShapeError("sig must have at least rank 1, got rank 0")
    length = sig_shape[-1]
    longest = max((len(w) for w in parsed), default=0)
    # The length must be that of a signature of this alphabet and format at some degree, at
    # least the longest word's: this catches a wrong scalar_term (a shift by one) too.
    degree = longest
    while signature_length(alphabet, degree, scalar_term) < length:
        degree += 1
    if signature_length(alphabet, degree, scalar_term) != length:
        fmt = "with" if scalar_term else "without"
        raise ShapeError(
            f"sig has length {length}, which is not the length of a signature of {alphabet} channels "
            f"{fmt} the scalar term at any degree >= {longest} (the longest word's length); check "
            f"dimension, time_aug, lead_lag and scalar_term"
        )
    return (*sig_shape[:-1], len(parsed)), [_word_to_idx(w, alphabet, scalar_term) for w in parsed]
