"""Shared fixtures and helpers for the tensorsig test-suite."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=int(os.environ.get("TENSORSIG_HYPOTHESIS_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
settings.load_profile("ci")

DTYPES = [np.float64, np.float32]
CONTAINERS = ["numpy", "torch"]
FLAGS = [
    {},
    {"time_aug": True},
    {"lead_lag": True},
    {"time_aug": True, "lead_lag": True, "end_time": 2.5},
]


def tolerance(dtype) -> float:
    """Relative tolerance for a computation in ``dtype`` compared with a float64 ground truth."""
    return 1e-10 if np.dtype(dtype) == np.float64 else 1e-4


def assert_close(actual, expected, dtype, scale=None) -> None:
    """``actual`` (numpy or torch) equals ``expected`` to the relative tolerance of ``dtype``,
    measured against the largest magnitude in ``expected`` (signature levels span many scales)."""
    actual = to_numpy(actual)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    if scale is None:
        scale = max(1.0, float(np.abs(expected).max())) if expected.size else 1.0
    np.testing.assert_allclose(actual, expected, rtol=tolerance(dtype), atol=tolerance(dtype) * scale)


def to_numpy(value) -> np.ndarray:
    if isinstance(value, np.ndarray):
        return value
    return value.detach().cpu().numpy()


def make(array: np.ndarray, container: str, dtype):
    """``array`` cast to ``dtype`` in the given container."""
    array = np.asarray(array, dtype=dtype)
    if container == "numpy":
        return array
    import torch

    return torch.from_numpy(array.copy())


def kind_of(value) -> tuple[str, str]:
    """(container, dtype name) of a result."""
    if isinstance(value, np.ndarray):
        return "numpy", str(value.dtype)
    return "torch", str(value.dtype).replace("torch.", "")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261126)
