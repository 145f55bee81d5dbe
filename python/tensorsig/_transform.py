"""Time augmentation and the lead-lag transform, materialised."""

from __future__ import annotations

from typing import Any

from ._arrays import contiguous, empty, has_values, native
from ._checks import check_n_jobs, check_path_flags
from ._signature import _as_batch, _path_operand


def transform_path(
    path: Any,
    *,
    time_aug: bool = False,
    lead_lag: bool = False,
    end_time: float = 1.0,
    n_jobs: int = 1,
) -> Any:
    r"""Apply time augmentation and/or the lead-lag transform to paths.

    The lead-lag transform of :math:`x_0, \ldots, x_{L-1}` is the path of :math:`2L - 1` points

    .. math::

        X^{LL} = \left((x_0, x_0), (x_0, x_1), (x_1, x_1), (x_1, x_2), \ldots, (x_{L-1}, x_{L-1})\right),

    lag channels first, then lead (pysiglib's order). Time augmentation appends a last channel
    :math:`t_i = i \cdot t_L / (L' - 1)` over the :math:`L'` points, applied after lead-lag.

    :func:`sig` applies these transforms on the fly, without materialising the path; this
    function is for when the transformed path itself is wanted.

    Parameters
    ----------
    path : numpy.ndarray or torch.Tensor
        ``(*batch, length, dimension)``, float32 or float64.
    time_aug, lead_lag : bool
        The transforms to apply. With neither, ``path`` itself is returned.
    end_time : float
        :math:`t_L`, the time of the last point.
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
    check_path_flags(time_aug, lead_lag, end_time)
    if not (time_aug or lead_lag):
        return path
    n_jobs = check_n_jobs(n_jobs)
    op, batch_shape, length, dimension = _path_operand(path)
    if time_aug and length < 2:
        raise ValueError(f"transform_path(time_aug=True) requires path length >= 2, got {length}")
    new_length = 2 * length - 1 if lead_lag and length > 0 else length
    new_dimension = (2 * dimension if lead_lag else dimension) + int(time_aug)
    result, out = empty(op, (*batch_shape, new_length, new_dimension))
    if has_values(out):
        native(op, "transform_path")(
            _as_batch(op.array, batch_shape),
            _as_batch(out, batch_shape),
            time_aug,
            lead_lag,
            end_time,
            n_jobs,
        )
    return result


def transform_path_backprop(
    derivs: Any,
    *,
    time_aug: bool = False,
    lead_lag: bool = False,
    end_time: float = 1.0,
    n_jobs: int = 1,
) -> Any:
    r"""Gradients through :func:`transform_path`.

    Given :math:`\partial F / \partial \tilde x` for the transformed path, returns
    :math:`\partial F / \partial x`: each original point collects the gradients of the lag and
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
    check_path_flags(time_aug, lead_lag, end_time)
    if not (time_aug or lead_lag):
        return derivs
    n_jobs = check_n_jobs(n_jobs)
    op, batch_shape, new_length, new_dimension = _path_operand(derivs, "derivs")
    dimension = new_dimension - int(time_aug)
    if lead_lag:
        if dimension % 2:
            raise ValueError(
                f"derivs has {new_dimension} channels, which no lead-lag"
                f"{' + time' if time_aug else ''} path has (expected an even number"
                f"{' plus one' if time_aug else ''})"
            )
        if new_length % 2 == 0 and new_length > 0:
            raise ValueError(f"derivs has {new_length} points; a lead-lag path has an odd number (2L - 1)")
        dimension //= 2
    if dimension == 0:
        raise ValueError(f"derivs has {new_dimension} channels, leaving none for the original path")
    length = (new_length + 1) // 2 if lead_lag else new_length
    result, out = empty(op, (*batch_shape, length, dimension))
    if has_values(out):
        native(op, "transform_path_backprop")(
            contiguous(_as_batch(op.array, batch_shape)),
            _as_batch(out, batch_shape),
            length,
            dimension,
            time_aug,
            lead_lag,
            end_time,
            n_jobs,
        )
    return result
