"""Kernel scores and the maximum mean discrepancy between distributions of paths, from Gram
matrices of signature kernels (the ``sigkernel`` package's estimators, as pysiglib 4.0 computes
them)."""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Callable
from typing import Any, TypedDict

import numpy as np

from ._operands import operand
from ._sigkernel import sig_kernel_gram
from ._specs.sigkernel import path_shape_meta, sig_kernel_gram_meta
from .exceptions import ArgumentTypeError, InvalidArgumentError, ShapeError


class _GramOptions(TypedDict):
    """The options of :func:`sig_kernel_gram` the estimators pass through (``static_kernel`` apart)."""

    method: str
    dyadic_order: int | tuple[int, int] | None
    order: int | None
    time_aug: bool
    lead_lag: bool
    end_time: float
    n_jobs: int
    max_batch: int


class _ScoreOptions(_GramOptions):
    """:class:`_GramOptions` and the static kernel, as :func:`expected_sig_score` passes them on."""

    static_kernel: Any


def _samples(value: Any, name: str) -> tuple[Any, tuple[int, ...]]:
    """A batch of paths as a 3-D array or tensor (batch dimensions flattened; one path becomes a batch
    of one), and its batch shape. Gradients are the Gram function's business (the plain one warns
    about tensors that require grad, torch_api's tracks them)."""
    op = operand(value, name, warn_grad=False)
    shape = path_shape_meta(op.shape, name)
    flat = value.reshape((shape.n_paths, shape.length, shape.dimension))
    return flat, shape.batch


def _check_lam(lam: Any) -> float:
    if isinstance(lam, bool) or not isinstance(lam, numbers.Real):
        raise ArgumentTypeError(f"lam must be a real number, got {type(lam).__name__}")
    return float(lam)


def _off_diagonal_mean(gram: Any) -> Any:
    """The mean of the entries off the diagonal of a square Gram matrix: the unbiased estimator of
    E[k(x, x')]."""
    m = gram.shape[0]
    trace = gram.diagonal().sum()
    return (gram.sum() - trace) / (m * (m - 1))


def _sig_mmd_meta(shape1: tuple[int, ...], shape2: tuple[int, ...], **options: Any) -> tuple[int, ...]:
    """Validates :func:`sig_mmd`'s arguments (the options of :func:`sig_kernel_gram`) and shapes;
    returns the output shape, ``()``."""
    sig_kernel_gram_meta(shape1, shape2, **options)
    for name, shape in (("sample1", shape1), ("sample2", shape2)):
        count = math.prod(shape[:-2])
        if count < 2:
            raise ShapeError(f"sig_mmd requires at least 2 paths in {name} (got {count}).")
    return ()


def _sig_score_meta(
    sample_shape: tuple[int, ...], y_shape: tuple[int, ...], *, lam: Any = 1.0, **options: Any
) -> tuple[int, ...]:
    """Validates :func:`sig_score`'s arguments and shapes; returns the output shape, the batch shape
    of ``y`` (``(1,)`` for a single path)."""
    _check_lam(lam)
    sig_kernel_gram_meta(sample_shape, y_shape, **options)
    count = math.prod(sample_shape[:-2])
    if count < 2:
        raise InvalidArgumentError(f"sig_score requires at least 2 sample paths (got {count}).")
    return tuple(y_shape[:-2]) or (1,)


def _expected_sig_score_meta(
    shape1: tuple[int, ...], shape2: tuple[int, ...], *, lam: Any = 1.0, **options: Any
) -> tuple[int, ...]:
    """Validates :func:`expected_sig_score`'s arguments and shapes; returns the output shape, ``(1,)``."""
    _sig_score_meta(shape1, shape2, lam=lam, **options)
    return (1,)


def sig_mmd(
    sample1: Any,
    sample2: Any,
    *,
    method: str = "finite_difference",
    dyadic_order: int | tuple[int, int] | None = None,
    order: int | None = None,
    static_kernel: Any = None,
    time_aug: bool = False,
    lead_lag: bool = False,
    end_time: float = 1.0,
    n_jobs: int = 1,
    max_batch: int = -1,
) -> Any:
    r"""Squared maximum mean discrepancy between two samples of paths, unbiased.

    For samples {xᵢ}ᵢ₌₁ᵐ ~ μ and {yⱼ}ⱼ₌₁ⁿ ~ ν,

        d̂(μ, ν)² = 1/(m(m-1)) Σ_(i ≠ j) k(xᵢ, xⱼ)
        - 2/mn Σ_(i,j) k(xᵢ, yⱼ) + 1/(n(n-1)) Σ_(i ≠ j) k(yᵢ, yⱼ),

    the unbiased estimator of E k(x, x') - 2 E k(x, y) + E k(y, y') (Gretton et al., 2012)
    with the signature kernel k of :func:`sig_kernel` -- a two-sample test statistic for
    distributions of paths. It can be negative. The within-sample Gram matrices solve each
    unordered pair once.

    Parameters
    ----------
    sample1, sample2 : numpy.ndarray or torch.Tensor
        ``(*batch1, length1, d)`` and ``(*batch2, length2, d)``; the batch dimensions are flattened
        into m, n ≥ 2 paths.
    method, dyadic_order, order, static_kernel, time_aug, lead_lag, end_time, n_jobs, max_batch
        As in :func:`sig_kernel_gram`.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        A 0-d array (0-d tensor) in the samples' dtype.

    Raises
    ------
    ValueError
        Fewer than 2 paths in a sample; the argument errors of :func:`sig_kernel_gram`.

    Examples
    --------
    >>> import numpy as np, tensorsig
    >>> rng = np.random.default_rng(0)
    >>> a = rng.normal(size=(20, 30, 2)).cumsum(axis=1) / 30
    >>> b = rng.normal(size=(20, 30, 2)).cumsum(axis=1) / 30 + np.linspace(0, 0.5, 30)[:, None]
    >>> same = tensorsig.sig_mmd(a[:10], a[10:], dyadic_order=0)
    >>> different = tensorsig.sig_mmd(a, b, dyadic_order=0)
    >>> bool(different > same)
    True
    """
    return _sig_mmd(
        sig_kernel_gram,
        sample1,
        sample2,
        method=method,
        dyadic_order=dyadic_order,
        order=order,
        static_kernel=static_kernel,
        time_aug=time_aug,
        lead_lag=lead_lag,
        end_time=end_time,
        n_jobs=n_jobs,
        max_batch=max_batch,
    )


def _sig_mmd(
    gram: Callable[..., Any],
    sample1: Any,
    sample2: Any,
    *,
    method: str = "finite_difference",
    dyadic_order: int | tuple[int, int] | None = None,
    order: int | None = None,
    static_kernel: Any = None,
    time_aug: bool = False,
    lead_lag: bool = False,
    end_time: float = 1.0,
    n_jobs: int = 1,
    max_batch: int = -1,
) -> Any:
    """:func:`sig_mmd` over the Gram matrices of ``gram`` (numpy's or torch_api's)."""
    options = _GramOptions(
        method=method, dyadic_order=dyadic_order, order=order, time_aug=time_aug, lead_lag=lead_lag,
        end_time=end_time, n_jobs=n_jobs, max_batch=max_batch,
    )  # fmt: skip
    x, _ = _samples(sample1, "sample1")
    y, _ = _samples(sample2, "sample2")
    _sig_mmd_meta(tuple(x.shape), tuple(y.shape), **options)
    xx = gram(x, x, static_kernel=static_kernel, **options)
    xy = gram(x, y, static_kernel=static_kernel, **options)
    yy = gram(y, y, static_kernel=static_kernel, **options)
    mmd = _off_diagonal_mean(xx) - 2.0 * xy.mean() + _off_diagonal_mean(yy)
    # numpy reduces to a scalar; the result is a 0-d array, as for tensors.
    return np.asarray(mmd) if isinstance(xx, np.ndarray) else mmd


def sig_score(
    sample: Any,
    y: Any,
    *,
    method: str = "finite_difference",
    dyadic_order: int | tuple[int, int] | None = None,
    order: int | None = None,
    lam: float = 1.0,
    static_kernel: Any = None,
    time_aug: bool = False,
    lead_lag: bool = False,
    end_time: float = 1.0,
    n_jobs: int = 1,
    max_batch: int = -1,
) -> Any:
    r"""The signature kernel score of a sample against each observed path, unbiased.

    For a sample {xᵢ}ᵢ₌₁ᵐ ~ μ and an observation y,

        φ̂(μ, y) = λ/(m(m-1)) Σ_(i ≠ j) k(xᵢ, xⱼ)
        - 2/m Σᵢ k(xᵢ, y),

    the estimator of the (generalised) kernel scoring rule
    λE k(x, x') - 2 E k(x, y) (Issa et al., 2023), proper for λ = 1; used
    to train generative models of time series. Lower is better.

    Parameters
    ----------
    sample : numpy.ndarray or torch.Tensor
        ``(*batch, length1, d)``: m ≥ 2 paths after flattening the batch.
    y : numpy.ndarray or torch.Tensor
        ``(*batch_y, length2, d)``: one score per path.
    lam : float
        λ.
    method, dyadic_order, order, static_kernel, time_aug, lead_lag, end_time, n_jobs, max_batch
        As in :func:`sig_kernel_gram`.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        ``batch_y``, or ``(1,)`` for a single 2-D ``y``.

    Examples
    --------
    >>> import numpy as np, tensorsig
    >>> rng = np.random.default_rng(0)
    >>> sample = rng.normal(size=(16, 25, 2)).cumsum(axis=1) / 25
    >>> tensorsig.sig_score(sample, sample[:3], dyadic_order=0).shape
    (3,)
    """
    return _sig_score(
        sig_kernel_gram,
        sample,
        y,
        lam=lam,
        method=method,
        dyadic_order=dyadic_order,
        order=order,
        static_kernel=static_kernel,
        time_aug=time_aug,
        lead_lag=lead_lag,
        end_time=end_time,
        n_jobs=n_jobs,
        max_batch=max_batch,
    )


def _sig_score(
    gram: Callable[..., Any],
    sample: Any,
    y: Any,
    *,
    method: str = "finite_difference",
    dyadic_order: int | tuple[int, int] | None = None,
    order: int | None = None,
    lam: float = 1.0,
    static_kernel: Any = None,
    time_aug: bool = False,
    lead_lag: bool = False,
    end_time: float = 1.0,
    n_jobs: int = 1,
    max_batch: int = -1,
) -> Any:
    """:func:`sig_score` over the Gram matrices of ``gram`` (numpy's or torch_api's)."""
    options = _GramOptions(
        method=method, dyadic_order=dyadic_order, order=order, time_aug=time_aug, lead_lag=lead_lag,
        end_time=end_time, n_jobs=n_jobs, max_batch=max_batch,
    )  # fmt: skip
    x, _ = _samples(sample, "sample")
    obs, _ = _samples(y, "y")
    out_shape = _sig_score_meta(tuple(x.shape), tuple(y.shape), lam=lam, **options)
    m = x.shape[0]
    xx = gram(x, x, static_kernel=static_kernel, **options)
    xy = gram(x, obs, static_kernel=static_kernel, **options)
    score = float(lam) * _off_diagonal_mean(xx) - xy.sum(0) * (2.0 / m)
    return score.reshape(out_shape)


def expected_sig_score(
    sample1: Any,
    sample2: Any,
    *,
    method: str = "finite_difference",
    dyadic_order: int | tuple[int, int] | None = None,
    order: int | None = None,
    lam: float = 1.0,
    static_kernel: Any = None,
    time_aug: bool = False,
    lead_lag: bool = False,
    end_time: float = 1.0,
    n_jobs: int = 1,
    max_batch: int = -1,
) -> Any:
    r"""The signature kernel score averaged over a sample of observations.

        λ/(m(m-1)) Σ_(i ≠ j) k(xᵢ, xⱼ) - 2/mn Σ_(i, j) k(xᵢ, yⱼ),

    the mean of :func:`sig_score` over the paths yⱼ of ``sample2``.

    Parameters
    ----------
    sample1 : numpy.ndarray or torch.Tensor
        The model's sample, m ≥ 2 paths.
    sample2 : numpy.ndarray or torch.Tensor
        The observations, n paths.
    lam, method, dyadic_order, order, static_kernel, time_aug, lead_lag, end_time, n_jobs, max_batch
        As in :func:`sig_score`.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        Shape ``(1,)``.

    Examples
    --------
    >>> import numpy as np, tensorsig
    >>> rng = np.random.default_rng(0)
    >>> model, data = rng.normal(size=(2, 12, 20, 2)).cumsum(axis=2) / 20
    >>> tensorsig.expected_sig_score(model, data, dyadic_order=0).shape
    (1,)
    """
    return _expected_sig_score(
        sig_kernel_gram,
        sample1,
        sample2,
        lam=lam,
        method=method,
        dyadic_order=dyadic_order,
        order=order,
        static_kernel=static_kernel,
        time_aug=time_aug,
        lead_lag=lead_lag,
        end_time=end_time,
        n_jobs=n_jobs,
        max_batch=max_batch,
    )


def _expected_sig_score(
    gram: Callable[..., Any],
    sample1: Any,
    sample2: Any,
    *,
    method: str = "finite_difference",
    dyadic_order: int | tuple[int, int] | None = None,
    order: int | None = None,
    lam: float = 1.0,
    static_kernel: Any = None,
    time_aug: bool = False,
    lead_lag: bool = False,
    end_time: float = 1.0,
    n_jobs: int = 1,
    max_batch: int = -1,
) -> Any:
    """:func:`expected_sig_score` over the Gram matrices of ``gram`` (numpy's or torch_api's)."""
    options = _ScoreOptions(
        method=method, dyadic_order=dyadic_order, order=order, static_kernel=static_kernel, time_aug=time_aug,
        lead_lag=lead_lag, end_time=end_time, n_jobs=n_jobs, max_batch=max_batch,
    )  # fmt: skip
    score = _sig_score(gram, sample1, sample2, lam=lam, **options)
    return score.mean().reshape((1,))


_PRIVATE: dict[Callable[..., Any], Callable[..., Any]] = {
    sig_mmd: _sig_mmd,
    sig_score: _sig_score,
    expected_sig_score: _expected_sig_score,
}


def with_gram(function: Callable[..., Any], gram: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` (one of the metrics above) computed over the Gram matrices of ``gram``: how
    ``tensorsig.torch_api`` differentiates them through its differentiable ``sig_kernel_gram``."""
    private = _PRIVATE[function]

    @functools.wraps(function)
    def metric(*args: Any, **kwargs: Any) -> Any:
        return private(gram, *args, **kwargs)

    return metric
