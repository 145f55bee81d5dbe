"""An independent numpy reference for signature kernels, written from the definitions.

Slow and plain on purpose: static kernels as full matrices of kernel values, the finite-difference
scheme cell by cell on the refined grid, and the polynomial method as the power series
``K = Σ_n ρ^n I^n[K₀]`` of each cell (``I`` the double integral from the cell's corner), built as a
full matrix of monomial coefficients and summed along the cell's edges -- not the recurrences the
solver uses.
"""

from __future__ import annotations

import math

import numpy as np


def kernel_values(name: str, params: tuple[float, ...], x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``κ(x_p, y_q)`` for every pair of points, ``(L1, L2)``, from pysiglib's definitions."""
    inner = x @ y.T
    r2 = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    r = np.sqrt(r2)
    if name == "linear":
        return inner
    if name == "scaled_linear":
        return params[0] ** 2 * inner
    if name == "rbf":
        return np.exp(-r2 / params[0])
    if name == "matern12":
        return np.exp(-r / params[0])
    if name == "matern32":
        u = math.sqrt(3) * r / params[0]
        return (1 + u) * np.exp(-u)
    if name == "matern52":
        u = math.sqrt(5) * r / params[0]
        return (1 + u + u * u / 3) * np.exp(-u)
    if name == "polynomial":
        degree, gamma, scale = params
        base = inner + gamma
        if degree != int(degree):
            base = np.maximum(base, 0)
        return scale * base**degree
    if name == "rational_quadratic":
        sigma, alpha = params
        return (1 + r2 / (2 * alpha * sigma**2)) ** (-alpha)
    raise ValueError(name)


def increments(name: str, params: tuple[float, ...], x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``G[i, j] = κ(x_{i+1}, y_{j+1}) - κ(x_i, y_{j+1}) - κ(x_{i+1}, y_j) + κ(x_i, y_j)``."""
    k = kernel_values(name, params, x, y)
    return k[1:, 1:] - k[:-1, 1:] - k[1:, :-1] + k[:-1, :-1]


def finite_difference_grid(g: np.ndarray, dyadic_order: tuple[int, int]) -> np.ndarray:
    """The explicit second-order scheme on the grid refined ``2^λ1 × 2^λ2`` times."""
    l1, l2 = dyadic_order
    rows, cols = g.shape[0] << l1, g.shape[1] << l2
    k = np.ones((rows + 1, cols + 1))
    for i in range(rows):
        for j in range(cols):
            rho = g[i >> l1, j >> l2] / 2 ** (l1 + l2)
            k[i + 1, j + 1] = (k[i + 1, j] + k[i, j + 1]) * (1 + rho / 2 + rho**2 / 12) - k[i, j] * (
                1 - rho**2 / 12
            )
    return k


def _cell_series(rho: float, base: dict[tuple[int, int], float], order: int) -> dict[tuple[int, int], float]:
    """Coefficients ``c[(a, b)]`` of ``Σ_n ρ^n I^n[K₀]`` (``a`` the power of s, ``b`` of t), ``K₀``
    given by ``base``, keeping the terms whose power of s (for the top edge) or t (right edge) can
    still reach ``order``: ``I^n[s^a t^b] = s^(a+n) t^(b+n) a! b! / ((a+n)! (b+n)!)``."""
    out: dict[tuple[int, int], float] = {}
    for (a, b), c in base.items():
        for n in range(order + 1):
            factor = (
                rho**n
                * math.factorial(a)
                * math.factorial(b)
                / (math.factorial(a + n) * math.factorial(b + n))
            )
            key = (a + n, b + n)
            out[key] = out.get(key, 0.0) + c * factor
    return out


def polynomial_grid(g: np.ndarray, order: int) -> np.ndarray:
    """pysiglib's polynomial method: per cell, the top edge ``K(s, 1)`` and right edge ``K(1, t)`` of
    the series solution, truncated at degree ``order``. The corner constant is taken from the left
    edge for the top edge (``K₀ = b(s) - b(0) + l(t)``) and from the bottom edge for the right one."""
    rows, cols = g.shape
    size = order + 1
    unit = np.eye(size)[0]
    lefts = [unit.copy() for _ in range(cols)]
    grid = np.ones((rows + 1, cols + 1))
    for i in range(rows):
        bottom = unit.copy()
        for j in range(cols):
            left = lefts[j]
            top_base = {(a, 0): bottom[a] for a in range(1, size)}
            for b in range(size):
                top_base[(0, b)] = top_base.get((0, b), 0.0) + left[b]
            right_base = {(0, b): left[b] for b in range(1, size)}
            for a in range(size):
                right_base[(a, 0)] = right_base.get((a, 0), 0.0) + bottom[a]
            top, right = np.zeros(size), np.zeros(size)
            for (a, _b), c in _cell_series(g[i, j], top_base, order).items():
                if a < size:
                    top[a] += c
            for (_a, b), c in _cell_series(g[i, j], right_base, order).items():
                if b < size:
                    right[b] += c
            grid[i + 1, j + 1] = 0.5 * (top.sum() + right.sum())
            lefts[j], bottom = right, top
    return grid


def sig_kernel_grid(
    x: np.ndarray,
    y: np.ndarray,
    *,
    kernel: tuple[str, tuple[float, ...]] = ("linear", ()),
    dyadic_order: tuple[int, int] | None = None,
    order: int | None = None,
) -> np.ndarray:
    """One pair's grid by either method (exactly one of ``dyadic_order``, ``order``)."""
    g = increments(*kernel, np.asarray(x, np.float64), np.asarray(y, np.float64))
    if order is not None:
        return polynomial_grid(g, order)
    return finite_difference_grid(g, dyadic_order)


def truncated_signature_kernel(sx: np.ndarray, sy: np.ndarray) -> float:
    """``Σ_k ⟨S(x)_k, S(y)_k⟩`` of two signatures with the scalar term (same layout)."""
    return float(np.dot(sx, sy))
