"""``python -m tensorsig``: a short demo and timing table; ``python -m tensorsig bench``: the
full side-by-side benchmark against pysiglib and iisignature."""

from __future__ import annotations

import argparse
import platform

import numpy as np

import tensorsig as ts

from . import _bench


def demo() -> None:
    print(
        f"tensorsig {ts.__version__} on {platform.machine()} ({platform.python_implementation()} "
        f"{platform.python_version()})\n"
    )

    print("1. The signature of a path: (0,0) -> (1,0) -> (1,1), degree 2")
    path = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    s = ts.sig(path, 2, scalar_term=True)
    print(f"   scalar  {s[:1]}\n   level 1 {s[1:3]}   (the total increment)")
    print(
        f"   level 2 {s[3:]}   (words 00 01 10 11; the area between the path and its chord "
        f"is {(s[4] - s[5]) / 2})\n"
    )

    print("2. Chen's identity: sig(x1 * x2) = sig_combine(sig(x1), sig(x2))")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 200, 4)) / np.sqrt(200)
    whole = ts.sig(x, 5, time_aug=True)
    # Time runs over [0, 1] for all 200 points: the first 101 span 100/199 of it, the last 100
    # span 99/199 (a signature sees only increments, so where the second half's clock starts
    # does not matter).
    first = ts.sig(x[:, :101], 5, time_aug=True, end_time=100 / 199)
    second = ts.sig(x[:, 100:], 5, time_aug=True, end_time=99 / 199)
    joined = ts.sig_combine(first, second, 4, 5, time_aug=True)
    print(
        f"   64 paths of 200 points in R^4 with time, degree 5: max |difference| = "
        f"{np.abs(joined - whole).max():.2e}\n"
    )

    print(
        "3. Timings against pysiglib / iisignature (min of interleaved repeats; ratio > 1: tensorsig "
        "is faster)"
    )
    workloads = _bench.demo_workloads()
    _bench.measure(workloads, repeats=5, budget_s=1.0)
    print(_bench.format_table(workloads))
    print("\n`python -m tensorsig bench` runs the full benchmark.")


def bench(quick: bool) -> None:
    workloads = _bench.full_workloads()
    _bench.measure(workloads, repeats=3 if quick else 7, budget_s=1.0 if quick else 4.0)
    print(_bench.format_table(workloads))
    missed = [w.name for w in workloads if w.check is not None and not w.check(w.times)]
    print(
        f"\n{len(workloads) - len(missed)}/{len(workloads)} workloads meet their targets"
        + (": missed " + "; ".join(missed) if missed else "")
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tensorsig", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    b = sub.add_parser("bench", help="full benchmark against pysiglib and iisignature")
    b.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args(argv)
    if args.command == "bench":
        bench(args.quick)
    else:
        demo()


if __name__ == "__main__":
    main()
