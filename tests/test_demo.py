"""`python -m tensorsig`: the real-data demo reaches its accuracies, its tables say what they show,
and optional dependencies stay optional. Nothing here checks a timing."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest

from tensorsig import __main__ as cli
from tensorsig import _bench

#: Accuracy floors, a little under what a right pipeline reaches (100% and ~98%): a wrong feature
#: pipeline (no basepoint, a mis-scaled or truncated time channel, transposed data) falls below.
FLOORS = {"BasicMotions": 0.95, "JapaneseVowels": 0.95}


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, timeout=600, check=False
    )


def test_import_tensorsig_leaves_the_optional_dependencies_alone():
    probe = (
        "import sys, tensorsig, tensorsig._bench\n"
        "print(sorted(m for m in ('sklearn', 'aeon', 'tqdm', 'pandas', 'torch') if m in sys.modules))"
    )
    result = _run("-c", probe)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_quick_demo_end_to_end():
    pytest.importorskip("sklearn")
    pytest.importorskip("aeon")
    result = _run("-m", "tensorsig", "--quick")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    accuracies = {
        match[1]: float(match[2]) / 100 for match in re.finditer(r"^(\w+) .* (\d+\.\d)%$", out, re.M)
    }
    assert set(accuracies) == set(FLOORS), out
    for name, floor in FLOORS.items():
        assert accuracies[name] >= floor, (name, accuracies[name], out)
    assert re.search(r"^JapaneseVowels +640 x 7-29 x 12 +2379 ", out, re.M), out
    assert re.search(r"^BasicMotions +80 x 100 x 6 +399 ", out, re.M), out
    assert "padded to the longest by repeating its last point" in out
    assert "max |difference| = " in out and "`python -m tensorsig bench`" in out
    # stderr is a pipe here: no progress bar, so no carriage returns in logs.
    assert "\r" not in result.stderr and "\r" not in out


def test_help_lists_the_sections_and_how_to_add_peers(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--help"])
    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    assert "BasicMotions" in text and "--quick" in text and "bench" in text
    assert "pip install --no-build-isolation iisignature" in text
    assert ":func:" not in text and "``" not in text


def test_demo_without_its_extras_says_how_to_install_them(monkeypatch, capsys):
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name == "aeon" else find_spec(name))
    cli.real_data(quick=True)
    assert (
        'Skipped: needs aeon. Install the demo\'s extras with pip install ".[demo]"'
        in capsys.readouterr().out
    )


def test_peers_that_are_missing_get_no_column_and_an_install_hint(monkeypatch):
    pytest.importorskip("sklearn")
    from tensorsig import _demo

    monkeypatch.setattr(_bench, "_peer", lambda name: None)
    rng = np.random.default_rng(0)
    train = [rng.normal(size=(n, 2)) for n in (5, 8, 6, 7)]
    data = _demo.DataSet(
        "Toy", train, np.array([0, 1, 0, 1]), train, np.array([0, 1, 0, 1]), _demo._ridge, "ridge"
    )
    result = _demo.run(data, repeats=1, budget_s=0.0)
    assert set(result.times) == {"tensorsig"}
    table = _demo.format_results([result])
    assert "pysiglib" not in table and "iisignature" not in table
    assert table.splitlines()[2].split()[:6] == ["Toy", "8", "x", "5-8", "x", "2"]
    notes = _demo.notes([result])
    assert "Not installed, so not timed: pysiglib, iisignature" in notes and 'pip install ".[bench]"' in notes
    assert "padded to the longest" in notes


def test_progress_bars_stay_out_of_logs(capsys):
    # pytest's captured stderr is not a terminal, like a CI log.
    workload = _bench.Workload("noop", {"tensorsig": lambda: None})
    _bench.measure([workload], repeats=1, budget_s=0.0)
    assert capsys.readouterr().err == ""
    assert workload.times["tensorsig"] >= 0.0


def test_progress_without_tqdm_is_the_plain_iterable(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm now raises ImportError
    items = [1, 2, 3]
    assert _bench.progress(items, "label") is items


def test_timing_table_explains_its_names_and_columns():
    workload = _bench.sig_backprop_workload(2, 10, 2, 2, np.float64)
    workload.times = {"tensorsig": 2e-3, "tensorsig fwd": 1e-3, "pysiglib": 8e-3}
    table, legend = _bench.format_table([workload]), _bench.legend([workload])
    header = table.splitlines()[0].split()
    assert header[-2:] == ["goal", "reached"] and "vs" in header
    assert "yes (2.00x sig)" in table
    legend = " ".join(legend.split())
    assert "batch x length x channels" in legend and "degree" in legend
    assert "above 1x tensorsig is faster" in legend
    plain = _bench.Workload("sig 1x2x3 N=4 float64", {"tensorsig": lambda: None}, times={"tensorsig": 1e-3})
    assert "goal" not in _bench.format_table([plain])


def test_family_grid_summary_gives_each_family_its_mean_and_its_slow_shapes():
    from tensorsig import _bench_grid

    workloads = _bench_grid.family_grid_workloads(quick=True)
    assert {w.name.split()[0] for w in workloads} == {
        "sig_backprop",
        "log_sig",
        "sig_combine",
        "sig_combine_backprop",
    }
    for i, workload in enumerate(workloads):
        workload.times = {"tensorsig": 1e-3, "tensorsig fwd": 1e-3, "pysiglib": 1e-3 if i == 0 else 3e-3}
    assert not workloads[0].check(workloads[0].times)
    assert all(w.check(w.times) for w in workloads[1:])
    summary = _bench_grid.family_summary(workloads)
    assert summary.count("geometric mean") == 4
    assert f"1.00x  {workloads[0].name}" in summary and summary.count("1.00x  ") == 1
