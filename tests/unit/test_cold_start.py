"""Cold starts stay cheap: each function's import loads only the packages on its list.

No API handler, nor the authorizer, loads boto3 (the CSV import creates its S3 client on its first event,
secrets load it where a deployment has them); `ping`, which never touches the database, loads no driver; the
authorizer loads neither the driver nor boto3. Powertools imports botocore's bare package for its user agent
(under 1 ms); its session and client machinery, what costs, must stay unloaded. A package that joins a list
costs every cold start of the function: README, Speed (bench/cold_start.py) says how much they are worth.
"""

import json
import subprocess
import sys

import pytest

from conftest import ROOT

POWERTOOLS = {"aws_lambda_powertools", "botocore", "jmespath", "typing_extensions"}
DATABASE = {"pymysql", "cryptography"}  # PyMySQL imports cryptography for the RSA exchange of MySQL 8's logins
PACKAGES = {
    "ping": POWERTOOLS,
    "authorizer": POWERTOOLS | {"jwt", "cryptography"},
    "docs": POWERTOOLS | {"yaml"},
    "import_csv": POWERTOOLS | DATABASE,
    **{
        name: POWERTOOLS | DATABASE
        for name in (
            "create_person",
            "delete_person",
            "get_import",
            "get_person",
            "ids_by_last_name",
            "list_imports",
            "list_people",
            "migrate",
            "people_by_age",
            "purge_imports",
            "update_person",
        )
    },
}
PROBE = """
import json, sys
import functions.{function}.app
top = {{name.split(".")[0] for name in sys.modules}}
print(json.dumps({{
    "packages": sorted(n for n in top - set(sys.stdlib_module_names) if not n.startswith("_")),
    "botocore.session": "botocore.session" in sys.modules,
}}))
"""


def loaded(function: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(function=function)],
        cwd=ROOT,
        env={"PYTHONPATH": f"{ROOT}:{ROOT / 'layers'}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def test_every_function_has_a_list():
    assert set(PACKAGES) == {path.name for path in (ROOT / "functions").iterdir() if (path / "app.py").exists()}


@pytest.mark.parametrize("function", sorted(PACKAGES))
def test_a_function_loads_only_the_packages_on_its_list(function):
    imported = loaded(function)
    extra = {"functions", "people_api", "cython_runtime"}  # ours, and what a compiled extension (PyYAML's) adds
    assert set(imported["packages"]) - extra == PACKAGES[function]
    assert not imported["botocore.session"]
