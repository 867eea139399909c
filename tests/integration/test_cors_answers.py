"""The functions' answers with CORS_ALLOWED_ORIGINS: an allowed Origin is named, with the headers its scripts need.

The preflight (OPTIONS) is API Gateway's (template.yaml; tests/unit/test_cors_preflight.py and the e2e tests).
"""

from __future__ import annotations

import importlib
import json

import pytest

ALLOWED = "https://app.example.org"
OTHER_ALLOWED = "http://127.0.0.1:8080"
FUNCTIONS = ("get_person", "list_people", "create_person", "ping", "docs")


@pytest.fixture
def cors_on(monkeypatch):
    """The functions started (cold) with two allowed origins; started again without them afterwards."""
    modules = [importlib.import_module(f"functions.{name}.app") for name in FUNCTIONS]
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", f"{ALLOWED},{OTHER_ALLOWED}")
    for module in modules:
        importlib.reload(module)
    yield
    monkeypatch.delenv("CORS_ALLOWED_ORIGINS")
    for module in modules:
        importlib.reload(module)


def get_person(api, origin: str | None, person_id: str = "1"):
    headers = {"Origin": origin} if origin else {}
    return api(
        "get_person", "GET", f"/people/{person_id}", "/people/{id}", path_params={"id": person_id}, headers=headers
    )


@pytest.mark.parametrize("origin", [ALLOWED, OTHER_ALLOWED])
def test_an_allowed_origin_is_named_and_may_read_etag_and_location(people_db, api, cors_on, origin):
    r = get_person(api, origin)

    assert r.status == 200
    assert r.headers["Access-Control-Allow-Origin"] == origin
    assert set(r.headers["Access-Control-Expose-Headers"].split(",")) == {"ETag", "Location", "Retry-After"}
    assert r.headers["Vary"] == "Origin"


@pytest.mark.parametrize(
    "origin",
    [None, "https://evil.example", "https://app.example.org.evil.example", f"{ALLOWED},{OTHER_ALLOWED}", "null", "*"],
)
def test_any_other_origin_or_none_is_not_named(people_db, api, cors_on, origin):
    r = get_person(api, origin)

    assert r.status == 200
    assert not {name for name in r.headers if name.lower().startswith("access-control-")}
    assert r.headers["Vary"] == "Origin"  # the answer still depends on the Origin for a cache


def test_errors_name_the_allowed_origin_too(people_db, api, cors_on):
    answers = [
        get_person(api, ALLOWED, "999"),  # 404
        get_person(api, ALLOWED, "0"),  # 400
        api("list_people", "GET", "/people", "/people", query={"limit": "0"}, headers={"Origin": ALLOWED}),  # 422
        api(
            "docs", "GET", "/docs/nothing", "/docs/{file}", path_params={"file": "nothing"}, headers={"Origin": ALLOWED}
        ),
    ]
    assert [r.status for r in answers] == [404, 400, 422, 404]
    assert {r.headers["Access-Control-Allow-Origin"] for r in answers} == {ALLOWED}
    # An error names the origin as a success does: a cache must not hand it to another origin either.
    assert {(r.headers["Vary"], r.headers["Cache-Control"]) for r in answers} == {("Origin", "no-store")}


def test_a_created_persons_location_and_etag_are_readable_from_the_allowed_origin(empty_db, api, cors_on):
    headers = {"Origin": ALLOWED, "Content-Type": "application/json"}
    r = api("create_person", "POST", "/people", "/people", body=json.dumps({"first_name": "Ada"}), headers=headers)

    assert r.status == 201
    assert (r.headers["Access-Control-Allow-Origin"], r.headers["Location"]) == (ALLOWED, "/v1/people/1")
    assert {"ETag", "Location"} <= set(r.headers["Access-Control-Expose-Headers"].split(","))


def test_without_the_setting_nobody_is_named(people_db, api):
    r = get_person(api, ALLOWED)
    assert r.status == 200
    assert not {name for name in r.headers if name.lower().startswith("access-control-") or name == "Vary"}
