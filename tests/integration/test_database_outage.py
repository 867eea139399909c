"""A database that goes away gives 503 with a message; the function recovers on its own."""

import socket

import pytest

from devstack.functions import free_port
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
