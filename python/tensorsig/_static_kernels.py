"""Static kernels: the kernels on points that the signature kernel lifts to paths.

Each class follows pysiglib 4.0's interface and definitions (same names, constructor arguments,
validation and conventions), so code written against ``pysiglib.StaticKernel`` runs unchanged:

- ``kernel(ctx, x, y)`` takes two batches of paths as 3-D torch tensors ``(batch, L1, d)`` and
  ``(batch, L2, d)`` and returns the double increments
  ``G[b, i, j] = κ(x_{i+1}, y_{j+1}) - κ(x_i, y_{j+1}) - κ(x_{i+1}, y_j) + κ(x_i, y_j)``,
  ``(batch, L1 - 1, L2 - 1)``;
- ``grad_x(ctx, derivs)`` / ``grad_y(ctx, derivs)`` turn gradients with respect to ``G`` into
  gradients with respect to ``x`` / ``y``, using what ``__call__`` saved in ``ctx``.

The signature-kernel functions never call these methods for the built-in kernels: they evaluate
them natively, row by row inside the PDE solver, without forming ``G``. The methods exist for a
user's own kernels (subclass :class:`StaticKernel`; the solver then runs on the ``G`` your
``__call__`` returns and hands ``grad_x``/``grad_y`` its gradient) and for direct use.

Numerics differ from pysiglib where pysiglib loses accuracy: distances are computed from the
differences ``x - y``, never as ``‖x‖² - 2⟨x, y⟩ + ‖y‖²`` (which cancels for points far from the
origin: float32 prices of a few thousand), and the Matérn-1/2 gradient at coincident points is 0
(a subgradient) where pysiglib's is undefined.
"""

from __future__ import annotations

import math
import numbers
import sys
import warnings
from abc import ABC, abstractmethod
from typing import Any

from .exceptions import ArgumentTypeError, InvalidArgumentError


class Context:
    """State kept between a static kernel's forward pass and its gradients.

    ``save_for_backward(*tensors)`` stores ``ctx.saved_tensors`` during ``__call__``;
    ``save_for_grad_y(*tensors)`` stores ``ctx.saved_for_y`` during ``grad_x`` so that ``grad_y``
    can reuse its work. Both start empty. Only custom :class:`StaticKernel` subclasses need it.

    Examples
    --------
    >>> import tensorsig
    >>> ctx = tensorsig.Context()
    >>> ctx.save_for_backward(1, 2)
    >>> ctx.saved_tensors, ctx.saved_for_y
    ((1, 2), ())
    """

    def __init__(self) -> None:
        self.saved_tensors: tuple[Any, ...] = ()
        self.saved_for_y: tuple[Any, ...] = ()

    def save_for_backward(self, *args: Any) -> None:
        """Keep ``args`` as ``saved_tensors`` for ``grad_x``/``grad_y``."""
        self.saved_tensors = args

    def save_for_grad_y(self, *args: Any) -> None:
        """Keep ``args`` as ``saved_for_y``: work ``grad_x`` did that ``grad_y`` can reuse."""
        self.saved_for_y = args


class StaticKernel(ABC):
    """Base class of static kernels (pysiglib's interface; see the module's docstring).

    Subclass it to use your own kernel κ in :func:`tensorsig.sig_kernel` and the
    other signature-kernel functions: implement ``__call__(ctx, x, y)`` returning the double
    increments of κ over the two paths' points, ``(batch, L1 - 1, L2 - 1)``, and its
    adjoints ``grad_x(ctx, derivs)`` ``(batch, L1, d)`` and ``grad_y(ctx, derivs)``
    ``(batch, L2, d)``, all on torch tensors.

    Examples
    --------
    >>> import torch, tensorsig
    >>> class Cosine(tensorsig.StaticKernel):
    ...     def __call__(self, ctx, x, y):
    ...         k = torch.cos(x.sum(-1, keepdim=True) - y.sum(-1).unsqueeze(1))
    ...         ctx.save_for_backward(x, y)
    ...         return k.diff(dim=1).diff(dim=2)
    ...     def grad_x(self, ctx, derivs):
    ...         x, y = ctx.saved_tensors
    ...         return _grad(x, y, derivs, 1)
    ...     def grad_y(self, ctx, derivs):
    ...         x, y = ctx.saved_tensors
    ...         return _grad(x, y, derivs, 2)
    >>> def _grad(x, y, derivs, side):
    ...     x, y = x.detach().requires_grad_(), y.detach().requires_grad_()
    ...     k = torch.cos(x.sum(-1, keepdim=True) - y.sum(-1).unsqueeze(1)).diff(dim=1).diff(dim=2)
    ...     return torch.autograd.grad(k, x if side == 1 else y, derivs)[0]
    >>> x = torch.linspace(0, 1, 12, dtype=torch.float64).reshape(1, 6, 2)
    >>> k = tensorsig.sig_kernel(x, x, dyadic_order=1, static_kernel=Cosine())
    >>> k.shape
    torch.Size([1])
    """

    @abstractmethod
    def __call__(self, ctx: Context, x: Any, y: Any) -> Any:
        """The double increments of the kernel, ``(batch, L1 - 1, L2 - 1)``."""

    @abstractmethod
    def grad_x(self, ctx: Context, derivs: Any) -> Any:
        """The gradient with respect to ``x`` given ``derivs`` for the increments."""

    @abstractmethod
    def grad_y(self, ctx: Context, derivs: Any) -> Any:
        """The gradient with respect to ``y`` given ``derivs`` for the increments."""


def _check_real(value: Any, owner: str, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError(f"{owner}: {name} must be a real number, got {type(value).__name__}")
    return float(value)


def _check_positive(value: Any, owner: str, name: str) -> float:
    v = _check_real(value, owner, name)
    if not (0 < v < math.inf):
        raise InvalidArgumentError(f"{owner}: {name} must be > 0, got {value}")
    return v


def _check_non_negative(value: Any, owner: str, name: str) -> float:
    v = _check_real(value, owner, name)
    if not (0 <= v < math.inf):
        raise InvalidArgumentError(f"{owner}: {name} must be >= 0, got {value}")
    return v


def _diff2(k: Any) -> Any:
    """Double increments of a ``(batch, L1, L2)`` tensor of kernel values."""
    return k.diff(dim=1).diff(dim=2)


def _undo_diff2(derivs: Any) -> Any:
    """The adjoint of :func:`_diff2`: gradients of the kernel values, ``(batch, L1, L2)``."""
    b, r, c = derivs.shape
    out = derivs.new_zeros((b, r + 1, c + 1))
    out[:, 1:, 1:] += derivs
    out[:, :-1, :-1] += derivs
    out[:, 1:, :-1] -= derivs
    out[:, :-1, 1:] -= derivs
    return out


def _centred(x: Any, y: Any) -> tuple[Any, Any]:
    """``x`` and ``y`` moved by a common offset (the mean of ``x``): distances are unchanged and
    the products in the gradients no longer cancel for points far from the origin."""
    centre = x.mean(dim=1, keepdim=True)
    return x - centre, y - centre


class _DistanceKernel(StaticKernel):
    """A kernel of the distance ``r = ‖x - y‖``: ``κ = f(r²)``, with ``∂κ/∂x = -w (x - y)``."""

    def _values(self, squared: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _weights(self, squared: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, ctx: Context, x: Any, y: Any) -> Any:
        import torch

        squared = torch.cdist(x, y, compute_mode="donot_use_mm_for_euclid_dist").square()
        ctx.save_for_backward(x, y, squared)
        return _diff2(self._values(squared))

    def _point_grads(self, ctx: Context, derivs: Any) -> tuple[Any, Any, Any]:
        if ctx.saved_for_y:
            return ctx.saved_for_y
        x, y, squared = ctx.saved_tensors
        m = _undo_diff2(derivs) * self._weights(squared)
        x, y = _centred(x, y)
        ctx.save_for_grad_y(x, y, m)
        return x, y, m

    def grad_x(self, ctx: Context, derivs: Any) -> Any:
        x, y, m = self._point_grads(ctx, derivs)
        return m.bmm(y) - x * m.sum(dim=2, keepdim=True)

    def grad_y(self, ctx: Context, derivs: Any) -> Any:
        x, y, m = self._point_grads(ctx, derivs)
        return m.transpose(1, 2).bmm(x) - y * m.sum(dim=1).unsqueeze(-1)


class LinearKernel(StaticKernel):
    """The linear kernel κ(x, y) = ⟨ x, y ⟩.

    Its double increments are ⟨ Δxᵢ, Δyⱼ ⟩, so the
    signature kernel is that of the truncated signatures' inner product.

    Examples
    --------
    >>> import math, numpy as np, tensorsig
    >>> x = np.array([[0.0, 0.0], [1.0, 2.0]])   # one segment: k = sum_n 5^n / (n!)^2
    >>> round(sum(5**n / math.factorial(n) ** 2 for n in range(30)), 4)
    17.0578
    >>> k = tensorsig.sig_kernel(x, x, method="polynomial", order=20, static_kernel=tensorsig.LinearKernel())
    >>> round(float(k), 4)
    17.0578
    """

    _native_name = "linear"

    def _native_params(self) -> tuple[float, ...]:
        return ()

    def __call__(self, ctx: Context, x: Any, y: Any) -> Any:
        dx, dy = x.diff(dim=1), y.diff(dim=1)
        ctx.save_for_backward(dx, dy)
        return dx.bmm(dy.transpose(1, 2))

    def grad_x(self, ctx: Context, derivs: Any) -> Any:
        _, dy = ctx.saved_tensors
        return _undo_diff1(derivs.bmm(dy))

    def grad_y(self, ctx: Context, derivs: Any) -> Any:
        dx, _ = ctx.saved_tensors
        return _undo_diff1(derivs.transpose(1, 2).bmm(dx))


def _undo_diff1(grad: Any) -> Any:
    """Gradients of points from gradients of their increments, ``(batch, L - 1, d)`` → ``(batch, L, d)``."""
    b, n, d = grad.shape
    out = grad.new_zeros((b, n + 1, d))
    out[:, 1:] += grad
    out[:, :-1] -= grad
    return out


class ScaledLinearKernel(StaticKernel):
    """The scaled linear kernel
    κ(x, y) = ⟨ s x, s y ⟩ = s² ⟨ x, y ⟩.

    ``scale`` is s ≥ 0, squared in the kernel (pysiglib's convention; the ``sigkernel``
    package's ``LinearKernel(scale)`` is not squared).

    Examples
    --------
    >>> import tensorsig
    >>> tensorsig.ScaledLinearKernel(0.5).scale
    0.5
    """

    _native_name = "scaled_linear"

    def __init__(self, scale: float = 1.0):
        self.scale = _check_non_negative(scale, "ScaledLinearKernel", "scale")
        self._linear = LinearKernel()

    def _native_params(self) -> tuple[float, ...]:
        return (float(self.scale),)

    def __call__(self, ctx: Context, x: Any, y: Any) -> Any:
        return self._linear(ctx, x, y) * (self.scale**2)

    def grad_x(self, ctx: Context, derivs: Any) -> Any:
        return self._linear.grad_x(ctx, derivs) * (self.scale**2)

    def grad_y(self, ctx: Context, derivs: Any) -> Any:
        return self._linear.grad_y(ctx, derivs) * (self.scale**2)


class RBFKernel(_DistanceKernel):
    """The RBF kernel κ(x, y) = exp(-‖ x - y ‖² / σ).

    σ > 0 is not squared and there is no factor 2 (pysiglib's and the ``sigkernel``
    package's convention).

    Examples
    --------
    >>> import numpy as np, tensorsig
    >>> x = np.array([[0.0], [1.0], [3.0]])
    >>> round(float(tensorsig.sig_kernel(x, x, dyadic_order=2, static_kernel=tensorsig.RBFKernel(1.0))), 6)
    6.689304
    """

    _native_name = "rbf"

    def __init__(self, sigma: float):
        self.sigma = _check_positive(sigma, "RBFKernel", "sigma")

    def _native_params(self) -> tuple[float, ...]:
        return (float(self.sigma),)

    def _values(self, squared: Any) -> Any:
        return (-squared / self.sigma).exp()

    def _weights(self, squared: Any) -> Any:
        return (2.0 / self.sigma) * (-squared / self.sigma).exp()


class Matern12Kernel(_DistanceKernel):
    """The Matérn-1/2 (exponential) kernel κ(x, y) = exp(-‖ x - y ‖ / σ).

    Not differentiable where x = y; its gradient there is taken to be 0 (a subgradient).

    Examples
    --------
    >>> import tensorsig
    >>> tensorsig.Matern12Kernel(2.0).sigma
    2.0
    """

    _native_name = "matern12"

    def __init__(self, sigma: float):
        self.sigma = _check_positive(sigma, "Matern12Kernel", "sigma")

    def _native_params(self) -> tuple[float, ...]:
        return (float(self.sigma),)

    def _values(self, squared: Any) -> Any:
        return (-squared.sqrt() / self.sigma).exp()

    def _weights(self, squared: Any) -> Any:
        import torch

        r = squared.sqrt()
        w = (-r / self.sigma).exp() / (self.sigma * r)
        return torch.where(r > 0, w, torch.zeros_like(w))


class Matern32Kernel(_DistanceKernel):
    """The Matérn-3/2 kernel κ = (1 + √3 r / σ) exp(-√3 r / σ),
    r = ‖ x - y ‖.

    Examples
    --------
    >>> import tensorsig
    >>> tensorsig.Matern32Kernel(1.5).sigma
    1.5
    """

    _native_name = "matern32"

    def __init__(self, sigma: float):
        self.sigma = _check_positive(sigma, "Matern32Kernel", "sigma")

    def _native_params(self) -> tuple[float, ...]:
        return (float(self.sigma),)

    def _values(self, squared: Any) -> Any:
        u = squared.sqrt() * (math.sqrt(3.0) / self.sigma)
        return (1.0 + u) * (-u).exp()

    def _weights(self, squared: Any) -> Any:
        u = squared.sqrt() * (math.sqrt(3.0) / self.sigma)
        return (3.0 / self.sigma**2) * (-u).exp()


class Matern52Kernel(_DistanceKernel):
    """The Matérn-5/2 kernel
    κ = (1 + √5 r/σ + 5 r² / (3 σ²)) exp(-√5 r / σ).

    Examples
    --------
    >>> import tensorsig
    >>> tensorsig.Matern52Kernel(0.5).sigma
    0.5
    """

    _native_name = "matern52"

    def __init__(self, sigma: float):
        self.sigma = _check_positive(sigma, "Matern52Kernel", "sigma")

    def _native_params(self) -> tuple[float, ...]:
        return (float(self.sigma),)

    def _values(self, squared: Any) -> Any:
        u = squared.sqrt() * (math.sqrt(5.0) / self.sigma)
        return (1.0 + u + u * u / 3.0) * (-u).exp()

    def _weights(self, squared: Any) -> Any:
        u = squared.sqrt() * (math.sqrt(5.0) / self.sigma)
        return (5.0 / (3.0 * self.sigma**2)) * (1.0 + u) * (-u).exp()


class RationalQuadraticKernel(_DistanceKernel):
    """The rational quadratic kernel
    κ = (1 + ‖ x - y ‖² / (2 ασ²))^(-α).

    Examples
    --------
    >>> import tensorsig
    >>> k = tensorsig.RationalQuadraticKernel(1.0, alpha=2.0)
    >>> k.sigma, k.alpha
    (1.0, 2.0)
    """

    _native_name = "rational_quadratic"

    def __init__(self, sigma: float, alpha: float = 1.0):
        self.sigma = _check_positive(sigma, "RationalQuadraticKernel", "sigma")
        self.alpha = _check_positive(alpha, "RationalQuadraticKernel", "alpha")

    def _native_params(self) -> tuple[float, ...]:
        return (float(self.sigma), float(self.alpha))

    def _values(self, squared: Any) -> Any:
        return (1.0 + squared / (2.0 * self.alpha * self.sigma**2)).pow(-self.alpha)

    def _weights(self, squared: Any) -> Any:
        base = 1.0 + squared / (2.0 * self.alpha * self.sigma**2)
        return base.pow(-self.alpha - 1.0) / self.sigma**2


class PolynomialKernel(StaticKernel):
    """The polynomial kernel κ(x, y) = s (⟨ x, y ⟩ + γ)ᵖ.

    ``degree`` p ≥ 0, ``gamma`` γ, ``scale`` s ≥ 0. A
    fractional degree clamps a negative base ⟨ x, y ⟩ + γ to 0 (its
    power would not be real) and warns once per kernel with a ``RuntimeWarning``, as pysiglib
    does. Integer degrees are exact powers of any base: pysiglib also clamps for integer degrees
    above 5, which changes the kernel ((-2)⁶ = 64, not 0); tensorsig does not.

    Examples
    --------
    >>> import tensorsig
    >>> k = tensorsig.PolynomialKernel(degree=2.0, gamma=0.5)
    >>> k.degree, k.gamma, k.scale
    (2.0, 0.5, 1.0)
    """

    _native_name = "polynomial"

    def __init__(self, degree: float = 3.0, gamma: float = 1.0, scale: float = 1.0):
        self.degree = _check_non_negative(degree, "PolynomialKernel", "degree")
        self.gamma = _check_real(gamma, "PolynomialKernel", "gamma")
        if not math.isfinite(self.gamma):
            raise InvalidArgumentError(f"PolynomialKernel: gamma must be finite, got {gamma}")
        self.scale = _check_non_negative(scale, "PolynomialKernel", "scale")
        self._warned_negative_base = False

    def _native_params(self) -> tuple[float, ...]:
        return (float(self.degree), float(self.gamma), float(self.scale))

    def _fractional(self) -> bool:
        return self.degree != int(self.degree)

    def _warn_clamped(self) -> None:
        if not self._warned_negative_base:
            self._warned_negative_base = True
            warnings.warn(
                "PolynomialKernel: non-integer degree with negative base values (<x, y> + gamma < 0). "
                "These entries are clamped to 0. Consider increasing gamma to ensure all base values "
                "are non-negative.",
                RuntimeWarning,
                stacklevel=4,
            )

    def _base(self, x: Any, y: Any) -> Any:
        base = x.bmm(y.transpose(1, 2)) + self.gamma
        if self._fractional():
            if bool((base < 0).any()):
                self._warn_clamped()
            base = base.clamp(min=0)
        return base

    def __call__(self, ctx: Context, x: Any, y: Any) -> Any:
        base = self._base(x, y)
        ctx.save_for_backward(x, y, base)
        p = self.degree if self._fractional() else int(self.degree)
        return _diff2(self.scale * base.pow(p))

    def _point_grads(self, ctx: Context, derivs: Any) -> tuple[Any, Any, Any]:
        if ctx.saved_for_y:
            return ctx.saved_for_y
        x, y, base = ctx.saved_tensors
        if self.degree == 0:
            slope = base.new_zeros(base.shape)
        elif self._fractional():
            import torch

            positive = base > 0
            safe = torch.where(positive, base, torch.ones_like(base))
            slope = torch.where(positive, self.scale * self.degree * safe.pow(self.degree - 1), 0.0)
        else:
            slope = self.scale * self.degree * base.pow(int(self.degree) - 1)
        m = _undo_diff2(derivs) * slope
        ctx.save_for_grad_y(x, y, m)
        return x, y, m

    def grad_x(self, ctx: Context, derivs: Any) -> Any:
        _, y, m = self._point_grads(ctx, derivs)
        return m.bmm(y)

    def grad_y(self, ctx: Context, derivs: Any) -> Any:
        x, _, m = self._point_grads(ctx, derivs)
        return m.transpose(1, 2).bmm(x)


_BUILTIN = {
    cls.__name__: cls
    for cls in (
        LinearKernel,
        ScaledLinearKernel,
        RBFKernel,
        Matern12Kernel,
        Matern32Kernel,
        Matern52Kernel,
        PolynomialKernel,
        RationalQuadraticKernel,
    )
}


def _pysiglib_base() -> Any:
    """pysiglib's ``StaticKernel`` base class when the process has imported pysiglib."""
    module = sys.modules.get("pysiglib.static_kernels")
    return getattr(module, "StaticKernel", None)


def check_static_kernel(kernel: Any) -> Any:
    """``kernel`` (None: the linear kernel) if it is a static kernel, else pysiglib's ValueError.

    pysiglib's own kernel objects are accepted too (same interface), so code that builds them
    can switch to tensorsig one call at a time."""
    if kernel is None:
        return LinearKernel()
    base = _pysiglib_base()
    if isinstance(kernel, StaticKernel) or (base is not None and isinstance(kernel, base)):
        return kernel
    raise InvalidArgumentError(
        f"kernel must be a child class of tensorsig.StaticKernel (or pysiglib.StaticKernel), "
        f"got {type(kernel).__name__}"
    )


def native_spec(kernel: Any) -> tuple[str, tuple[float, ...]] | None:
    """How the native solver evaluates ``kernel`` -- ``(name, parameters)`` -- or None for a kernel
    it does not have (a user's subclass), which then runs through its ``__call__``/``grad_x``/
    ``grad_y`` on torch tensors. pysiglib's built-in kernels map to the native ones by their
    parameters."""
    cls = type(kernel)
    if cls in _BUILTIN.values():
        return cls._native_name, kernel._native_params()
    if cls.__module__ == "pysiglib.static_kernels" and cls.__name__ in _BUILTIN:
        ours = _BUILTIN[cls.__name__]
        params = {
            "LinearKernel": (),
            "ScaledLinearKernel": ("scale",),
            "PolynomialKernel": ("degree", "gamma", "scale"),
            "RationalQuadraticKernel": ("sigma", "alpha"),
        }.get(cls.__name__, ("sigma",))
        return ours._native_name, tuple(float(getattr(kernel, p)) for p in params)
    return None
