"""The op table of the tests: one entry per op case, driving every concern file.

Each :class:`Case` says how to build an op's array arguments (float64, from a seed), which
parameters to pass, and what the independent reference in ``reference.py`` expects. The concern
files -- reference values (test_reference.py), bad inputs (test_bad_inputs.py), memory layouts
(test_layouts.py), threads (test_threads.py), torch's operator checks (test_torch.py) -- loop
over :data:`CASES`, so a new op is covered everywhere by adding its entries here.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import reference as ref
import reference_extras as refx
import tensorsig as ts
from tensorsig import _signature
from tensorsig._specs import OPS, Words, encode_words


@dataclass(frozen=True)
class Case:
    """One call of one op."""

    id: str
    #: The op's name in tensorsig's op table (and ``torch.ops.tensorsig``).
    op: str
    #: ``arrays(rng)``: the array arguments in the op's order, float64.
    arrays: Callable[[np.random.Generator], tuple[np.ndarray, ...]]
    #: Keyword values of the op's other parameters (the rest keep the public defaults).
    params: dict[str, Any] = field(default_factory=dict)
    #: ``reference(*arrays, **params)``: the expected result(s) in float64, or None.
    reference: Callable[..., Any] | None = None
    #: Relative tolerance in float64 against the reference (float32 uses 1e-4).
    rtol: float = 1e-10
    #: Whether torch_api differentiates the op (the second-order helper itself is not).
    differentiable: bool = True

    @property
    def function(self) -> Callable[..., Any]:
        """The Python function behind the op: public, or private for operator-only ops."""
        return _PRIVATE.get(self.op) or getattr(ts, self.op)

    def call(self, *arrays: Any, **overrides: Any) -> Any:
        """The Python function on ``arrays`` (passed by name: pysiglib puts ``words`` between
        sig_coef_backprop's arrays) and the case's parameters."""
        named = dict(zip(OPS[self.op].arrays, arrays))
        return self.function(**named, **{**self.params, **overrides})

    def operator_args(self, *arrays: Any) -> tuple[Any, ...]:
        """The positional arguments of ``torch.ops.tensorsig.<op>``: arrays, then every parameter
        in the spec's order, defaults filled in."""
        defaults = {
            name: p.default
            for name, p in inspect.signature(self.function).parameters.items()
            if p.default is not inspect.Parameter.empty
        }
        values = {**defaults, **self.params}
        params = OPS[self.op].params
        return (
            *arrays,
            *(encode_words(values[p.name]) if p.type is Words else values[p.name] for p in params),
        )


_PRIVATE: dict[str, Callable[..., Any]] = {"sig_backprop_jvp": _signature._sig_backprop_jvp}


def _paths(*shape: int, scale: float = 0.6) -> Callable[[np.random.Generator], tuple[np.ndarray, ...]]:
    return lambda rng: (rng.normal(size=shape) * scale,)


def _path_sig_derivs(shape: tuple[int, ...], degree: int, **flags: Any):
    """A path, its signature and a gradient for it."""

    def build(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        path = rng.normal(size=shape) * 0.6
        sig = ref.sig(path, degree, **flags)
        return path, sig, rng.normal(size=sig.shape)

    return build


def _jvp_arrays(shape: tuple[int, ...], degree: int, **flags: Any):
    def build(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        path = rng.normal(size=shape) * 0.6
        width = ref.sig(path, degree, **flags).shape[-1]
        return path, rng.normal(size=shape), rng.normal(size=(*shape[:-2], width))

    return build


def _jvp_reference(path, directions, sig_derivs, degree, **flags):
    """dS[v] and the Hessian-vector product of <G, S>, by central differences of the reference."""
    eps = 1e-5
    up, down = path + eps * directions, path - eps * directions
    jvp = (ref.sig(up, degree, **flags) - ref.sig(down, degree, **flags)) / (2 * eps)
    hvp = (
        ref.sig_backprop(up, sig_derivs, degree, **flags)
        - ref.sig_backprop(down, sig_derivs, degree, **flags)
    ) / (2 * eps)
    return jvp, hvp


def _signatures(count: int, batch: tuple[int, ...], dimension: int, degree: int, **flags: Any):
    """``count`` signatures of one shape (the last may serve as a gradient)."""

    def build(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        return tuple(
            ref.sig(rng.normal(size=(*batch, 4, dimension)) * 0.5, degree, **flags) for _ in range(count)
        )

    return build


def _without_path(function: Callable[..., Any]) -> Callable[..., Any]:
    """A reference of (path, sig, sig_derivs) that ignores the given signature."""
    return lambda path, sig, derivs, **params: function(path, derivs, **params)


CASES: list[Case] = [
    Case("sig", "sig", _paths(3, 6, 2), {"degree": 3}, ref.sig),
    Case(
        "sig-flags",
        "sig",
        _paths(2, 5, 3),
        {"degree": 2, "time_aug": True, "lead_lag": True, "end_time": 2.5},
        ref.sig,
    ),
    Case(
        "sig-scalar", "sig", _paths(2, 1, 5, 2), {"degree": 4, "scalar_term": True, "time_aug": True}, ref.sig
    ),
    Case("sig-one-path", "sig", _paths(7, 3), {"degree": 3, "lead_lag": True}, ref.sig),
    Case(
        "sig_backprop",
        "sig_backprop",
        _path_sig_derivs((3, 6, 2), 3),
        {"degree": 3},
        _without_path(ref.sig_backprop),
    ),
    Case(
        "sig_backprop-flags",
        "sig_backprop",
        _path_sig_derivs((2, 4, 2), 3, time_aug=True, lead_lag=True),
        {"degree": 3, "time_aug": True, "lead_lag": True},
        _without_path(ref.sig_backprop),
    ),
    Case(
        "sig_backprop_jvp",
        "sig_backprop_jvp",
        _jvp_arrays((2, 5, 2), 3, time_aug=True),
        {"degree": 3, "time_aug": True},
        _jvp_reference,
        rtol=1e-7,
        differentiable=False,
    ),
    Case(
        "sig_combine",
        "sig_combine",
        _signatures(2, (3,), 2, 4),
        {"dimension": 2, "degree": 4},
        ref.sig_combine,
    ),
    Case(
        "sig_combine-scalar-ll",
        "sig_combine",
        _signatures(2, (2, 2), 2, 3, lead_lag=True, scalar_term=True),
        {"dimension": 2, "degree": 3, "lead_lag": True},
        ref.sig_combine,
    ),
    Case(
        "sig_combine_backprop",
        "sig_combine_backprop",
        _signatures(3, (3,), 3, 3),
        {"dimension": 3, "degree": 3},
        ref.sig_combine_backprop,
    ),
    Case(
        "transform_path",
        "transform_path",
        _paths(3, 5, 2),
        {"time_aug": True, "lead_lag": True, "end_time": 2.0},
        ref.transform_path,
    ),
    Case(
        "transform_path_backprop",
        "transform_path_backprop",
        _paths(3, 9, 5),
        {"time_aug": True, "lead_lag": True},
        ref.transform_path_backprop,
    ),
]


def _join_arrays(batch: tuple[int, ...], dimension: int, degree: int, gradient: bool, **flags: Any):
    def build(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        sig = ref.sig(rng.normal(size=(*batch, 4, dimension)) * 0.5, degree, **flags)
        displacement = rng.normal(size=(*batch, dimension)) * 0.5
        return (rng.normal(size=sig.shape), sig, displacement) if gradient else (sig, displacement)

    return build


def _join_backprop_reference(d_out, sig, displacement, dimension, degree, prepend=False):
    """The join's gradients by central differences of the reference join (it is polynomial of
    low degree: differences of step 1e-4 are exact to ~1e-9)."""
    eps = 1e-4

    def along(values, i, step):
        moved = values.copy()
        moved.reshape(-1)[i] += step
        return moved

    def gradient(values, join):
        g = np.zeros_like(values)
        for i in range(values.size):
            up, down = join(along(values, i, eps)), join(along(values, i, -eps))
            g.reshape(-1)[i] = np.sum(d_out * (up - down)) / (2 * eps)
        return g

    scalar = sig.shape[-1] == ref.sig_length(dimension, degree, scalar_term=True)
    d_sig = gradient(sig, lambda s: refx.sig_join(s, displacement, dimension, degree, prepend))
    if scalar:
        d_sig[..., 0] = 0  # read as 1 whatever it holds
    d_disp = gradient(displacement, lambda v: refx.sig_join(sig, v, dimension, degree, prepend))
    return d_sig, d_disp


def _coef_arrays(shape: tuple[int, ...], words, gradient: bool, **flags: Any):
    def build(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        path = rng.normal(size=shape) * 0.6
        if not gradient:
            return (path,)
        coefs = refx.sig_coef(path, words, prefixes=True, **flags)
        return path, coefs, rng.normal(size=coefs.shape)

    return build


def _coef_backprop_reference(path, coefs, derivs, words, **flags):
    """The path gradient of <derivs, sig_coef(path, prefixes=True)> by central differences of the
    reference (polynomial in the path)."""
    eps = 1e-5
    g = np.zeros_like(path)
    for i in range(path.size):
        up, down = path.copy(), path.copy()
        up.reshape(-1)[i] += eps
        down.reshape(-1)[i] -= eps
        diff = refx.sig_coef(up, words, prefixes=True, **flags) - refx.sig_coef(
            down, words, prefixes=True, **flags
        )
        g.reshape(-1)[i] = np.sum(derivs * diff) / (2 * eps)
    return g


_WORDS = [(0, 1), (1, 0, 0), (2,), (), (0, 1, 2, 0)]

CASES += [
    Case(
        "sig_join",
        "sig_join",
        _join_arrays((3,), 3, 3, False),
        {"dimension": 3, "degree": 3},
        lambda sig, v, dimension, degree: refx.sig_join(sig, v, dimension, degree),
    ),
    Case(
        "sig_join-prepend-scalar",
        "sig_join",
        _join_arrays((2, 2), 2, 4, False, scalar_term=True),
        {"dimension": 2, "degree": 4, "prepend": True},
        refx.sig_join,
    ),
    Case(
        "sig_join_backprop",
        "sig_join_backprop",
        _join_arrays((2,), 2, 3, True),
        {"dimension": 2, "degree": 3},
        _join_backprop_reference,
        rtol=1e-7,
        # Second derivatives of joins run through sig_combine_backprop and sig_backprop (see
        # torch_api/_extras.py); the fused backward operator itself is first order.
        differentiable=False,
    ),
    Case(
        "linear_sig",
        "linear_sig",
        lambda rng: (rng.normal(size=(4, 3)),),
        {"dimension": 3, "degree": 4, "scalar_term": True},
        lambda v, dimension, degree, scalar_term: refx.linear_sig(v, degree, scalar_term),
    ),
    Case(
        "sig_coef",
        "sig_coef",
        _coef_arrays((3, 6, 3), _WORDS, False),
        {"words": _WORDS, "time_aug": True},
        refx.sig_coef,
    ),
    Case(
        "sig_coef-prefixes",
        "sig_coef",
        _coef_arrays((2, 5, 2), [(0, 1, 1), (1, 2)], False, lead_lag=True),
        {"words": [(0, 1, 1), (1, 2)], "lead_lag": True, "prefixes": True},
        refx.sig_coef,
    ),
    Case(
        "sig_coef_backprop",
        "sig_coef_backprop",
        _coef_arrays((2, 5, 3), _WORDS, True),
        {"words": _WORDS},
        _coef_backprop_reference,
        rtol=1e-7,
        differentiable=False,
    ),
]

#: Every op of the table has at least one case.
assert {c.op for c in CASES} == set(OPS), set(OPS) ^ {c.op for c in CASES}
