"""The kernels at the instruction-set levels below the best one this CPU has.

`tensorsig` picks its vector code once per process (AVX-512, AVX2 or portable); the rest of the
suite runs at the best level. Here the parity and reference tests run again in a fresh
interpreter capped by `TENSORSIG_SIMD`, so that the AVX2 and portable vector operations (masked
tails, transposes) are checked wherever the suite runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
MODULES = ["test_pysiglib_parity.py", "test_reference.py", "test_layouts.py"]


@pytest.mark.parametrize("level", ["avx2", "portable"])
def test_kernels_agree_at_level(level):
    env = {**os.environ, "TENSORSIG_SIMD": level}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-x",
            "-p",
            "no:cacheprovider",
            *(str(HERE / m) for m in MODULES),
        ],
        cwd=HERE.parent,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
