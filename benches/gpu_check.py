"""The GPU check: CUDA results against the CPU path, then timings against pysiglib-cuda.

Runs on a machine with an NVIDIA GPU, torch with CUDA, and the tensorsig wheel installed; builds
nothing. ``benches/gpu_prepare.sh`` puts the wheels it needs into ``.gpu/``; the README's "GPU
check" section gives the one command that runs it on the device machine.

1. Parity. Every function (and torch_api's first and second derivatives) on CUDA tensors against
   the same call on the CPU: float64 to 1e-10 and float32 to 1e-4, relative to the result's
   largest value. Before each GPU call freed GPU memory is filled with NaN, so an output value a
   kernel forgets to write shows up as a mismatch. Cases cover strided inputs, every flag, long
   paths cut into pieces, signatures too large for shared memory, and a non-default stream.
2. Timings. tensorsig and pysiglib-cuda on the same CUDA tensors after a warm-up, each the median
   of repeats timed by CUDA events with the device synchronised (so work on any stream counts),
   with the achieved GFLOP/s of the forward against the Horner flop count.

Prints the parity table, then the timing table last; exits 1 when a parity check fails. Meant to
finish within 8 minutes on an H100.
"""

from __future__ import annotations

import argparse
import functools
import math
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

import tensorsig as ts
import tensorsig.torch_api as ta
from tensorsig._bench import horner_flops

#: The device under test; ``--dry-run`` sets the CPU, to check this script on machines without a GPU.
CUDA = torch.device("cuda")
TOLERANCE = {torch.float64: 1e-10, torch.float32: 1e-4}


def synchronize() -> None:
    if CUDA.type == "cuda":
        torch.cuda.synchronize()


def poison() -> None:
    """Fills memory the caching allocator will hand out next with NaN (both of its pools)."""
    if CUDA.type != "cuda":
        return
    for numel in (1 << 16, 1 << 22):
        block = torch.full((numel,), math.nan, device=CUDA)
        del block


def relative_error(gpu: Any, cpu: Any) -> float:
    gpu = gpu.detach().cpu().double()
    cpu = cpu.detach().double()
    if gpu.shape != cpu.shape:
        return math.inf
    if cpu.numel() == 0:
        return 0.0
    if not torch.isfinite(gpu).all():
        return math.inf
    scale = max(cpu.abs().max().item(), 1e-300)
    return (gpu - cpu).abs().max().item() / scale


class Parity:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, float, bool]] = []

    def check(self, name: str, dtype: torch.dtype, run: Callable[[torch.device], Any]) -> None:
        """``run(device)`` returns a tensor or tuple of tensors; GPU against CPU."""
        label = "f64" if dtype == torch.float64 else "f32"
        try:
            cpu = run(torch.device("cpu"))
            poison()
            gpu = run(CUDA)
            synchronize()
            cpu = cpu if isinstance(cpu, tuple) else (cpu,)
            gpu = gpu if isinstance(gpu, tuple) else (gpu,)
            error = max(relative_error(g, c) for g, c in zip(gpu, cpu))
            self.rows.append((name, label, error, error <= TOLERANCE[dtype]))
        except Exception:  # reported as a failed row; the run goes on
            traceback.print_exc()
            self.rows.append((name, label, math.nan, False))
        print(self.format(*self.rows[-1]), flush=True)  # progress, in case the run is cut short

    @staticmethod
    def format(name: str, label: str, error: float, ok: bool) -> str:
        return f"{name:<64} {label:<5} {error:>11.2e}  {'yes' if ok else 'NO'}"

    def print(self) -> bool:
        print(f"\n{'parity: GPU vs CPU':<64} {'dtype':<5} {'max rel err':>11}  ok")
        for row in self.rows:
            print(self.format(*row))
        failed = sum(not ok for *_, ok in self.rows)
        print(f"{len(self.rows) - failed}/{len(self.rows)} parity checks passed")
        return failed == 0


def paths(
    shape: tuple[int, ...], dtype: torch.dtype, device: torch.device, strided: bool = False, seed: int = 0
) -> torch.Tensor:
    """Random-walk paths with increments of size ~1/sqrt(length); strided: a transposed view."""
    generator = torch.Generator().manual_seed(seed)
    *batch, length, dim = shape
    steps = torch.randn(*batch, length, dim, dtype=torch.float64, generator=generator) / max(length, 1) ** 0.5
    x = steps.cumsum(-2).to(dtype)
    if strided:
        x = x.transpose(-1, -2).contiguous().transpose(-1, -2)
    return x.to(device)


@dataclass(frozen=True)
class Case:
    """One shape and set of flags, checked for every function."""

    batch: tuple[int, ...]
    length: int
    dim: int
    degree: int
    time_aug: bool = False
    lead_lag: bool = False
    scalar_term: bool = False
    strided: bool = False

    @property
    def flags(self) -> dict[str, bool]:
        return {"time_aug": self.time_aug, "lead_lag": self.lead_lag}

    @property
    def label(self) -> str:
        flags = f"t={int(self.time_aug)} ll={int(self.lead_lag)} s={int(self.scalar_term)}"
        strided = " strided" if self.strided else ""
        return f"{self.batch}x{self.length}x{self.dim} N={self.degree} {flags}{strided}"

    def path(self, dtype: torch.dtype, device: torch.device, seed: int = 0) -> torch.Tensor:
        return paths((*self.batch, self.length, self.dim), dtype, device, self.strided, seed)

    def weights(self, dtype: torch.dtype, device: torch.device, scalar_term: bool) -> torch.Tensor:
        width = ts.sig_length(self.dim, self.degree, scalar_term=scalar_term, **self.flags)
        generator = torch.Generator().manual_seed(1000)
        return torch.randn(*self.batch, width, dtype=dtype, generator=generator).to(device)

    def sig(self, dtype: torch.dtype, device: torch.device, seed: int = 0, scalar_term: bool | None = None):
        scalar_term = self.scalar_term if scalar_term is None else scalar_term
        return ts.sig(self.path(dtype, device, seed), self.degree, scalar_term=scalar_term, **self.flags)

    # The checks: each takes (dtype, device) and returns a tensor or a tuple of them.

    def check_sig(self, dtype, device):
        return self.sig(dtype, device)

    def check_sig_backprop(self, dtype, device):
        weights = self.weights(dtype, device, self.scalar_term)
        return ts.sig_backprop(
            self.path(dtype, device), self.sig(dtype, device), weights, self.degree, **self.flags
        )

    def check_sig_combine(self, dtype, device):
        a, b = self.sig(dtype, device, 0, False), self.sig(dtype, device, 7, False)
        weights = self.weights(dtype, device, False)
        return (
            ts.sig_combine(a, b, self.dim, self.degree, **self.flags),
            *ts.sig_combine_backprop(weights, a, b, self.dim, self.degree, **self.flags),
        )

    def check_transform_path(self, dtype, device):
        transformed = ts.transform_path(self.path(dtype, device), **self.flags)
        return transformed, ts.transform_path_backprop(transformed, **self.flags)

    def check_second_derivatives(self, dtype, device):
        path = self.path(dtype, device).requires_grad_()
        s = ta.sig(path, self.degree, **self.flags)
        weights = torch.linspace(-1, 1, s.shape[-1], dtype=s.dtype, device=device)
        (grad,) = torch.autograd.grad((s * weights).sum(), path, create_graph=True)
        (hvp,) = torch.autograd.grad(grad.pow(2).sum(), path)
        return grad, hvp

    def checks(self, dtype: torch.dtype) -> list[tuple[str, Callable]]:
        names = ["sig"]
        if self.degree > 0:
            names += ["sig_backprop", "sig_combine"]
        if self.time_aug or self.lead_lag:
            names.append("transform_path")
        if dtype == torch.float64 and self.degree > 0 and self.length <= 100 and math.prod(self.batch) > 0:
            names.append("second_derivatives")
        return [(name, getattr(self, f"check_{name}")) for name in names]


CASES = [
    Case((64,), 50, 3, 4),
    Case((64,), 50, 3, 4, True, True, True, True),
    Case((7, 5), 33, 2, 6, True, False, False, True),
    Case((), 20, 4, 3, False, True, True),
    Case((2,), 5000, 4, 4),  # few long paths: pieces joined by Chen products
    Case((3,), 3000, 3, 3, True, True, False, True),
    Case((16,), 200, 5, 3, True, False, True),  # four pieces a path
    Case((8,), 64, 8, 3, scalar_term=True),
    Case((4,), 40, 16, 3, strided=True),
    Case((2,), 30, 12, 4),  # the state does not fit in shared memory
    Case((16,), 1, 3, 3, scalar_term=True),  # no increments
    Case((16,), 10, 3, 0, scalar_term=True),
    Case((16,), 10, 5, 1, time_aug=True),
    Case((0,), 10, 3, 3),
]


def on_side_stream(dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Launches go on the caller's current stream, not the default one."""
    path = paths((128, 200, 4), dtype, device, seed=99)
    if device.type == "cpu":
        return ts.sig(path, 4)
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        out = ts.sig(path, 4)
    stream.synchronize()
    return out


def compiled_gradient(dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    path = paths((16, 40, 3), dtype, device, seed=5).requires_grad_()
    loss = torch.compile(
        lambda p: ta.sig(p, 3, time_aug=True).pow(2).sum(), fullgraph=True, backend="aot_eager"
    )
    (grad,) = torch.autograd.grad(loss(path), path)
    return grad


def parity_checks(parity: Parity) -> None:
    for dtype in (torch.float64, torch.float32):
        for case in CASES:
            for name, check in case.checks(dtype):
                parity.check(f"{name} {case.label}", dtype, functools.partial(check, dtype))
    parity.check("sig on a side stream", torch.float64, functools.partial(on_side_stream, torch.float64))
    parity.check(
        "torch.compile(fullgraph) grad", torch.float64, functools.partial(compiled_gradient, torch.float64)
    )


def timed(run: Callable[[], Any], repeats: int, budget_s: float) -> float:
    """Median seconds per call of ``run``, by CUDA events around each call, the device
    synchronised on both sides so that work on any stream (a peer may use its own) counts."""
    run()
    synchronize()
    samples: list[float] = []
    spent = time.perf_counter()
    for _ in range(repeats):
        if CUDA.type == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            run()
            torch.cuda.synchronize()
            end.record()
            end.synchronize()
            samples.append(start.elapsed_time(end) / 1e3)
        else:
            begin = time.perf_counter()
            run()
            samples.append(time.perf_counter() - begin)
        if time.perf_counter() - spent > budget_s and len(samples) >= 3:
            break
    return statistics.median(samples)


def timing_table(quick: bool, shrink: int = 1) -> list[str]:
    """The timing rows; ``shrink`` divides every batch size (for the dry run)."""
    try:
        import pysiglib
    except ImportError:
        pysiglib = None
    repeats, budget = (5, 5.0) if quick else (15, 20.0)
    device_name = torch.cuda.get_device_name() if CUDA.type == "cuda" else "none: dry run"
    lines = [
        f"{'timings (median; GPU ' + device_name + ')':<48} "
        f"{'tensorsig':>10} {'pysiglib':>10} {'ratio':>7} {'GFLOP/s':>8} {'target':>7}  met"
    ]
    met: list[bool] = []

    def row(name: str, ours: Callable, theirs: Callable | None, flops: float) -> None:
        """Times one workload; the target is issue 5's: forward 1.5x pysiglib-cuda, backward 2x."""
        target = 2.0 if "backprop" in name else 1.5
        try:
            t_ours = timed(ours, repeats, budget)
        except Exception as error:
            lines.append(f"{name:<48} failed: {error}"[:160])
            print(lines[-1], flush=True)
            return
        t_theirs = math.nan
        if theirs is not None:
            try:
                t_theirs = timed(theirs, repeats, budget)
            except Exception as error:
                print(f"pysiglib failed on {name}: {error}", file=sys.stderr)
        ratio = t_theirs / t_ours
        rate = flops / t_ours / 1e9 if flops else math.nan
        met.append(ratio >= target)
        lines.append(
            f"{name:<48} {t_ours * 1e3:>8.2f}ms {t_theirs * 1e3:>8.2f}ms {ratio:>6.2f}x {rate:>8.1f} "
            f"{target:>6.1f}x  {'yes' if met[-1] else 'NO'}"
        )
        print(lines[-1], flush=True)  # progress; the whole table is printed again at the end

    workloads = [
        ((256, 10_000, 8), 3, torch.float32),
        ((256, 10_000, 16), 3, torch.float32),
        ((4096, 256, 5), 4, torch.float32),
        ((4096, 256, 5), 4, torch.float64),
        ((32, 1024, 4), 6, torch.float32),
    ]
    for shape, degree, dtype in workloads:
        shape = (max(shape[0] // shrink, 1), *shape[1:])
        path = paths(shape, dtype, CUDA)
        s = ts.sig(path, degree)
        grads = torch.randn_like(s)
        label = f"{shape} N={degree} {'f32' if dtype == torch.float32 else 'f64'}"
        flops = shape[0] * horner_flops(shape[2], degree, shape[1] - 1)
        for name, args, work in (("sig", (path,), flops), ("sig_backprop", (path, s, grads), 0)):
            ours = functools.partial(getattr(ts, name), *args, degree)
            theirs = functools.partial(getattr(pysiglib, name), *args, degree) if pysiglib else None
            row(f"{name} {label}", ours, theirs, work)

    for batch, dim, degree in ((100_000, 5, 4), (100_000, 8, 3)):
        batch //= shrink
        a = ts.sig(paths((batch, 4, dim), torch.float32, CUDA, seed=1), degree)
        b = ts.sig(paths((batch, 4, dim), torch.float32, CUDA, seed=2), degree)
        g = torch.randn_like(a)
        label = f"({batch}, d={dim}, N={degree}) f32"
        for name, args in (("sig_combine", (a, b)), ("sig_combine_backprop", (g, a, b))):
            ours = functools.partial(getattr(ts, name), *args, dim, degree)
            theirs = functools.partial(getattr(pysiglib, name), *args, dim, degree) if pysiglib else None
            row(f"{name} {label}", ours, theirs, 0)
    lines.append(f"{sum(met)}/{len(met)} timed workloads meet their targets")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer timing repeats")
    parser.add_argument(
        "--dry-run", action="store_true", help="this script's logic on the CPU, CPU against CPU"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, tensorsig {ts.__version__}")
    if args.dry_run:
        global CUDA
        CUDA = torch.device("cpu")
        parity = Parity()
        parity_checks(parity)
        ok = parity.print()
        print("\n".join(timing_table(quick=True, shrink=256)))
        return 0 if ok else 1
    if not torch.cuda.is_available():
        print("no CUDA device: nothing to check")
        return 1
    print(f"device: {torch.cuda.get_device_name()}; tensorsig.cuda_available() = {ts.cuda_available()}")
    if not ts.cuda_available():
        print(f"tensorsig cannot use the GPU: {ts.cuda_unavailable_reason()}")
        return 1
    parity = Parity()
    parity_checks(parity)
    ok = parity.print()
    print(f"parity took {time.perf_counter() - started:.0f}s", flush=True)
    lines = timing_table(args.quick)
    print()
    print("\n".join(lines))
    print(f"total {time.perf_counter() - started:.0f}s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
