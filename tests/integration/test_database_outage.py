"""A database that goes away gives 503 with a message; the function recovers on its own."""

import socket
import threading
import time

import pymysql
import pytest

from devstack.ports import free_port
from people_api import db


@pytest.fixture
def closed_port():
    return free_port()


def get_people(api):
    return api("list_people", "GET", "/people", "/people")


def test_unreachable_database_is_503_then_recovers(people_db, api, monkeypatch, closed_port):
    db.close()
    monkeypatch.setenv("DB_PORT", str(closed_port))
    down = get_people(api)
    assert down.status == 503
    assert down.json == {"message": "the database is unavailable; try again shortly"}
    assert down.headers["Retry-After"] == "5"
    assert "Traceback" not in down.body

    monkeypatch.undo()
    assert get_people(api).status == 200


def test_a_database_that_accepts_but_never_answers_times_out_as_503(people_db, api, monkeypatch):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # connections queue up, no handshake ever comes
        db.close()
        monkeypatch.setenv("DB_PORT", str(silent.getsockname()[1]))
        monkeypatch.setenv("DB_CONNECT_TIMEOUT", "1")
        monkeypatch.setenv("DB_READ_TIMEOUT", "1")  # pymysql reads the handshake under read_timeout
        assert get_people(api).status == 503
    monkeypatch.undo()
    assert get_people(api).status == 200


def test_a_dropped_connection_is_reopened_without_an_error(people_db, api):
    assert get_people(api).status == 200
    old = db.connection()
    with db.connect(people_db) as admin, admin.cursor() as cur:
        cur.execute("KILL CONNECTION %s", (old.thread_id(),))
    r = get_people(api)
    assert r.status == 200 and len(r.json["people"]) == 7
    assert db.connection() is not old


def test_writes_also_answer_503_and_change_nothing(people_db, api, monkeypatch, closed_port):
    db.close()
    monkeypatch.setenv("DB_PORT", str(closed_port))
    r = api("create_person", "POST", "/people", "/people", body='{"first_name": "Lost"}')
    assert r.status == 503
    monkeypatch.undo()
    assert len(get_people(api).json["people"]) == 7


# No ping per request: a connection the server dropped between requests, or during one.


def kill(settings, connection_id: int) -> None:
    """KILL CONNECTION from a second connection; returns once the server no longer lists it."""
    with db.connect(settings) as admin, admin.cursor() as cur:
        cur.execute("KILL CONNECTION %s", (connection_id,))
        while cur.execute("SELECT 1 FROM information_schema.PROCESSLIST WHERE ID = %s", (connection_id,)):
            time.sleep(0.01)


def wait_for_statement(cur, like: str) -> int:
    """The id of the connection that is running a statement `like` this (the test's own excepted)."""
    for _ in range(500):
        cur.execute(
            "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE %s AND ID <> CONNECTION_ID()", (like,)
        )
        row = cur.fetchone()
        if row:
            return row[0]
        time.sleep(0.01)
    raise AssertionError(f"no statement like {like!r} started")


def in_thread(call) -> tuple[threading.Thread, list]:
    answers: list = []
    thread = threading.Thread(target=lambda: answers.append(call()))
    thread.start()
    return thread, answers


def test_a_warm_request_sends_no_ping(people_db, api, monkeypatch):
    assert get_people(api).status == 200

    def no_ping(*_args, **_kwargs):
        raise AssertionError("a request pinged the database")

    monkeypatch.setattr(pymysql.connections.Connection, "ping", no_ping)
    assert get_people(api).status == 200
    assert api("create_person", "POST", "/people", "/people", body='{"first_name": "Warm"}').status == 201


def test_a_connection_killed_between_requests_serves_the_next_read_and_write(people_db, api):
    assert get_people(api).status == 200
    kill(people_db, db.connection().thread_id())

    created = api("create_person", "POST", "/people", "/people", body='{"first_name": "After"}')
    assert created.status == 201  # the write went out on a new connection: the old one was seen dropped first

    kill(people_db, db.connection().thread_id())
    assert len(get_people(api).json["people"]) == 8


def test_a_read_whose_connection_is_killed_midway_is_read_again(people_db, api):
    with db.connect(people_db) as admin, admin.cursor() as cur:
        cur.execute("LOCK TABLES people WRITE")  # the read waits on the table, mid-statement
        thread, answers = in_thread(
            lambda: api("get_person", "GET", "/people/1", "/people/{id}", path_params={"id": "1"})
        )
        kill(people_db, wait_for_statement(cur, "SELECT%FROM people WHERE id%"))
        cur.execute("UNLOCK TABLES")
        thread.join(10)
    assert (answers[0].status, answers[0].json["first_name"]) == (200, "Matt")


def test_a_write_whose_connection_is_killed_midway_is_503_and_not_sent_again(people_db, api):
    before = api("get_person", "GET", "/people/1", "/people/{id}", path_params={"id": "1"}).json
    with db.connect(people_db) as admin, admin.cursor() as cur:
        admin.begin()
        cur.execute("SELECT id FROM people WHERE id = 1 FOR UPDATE")  # the write waits on the row
        thread, answers = in_thread(
            lambda: api(
                "update_person", "PATCH", "/people/1", "/people/{id}", path_params={"id": "1"}, body='{"age": 99}'
            )
        )
        kill(people_db, wait_for_statement(cur, "UPDATE people SET%"))
        admin.rollback()
        thread.join(10)

    assert answers[0].status == 503
    time.sleep(0.2)  # a write sent again would have landed by now
    after = api("get_person", "GET", "/people/1", "/people/{id}", path_params={"id": "1"}).json
    assert after == before


def test_a_read_that_times_out_is_503_and_not_sent_again(people_db, api, monkeypatch, caplog):
    db.close()
    monkeypatch.setenv("DB_READ_TIMEOUT", "1")
    with db.connect(people_db) as admin, admin.cursor() as cur:
        cur.execute("LOCK TABLES people WRITE")  # the read waits past its timeout
        r = api("get_person", "GET", "/people/1", "/people/{id}", path_params={"id": "1"})
        cur.execute("UNLOCK TABLES")

    assert r.status == 503
    assert "database unavailable" in caplog.text and "reading again" not in caplog.text
