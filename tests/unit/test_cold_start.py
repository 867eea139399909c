"""Cold starts stay cheap: no API handler, nor the authorizer, loads boto3 (the CSV import and secrets need it).

Powertools imports botocore's bare package for its user agent (under 1 ms); its session and client
machinery, what costs, must stay unloaded.
"""

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, load_template

API_FUNCTIONS = sorted(
    Path(resource["Properties"]["CodeUri"]).name
    for resource in load_template()["Resources"].values()
    if resource["Type"] == "AWS::Serverless::Function"
    and any(event["Type"] == "Api" for event in (resource["Properties"].get("Events") or {}).values())
)
AUTHORIZER = "authorizer"  # no Api event: API Gateway calls it before each secured route


@pytest.mark.parametrize("function", [*API_FUNCTIONS, AUTHORIZER])
def test_api_handler_import_leaves_boto3_unloaded(function):
    code = f"import sys, functions.{function}.app; print('boto3' in sys.modules, 'botocore.session' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"PYTHONPATH": f"{ROOT}:{ROOT / 'layers'}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.split() == ["False", "False"]
