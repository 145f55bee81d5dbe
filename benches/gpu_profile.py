"""Where the GPU time of the check's workloads goes: CUDA kernel times, tensorsig's and pysiglib's.

Runs each workload of ``benches/gpu_check.py``'s timing table under ``torch.profiler`` (which
sees every kernel on the device, whoever launched it) and prints, per workload and library, the
kernels with their launch counts and total device time per call, next to the call's wall time.
``--workload N`` runs only workload N a few times and profiles nothing: for Nsight Compute
(``ncu --kernel-name regex:signature ... python3 benches/gpu_profile.py --workload 2``).
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import torch
from gpu_check import paths

import tensorsig as ts

CALLS = 3

WORKLOADS: list[tuple[str, Callable[[Any], Callable[[], Any]]]] = []


def workload(
    label: str, shape: tuple[int, int, int], degree: int, dtype: torch.dtype, backward: bool
) -> None:
    def make(lib: Any) -> Callable[[], Any]:
        path = paths(shape, dtype, torch.device("cuda"))
        if not backward:
            return lambda: lib.sig(path, degree)
        s = ts.sig(path, degree)
        grads = torch.randn_like(s)
        return lambda: lib.sig_backprop(path, s, grads, degree)

    WORKLOADS.append((label, make))


for _backward in (False, True):
    _name = "sig_backprop" if _backward else "sig"
    workload(f"{_name} (256, 10000, 8) N=3 f32", (256, 10_000, 8), 3, torch.float32, _backward)
    workload(f"{_name} (4096, 256, 5) N=4 f32", (4096, 256, 5), 4, torch.float32, _backward)
    workload(f"{_name} (32, 1024, 4) N=6 f32", (32, 1024, 4), 6, torch.float32, _backward)
    workload(f"{_name} (256, 10000, 16) N=3 f32", (256, 10_000, 16), 3, torch.float32, _backward)


def profile(label: str, run: Callable[[], Any], library: str) -> None:
    run()
    torch.cuda.synchronize()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
        begin = time.perf_counter()
        for _ in range(CALLS):
            run()
        torch.cuda.synchronize()
        wall = (time.perf_counter() - begin) / CALLS
    kernels: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    for event in prof.events():
        if event.device_type == torch.autograd.DeviceType.CUDA:
            entry = kernels[event.name[:60]]
            entry[0] += 1
            entry[1] += event.device_time_total
    print(f"{label:<40} {library:<9} wall {wall * 1e3:8.3f} ms per call")
    for name, (count, total) in sorted(kernels.items(), key=lambda kv: -kv[1][1]):
        print(f"    {name:<60} {count / CALLS:6.1f}x {total / CALLS / 1e3:8.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", type=int, help="run only this workload (for ncu)")
    args = parser.parse_args()
    if args.workload is not None:
        label, make = WORKLOADS[args.workload]
        run = make(ts)
        for _ in range(3):
            run()
        torch.cuda.synchronize()
        print(f"ran {label}")
        return
    try:
        import pysiglib
    except ImportError:
        pysiglib = None
    for label, make in WORKLOADS:
        profile(label, make(ts), "tensorsig")
        if pysiglib is not None:
            profile(label, make(pysiglib), "pysiglib")


if __name__ == "__main__":
    main()
