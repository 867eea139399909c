"""POST /people through the real handler: success, every error status, and racing writers."""

import json
import threading
import time
from collections import Counter
from unittest.mock import ANY

import pymysql
import pytest
from pymysql.constants import ER

from conftest import Reply, invoke, load_event, reply, rest_event, run_together
from people_api import db
from people_api.config import database_settings
from people_api.people import store as people_store

RACING_POSTS = 200


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


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json_400(people_db, api, constant):
    # Python's json reads them; JSON (RFC 8259) has no such values
    r = post(api, f'{{"first_name": "Ada", "age": {constant}}}')

    assert (r.status, r.json) == (400, {"message": "the body is not valid JSON"})
    assert people_ids(api) == [1, 2, 3, 4, 5, 6, 7]


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("9" * 5000, "the body has a number of 5000 digits; a number may have at most 100"),
        ("-" + "1" * 101, "the body has a number of 101 digits; a number may have at most 100"),
        ("1e999", "the body has a number too large to read (over 1.8e308)"),
    ],
)
def test_a_number_too_long_to_read_is_400_saying_so(people_db, api, number, message):
    r = post(api, f'{{"first_name": "Ada", "age": {number}}}')

    assert (r.status, r.json) == (400, {"message": message})
    assert people_ids(api) == [1, 2, 3, 4, 5, 6, 7]


def test_a_number_of_100_digits_is_read_and_judged_by_the_rules(people_db, api):
    r = post(api, json.dumps({"first_name": "Ada", "age": 10**99}))

    assert r.status == 422
    assert r.json["errors"] == [{"field": "age", "message": f"must be a whole number from 0 to 150, not {10**99}"}]


def test_a_name_with_an_invisible_character_after_its_letters_is_422(people_db, api):
    # "Smith" + ZERO WIDTH SPACE would look like Smith and never be found by /ids/lastname/smith
    r = post(api, json.dumps({"first_name": "Ada", "last_name": "Smith\u200b"}))

    assert r.status == 422
    assert r.json["errors"] == [{"field": "last_name", "message": "must not contain U+200B, an invisible character"}]
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


def test_concurrent_posts_of_one_id_give_exactly_one_201(people_db, api, environments, environment_api):
    # Given 8 warm environments of the function (each its own process, as in Lambda)
    environments.warm("create_person", 8, rest_event("POST", "/people", "/people", body="{}"))  # a 422: nothing written
    statuses: list[int] = []
    barrier = threading.Barrier(8)

    def attempt(n: int) -> None:
        barrier.wait()
        statuses.append(post(environment_api, json.dumps({"id": 100, "first_name": f"Racer {n}"})).status)

    # When 8 POSTs of one id come at once
    run_together(attempt, [(n,) for n in range(8)])
    assert sorted(statuses) == [201] + [409] * 7
    assert people_ids(api).count(100) == 1


def test_a_post_racing_a_delete_of_its_id_answers_with_the_person_it_inserted(empty_db, api):
    # Given another client deleting person 500 again and again, on a connection of its own (SQL, no handler)
    stop = threading.Event()

    def delete_again_and_again() -> None:
        with db.connect(database_settings()) as conn, conn.cursor() as cur:
            while not stop.is_set():
                try:
                    cur.execute("DELETE FROM people WHERE id = 500")
                except pymysql.err.OperationalError as error:
                    if error.args[0] != ER.LOCK_DEADLOCK:  # InnoDB's answer to a DELETE racing an INSERT: retry
                        raise

    deleter = threading.Thread(target=delete_again_and_again)
    deleter.start()
    # When POSTs create person 500 while it is being deleted
    answers = []
    try:
        for n in range(RACING_POSTS):
            answers.append((n, post(api, json.dumps({"id": 500, "first_name": f"Racer {n}", "age": n % 150}))))
    finally:
        stop.set()
        deleter.join()

    # Then each answers 201 with the person it inserted (whatever became of the row after), or 409 (the
    # previous racer's row was still there); never a 404, which is not an answer of POST
    assert {r.status for _, r in answers} <= {201, 409}, Counter(f"{r.status} {r.body[:60]}" for _, r in answers)
    created = [(n, r) for n, r in answers if r.status == 201]
    assert len(created) > RACING_POSTS // 4
    for n, r in created:
        assert (r.json["person"]["id"], r.json["person"]["first_name"], r.json["person"]["age"]) == (
            500,
            f"Racer {n}",
            n % 150,
        )
        assert r.headers["Location"] == "/v1/people/500"
        assert r.headers["ETag"].startswith('"')


def inserts_waiting(cur) -> int:
    """INSERTs into this test's people still running: waiting for a lock, since an insert alone is instant."""
    cur.execute(
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST"
        " WHERE DB = DATABASE() AND COMMAND = 'Query' AND INFO LIKE 'INSERT INTO people %'"
    )
    return cur.fetchone()[0]


DEADLOCK_OUTCOMES = {
    "tried again": (None, "a person with id 500 already exists"),
    "no attempt left": (
        1,
        "the person could not be added while other writes of its id raced it; nothing was added, try again",
    ),
}


@pytest.mark.parametrize(("attempts", "message"), DEADLOCK_OUTCOMES.values(), ids=DEADLOCK_OUTCOMES.keys())
def test_a_post_that_loses_a_deadlock_to_another_insert_of_its_id_is_a_409_not_a_5xx(
    empty_db, api, monkeypatch, attempts, message
):
    if attempts is not None:
        monkeypatch.setattr(people_store, "DEADLOCK_ATTEMPTS", attempts)
    # Given person 500, which one transaction is deleting, while another (larger) one inserts it again and waits
    settings = database_settings()
    with db.cursor() as cur:
        cur.execute("INSERT INTO people (id, first_name, change_id) VALUES (500, 'Erased', 1)")
    with db.connect(settings) as deleter, db.connect(settings) as inserter, db.connect(settings) as watcher:
        deleter.begin()
        deleter.cursor().execute("DELETE FROM people WHERE id = 500")
        inserter.begin()
        # (larger than the POST's transaction, which also writes its change: people/changes.py)
        others = ", ".join(f"({person_id}, 'Other', 1)" for person_id in range(501, 506))
        inserter.cursor().execute(f"INSERT INTO people (id, first_name, change_id) VALUES {others}")
        other_insert = threading.Thread(
            target=lambda: (
                inserter.cursor().execute("INSERT INTO people (id, first_name, change_id) VALUES (500, 'Other', 1)"),
                inserter.commit(),
            )
        )
        other_insert.start()
        answers = []

        def post_ada() -> None:
            try:
                answers.append(post(api, json.dumps({"id": 500, "first_name": "Ada"})))
            except Exception as error:  # what Lambda would answer 502 with
                answers.append(error)

        poster = threading.Thread(target=post_ada)
        with watcher.cursor() as cur:
            wait_until(lambda: inserts_waiting(cur) == 1)
            poster.start()
            wait_until(lambda: inserts_waiting(cur) == 2)
        # When the delete commits: both inserts get the row's shared lock, both need it exclusive, and InnoDB
        # rolls back the smaller transaction (the POST's) as a deadlock
        deleter.commit()
        poster.join()
        other_insert.join()

    # Then the POST was tried again and found the id taken (409, as for any POST of an id that exists), or,
    # with no attempt left, says so (409, nothing added)
    (answer,) = answers
    assert isinstance(answer, Reply), answer
    assert (answer.status, answer.json) == (409, {"message": message})
    with db.cursor() as cur:
        cur.execute("SELECT id, first_name FROM people ORDER BY id")
        assert cur.fetchall() == tuple((person_id, "Other") for person_id in range(500, 506))


def wait_until(condition, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.01)
