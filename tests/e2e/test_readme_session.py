"""The README's first session, run as written against a fresh `make dev` stack: every command, every output.

Outputs are compared as the README shows them: `…` stands for the rest cut from a long line, and
what differs from run to run (times, durations, rates) is compared by shape.
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from devstack.settings import ROOT
from devstack.subprocess_stack import running_stack

pytestmark = pytest.mark.e2e

README_API, README_S3 = "http://127.0.0.1:3000", "http://127.0.0.1:4566"
_STEP = "@@ next README command @@"
_VARYING = [
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3,6}Z"), "<time>"),
    (re.compile(r"\d{8}T\d{6}\.\d{6}Z"), "<time>"),
    (re.compile(r'"(seconds|rows_per_second)":[0-9.]+'), r'"\1":<n>'),
    (re.compile(r'"next_cursor":"[^"]+"'), '"next_cursor":<cursor>'),  # signed with a key of this stack's
]


def first_session() -> list[tuple[str, str]]:
    """(command, output) of the README's second console block under "A first session"."""
    section = (ROOT / "README.md").read_text().split("### A first session", 1)[1].split("\n## ", 1)[0]
    block = re.findall(r"```console\n(.*?)```", section, re.DOTALL)[1]
    steps: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        else:
            steps[-1][1].append(line)
    return [(command, "\n".join(output)) for command, output in steps]


def matches(expected: str, actual: str) -> bool:
    for pattern, placeholder in _VARYING:
        expected, actual = pattern.sub(placeholder, expected), pattern.sub(placeholder, actual)
    return re.fullmatch(".*".join(map(re.escape, expected.split("…"))), actual, re.DOTALL) is not None


def test_the_readme_first_session_works_word_for_word():
    steps = first_session()
    assert any(command.startswith("make put") for command, _ in steps)  # the CSV drop is part of it
    # One shell, as a user's: variables set by one command (TOKEN) are there for the next.
    script = "set -e\n" + "".join(
        f"echo '{_STEP}'\n{command.replace(README_API, '$API').replace(README_S3, '$S3')}\n" for command, _ in steps
    )
    with running_stack() as stack:
        # Not inside `make test` either: a nested make would announce its directory.
        env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
        s3 = f"http://127.0.0.1:{stack.s3_port}"
        env |= {"API_PORT": str(stack.api_port), "S3_PORT": str(stack.s3_port), "API": stack.url, "S3": s3}
        done = subprocess.run(["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    outputs = [output.strip("\n") for output in done.stdout.split(_STEP + "\n")[1:]]
    assert done.returncode == 0 and len(outputs) == len(steps), (done.stdout, done.stderr)
    for (command, expected), actual in zip(steps, outputs, strict=True):
        assert matches(expected, actual), (command, expected, actual, stack.output)
