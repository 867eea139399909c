"""Every benchmark runs to its figures, at a size that takes seconds: a change that breaks one (a new column
the benchmark's own inserts lack, a renamed function) fails here, not on the next `make bench`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

BENCH = Path(__file__).resolve().parents[2] / "bench"
SMALL_RUNS = {
    "age_paging.py": ["--rows", "2000"],
    "change_feed.py": ["--rows", "2000", "--changes", "2000"],
    "cold_start.py": ["--runs", "1"],
    "export_benchmark.py": ["--rows", "2000", "--rounds", "1"],
    "concurrent_requests.py": ["--requests", "20", "--environments", "1,2"],
    "import_benchmark.py": ["--rows", "2000"],
    "import_modes.py": ["--rows", "2000"],
    "warm_requests.py": ["--rows", "500", "--requests", "5"],
}
HELPERS = {"throwaway.py", "measure.py"}  # modules the benchmarks share, not benchmarks
# What `make bench` gives a benchmark: the shell's environment and the import path; not the tests' CURSOR_KEY
# (conftest.py), which hid once that a benchmark's own functions could not start without one.
MAKE_BENCH_ENVIRONMENT = {k: v for k, v in os.environ.items() if k != "CURSOR_KEY"} | {
    "PYTHONPATH": f"{BENCH.parent}:{BENCH.parent / 'layers'}"
}
FIGURE = re.compile(r"\d\.\d")  # every benchmark prints its ratios with decimals


def test_every_benchmark_is_run_here_and_by_make_bench():
    scripts = {path.name for path in BENCH.glob("*.py")} - HELPERS
    makefile = (BENCH.parent / "Makefile").read_text()
    assert scripts == set(SMALL_RUNS)
    assert all(f"bench/{script}" in makefile for script in scripts)


@pytest.mark.parametrize("script", sorted(SMALL_RUNS))
def test_a_benchmark_runs_to_its_figures(script):
    run = subprocess.run(
        [sys.executable, str(BENCH / script), *SMALL_RUNS[script]],
        capture_output=True,
        text=True,
        timeout=300,
        env=MAKE_BENCH_ENVIRONMENT,
    )

    assert run.returncode == 0, run.stderr[-3000:]
    assert FIGURE.search(run.stdout), run.stdout[-3000:]
