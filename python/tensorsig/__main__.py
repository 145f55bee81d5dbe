"""python -m tensorsig: signature features on real data, a check of Chen's identity and a short
timing table against pysiglib and iisignature (those installed).

  1. Two multivariate time-series classification data sets bundled with aeon (BasicMotions,
     JapaneseVowels): signature features through tensorsig.sklearn.SignatureTransformer, a
     scikit-learn classifier, its test accuracy and the feature time of each library.
     Needs aeon and scikit-learn: pip install ".[demo]" (from a clone) or "tensorsig[demo]".
  2. Chen's identity: the signature of a concatenation is the product of the signatures.
  3. Timings of signatures, their gradients and Chen products on random paths.

python -m tensorsig bench runs the full benchmark instead.
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import textwrap
from collections.abc import Callable

import numpy as np

import tensorsig as ts

from . import (
    _bench,
    _bench_dask,
    _bench_extras,
    _bench_grid,
    _bench_logsig,
    _bench_sig_options,
    _bench_sigkernel,
)

_DEMO_EXTRAS = ("aeon", "sklearn")


def real_data(quick: bool) -> None:
    print("1. Signature features for time-series classification (real data bundled with aeon)")
    missing = [name for name in _DEMO_EXTRAS if importlib.util.find_spec(name) is None]
    if missing:
        print(
            f"   Skipped: needs {' and '.join(missing)}. Install the demo's extras with "
            'pip install ".[demo]" (from a clone) or pip install "tensorsig[demo]".\n'
        )
        return
    from . import _demo

    _demo.main(quick)
    print()


def chen_identity() -> None:
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


def timings(quick: bool) -> None:
    print("3. Timings on random paths against pysiglib / iisignature (those installed)")
    workloads = _bench.demo_workloads()
    _bench.measure(workloads, repeats=1 if quick else 5, budget_s=0.2 if quick else 1.0)
    print(_bench.format_table(workloads))
    print(_bench.legend(workloads))
    print("\n`python -m tensorsig bench` runs the full benchmark.")


def demo(quick: bool) -> None:
    print(
        f"tensorsig {ts.__version__} on {platform.machine()} ({platform.python_implementation()} "
        f"{platform.python_version()})\n"
    )
    real_data(quick)
    chen_identity()
    timings(quick)


#: The benchmark's sections: what each times, its workloads (given `quick`), and a summary.
SECTIONS: dict[str, tuple[str, Callable[[bool], list[_bench.Workload]], Callable[..., str] | None]] = {
    "targets": (
        "signatures, gradients and Chen products on long paths and large batches",
        lambda quick: _bench.full_workloads(),
        None,
    ),
    "grid": (
        "signatures over batch x length x (dimension, degree): the shapes ML code feeds",
        _bench_grid.grid_workloads,
        _bench_grid.summary,
    ),
    "call": ("the fixed cost of one small call", lambda quick: _bench_grid.call_workloads(), None),
    "families": (
        "sig_backprop, sig_combine(_backprop) and log_sig over a grid of shapes",
        _bench_grid.family_grid_workloads,
        _bench_grid.family_summary,
    ),
    "extras": (
        "joins, chosen coefficients and signature streams",
        _bench_extras.workloads,
        None,
    ),
    "logsig": ("log-signatures and their conversions", _bench_logsig.workloads, None),
    "sigkernel": (
        "signature kernels, Gram matrices, their gradients and MMD",
        _bench_sigkernel.workloads,
        None,
    ),
    "dask": (
        "tensorsig.dask on two local process workers against one eager call",
        _bench_dask.workloads,
        None,
    ),
    "options": (
        "sig's correction=, stream=True and lengths= (ragged batches)",
        _bench_sig_options.workloads,
        None,
    ),
}


def bench(quick: bool, sections: list[str]) -> None:
    for name in sections:
        about, build, summary = SECTIONS[name]
        print(f"\n== {name}: {about}\n")
        workloads = build(quick)
        _bench.measure(workloads, repeats=3 if quick else 7, budget_s=0.5 if quick else 2.0)
        print(_bench.format_table(workloads))
        missed = [w.name for w in workloads if w.check is not None and not w.check(w.times)]
        print(
            f"\n{len(workloads) - len(missed)}/{len(workloads)} workloads reach their goals"
            + (": missed " + "; ".join(missed) if missed else "")
        )
        if summary is not None:
            print(summary(workloads))
    print()
    print(_bench.legend([]))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tensorsig",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=textwrap.fill(f"Timings include only the peers installed. {_bench.PEER_HINT}", 95),
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewest timing repeats (CI); the accuracies are unchanged"
    )
    sub = parser.add_subparsers(dest="command", metavar="{bench}")
    b = sub.add_parser(
        "bench",
        help="the full benchmark: every speed goal against pysiglib (minutes)",
        description="Times every workload with a speed goal against pysiglib and iisignature.",
    )
    b.add_argument(
        "--quick",
        action="store_true",
        help="fewer repeats and shapes (float64 only in the grid, 10-point paths in families)",
    )
    b.add_argument(
        "--section",
        action="append",
        choices=list(SECTIONS),
        help="only this section (repeatable): " + "; ".join(f"{k}: {v[0]}" for k, v in SECTIONS.items()),
    )
    args = parser.parse_args(argv)
    if args.command == "bench":
        bench(args.quick, args.section or list(SECTIONS))
    else:
        demo(args.quick)


if __name__ == "__main__":
    main()
