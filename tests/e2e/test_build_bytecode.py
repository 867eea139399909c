"""`make build` ships bytecode a Lambda cold start can use (docs/deploy.md, Bytecode).

Lambda finds every file of SAM CLI's zips dated 1980-01-01 and cannot write next to them (/var/task and /opt
are read-only), so a module without a .pyc valid whatever its date is compiled again by every cold start.
One `make build` (about 30 s, SAM CLI's cache in .aws-sam/cache), its files then dated as Lambda has them.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from conftest import load_template

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ZIP_DATE = datetime(1980, 1, 1, tzinfo=UTC).timestamp()  # what a zip entry without a date extracts as
CODE_FROM = re.compile(r"^# code object from (.+)$", re.MULTILINE)  # `python -v`: a .pyc is quoted, a source not
CHECKED_HASH = 0b11  # a .pyc's flags: hash-based, the hash checked against the source at import (PEP 552)


def date_as_in_lambda(tree: Path) -> None:
    for path in [tree, *tree.rglob("*")]:
        os.utime(path, (ZIP_DATE, ZIP_DATE), follow_symlinks=False)


@pytest.fixture(scope="module")
def build(tmp_path_factory) -> Path:
    build_dir = tmp_path_factory.mktemp("sam") / "build"
    # -o: the venv this test runs in is make's own; make is not to reinstall it under the test.
    subprocess.run(
        ["make", "-s", "-o", ".venv/.installed", "build", f"BUILD_DIR={build_dir}", f"PYTHON={sys.executable}"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    date_as_in_lambda(build_dir)
    return build_dir


def cold_start(function_dir: Path, layer_dir: Path) -> tuple[dict[str, str], list[str]]:
    """Import the handler as Lambda does (its package, then the layer, on sys.path; nothing written back).

    Returns each module's file and where each code object came from, in `python -v`'s words.
    """
    modules = "{name: module.__file__ for name, module in sys.modules.items() if getattr(module, '__file__', None)}"
    run = subprocess.run(
        [sys.executable, "-v", "-c", f"import json, sys; import app; print(json.dumps({modules}))"],
        cwd=function_dir,
        env=os.environ | {"PYTHONPATH": f"{function_dir}{os.pathsep}{layer_dir}", "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(run.stdout), CODE_FROM.findall(run.stderr)


def test_a_functions_cold_start_loads_every_module_of_its_package_and_the_layer_from_bytecode(build):
    modules, code_from = cold_start(build / "GetPersonFunction", build / "PeopleLayer" / "python")

    shipped = {name: file for name, file in modules.items() if file.startswith(str(build)) and file.endswith(".py")}
    assert {"app", "people_api.http.resolver", "aws_lambda_powertools.event_handler"} <= set(shipped)
    assert [source for source in code_from if source.startswith(str(build))] == []  # none compiled from source
    from_bytecode = {path.strip("'") for path in code_from if path.startswith("'")}
    without = {name for name, file in shipped.items() if importlib.util.cache_from_source(file) not in from_bytecode}
    assert without == set()


def test_every_built_function_and_the_layer_carry_hash_checked_bytecode_of_their_sources(build):
    resources = load_template()["Resources"].items()
    functions = {name for name, resource in resources if resource["Type"] == "AWS::Serverless::Function"}
    sources = [build / name / "app.py" for name in functions] + list((build / "PeopleLayer" / "python").rglob("*.py"))

    headers = {source: Path(importlib.util.cache_from_source(source)).read_bytes()[:16] for source in sources}
    assert {
        source
        for source, header in headers.items()
        if header[:4] != importlib.util.MAGIC_NUMBER
        or int.from_bytes(header[4:8], "little") != CHECKED_HASH
        or header[8:] != importlib.util.source_hash(source.read_bytes())
    } == set()


def test_a_source_edited_after_the_build_is_compiled_again_not_run_from_its_stale_bytecode(build, tmp_path):
    # Given a handler edited to the same size and date: only its hash tells it from its .pyc
    function = shutil.copytree(build / "GetPersonFunction", tmp_path / "GetPersonFunction")
    source = function / "app.py"
    built = source.read_text()
    source.write_text(built.replace("GET", "PUT", 1))
    assert source.read_text() != built
    date_as_in_lambda(function)

    _, code_from = cold_start(function, build / "PeopleLayer" / "python")

    assert str(source) in code_from
