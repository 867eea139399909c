"""What the handlers answer is what the models of docs/openapi.yaml say, member for member.

Each answer is read by the model the contract names for its operation and status (contract/operations.py), strictly
(no coercion), and written back: a member the model lacks, a type it does not allow, or a member it has that the
answer lacks fails here, before schemathesis or a generated client would notice.
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from people_api.contract import models
from people_api.contract.operations import OPERATIONS, RESPONSES
from people_api.imports.record import RUNNING, SUCCEEDED, ImportRecord, ObjectRef, RowCounts


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


MOMENT = datetime(2026, 12, 2, 12, 0, 0, 123456)
OBJECT = ObjectRef("people-import", "uploads/people.csv", "9b2cf535f27731c974343645a3985328", None, 412)


@pytest.mark.parametrize(
    "record",
    [
        ImportRecord(1, OBJECT, "pending", created_at=MOMENT),
        ImportRecord(
            2,
            OBJECT,
            RUNNING,
            rows=RowCounts(5, 3),
            attempts=1,
            bytes_read=100,
            progress_at=MOMENT,
            created_at=MOMENT,
            started_at=MOMENT,
        ),
        ImportRecord(
            3,
            OBJECT,
            SUCCEEDED,
            rows=RowCounts(7, 6, 0, 1),
            attempts=1,
            report_key="reports/x.json",
            errors=[{"line": 4, "field": "first_name", "message": "a person needs a first_name or a last_name"}],
            bytes_read=412,
            progress_at=MOMENT,
            created_at=MOMENT,
            started_at=MOMENT,
            finished_at=MOMENT,
        ),
    ],
    ids=["pending", "running", "succeeded"],
)
def test_an_import_record_answers_as_its_models(record):
    assert_matches(model_of("GET", "/imports/{id}", 200), record.as_json())
    assert_matches(models.ImportSummary, record.as_json(with_errors=False))
