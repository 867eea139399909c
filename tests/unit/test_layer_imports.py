"""The layer's packages import one way: http -> people, imports, auth -> the shared modules beside them; exports
-> people, imports (the records' shared JSON) -> shared.

`contract` (the models and operations docs/openapi.yaml is generated from) may read every other part's limits,
and no part imports it: no function loads the models at run time.

So a package never needs one that is closer to the handlers, and a function that loads a package
does not load the packages above it (ping loads `http` and never the import's code).
"""

import ast
from pathlib import Path

import pytest

LAYER = Path(__file__).resolve().parents[2] / "layers" / "people_api"
PACKAGES = ("contract", "http", "people", "imports", "exports", "auth")
# What each part may import from the layer (itself always): "shared" is every top-level module.
MAY_IMPORT = {
    "contract": {"http", "people", "imports", "exports", "auth", "shared"},
    "http": {"people", "imports", "auth", "shared"},
    "imports": {"people", "shared"},
    "exports": {"people", "imports", "shared"},
    "people": {"shared"},
    "auth": {"shared"},
    "shared": {"shared"},
}


def part_of(module: str) -> str:
    """`people_api.http.cursors` -> "http"; a top-level module (`people_api.db`) -> "shared"."""
    first = module.removeprefix("people_api").lstrip(".").split(".")[0]
    return first if first in PACKAGES else "shared"


def layer_imports(path: Path) -> set[str]:
    """The people_api modules (or packages) a file imports."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("people_api"):
            names |= {node.module} if node.module != "people_api" else {f"people_api.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names if alias.name.startswith("people_api")}
    return names


MODULES = sorted(LAYER.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(LAYER)))
def test_imports_run_one_way(path):
    part = part_of(".".join(path.relative_to(LAYER).with_suffix("").parts))
    wrong = {name for name in layer_imports(path) if part_of(name) not in MAY_IMPORT[part] | {part}}
    assert not wrong, f"{part} may import {sorted(MAY_IMPORT[part])}, not {sorted(wrong)}"


def test_the_check_sees_a_wrong_way_import(tmp_path):
    """The rule holds only if the check can fail: a people module importing http is caught."""
    wrong = tmp_path / "store.py"
    wrong.write_text("from people_api.http.cursors import Listing\nfrom people_api import db\n")
    assert {part_of(name) for name in layer_imports(wrong)} == {"http", "shared"}
    assert "http" not in MAY_IMPORT["people"]
