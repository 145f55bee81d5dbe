"""Time augmentation and the lead-lag transform, materialised."""

from __future__ import annotations

from typing import cast

from ._run import run
from ._specs.transform import TRANSFORM_PATH, TRANSFORM_PATH_BACKPROP
from ._typing import Array


def transform_path(
    path: Array,
    *,
    time_aug: bool = False,
    lead_lag: bool = False,
    end_time: float = 1.0,
    n_jobs: int = 1,
) -> Array:
    r"""Apply time augmentation and/or the lead-lag transform to paths.

    The lead-lag transform of x₀, …, x_(L-1) is the path of 2L - 1 points

        X^(LL) = ((x₀, x₀), (x₀, x₁), (x₁, x₁), (x₁, x₂), …, (x_(L-1), x_(L-1))),

    lag channels first, then lead (pysiglib's order). Time augmentation appends a last channel
    tᵢ = i · t_L / (L' - 1) over the L' points, applied after lead-lag.

    :func:`sig` applies these transforms on the fly, without materialising the path; this
    function is for when the transformed path itself is wanted.

    Parameters
    ----------
    path : numpy.ndarray or torch.Tensor
        ``(*batch, length, dimension)``, float32 or float64.
    time_aug, lead_lag : bool
        The transforms to apply. With neither, ``path`` itself is returned.
    end_time : float
        t_L, the time of the last point.
    n_jobs : int
        Threads, as in :func:`sig`.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        ``(*batch, length', dimension')`` with ``length' = 2 * length - 1`` under lead-lag and
        ``dimension' = 2 * dimension`` under lead-lag, plus one under time augmentation.

    Examples
    --------
    >>> import numpy as np, tensorsig
    >>> tensorsig.transform_path(np.array([[0.0, 1.0], [2.0, 3.0]]), time_aug=True, lead_lag=True)
    array([[0. , 1. , 0. , 1. , 0. ],
           [0. , 1. , 2. , 3. , 0.5],
           [2. , 3. , 2. , 3. , 1. ]])
    """
    return cast(Array, run(TRANSFORM_PATH, (path,), (time_aug, lead_lag, end_time, n_jobs)))


def transform_path_backprop(
    derivs: Array,
    *,
    time_aug: bool = False,
    lead_lag: bool = False,
    end_time: float = 1.0,
    n_jobs: int = 1,
) -> Array:
    r"""Gradients through :func:`transform_path`.

    Given ∂F / ∂ x̃ for the transformed path, returns
    ∂F / ∂x: each original point collects the gradients of the lag and
    lead copies it was turned into; the time channel does not depend on the path and is dropped.

    Parameters
    ----------
    derivs : numpy.ndarray or torch.Tensor
        ``(*batch, length', dimension')``, shaped like :func:`transform_path`'s output.
    time_aug, lead_lag, end_time, n_jobs
        As given to :func:`transform_path`. With neither transform, ``derivs`` is returned.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        ``(*batch, length, dimension)``.

    Examples
    --------
    >>> import numpy as np, tensorsig
    >>> g = np.ones((3, 5))   # gradient of a lead-lag + time path of 2 points in R^2
    >>> tensorsig.transform_path_backprop(g, time_aug=True, lead_lag=True)
    array([[3., 3.],
           [3., 3.]])
    """
    return cast(Array, run(TRANSFORM_PATH_BACKPROP, (derivs,), (time_aug, lead_lag, end_time, n_jobs)))
