"""Signatures of paths and their gradients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import numpy as np

from . import _core
from ._checks import augmented_dimension, check_bool, check_non_negative_int, signature_length
from ._run import run
from ._sig_options import sig_backprop_with_options, sig_with_options, uses_options
from ._specs.signature import SIG, SIG_BACKPROP, SIG_BACKPROP_JVP, warn_if_not_finite
from ._typing import Array

#: The dtypes the native code reads in place: float32 and float64 in native byte order.
_NATIVE_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def sig_length(
    dimension: int,
    degree: int,
    *,
    time_aug: bool = False,
    lead_lag: bool = False,
    scalar_term: bool = False,
) -> int:
    r"""Number of coefficients of a truncated signature.

        Σₖ₌₀ᴺ dᵏ = (dᴺ⁺¹ - 1)/(d - 1),

    less one without the scalar term, where d is the path's dimension after the transforms
    (``lead_lag`` doubles it, ``time_aug`` adds one) and N the degree.

    Parameters
    ----------
    dimension : int
        Number of channels of the path, d.
    degree : int
        Truncation level, N.
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
    correction: Array | None = None,
    n_jobs: int = 1,
    stream: bool = False,
    lengths: Any = None,
) -> Array:
    r"""Truncated signature of a path, or of each path in a batch.

    For a path x: [0, T] → ℝᵈ the signature truncated at degree N is

        S(x) = (1, S(x)⁽¹⁾, …, S(x)⁽ᴺ⁾),
        S(x)⁽ᵏ⁾ = ∫_(0 < t₁ < ⋯ < tₖ < T) dx_(t₁) ⊗ ⋯ ⊗ dx_(tₖ)
        ∈ (ℝᵈ)^(⊗ k).

    The path is taken piecewise linear between its points, so its signature is the Chen product
    exp(z₁) ⊗ ⋯ ⊗ exp(z_(L-1)) of the exponentials of its increments;
    each is folded in with a fused multiply-exponentiate (Horner's scheme), about dᴺ
    multiply-adds per increment.

    Parameters
    ----------
    path : numpy.ndarray or torch.Tensor
        float32 or float64, shape ``(length, dimension)`` for one path or
        ``(*batch, length, dimension)`` for a batch. Any memory layout; never modified. A CUDA
        tensor is computed on its GPU, on torch's current stream, and the result stays there.
    degree : int
        Truncation level N ≥ 0.
    time_aug : bool
        Append time as the last channel, x̂_(tᵢ) = (x_(tᵢ), tᵢ), with the
        tᵢ evenly spaced from 0 to ``end_time``.
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
    correction : numpy.ndarray or torch.Tensor, optional
        Per-segment higher-level terms (pysiglib's ``correction``): segment t enters the
        signature as exp(Δxₜ + cₜ⁽²⁾ + ⋯ + cₜ⁽ᵐ⁾) instead of
        exp(Δxₜ), the segments chained by Chen products. A row holds levels
        2..m (2 ≤ m ≤ N) over the path's own d channels, concatenated
        in the signature's layout: C = d² + ⋯ + dᵐ values, higher levels zero.
        Shape ``(C,)`` (one row for every segment), ``(length - 1, C)`` (one per segment, shared by
        the batch) or ``(*batch, length - 1, C)`` (one per segment of each path); same container,
        dtype and device as ``path``. With ``time_aug`` the rows stay over the original channels
        (time gets no correction); not with ``lead_lag``. None or an empty array: no correction.
        c⁽²⁾ = -1/2 ΣΔt gives the Itô signature of a Brownian path
        with covariance Σ sampled every Δt. Each corrected step costs
        about m plain ones.
    n_jobs : int
        Threads: 1 runs serially, -1 uses all, and n < -1 all but |n| - 1.
        A batch is split across threads; a few long paths are instead cut in time, the pieces
        signed in parallel and joined by Chen products. The GIL is released throughout, so other
        Python threads run meanwhile. Unused for CUDA tensors, which use the whole GPU.
    stream : bool
        Return the signature of every prefix (signatory's ``stream=True``): row t is
        S(x)_([0, t+1]), the signature of the first t + 2 points of the
        transformed path (time augmentation still spans the whole path, as in the full
        signature), computed in the same pass as the full signature. Not in pysiglib.
    lengths : array of int, optional
        Ragged batches (not in pysiglib or signatory): an integer numpy array, torch tensor or list
        of the batch shape; path i is its first ``lengths[i]`` points
        (1 ≤ ``lengths[i]`` ≤ ``length``) and the rest of its rows are never
        read. The result equals signing each truncated path alone: time augmentation runs from 0
        to ``end_time`` over the path's own points, lead-lag over its own points. With
        ``stream``, the prefixes past a path's end repeat its whole signature (as if the path
        stood still). A ``correction`` of shape ``(*batch, length - 1, C)`` is read over each
        path's own segments.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        Same container and dtype as ``path``, shape ``(*batch, sig_length)`` where
        ``sig_length = sig_length(dimension, degree, time_aug=..., lead_lag=..., scalar_term=...)``;
        with ``stream``, ``(*batch, steps, sig_length)``, ``steps`` being the transformed path's
        increments (``length - 1``, or ``2 * length - 2`` with ``lead_lag``).
        The word (i₁, …, iₖ) of level k sits at offset
        d + ⋯ + dᵏ⁻¹ + i₁ dᵏ⁻¹ + ⋯ + iₖ (plus one with the scalar term).
        A path of a single point has the zero signature.

    Raises
    ------
    TypeError
        For arguments of the wrong type: a path or correction that is not a float32/float64
        array or tensor, ``lengths`` that are not integers, a non-bool flag.
    ValueError
        For a correction of another shape or width (``correction length must be a prefix of
        tensor levels 2..degree``), a non-empty correction with ``degree < 2`` or ``lead_lag``, a
        correction of another container, dtype or device than ``path``, ``lengths`` not of the
        batch shape or outside ``1..length``.
    tensorsig.exceptions.DeviceError
        For CUDA tensors with ``correction``, ``stream`` or ``lengths`` (CPU only for now); a
        ``RuntimeError``.

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

    The Itô signature of sampled Brownian paths: the diagonal of level 2 (words 00 and 11, at
    2 and 5) has expectation T/2 in the plain (Stratonovich) signature, 0 in Itô's.

    >>> dt = 0.01
    >>> brownian = np.cumsum(np.random.default_rng(1).normal(0, dt**0.5, (2000, 101, 2)), axis=1)
    >>> strat = tensorsig.sig(brownian, 2)
    >>> ito = tensorsig.sig(brownian, 2, correction=-0.5 * dt * np.eye(2).ravel())
    >>> bool(np.allclose(strat[:, [2, 5]].mean(axis=0), 0.5, atol=0.1))
    True
    >>> bool(np.allclose(ito[:, [2, 5]].mean(axis=0), 0.0, atol=0.1))
    True

    Every prefix's signature, and a ragged batch:

    >>> tensorsig.sig(np.array([[0.0], [1.0], [3.0]]), 2, stream=True)
    array([[1. , 0.5],
           [3. , 4.5]])
    >>> ragged = np.array([[[0.0], [1.0], [3.0]], [[0.0], [2.0], [9.0]]])
    >>> tensorsig.sig(ragged, 2, lengths=[3, 2])   # the second path is (0) -> (2)
    array([[3. , 4.5],
           [2. , 2. ]])
    """
    if correction is None and stream is False and lengths is None:
        # The most common call, a numpy path of rank 2 or 3 in native float32/float64, goes
        # straight to the native code, which allocates the result: a call on a short path costs
        # about a quarter of the op table's general path (which parses any container and layout).
        if (
            type(path) is np.ndarray
            and path.dtype in _NATIVE_FLOATS
            and path.flags.aligned
            and (path.ndim == 3 or path.ndim == 2)
        ):
            plain = native_sig(
                _core.sig_new, path, degree, time_aug, lead_lag, end_time, horner, scalar_term, n_jobs
            )
            if plain is not None:
                return cast(Array, plain)
    elif uses_options(correction, stream, lengths):
        return cast(
            Array,
            sig_with_options(
                path,
                degree,
                time_aug,
                lead_lag,
                end_time,
                horner,
                scalar_term,
                correction,
                n_jobs,
                stream,
                lengths,
            ),
        )
    return cast(Array, run(SIG, (path,), (degree, time_aug, lead_lag, end_time, horner, scalar_term, n_jobs)))


def native_sig(
    native: Callable[..., tuple[Any, bool] | None],
    path: Any,
    degree: Any,
    time_aug: Any = False,
    lead_lag: Any = False,
    end_time: Any = 1.0,
    horner: Any = True,
    scalar_term: Any = False,
    n_jobs: Any = 1,
) -> Any:
    """``native(path, degree, time_aug, lead_lag, end_time, scalar_term, n_jobs)``, a native
    shortcut that allocates the signatures (``_core.sig_new`` for numpy arrays, ``sig_new_tensor``
    for torch_api's CPU tensors), when the other arguments have exactly the types ``sig``
    documents; None otherwise, or when the native code leaves the call to the general path (which
    then owns every error message). Called by ``sig`` and torch_api's ``sig`` themselves: the NaN
    warning names the line that called them."""
    if not (
        type(degree) is int
        and 0 <= degree < 2**32
        and type(time_aug) is bool
        and type(lead_lag) is bool
        and type(end_time) is float
        and type(horner) is bool
        and type(scalar_term) is bool
        and type(n_jobs) is int
        and n_jobs != 0
        and -(2**62) < n_jobs < 2**62
    ):
        return None
    result = native(path, degree, time_aug, lead_lag, end_time, scalar_term, n_jobs)
    if result is None:
        return None
    out, finite = result
    warn_if_not_finite(finite, stacklevel=4)
    return out


def sig_backprop(
    path: Array,
    sig: Array,
    sig_derivs: Array,
    degree: int,
    *,
    time_aug: bool = False,
    lead_lag: bool = False,
    end_time: float = 1.0,
    correction: Array | None = None,
    n_jobs: int = 1,
    stream: bool = False,
    lengths: Any = None,
) -> Array:
    r"""Gradient of a scalar function of signatures with respect to the paths.

    Given ∂F / ∂S(x) for signatures S(x) computed by :func:`sig`,
    returns ∂F / ∂x. The path is walked backwards from S(x),
    undoing each increment with exp(-zₜ) while the gradient is pushed through it, so
    the extra memory does not grow with the path's length and the cost is about three forward
    passes.

    Parameters
    ----------
    path : numpy.ndarray or torch.Tensor
        The paths, as given to :func:`sig`: ``(*batch, length, dimension)``.
    sig : numpy.ndarray or torch.Tensor
        Their signatures, ``(*batch, sig_length)``, with or without the scalar term (inferred
        from the length); with ``stream``, every prefix's, ``(*batch, steps, sig_length)``, as
        :func:`sig` returns them. The walk back starts from these values (from the last prefix
        of a stream).
    sig_derivs : numpy.ndarray or torch.Tensor
        ∂F / ∂S(x), same shape as ``sig``. The derivative of the scalar
        term, if present, does not contribute.
    degree : int
        The truncation level used for ``sig``.
    time_aug, lead_lag, end_time
        The transforms used for ``sig``.
    correction : numpy.ndarray or torch.Tensor, optional
        The correction given to :func:`sig`. A constant: no gradient is returned for it.
    n_jobs : int
        Threads, as in :func:`sig`.
    stream : bool
        ``sig`` and ``sig_derivs`` are every prefix's, as :func:`sig` returns them with
        ``stream=True``: the gradient of Σₜ ⟨ Gₜ, S(x)_([0, t+1]) ⟩, at
        the cost of one gradient of the whole signature.
    lengths : array of int, optional
        The lengths given to :func:`sig`. The gradient past each path's end is 0.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        ∂F / ∂x, same shape, container and dtype as ``path``.

    Raises
    ------
    TypeError, ValueError, tensorsig.exceptions.DeviceError
        As :func:`sig`; also ValueError for ``sig`` or ``sig_derivs`` of another shape than
        :func:`sig` returns for these arguments.

    Examples
    --------
    >>> import numpy as np, tensorsig
    >>> path = np.random.default_rng(0).normal(size=(10, 50, 3))
    >>> s = tensorsig.sig(path, 4, time_aug=True)
    >>> grad = tensorsig.sig_backprop(path, s, np.ones_like(s), 4, time_aug=True)
    >>> grad.shape
    (10, 50, 3)
    >>> lengths = np.full(10, 30)   # every path's first 30 points
    >>> prefixes = tensorsig.sig(path, 3, stream=True, lengths=lengths)
    >>> grad = tensorsig.sig_backprop(path, prefixes, np.ones_like(prefixes), 3, stream=True, lengths=lengths)
    >>> bool((grad[:, 30:] == 0).all())
    True
    """
    if uses_options(correction, stream, lengths):
        return cast(
            Array,
            sig_backprop_with_options(
                path,
                sig,
                sig_derivs,
                degree,
                time_aug,
                lead_lag,
                end_time,
                correction,
                n_jobs,
                stream,
                lengths,
            ),
        )
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

    For F = ⟨ G, S(x) ⟩ (``G = sig_derivs``) and a direction v
    shaped like the path, returns ``(jvp, hvp)``: dS(x)[v] (shaped like ``sig_derivs``,
    0 at a scalar term) and ∇² F(x)  v (shaped like the path). The first is also
    the derivative of :func:`sig_backprop`'s result with respect to ``sig_derivs`` along ``v``,
    the second its derivative along ``v``: together, the double backward of a signature. Both
    are exact (the signature and its backward pass run on dual numbers x + εv).
    """
    jvp, hvp = run(
        SIG_BACKPROP_JVP,
        (path, directions, sig_derivs),
        (degree, time_aug, lead_lag, end_time, n_jobs),
        warn_grad=False,
    )
    return jvp, hvp
