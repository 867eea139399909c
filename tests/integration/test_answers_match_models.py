"""What the handlers answer is what the models of docs/openapi.yaml say, member for member.

Each answer is read by the model the contract names for its operation and status (contract/operations.py), strictly
(no coercion), and written back: a member the model lacks, a type it does not allow, or a member it has that the
answer lacks fails here, before schemathesis or a generated client would notice.
"""

from __future__ import annotations

import json
from dataclasses import replace

from people_api import db
from people_api.contract import models
from people_api.contract.operations import OPERATIONS, RESPONSES
from people_api.imports import store
from people_api.imports.record import SUCCEEDED, ObjectRef, RowCounts


def model_of(method: str, path: str, status: int) -> type:
    answer = OPERATIONS[(method, path)]["responses"][str(status)]
    if "$ref" in answer:  # a shared answer: components/responses
        answer = RESPONSES[answer["$ref"].rsplit("/", 1)[1]]
    return getattr(models, answer["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1])


def assert_matches(model: type, body) -> None:
    parsed = model.model_validate(body, strict=True)
    assert parsed.model_dump(mode="json", by_alias=True, exclude_unset=True) == body


def person_route(api, method, path, resource, status, **parts):
    answer = api(resource_function[(method, resource)], method, path, resource, **parts)
    assert answer.status == status, answer.body
    assert_matches(model_of(method, resource, status), answer.json)
    return answer.json


resource_function = {
    ("GET", "/people"): "list_people",
    ("GET", "/people/age"): "people_by_age",
    ("POST", "/people"): "create_person",
    ("GET", "/people/{id}"): "get_person",
    ("PATCH", "/people/{id}"): "update_person",
    ("DELETE", "/people/{id}"): "delete_person",
    ("GET", "/ids/lastname/{lastname}"): "ids_by_last_name",
}


def test_the_people_routes_answer_as_their_models(people_db, api):
    person_route(api, "GET", "/people", "/people", 200, query={"limit": "3"})
    person_route(api, "GET", "/people/age", "/people/age", 200)
    body = {"First": "Ada", "last_name": "Byron", "age": "36", "third_grade_graduation": "6/24/99"}
    created = person_route(api, "POST", "/people", "/people", 201, body=json.dumps(body))
    one = {"path_params": {"id": str(created["person"]["id"])}}
    path = f"/people/{created['person']['id']}"
    person_route(api, "GET", path, "/people/{id}", 200, **one)
    patch = json.dumps({"github_account": "ada-b"})
    person_route(api, "PATCH", path, "/people/{id}", 200, body=patch, **one)
    person_route(api, "GET", "/ids/lastname/Byron", "/ids/lastname/{lastname}", 200, path_params={"lastname": "Byron"})


def test_the_errors_answer_as_their_models(people_db, api):
    person_route(api, "GET", "/people/999", "/people/{id}", 404, path_params={"id": "999"})
    person_route(api, "GET", "/people/0", "/people/{id}", 400, path_params={"id": "0"})
    person_route(api, "POST", "/people", "/people", 422, body=json.dumps({"age": 200, "nickname": "x"}))
    person_route(api, "POST", "/people", "/people", 400, body="[]")
    person_route(api, "GET", "/people", "/people", 422, query={"limit": "0"})


OBJECT = ObjectRef("people-import", "uploads/people.csv", "9b2cf535f27731c974343645a3985328", None, 412)


def test_import_records_answer_as_their_models(empty_db, api):
    # Given a pending, a running and a succeeded import (with a row error and a change)
    conn = db.connection()
    store.claim(conn, OBJECT)
    running = store.claim(conn, replace(OBJECT, etag="etag-running", size=1000))
    store.start(conn, running)
    store.record_progress(conn, running, RowCounts(5, 3), 100)
    succeeded = store.start(conn, store.claim(conn, replace(OBJECT, etag="etag-succeeded")))
    store.finish(
        conn,
        replace(
            succeeded,
            status=SUCCEEDED,
            mode="upsert",
            rows=RowCounts(7, 5, 0, 1, updated=1),
            errors=[{"line": 4, "field": "first_name", "message": "a person needs a first_name or a last_name"}],
            changes=[{"id": 3, "change": "updated", "fields": ["age"]}],
            report_key="reports/x.json",
            bytes_read=412,
        ),
    )
    # Then the listing and each record answer as their models
    listed = api("list_imports", "GET", "/imports", "/imports")
    assert listed.status == 200 and len(listed.json["imports"]) == 3
    assert_matches(model_of("GET", "/imports", 200), listed.json)
    for import_id in (1, running, succeeded.id):
        answer = api("get_import", "GET", f"/imports/{import_id}", "/imports/{id}", path_params={"id": str(import_id)})
        assert answer.status == 200
        assert_matches(model_of("GET", "/imports/{id}", 200), answer.json)
    assert answer.json["errors"] and answer.json["changes"]  # the last, the succeeded one, with its lists
