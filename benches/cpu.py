"""Side-by-side CPU timings against pysiglib 4.0 and iisignature: every target of the CPU-speed work.

    python benches/cpu.py [--quick]

Same harness as ``python -m tensorsig bench`` (tensorsig/_bench.py): interleaved runs, minimum of
repeats, ratios against pysiglib measured in the same run, GFLOP/s against the Horner flop count.
"""

from tensorsig.__main__ import main

if __name__ == "__main__":
    import sys

    main(["bench", *sys.argv[1:]])
