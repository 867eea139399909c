"""Every 400/422 a body earns speaks the API's words: it names the field, says what is allowed, and no library's
prefix or class name reaches the client. The same rule answers the same words from POST and PATCH."""

from __future__ import annotations

import json
import re

import pytest

LIBRARY_VOICE = re.compile(r"Value error|Input should|pydantic|Traceback|Exception|Error\b|\btype=|\bloc\b")
BAD_BODIES = [
    ({"first_name": "Ada", "age": 200}, "age", "must be a whole number from 0 to 150, not 200"),
    ({"first_name": "Ada", "age": "forty"}, "age", "must be a whole number from 0 to 150, not 'forty'"),
    ({"first_name": "Ada", "age": True}, "age", "must be a whole number from 0 to 150"),
    ({"first_name": "Ada", "age": 1.5}, "age", "must be a whole number from 0 to 150"),
    ({"first_name": 7}, "first_name", "must be a string"),
    ({"first_name": "Ada", "GithubAcct": "-x-"}, "GithubAcct", None),
    (
        {"first_name": "Ada", "third_grade_graduation": "2/30/2001"},
        "third_grade_graduation",
        "'2/30/2001' is not a real date",
    ),
    ({"first_name": "Ada", "nickname": "A"}, "nickname", "is not a field of a person"),
    ({"first_name": "Ada", "age_inferred": True}, "age_inferred", "is computed by the server and cannot be set"),
    ({"first_name": "Ada", "first_name_": 1}, "first_name_", "is not a field of a person"),
]
NOT_READ = ["{", "[1]", '{"a": 1, "a": 2}', '"text"']


def post(api, body: str):
    return api("create_person", "POST", "/people", "/people", body=body)


def patch(api, person_id: int, body: str):
    path = f"/people/{person_id}"
    headers = {"Content-Type": "application/merge-patch+json"}
    return api(
        "update_person", "PATCH", path, "/people/{id}", path_params={"id": str(person_id)}, body=body, headers=headers
    )


@pytest.mark.parametrize(("body", "field", "message"), BAD_BODIES)
def test_a_field_error_names_the_field_in_the_same_words_from_post_and_patch(people_db, api, body, field, message):
    created = post(api, json.dumps(body))
    patched = patch(api, 1, json.dumps(body))
    for answer in (created, patched):
        assert answer.status == 422, answer.body
        errors = {e["field"]: e["message"] for e in answer.json["errors"]}
        assert field in errors, answer.body
        assert not LIBRARY_VOICE.search(answer.body), answer.body
        if message is not None:
            assert errors[field] == message
    assert created.json["errors"] == patched.json["errors"]


@pytest.mark.parametrize("raw", NOT_READ)
def test_a_body_that_cannot_be_read_is_a_400_in_the_apis_words(people_db, api, raw):
    for answer in (post(api, raw), patch(api, 1, raw)):
        assert answer.status == 400, answer.body
        assert answer.json["message"].startswith("the body "), answer.body
        assert not LIBRARY_VOICE.search(answer.body), answer.body
