"""The README's change feed client (examples/sync_people.py) keeping a JSON copy of `make dev`'s directory."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from devstack.settings import ROOT
from devstack.subprocess_stack import running_stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack():
    with running_stack() as running:  # people.csv seeded through the bucket, as `make dev` does
        yield running


def run_client(stack, copy_file) -> dict:
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "sync_people.py"), stack.url, str(copy_file)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(out.stdout)


def directory(stack) -> dict[str, dict]:
    people = stack.request("GET", "/people?limit=1000").json["people"]
    return {str(person["id"]): person for person in people}


def test_the_example_client_keeps_an_exact_copy_fetching_only_what_changed(stack, tmp_path):
    copy_file = tmp_path / "people-copy.json"
    auth = {"Authorization": f"Bearer {stack.token()}"}

    # The first run copies everyone
    assert run_client(stack, copy_file) == {"people": 7, "applied": 7}
    assert json.loads(copy_file.read_text())["people"] == directory(stack)

    # After a creation, a correction and an erasure, the next run applies just those three
    created = stack.request("POST", "/people", {"first_name": "Ada", "last_name": "Lovelace"}, auth).json["person"]
    patch = stack.request("PATCH", "/people/3", {"age": 17}, auth | {"Content-Type": "application/merge-patch+json"})
    erased = stack.request("DELETE", "/people/5", headers=auth)
    assert (patch.status, erased.status) == (200, 204)
    assert run_client(stack, copy_file) == {"people": 7, "applied": 3}
    kept = json.loads(copy_file.read_text())["people"]
    assert kept == directory(stack) and "5" not in kept and kept[str(created["id"])]["last_name"] == "Lovelace"

    # And a run with nothing new applies nothing; the feed's answers are never cached
    assert run_client(stack, copy_file) == {"people": 7, "applied": 0}
    assert stack.request("GET", "/people/changes").headers["Cache-Control"] == "no-store"
