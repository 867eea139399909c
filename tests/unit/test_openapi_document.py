"""docs/openapi.yaml is the document `make openapi` generates from the code, and the contract holds every route.

The routes come from the functions' resolvers and the schemas from layers/people_api/contract/models.py: a route
added in code without its contract entry, or a model changed without `make openapi`, fails here (and in CI).
"""

import sys

import pytest
import yaml

from conftest import ROOT
from people_api.contract import models, operations

sys.path.insert(0, str(ROOT / "tools"))
import openapi  # noqa: E402  tools/ is not a package: the generator is a script

DOCUMENT = yaml.safe_load((ROOT / "docs" / "openapi.yaml").read_text(encoding="utf-8"))


def test_the_committed_document_is_the_generated_one(capsys):
    assert openapi.main(["openapi.py", "--check"]) == 0, capsys.readouterr().err


def test_the_check_fails_on_a_document_edited_by_hand(tmp_path, monkeypatch):
    edited = tmp_path / "openapi.yaml"
    edited.write_text(openapi.rendered().replace("summary: One person", "summary: One person, edited"))
    monkeypatch.setattr(openapi, "DOCUMENT", edited)
    assert openapi.main(["openapi.py", "--check"]) == 1


def test_a_route_without_a_contract_entry_stops_the_generation(monkeypatch):
    monkeypatch.setattr(
        operations, "OPERATIONS", {k: v for k, v in operations.OPERATIONS.items() if k != ("GET", "/ping")}
    )
    with pytest.raises(SystemExit, match="GET', '/ping'"):
        openapi.document()


def schemas_of(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from schemas_of(value)
    elif isinstance(node, list):
        for value in node:
            yield from schemas_of(value)


@pytest.mark.parametrize(
    "name", ["Person", "PeoplePage", "IdsPage", "CreatedPerson", "ImportsPage", "ImportSummary", "Import", "Error"]
)
def test_answers_stay_open_for_new_members(name):
    schema = DOCUMENT["components"]["schemas"][name]
    assert all(node.get("additionalProperties") is not False for node in schemas_of(schema))
    assert "unevaluatedProperties" not in str(schema)


@pytest.mark.parametrize("name", ["PersonInput", "PersonPatch"])
def test_request_bodies_refuse_members_that_are_not_fields(name):
    assert DOCUMENT["components"]["schemas"][name]["additionalProperties"] is False


def test_servers_name_the_local_stack_and_aws():
    urls = [server["url"] for server in DOCUMENT["servers"]]
    assert urls[0] == "http://127.0.0.1:3000" and "execute-api" in urls[1]


def test_no_model_is_built_until_a_schema_is_asked_for():
    # defer_build: the models cost nothing to import; the functions do not import them at all (test_layer_imports)
    assert all(model.model_config.get("defer_build") for model in models.ALL)


@pytest.mark.parametrize("app_py", sorted((ROOT / "functions").glob("*/app.py")), ids=lambda p: p.parent.name)
def test_no_function_loads_the_contract(app_py):
    # its models would cost every cold start pydantic's import; the document is built ahead, by `make openapi`
    assert "people_api.contract" not in app_py.read_text()
