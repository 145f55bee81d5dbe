"""scikit-learn interface: signature features of time series as a transformer.

``tensorsig.sklearn`` needs scikit-learn (``pip install "tensorsig[demo]"``); ``import tensorsig``
alone never imports it.

>>> import numpy as np
>>> from sklearn.linear_model import LogisticRegression
>>> from sklearn.pipeline import make_pipeline
>>> from sklearn.preprocessing import StandardScaler
>>> from tensorsig.sklearn import SignatureTransformer
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(300, 50, 3)).cumsum(axis=1)    # 300 random walks of 50 points in R^3
>>> y = X[:, -1, 0] > X[:, :, 0].mean(axis=1)           # did channel 0 end above its average?
>>> model = make_pipeline(SignatureTransformer(2, time_aug=True), StandardScaler(), LogisticRegression())
>>> score = model.fit(X[:200], y[:200]).score(X[200:], y[200:])   # held-out accuracy
>>> bool(score > 0.9)
True
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted

from ._checks import augmented_dimension, check_n_jobs, signature_length
from ._signature import sig
from ._transform import transform_path
from ._words import words

#: What ``X`` may be, for error messages.
_ACCEPTED = (
    "an array of shape (n_series, length, channels), (n_series, length) for univariate series, "
    "or a list of (length_i, channels) arrays"
)


class SignatureTransformer(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    r"""Truncated signatures of time series as features for scikit-learn estimators.

    Each series x₁, …, x_L ∈ ℝᵈ is read as the piecewise-linear path
    through its points and replaced by its signature truncated at ``degree`` (see
    :func:`tensorsig.sig`): the iterated integrals

        S(x)^(i₁ ⋯ iₖ) = ∫_(t₁ < ⋯ < tₖ) dx^(i₁)_(t₁) ⋯ dx^(iₖ)_(tₖ),
             1 ≤ k ≤ N,

    Σₖ₌₁ᴺ dᵏ features whatever the series' length, invariant to the speed at
    which the path is run through and, up to degree N, a universal summary of it: linear
    functions of signatures approximate continuous functions of paths. The transforms below are
    applied to each series in this order: ``basepoint``, ``lead_lag``, ``time_aug``.

    Parameters
    ----------
    degree : int
        Truncation level N ≥ 1. The feature count grows as dᴺ (``d`` the
        channels after the transforms): degree 2-4 is usual.
    time_aug : bool
        Append time as a last channel, evenly spaced from 0 to ``end_time`` over the series' own
        points (each series of a ragged list runs on its own clock). Without it the signature is
        blind to the parametrisation: a series and the same series with repeated points have one
        signature. With ``basepoint`` the origin is the first of those points (time 0).
    lead_lag : bool
        Replace the series by its lead-lag transform (:func:`tensorsig.transform_path`): ``2d``
        channels, lag copies first, so that level 2 sees quadratic variation.
    end_time : float
        The time of the last point under ``time_aug``.
    basepoint : bool
        Start each path at the origin: a zero point is prepended to every series before the other
        transforms, as signatory's ``basepoint=True`` does. Signatures only see increments, so
        without it a series and the same series shifted by a constant are indistinguishable;
        with it the first increment is the starting value itself. Use it when the level matters
        (after standardising the channels, typically).
    scalar_term : bool
        Lead with the level-0 term, a constant 1 (useless as a feature; there for completeness).
    n_jobs : int or None
        Threads for the signatures: 1 (or None) serial, -1 all, -2 all but one, ...

    Attributes
    ----------
    n_channels_in_ : int
        Channels of the series seen in :meth:`fit`; :meth:`transform` requires the same number.
    n_features_out_ : int
        Features per series, ``sig_length(n_channels_in_, degree, ...)``.

    Notes
    -----
    **Input.** ``X`` is an array ``(n_series, length, channels)`` (tensorsig's and pysiglib's
    layout: time, then channels; aeon's ``(n_cases, n_channels, n_timepoints)`` must be
    transposed); a 2-d array ``(n_series, length)`` is read as univariate series (one channel);
    a list of ``(length_i, channels)`` arrays may have series of different lengths. float32 stays
    float32; anything else is converted to float64. Series may be transformed at any length: only
    the number of channels is fixed by :meth:`fit`.

    **Series of different lengths** are never truncated: they are signed as one ragged batch
    (:func:`tensorsig.sig`'s ``lengths=``), each series over its own points -- time augmentation
    runs over each series' own clock -- so the features of a ragged list equal the signatures of
    its series computed one by one.

    **scikit-learn conventions.** Parameters are stored as given and validated by :meth:`fit`;
    the transformer clones, pickles and works in ``Pipeline`` and ``GridSearchCV``, and
    ``set_output(transform="pandas")`` labels the columns with :meth:`get_feature_names_out`.
    Because a sample is a series, not a row of features, it sets ``n_channels_in_`` rather than
    ``n_features_in_``/``feature_names_in_`` and accepts series of another length at transform
    time; the estimator checks that assume a fixed feature count do not apply (the test suite
    lists them, with their reasons).

    Examples
    --------
    >>> import numpy as np
    >>> from tensorsig.sklearn import SignatureTransformer
    >>> X = np.random.default_rng(0).normal(size=(10, 20, 2))
    >>> SignatureTransformer(3).fit_transform(X).shape        # 2 + 4 + 8 coefficients
    (10, 14)
    >>> SignatureTransformer(2, time_aug=True).fit(X).get_feature_names_out()[:5].tolist()
    ['S(0)', 'S(1)', 'S(time)', 'S(0,0)', 'S(0,1)']
    >>> ragged = [np.ones((5, 2)), np.arange(6.0).reshape(3, 2)]
    >>> SignatureTransformer(1, basepoint=True).fit_transform(ragged)   # the last points
    array([[1., 1.],
           [4., 5.]])
    """

    def __init__(
        self,
        degree: int,
        *,
        time_aug: bool = False,
        lead_lag: bool = False,
        end_time: float = 1.0,
        basepoint: bool = False,
        scalar_term: bool = False,
        n_jobs: int | None = 1,
    ) -> None:
        self.degree = degree
        self.time_aug = time_aug
        self.lead_lag = lead_lag
        self.end_time = end_time
        self.basepoint = basepoint
        self.scalar_term = scalar_term
        self.n_jobs = n_jobs

    def fit(self, X: Any, y: Any = None) -> SignatureTransformer:
        """Validates the parameters and records the number of channels of ``X``.

        Parameters
        ----------
        X : array (n_series, length, channels) or (n_series, length), or list of (length_i, channels) arrays
            The training series (their values are not used: a signature has no fitted state).
        y : ignored

        Returns
        -------
        self

        Raises
        ------
        TypeError, ValueError
            For a parameter of the wrong type or value, naming it, or ``X`` of the wrong form.
        """
        params = self._checked_params()
        series = _read_series(X)
        self.n_channels_in_ = _channels(series)
        dimension = augmented_dimension(self.n_channels_in_, params["time_aug"], params["lead_lag"])
        self.n_features_out_ = signature_length(dimension, params["degree"], params["scalar_term"])
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Signatures of the series of ``X``.

        Parameters
        ----------
        X : array (n_series, length, channels) or (n_series, length), or list of (length_i, channels) arrays
            Any length; as many channels as in :meth:`fit`.

        Returns
        -------
        numpy.ndarray of shape (n_series, n_features_out_)
            float32 for float32 input, float64 otherwise; column ``j`` is the coefficient of the
            word ``get_feature_names_out()[j]``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit`.
        ValueError
            For ``X`` of the wrong form, non-finite values, or another number of channels.
        """
        check_is_fitted(self, "n_channels_in_")
        params = self._checked_params()
        series = _read_series(X)
        channels = _channels(series)
        if channels != self.n_channels_in_:
            raise ValueError(
                f"X has {channels} channels, but SignatureTransformer was fitted on series with "
                f"{self.n_channels_in_}"
            )
        paths, flags = _native_inputs(
            series, **{k: params[k] for k in ("time_aug", "lead_lag", "end_time", "basepoint")}
        )
        degree, scalar_term, n_jobs = params["degree"], params["scalar_term"], params["n_jobs"]
        return sig(paths, degree, scalar_term=scalar_term, n_jobs=n_jobs, **flags)

    def get_feature_names_out(self, input_features: Sequence[str] | None = None) -> np.ndarray:
        """The word of each feature, as ``"S(a,b,c)"`` over the names of the channels.

        Level by level, and within a level lexicographically with the last letter fastest (the
        order of :func:`tensorsig.words`). Channels are named by ``input_features``, by default
        ``"0"``, ``"1"``, ...; under ``lead_lag`` each channel ``c`` becomes ``"c.lag"`` and
        ``"c.lead"`` (all lag copies first), and ``time_aug`` adds ``"time"`` last. The scalar term
        is ``"S()"``.

        Parameters
        ----------
        input_features : sequence of str, optional
            One name per channel.

        Returns
        -------
        numpy.ndarray of str objects, shape (n_features_out_,)
        """
        check_is_fitted(self, "n_channels_in_")
        params = self._checked_params()
        letters = _channel_names(input_features, self.n_channels_in_, params["lead_lag"], params["time_aug"])
        coefficients = words(len(letters), params["degree"])[0 if params["scalar_term"] else 1 :]
        return np.asarray([f"S({','.join(letters[i] for i in word)})" for word in coefficients], dtype=object)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def _checked_params(self) -> dict[str, Any]:
        """The parameters, validated, as plain Python values (numpy scalars from a grid are fine)."""
        degree = self.degree
        if not isinstance(degree, numbers.Integral) or isinstance(degree, bool):
            raise TypeError(f"degree must be an integer, got {type(degree).__name__}")
        if degree < 1:
            raise ValueError(f"degree must be at least 1, got degree = {degree}")
        flags = {}
        for name in ("time_aug", "lead_lag", "basepoint", "scalar_term"):
            value = getattr(self, name)
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"{name} must be of type bool, got {type(value).__name__} instead")
            flags[name] = bool(value)
        end_time = self.end_time
        if not isinstance(end_time, numbers.Real) or isinstance(end_time, bool):
            raise TypeError(f"end_time must be a real number, got {type(end_time).__name__}")
        if not np.isfinite(end_time) or end_time <= 0:
            raise ValueError(f"end_time must be positive and finite, got end_time = {end_time}")
        n_jobs = 1 if self.n_jobs is None else self.n_jobs
        if isinstance(n_jobs, numbers.Integral) and not isinstance(n_jobs, bool):
            n_jobs = int(n_jobs)
        return {
            "degree": int(degree),
            "end_time": float(end_time),
            "n_jobs": check_n_jobs(n_jobs),
            **flags,
        }


def _read_series(X: Any) -> np.ndarray | list[np.ndarray]:
    """``X`` as an array ``(n_series, length, channels)`` or, for series of different lengths, a
    list of ``(length_i, channels)`` arrays; float32 or float64, finite, at least one series,
    point and channel. ValueError (or sklearn's TypeError for sparse input) otherwise."""
    if isinstance(X, (list, tuple)) and len(X) > 0 and all(np.ndim(x) == 2 for x in X):
        shapes = {np.shape(x) for x in X}
        if len({shape[1] for shape in shapes}) > 1:
            raise ValueError(f"the series of X have different numbers of channels: {sorted(shapes)}")
        series = [
            check_array(x, dtype=(np.float64, np.float32), input_name=f"X[{i}]") for i, x in enumerate(X)
        ]
        dtype = np.result_type(*series)
        if len(shapes) > 1:
            return [s.astype(dtype, copy=False) for s in series]
        X = np.stack(series).astype(dtype, copy=False)  # float32 series stay float32
    array: np.ndarray = check_array(X, allow_nd=True, dtype=(np.float64, np.float32), input_name="X")
    if array.ndim == 2:
        array = array[:, :, np.newaxis]
    if array.ndim != 3:
        raise ValueError(f"X must be {_ACCEPTED}; got an array of shape {array.shape}")
    if array.shape[1] == 0 or array.shape[2] == 0:
        raise ValueError(
            f"X must have at least one point and one channel per series, got shape {array.shape}"
        )
    return array


def _channels(series: np.ndarray | list[np.ndarray]) -> int:
    return int(series.shape[2] if isinstance(series, np.ndarray) else series[0].shape[1])


def _channel_names(
    input_features: Sequence[str] | None, channels: int, lead_lag: bool, time_aug: bool
) -> list[str]:
    """Names of the letters of the signature's alphabet: the channels after the transforms."""
    if input_features is None:
        names = [str(i) for i in range(channels)]
    else:
        names = [str(name) for name in input_features]
        if len(names) != channels:
            raise ValueError(
                f"input_features has {len(names)} names, but the series have {channels} channels"
            )
    if lead_lag:
        names = [f"{name}.lag" for name in names] + [f"{name}.lead" for name in names]
    if time_aug:
        if "time" in names:
            raise ValueError('a channel is named "time", the name of the time channel: rename it')
        names.append("time")
    return names


def _signature_inputs(
    series: np.ndarray | list[np.ndarray],
    *,
    time_aug: bool,
    lead_lag: bool,
    end_time: float,
    basepoint: bool,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Paths and :func:`tensorsig.sig` flags such that ``sig(paths, degree, **flags)[i]`` is the
    signature of series ``i`` after the transforms, using only the flags every peer has: what the
    demo hands the libraries without ragged batches (:func:`_native_inputs` is tensorsig's own).

    ``series`` comes from :func:`_read_series`: one array, or a list of series of different
    lengths (then padded by :func:`_pad_ragged`, for peers without ragged batches: the
    transformer itself signs ragged lists with ``lengths=``)."""
    if basepoint:
        series = _with_basepoint(series)
    if isinstance(series, np.ndarray):
        return series, {"time_aug": time_aug, "lead_lag": lead_lag, "end_time": end_time}
    return _pad_ragged(series, time_aug=time_aug, lead_lag=lead_lag, end_time=end_time), {}


def _native_inputs(
    series: np.ndarray | list[np.ndarray],
    *,
    time_aug: bool,
    lead_lag: bool,
    end_time: float,
    basepoint: bool,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Paths and :func:`tensorsig.sig` keywords such that ``sig(paths, degree, **flags)[i]`` is the
    signature of series ``i`` after the transforms (a list of different lengths: a ragged batch)."""
    if basepoint:
        series = _with_basepoint(series)
    flags: dict[str, Any] = {"time_aug": time_aug, "lead_lag": lead_lag, "end_time": end_time}
    if isinstance(series, list):
        series, flags["lengths"] = _stacked(series)
    return series, flags


def _with_basepoint(series: np.ndarray | list[np.ndarray]) -> np.ndarray | list[np.ndarray]:
    """Each series started at the origin (signatory's ``basepoint=True``)."""
    if isinstance(series, np.ndarray):
        started: np.ndarray = np.concatenate([np.zeros_like(series[:, :1]), series], axis=1)
        return started
    return [np.concatenate([np.zeros_like(s[:1]), s]) for s in series]


def _stacked(series: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Series of different lengths in one array ``(n_series, max_length, channels)`` (the rows
    past each series' end are zeros, never read) and their lengths."""
    lengths = np.array([len(s) for s in series], dtype=np.int64)
    stacked = np.zeros((len(series), lengths.max(), series[0].shape[1]), dtype=series[0].dtype)
    for row, s in zip(stacked, series):
        row[: len(s)] = s
    return stacked, lengths


def _pad_ragged(series: list[np.ndarray], *, time_aug: bool, lead_lag: bool, end_time: float) -> np.ndarray:
    """Series of different lengths as one array ``(n_series, max_length', channels')`` whose
    plain signatures (no flags) equal the series' own signatures under the transforms.

    Each series is padded to the longest by repeating its last point: the padded stretch is
    constant, its increments are zero, and the signature does not change (exactly, in floating
    point too: each step multiplies by ``exp(0) = 1``). The lead-lag transform of a constant
    stretch is constant, so it is applied to the padded batch. Time is the one channel that would
    move on: each series gets its own clock, ``end_time * j / (n_i - 1)`` over its ``n_i`` points
    (after lead-lag), held at ``end_time`` over the padding.

    What a user of a library without ragged batches does (the demo times the peers on it);
    tensorsig's own ``sig(..., lengths=...)`` needs none of it.
    """
    lengths = np.array([len(s) for s in series])
    padded = np.empty((len(series), lengths.max(), series[0].shape[1]), dtype=series[0].dtype)
    for row, s in zip(padded, series):
        row[: len(s)] = s
        row[len(s) :] = s[-1]
    if lead_lag:
        padded = transform_path(padded, lead_lag=True)
        lengths = 2 * lengths - 1
    if not time_aug:
        return padded
    steps = np.arange(padded.shape[1])
    last = (lengths - 1)[:, np.newaxis]
    # A single point has no time to spread: its clock stands at 0 (sig's signature is zero too).
    clock = end_time * np.minimum(steps, last) / np.maximum(last, 1)
    return np.concatenate([padded, clock[:, :, np.newaxis].astype(padded.dtype)], axis=2)
