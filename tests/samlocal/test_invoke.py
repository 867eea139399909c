"""`sam local invoke` of every function with its `events/` sample, unchanged, as the README has it: the
answer each gives inside Lambda's container (the layer under /opt/python, a read-only /var/task)."""

from __future__ import annotations

import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest
from cfnlint.decode import cfn_yaml

from devstack.settings import ROOT, TEMPLATE
from people_api import db
from people_api.migrations import MIGRATIONS

pytestmark = pytest.mark.samlocal


def functions_by_folder() -> dict[str, str]:
    """events/<folder>.json -> the template's function whose CodeUri is functions/<folder>/."""
    resources = cfn_yaml.load(str(TEMPLATE))["Resources"]
    return {
        resource["Properties"]["CodeUri"].strip("/").split("/")[-1]: name
        for name, resource in resources.items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def test_every_function_has_a_sample_event_and_an_expected_answer_here():
    assert set(functions_by_folder()) == {path.stem for path in (ROOT / "events").glob("*.json")} == set(EXPECTED)


# What each sample answers against people.csv: an API function's status, or the function's own answer. The
# authorizer's sample token is not one the local issuer signed; the import's bucket is in AWS, which `sam local`
# cannot point the function elsewhere from (docs/dev.md, With Docker: sam local): each fails as it would in AWS.
# So is the export queue: POST /exports (run alone, first) records export 1 as failed and answers 503; GET /exports/1
# then finds it, and a delivery of the export function's sample (export 1) finds it done.
EXPECTED = {
    "ping": 200,
    "docs": 200,
    "list_people": 200,
    "people_by_age": 200,
    "get_person": 200,
    "ids_by_last_name": 200,
    "people_changes": 200,
    "create_person": 201,
    "update_person": 200,
    "delete_person": 204,
    "list_imports": 200,
    "get_import": 404,
    "create_export": 503,
    "list_exports": 200,
    "get_export": 200,
    "export_people": {"1": "already done"},
    "authorizer": {"errorType": "Exception", "errorMessage": "Unauthorized"},
    "purge_imports": {"finished": 0, "never_finished": 0},
    "purge_exports": {"finished": 0, "never_finished": 0},
    "purge_changes": {"tombstones": 0, "changes": 0, "complete": True},
    "migrate": {"applied": [], "schema_version": max(MIGRATIONS)},
    "import_csv": {"errorType": "ImportFailed", "errorMessage": "1 of the event's objects failed; see their reports"},
}
# Run after the others, one at a time: the samples that change person 4 (the others read it as people.csv has
# it), and the authorizer, whose 5 s timeout counts its cold start here (Lambda keeps the Init phase apart).
LAST = ["authorizer", "update_person", "delete_person"]
AT_ONCE = 2  # `sam local invoke`s at a time (each is its own SAM CLI and container), one per CPU


def sam_local_invoke(samlocal, folder: str) -> dict:
    """The function's answer, as `sam local invoke` prints it (its last line of output)."""
    done = subprocess.run(
        [str(ROOT / ".venv/bin/sam"), "local", "invoke", functions_by_folder()[folder]]
        + ["--event", f"events/{folder}.json", *samlocal.options()],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ | {"SAM_CLI_TELEMETRY": "0"},
    )
    assert done.returncode == 0 and done.stdout.strip(), done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def answers(samlocal, database, people_csv_loader) -> dict[str, dict]:
    with db.cursor() as cur:
        cur.execute("TRUNCATE TABLE people")
        cur.execute("TRUNCATE TABLE imports")
        cur.execute("TRUNCATE TABLE exports")
    people_csv_loader()
    # The first builds SAM CLI's image of the runtime with the layer, which every other then uses.
    got = {"ping": sam_local_invoke(samlocal, "ping")}
    got["create_export"] = sam_local_invoke(samlocal, "create_export")  # export 1, which two others read
    others = [folder for folder in sorted(EXPECTED) if folder not in [*got, *LAST]]
    with ThreadPoolExecutor(AT_ONCE) as pool:
        got |= dict(zip(others, pool.map(lambda folder: sam_local_invoke(samlocal, folder), others), strict=True))
    return got | {folder: sam_local_invoke(samlocal, folder) for folder in LAST}


@pytest.mark.parametrize("folder", sorted(EXPECTED))
def test_sam_local_invoke_of_the_sample_event(answers, folder):
    answer, expected = answers[folder], EXPECTED[folder]

    if isinstance(expected, int):
        assert answer["statusCode"] == expected, answer
    else:
        assert {key: answer.get(key) for key in expected} == expected, answer
