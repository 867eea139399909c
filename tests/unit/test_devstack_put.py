"""`make put` without a running stack says so in one line, with no traceback."""

import os
import subprocess
import sys

from conftest import ROOT
from devstack.ports import free_port


def test_put_without_a_stack_prints_one_line():
    env = os.environ | {
        "S3_PORT": str(free_port()),
        "API_PORT": str(free_port()),
        "PYTHONPATH": f"{ROOT}:{ROOT / 'layers'}",
    }
    run = subprocess.run(
        [sys.executable, "-m", "devstack.put", "examples/pioneers.csv"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 1
    assert run.stdout == ""
    assert run.stderr.count("\n") == 1 and "start the stack with `make dev`" in run.stderr, run.stderr
