"""The type stubs of the native module match what it exports (names, parameters, keywords)."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest


def test_core_stubs_match_the_extension():
    pytest.importorskip("mypy")
    allowlist = pathlib.Path(__file__).with_name("stubtest-allowlist.txt")
    command = [sys.executable, "-m", "mypy.stubtest", "tensorsig._core", "--allowlist", str(allowlist)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
