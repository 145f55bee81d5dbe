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
    "tensorsig.exceptions",
    "tensorsig.torch_api",
    "tensorsig._sig_join",
    "tensorsig._sig_coef",
    "tensorsig._streams",
    "tensorsig._window_stream",
    "tensorsig._logsig",
    "tensorsig._logsig_convert",
    "tensorsig._logsig_bch",
    "tensorsig._logsig_cache",
    "tensorsig._logsig_streams",
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


def test_readme_examples_run():
    """Every python block of the README, in order, in one namespace (as a reader runs them)."""
    readme = pathlib.Path(__file__).resolve().parent.parent / "README.md"
    if not readme.exists():
        pytest.skip("README.md is not next to the tests")
    text = readme.read_text()
    blocks = list(re.finditer(r"```python\n(.*?)```", text, re.S))
    assert blocks, "README.md has no python example"
    namespace: dict[str, object] = {}
    for block in blocks:
        line = text.count("\n", 0, block.start(1)) + 1
        code = "\n" * (line - 1) + block.group(1)  # tracebacks point at the README's own lines
        exec(compile(code, "README.md", "exec"), namespace)


def test_docstrings_read_as_plain_text_in_help():
    """help() shows docstrings raw: formulas are written in Unicode, not reST math markup."""
    import tensorsig.torch_api as ta

    for module in (tensorsig, ta):
        for name in module.__all__:
            doc = getattr(getattr(module, name), "__doc__", None) or ""
            assert ":math:" not in doc and ".. math::" not in doc, f"{module.__name__}.{name}"
