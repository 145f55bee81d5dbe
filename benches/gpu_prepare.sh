#!/usr/bin/env bash
# Puts what benches/gpu_check.py needs on a GPU machine without network into .gpu/ (git-ignored):
# tensorsig's abi3 wheel (CPU and CUDA in one) and the peer's wheels, pysiglib and pysiglib-cuda
# 4.0.0 for Python 3.12. Builds here: the GPU machine builds nothing.
#
#   bash benches/gpu_prepare.sh
#   # then, on the GPU machine (the device tool: carry [".gpu"]):
#   python3 -m pip install -q --no-index --no-deps --target /tmp/site .gpu/*.whl && \
#     PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1 python3 benches/gpu_check.py
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
rm -rf .gpu && mkdir -p .gpu
maturin build --release --out .gpu
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  -d .gpu pysiglib==4.0.0 pysiglib-cuda==4.0.0
ls -la .gpu
du -sh .gpu
