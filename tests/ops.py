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
import tensorsig as ts
from tensorsig import _signature
from tensorsig._specs import OPS


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
        return self.function(*arrays, **{**self.params, **overrides})

    def operator_args(self, *arrays: Any) -> tuple[Any, ...]:
        """The positional arguments of ``torch.ops.tensorsig.<op>``: arrays, then every parameter
        in the spec's order, defaults filled in."""
        defaults = {
            name: p.default
            for name, p in inspect.signature(self.function).parameters.items()
            if p.default is not inspect.Parameter.empty
        }
        values = {**defaults, **self.params}
        return (*arrays, *(values[p.name] for p in OPS[self.op].params))


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

#: Every op of the table has at least one case.
assert {c.op for c in CASES} == set(OPS), set(OPS) ^ {c.op for c in CASES}
