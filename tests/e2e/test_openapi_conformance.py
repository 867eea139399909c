"""schemathesis against the local stack: docs/openapi.yaml must describe what the API answers.

Every phase (examples, coverage, fuzzing, stateful), positive and negative data, every check;
the exclusions, each with its reason, are in schemathesis.toml beside this file.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from devstack.settings import ROOT
from devstack.subprocess_stack import Stack, running_stack

pytestmark = pytest.mark.e2e

CONFIG = Path(__file__).with_name("schemathesis.toml")
OPENAPI = ROOT / "docs" / "openapi.yaml"
MAX_EXAMPLES = 40  # per operation and phase: about 30 s here; CI must stay well under 2 minutes
RUN_TIMEOUT_SECONDS = 110


def request_headers(stack: Stack) -> dict[str, str]:
    """Headers every generated request carries: a token allowed everything, as `make token` prints it.

    With it the secured operations are exercised past the authorizer, and schemathesis's `ignored_auth`
    check (on, like every check) calls them without it and with a wrong one, expecting 401.
    """
    return {"Authorization": f"Bearer {stack.token()}"}


@pytest.fixture(scope="module")
def stack():
    with running_stack() as running:
        yield running


def test_the_api_answers_as_its_openapi_document_says(stack, tmp_path):
    headers = [arg for name, value in request_headers(stack).items() for arg in ("--header", f"{name}: {value}")]
    command = [
        *(sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG), "--no-color", "run", str(OPENAPI)),
        *("--url", stack.url, "--mode", "all", "--phases", "examples,coverage,fuzzing,stateful"),
        *("--max-examples", str(MAX_EXAMPLES), "--generation-database", "none"),
        *("--request-timeout", "10", *headers),
    ]

    run = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=RUN_TIMEOUT_SECONDS)

    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}\n--- the stack's output:\n{stack.output[-5000:]}"
