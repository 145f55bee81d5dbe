"""Every example in the public docstrings runs and prints what it says."""

from __future__ import annotations

import doctest
import importlib
import pathlib
import re

import pytest

import tensorsig

MODULES = [
    "tensorsig",
    "tensorsig._signature",
    "tensorsig._combine",
    "tensorsig._transform",
    "tensorsig._cuda",
    "tensorsig._words",
    "tensorsig._sigkernel",
    "tensorsig._sigkernel_backprop",
    "tensorsig._sigkernel_increments",
    "tensorsig._sigkernel_metrics",
    "tensorsig._static_kernels",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0


def test_every_public_function_has_an_example():
    for name in tensorsig.__all__:
        obj = getattr(tensorsig, name)
        if callable(obj):
            assert ">>>" in (obj.__doc__ or ""), f"tensorsig.{name} has no example"


def test_readme_example_runs():
    readme = pathlib.Path(__file__).resolve().parent.parent / "README.md"
    if not readme.exists():
        pytest.skip("README.md is not next to the tests")
    block = re.search(r"```python\n(.*?)```", readme.read_text(), re.S)
    assert block, "README.md has no python example"
    exec(compile(block.group(1), "README.md", "exec"), {})
