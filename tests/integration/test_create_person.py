"""POST /people through the real handler: success, every error status, and racing writers."""

import json
import threading
from unittest.mock import ANY

import pytest

from conftest import invoke, load_event, reply, run_together


def post(api, body: str):
    return api("create_person", "POST", "/people", "/people", body=body)


def people_ids(api) -> list[int]:
    return [p["id"] for p in api("list_people", "GET", "/people", "/people").json["people"]]


def test_sample_event_creates_ada(people_db, api):
    r = reply(invoke("create_person", load_event("create_person")))
    assert r.status == 201
    assert r.headers["Location"] == "/v1/people/8"  # the stage is part of the client's URL
    assert r.json["person"] == {
        "id": 8,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "age": 36,
        "age_inferred": False,
        "github_account": "ada-l",
        "third_grade_graduation": "1999-06-25",
        "created_at": ANY,
        "updated_at": ANY,
    }
    assert [p["id"] for p in r.json["people"]] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert r.json["next_cursor"] is None
    got = api("get_person", "GET", "/people/8", "/people/{id}", path_params={"id": "8"})
    assert got.json == r.json["person"]


def test_csv_names_and_an_explicit_id(people_db, api):
    body = {"ID": 40, "First": "Rob", "Last": "May", "Date of 3rd Grade Graduation": "6/25/88"}
    r = post(api, json.dumps(body))
    assert (r.status, r.headers["Location"]) == (201, "/v1/people/40")
    assert r.json["person"]["age_inferred"] is True
    assert r.json["person"]["third_grade_graduation"] == "1988-06-25"


@pytest.mark.parametrize("body", ["{", "not json", "", "[1, 2]", '"Ada"', "null", "{'first_name': 'Ada'}"])
def test_malformed_json_or_not_an_object_is_400(people_db, api, body):
    r = post(api, body)
    assert r.status == 400
    assert r.json["message"]
    assert people_ids(api) == [1, 2, 3, 4, 5, 6, 7]


def test_field_errors_are_422_listing_each_field(people_db, api):
    r = post(
        api,
        json.dumps(
            {
                "first_name": "",
                "age": 151,
                "github_account": "-x-",
                "third_grade_graduation": "2/30/01",
                "role": "admin",
            }
        ),
    )
    assert r.status == 422
    assert r.json["message"] == "the person is not valid"
    assert {e["field"] for e in r.json["errors"]} == {
        "first_name",
        "age",
        "github_account",
        "third_grade_graduation",
        "role",
    }
    assert "not a real date" in next(e["message"] for e in r.json["errors"] if e["field"] == "third_grade_graduation")
    assert people_ids(api) == [1, 2, 3, 4, 5, 6, 7]


def test_an_existing_id_is_409_and_changes_nothing(people_db, api):
    before = api("get_person", "GET", "/people/4", "/people/{id}", path_params={"id": "4"}).json
    r = post(api, json.dumps({"id": 4, "first_name": "Someone", "last_name": "Else"}))
    assert r.status == 409
    assert r.json == {"message": "a person with id 4 already exists"}
    assert api("get_person", "GET", "/people/4", "/people/{id}", path_params={"id": "4"}).json == before


def test_a_body_over_16_kib_is_413(people_db, api):
    r = post(api, json.dumps({"first_name": "A", "last_name": "B" * 17_000}))
    assert r.status == 413
    assert "16384" in r.json["message"]


def test_unicode_names_round_trip(people_db, api):
    r = post(api, json.dumps({"first_name": "Zoë 👩‍🔬", "last_name": "Núñez-李"}))
    assert r.status == 201
    assert (r.json["person"]["first_name"], r.json["person"]["last_name"]) == ("Zoë 👩‍🔬", "Núñez-李")


def test_base64_encoded_bodies_are_read(people_db, api):
    import base64

    from conftest import rest_event

    event = rest_event("POST", "/people", "/people", body=base64.b64encode(b'{"last_name": "Encoded"}').decode())
    event["isBase64Encoded"] = True
    assert reply(invoke("create_person", event)).status == 201


def test_concurrent_posts_of_one_id_give_exactly_one_201(people_db, api):
    statuses: list[int] = []
    barrier = threading.Barrier(8)

    def attempt(n: int) -> None:
        barrier.wait()
        statuses.append(post(api, json.dumps({"id": 100, "first_name": f"Racer {n}"})).status)

    run_together(attempt, [(n,) for n in range(8)])
    assert sorted(statuses) == [201] + [409] * 7
    assert people_ids(api).count(100) == 1
