"""Signatures extended by a straight segment (joins), signatures of straight segments, and the
joins' gradients."""

from __future__ import annotations

from typing import Any

from . import _core
from ._arrays import Operand, check_same_kind, contiguous, empty, has_values, native, operand
from ._checks import check_bool, check_n_jobs, check_non_negative_int, infer_scalar_term, signature_length
from ._signature import _as_batch


def native_cpu_only(op: Operand, name: str) -> Any:
    """The native function ``name`` for ``op``, or a RuntimeError for a CUDA tensor when the
    function has no CUDA version yet."""
    if op.on_gpu and not hasattr(_core, f"cuda_{name}"):
        raise RuntimeError(
            f"{name} is not implemented for CUDA tensors yet; call it on CPU tensors (move "
            f"{op.name} with .cpu()) and move the result back"
        )
    return native(op, name)


def _check_dimension(dimension: Any) -> None:
    check_non_negative_int(dimension, "dimension")
    if dimension == 0:
        raise ValueError("dimension must be at least 1, got dimension = 0")


def _check_displacement_shape(shape: tuple[int, ...], dimension: int) -> None:
    if len(shape) < 1:
        raise ValueError("displacement must have shape (..., dimension): at least rank 1, got rank 0")
    if shape[-1] != dimension:
        quirk = (
            " (pysiglib 4.0 silently drops the first of dimension + 1 values; tensorsig refuses them)"
            if shape[-1] == dimension + 1
            else ""
        )
        raise ValueError(
            f"displacement must have dimension = {dimension} values in its last axis, got shape "
            f"{shape}{quirk}"
        )


def _sig_join_meta(
    sig_shape: tuple[int, ...],
    displacement_shape: tuple[int, ...],
    dimension: Any,
    degree: Any,
    prepend: Any,
    n_jobs: Any,
) -> tuple[tuple[int, ...], bool, int]:
    """Checks :func:`sig_join`'s arguments (shapes and values, no arrays); returns the output
    shape, whether ``sig`` carries the scalar term, and the resolved ``n_jobs``."""
    _check_dimension(dimension)
    check_non_negative_int(degree, "degree")
    check_bool(prepend, "prepend")
    n_jobs = check_n_jobs(n_jobs)
    if len(sig_shape) < 1:
        raise ValueError("sig must have at least rank 1, got rank 0")
    scalar_term = infer_scalar_term(sig_shape[-1], "sig", dimension, degree)
    _check_displacement_shape(displacement_shape, dimension)
    if sig_shape[:-1] != displacement_shape[:-1]:
        raise ValueError(
            f"sig and displacement must have the same batch shape, got {sig_shape[:-1]} for sig and "
            f"{displacement_shape[:-1]} for displacement"
        )
    return sig_shape, scalar_term, n_jobs


def sig_join(
    sig: Any,
    displacement: Any,
    dimension: int,
    degree: int,
    *,
    prepend: bool = False,
    n_jobs: int = 1,
) -> Any:
    r"""Extends signatures by a straight segment: :math:`S(x) \otimes \exp(v)`, or with
    ``prepend`` :math:`\exp(v) \otimes S(x)`.

    The signature of the straight segment from 0 to :math:`v` is
    :math:`\exp(v) = (1, v, v^{\otimes 2}/2!, \ldots, v^{\otimes N}/N!)`, so by Chen's identity the
    result is the signature of the path :math:`x` with the point :math:`x_{\text{last}} + v`
    appended (or :math:`x_0 - v` put in front). It is computed as one fused multiply-exponentiate
    (Horner's scheme, about :math:`d^N` multiply-adds per signature, as one step of :func:`sig`),
    never as a Chen product with a materialised :math:`\exp(v)`, and without copying ``sig``
    first when appending. The result goes to a new array; ``sig`` is never modified.

    Parameters
    ----------
    sig : numpy.ndarray or torch.Tensor
        Signatures, ``(*batch, sig_length)``, float32 or float64, with or without the scalar
        term (inferred from ``sig_length``; the output keeps the format, and a scalar entry is
        read as 1, as for every signature).
    displacement : numpy.ndarray or torch.Tensor
        The segments :math:`v`, ``(*batch, dimension)``: the same batch shape, container and
        dtype as ``sig``. Unlike pysiglib 4.0, which silently drops the first of
        ``dimension + 1`` values, a displacement of any other width is a ValueError.
    dimension : int
        :math:`d`, the signatures' dimension (there are no transform flags: pass the dimension
        after any time augmentation or lead-lag).
    degree : int
        Their truncation level :math:`N`.
    prepend : bool
        Put the segment in front of the path instead of after it.
    n_jobs : int
        Threads, as in :func:`sig`.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        The extended signatures, same shape, format, container and dtype as ``sig``.

    Raises
    ------
    TypeError
        For arrays that are not float32/float64 numpy arrays or torch tensors, or arguments of
        the wrong type (``prepend`` must be a bool).
    ValueError
        For a ``sig`` length that fits neither format, a displacement whose last axis is not
        ``dimension``, different batch shapes, containers or dtypes, ``dimension = 0``.

    Examples
    --------
    >>> import numpy as np, tensorsig
    >>> path = np.random.default_rng(0).normal(size=(10, 3))
    >>> v = np.array([0.5, -1.0, 2.0])
    >>> joined = tensorsig.sig_join(tensorsig.sig(path, 4), v, 3, 4)
    >>> np.allclose(joined, tensorsig.sig(np.vstack([path, path[-1] + v]), 4))
    True
    >>> front = tensorsig.sig_join(tensorsig.sig(path, 4), v, 3, 4, prepend=True)
    >>> np.allclose(front, tensorsig.sig(np.vstack([path[0] - v, path]), 4))
    True
    """
    sig_op, disp_op = operand(sig, "sig"), operand(displacement, "displacement")
    check_same_kind(sig_op, disp_op)
    shape, scalar_term, n_jobs = _sig_join_meta(
        sig_op.shape, disp_op.shape, dimension, degree, prepend, n_jobs
    )
    batch_shape = shape[:-1]
    result, out = empty(sig_op, shape)
    if has_values(out):
        native_cpu_only(sig_op, "sig_join")(
            contiguous(_as_batch(sig_op.array, batch_shape)),
            contiguous(_as_batch(disp_op.array, batch_shape)),
            _as_batch(out, batch_shape),
            dimension,
            degree,
            prepend,
            scalar_term,
            n_jobs,
        )
    return result


def _sig_join_backprop_meta(
    d_out_shape: tuple[int, ...],
    sig_shape: tuple[int, ...],
    displacement_shape: tuple[int, ...],
    dimension: Any,
    degree: Any,
    prepend: Any,
    n_jobs: Any,
) -> tuple[tuple[int, ...], tuple[int, ...], bool, int]:
    """Checks :func:`sig_join_backprop`'s arguments; returns the shapes of the two gradients,
    whether ``sig`` carries the scalar term, and the resolved ``n_jobs``."""
    _, scalar_term, n_jobs = _sig_join_meta(sig_shape, displacement_shape, dimension, degree, prepend, n_jobs)
    if d_out_shape != sig_shape:
        raise ValueError(f"d_out must be shaped like sig, {sig_shape}, got {d_out_shape}")
    return sig_shape, displacement_shape, scalar_term, n_jobs


def sig_join_backprop(
    d_out: Any,
    sig: Any,
    displacement: Any,
    dimension: int,
    degree: int,
    *,
    prepend: bool = False,
    n_jobs: int = 1,
) -> tuple[Any, Any]:
    r"""Gradients through :func:`sig_join`.

    Given :math:`G = \partial F / \partial (S \otimes \exp(v))` (or of
    :math:`\exp(v) \otimes S` with ``prepend``), returns :math:`\partial F / \partial S` and
    :math:`\partial F / \partial v`. One backward pass of the fused multiply-exponentiate per
    signature, which reads :math:`S` as given: the join is not recomputed and nothing is
    recovered by walking back, so it costs about twice the join.

    Parameters
    ----------
    d_out : numpy.ndarray or torch.Tensor
        :math:`G`, shaped like ``sig``.
    sig, displacement, dimension, degree, prepend, n_jobs
        As given to :func:`sig_join`.

    Returns
    -------
    (d_sig, d_displacement)
        Shaped like ``sig`` and ``displacement``, same container and dtype. A scalar entry of
        ``sig``, which the join does not read, gets gradient 0.

    Raises
    ------
    TypeError, ValueError
        As :func:`sig_join`, and ValueError when ``d_out`` is not shaped like ``sig``.

    Examples
    --------
    >>> import numpy as np, tensorsig
    >>> rng = np.random.default_rng(0)
    >>> s = tensorsig.sig(rng.normal(size=(4, 20, 3)), 3)
    >>> v = rng.normal(size=(4, 3))
    >>> joined = tensorsig.sig_join(s, v, 3, 3)
    >>> d_sig, d_v = tensorsig.sig_join_backprop(np.ones_like(joined), s, v, 3, 3)
    >>> d_sig.shape, d_v.shape
    ((4, 39), (4, 3))
    """
    grad_op, sig_op, disp_op = (
        operand(d_out, "d_out"),
        operand(sig, "sig"),
        operand(displacement, "displacement"),
    )
    check_same_kind(grad_op, sig_op, disp_op)
    sig_shape, disp_shape, scalar_term, n_jobs = _sig_join_backprop_meta(
        grad_op.shape, sig_op.shape, disp_op.shape, dimension, degree, prepend, n_jobs
    )
    batch_shape = sig_shape[:-1]
    d_sig, d_sig_out = empty(sig_op, sig_shape)
    d_disp, d_disp_out = empty(sig_op, disp_shape)
    if not has_values(d_sig_out):
        if has_values(d_disp_out):
            d_disp_out[...] = 0  # degree 0 without the scalar term: the join is constant
        return d_sig, d_disp
    native_cpu_only(sig_op, "sig_join_backprop")(
        contiguous(_as_batch(grad_op.array, batch_shape)),
        contiguous(_as_batch(sig_op.array, batch_shape)),
        contiguous(_as_batch(disp_op.array, batch_shape)),
        _as_batch(d_sig_out, batch_shape),
        _as_batch(d_disp_out, batch_shape),
        dimension,
        degree,
        prepend,
        scalar_term,
        n_jobs,
    )
    return d_sig, d_disp


def _linear_sig_meta(
    displacement_shape: tuple[int, ...], dimension: Any, degree: Any, scalar_term: Any, n_jobs: Any
) -> tuple[tuple[int, ...], int]:
    """Checks :func:`linear_sig`'s arguments; returns the output shape and the resolved
    ``n_jobs``."""
    _check_dimension(dimension)
    check_non_negative_int(degree, "degree")
    check_bool(scalar_term, "scalar_term")
    n_jobs = check_n_jobs(n_jobs)
    _check_displacement_shape(displacement_shape, dimension)
    return (*displacement_shape[:-1], signature_length(dimension, degree, scalar_term)), n_jobs


def linear_sig(
    displacement: Any,
    dimension: int,
    degree: int,
    *,
    scalar_term: bool = False,
    n_jobs: int = 1,
) -> Any:
    r"""Signatures of straight segments: :math:`\exp(v) = (1, v, v^{\otimes 2}/2!, \ldots,
    v^{\otimes N}/N!)`, the signature of the path from 0 to :math:`v`.

    Level :math:`k` is computed as the outer product :math:`(v/k) \otimes` level :math:`k-1`:
    :math:`d + d^2 + \cdots + d^N` multiplications in all.

    Parameters
    ----------
    displacement : numpy.ndarray or torch.Tensor
        :math:`v`, ``(*batch, dimension)``, float32 or float64. Unlike pysiglib 4.0, which
        silently drops the first of ``dimension + 1`` values, any other width is a ValueError.
    dimension : int
        :math:`d`.
    degree : int
        Truncation level :math:`N`.
    scalar_term : bool
        Include the level-0 term (the constant 1) at index 0.
    n_jobs : int
        Threads, as in :func:`sig`.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        ``(*batch, sig_length(dimension, degree, scalar_term=scalar_term))``, same container and
        dtype as ``displacement``.

    Raises
    ------
    TypeError, ValueError
        For a displacement that is not a float32/float64 array or tensor of rank >= 1 with
        ``dimension`` values in its last axis, or bad ``dimension``/``degree``/flags.

    Examples
    --------
    >>> import numpy as np, tensorsig
    >>> tensorsig.linear_sig(np.array([1.0, 2.0]), 2, 2)
    array([1. , 2. , 0.5, 1. , 1. , 2. ])
    >>> v = np.random.default_rng(0).normal(size=(5, 3))
    >>> np.allclose(tensorsig.linear_sig(v, 3, 4), tensorsig.sig(np.stack([0 * v, v], axis=1), 4))
    True
    """
    disp_op = operand(displacement, "displacement")
    shape, n_jobs = _linear_sig_meta(disp_op.shape, dimension, degree, scalar_term, n_jobs)
    batch_shape = shape[:-1]
    result, out = empty(disp_op, shape)
    if has_values(out):
        native_cpu_only(disp_op, "linear_sig")(
            contiguous(_as_batch(disp_op.array, batch_shape)),
            _as_batch(out, batch_shape),
            dimension,
            degree,
            scalar_term,
            n_jobs,
        )
    return result
