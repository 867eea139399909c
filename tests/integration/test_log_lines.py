"""What the API functions and the authorizer write to their logs: bounded lines, and no personal value.

The lines are read as they leave the process: the shared logger's JSON lines and anything printed. Powertools
is configured here as an operator might configure it to debug (POWERTOOLS_LOGGER_LOG_EVENT, POWERTOOLS_DEV),
which would otherwise print each event, and with it the body's names and the path of /ids/lastname/{name}.
"""

from __future__ import annotations

import base64
import importlib
import io
import json
from urllib.parse import quote

import pytest

from conftest import invoke, rest_event
from functions.authorizer import app as authorizer
from people_api import db
from people_api.observability import MAX_LOG_LINE_CHARS, logger

API = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/v1"
# Personal values at their largest, each easy to find in a log
FIRST, LAST = "Adelaide" + "x" * 92, "Lovelace" + "y" * 92
ACCOUNT, GRADUATION = "ada-personal-account", "1994-06-25"
PERSONAL = [FIRST, LAST, ACCOUNT, GRADUATION, "Adelaide", "Lovelace", "ada-personal", "1994-06"]
API_FUNCTIONS = ["create_person", "update_person", "get_person", "ids_by_last_name", "delete_person", "list_people"]


@pytest.fixture
def written(capsys):
    """The lines written while a test runs: the logger's and stdout's (where Powertools' debug prints go)."""
    lines = io.StringIO()
    terminal = logger.registered_handler.setStream(lines)

    def read() -> list[str]:
        return lines.getvalue().splitlines() + capsys.readouterr().out.splitlines()

    try:
        yield read
    finally:
        logger.registered_handler.setStream(terminal)


@pytest.fixture
def debugging_powertools(monkeypatch):
    """The API functions as started with Powertools' event logging and debug mode on."""
    monkeypatch.setenv("POWERTOOLS_LOGGER_LOG_EVENT", "true")
    monkeypatch.setenv("POWERTOOLS_DEV", "true")
    monkeypatch.setenv("POWERTOOLS_EVENT_HANDLER_DEBUG", "true")
    modules = [importlib.import_module(f"functions.{name}.app") for name in API_FUNCTIONS]
    for module in modules:
        importlib.reload(module)
    yield
    monkeypatch.undo()
    for module in modules:
        importlib.reload(module)


def assert_bounded_and_impersonal(lines: list[str]) -> None:
    assert lines, "nothing was logged"
    assert max(len(line) for line in lines) <= MAX_LOG_LINE_CHARS
    leaks = [(value[:20], line[:200]) for line in lines for value in PERSONAL if value in line]
    assert leaks == []


def test_the_api_functions_log_no_personal_value_even_with_powertools_debugging(
    empty_db, debugging_powertools, written
):
    # Given a person at the largest, written, read, looked up, corrected and erased
    person = {"first_name": FIRST, "last_name": LAST, "github_account": ACCOUNT, "third_grade_graduation": GRADUATION}
    created = invoke("create_person", rest_event("POST", "/people", "/people", body=json.dumps(person)))
    assert created["statusCode"] == 201, created["body"]
    person_id = str(json.loads(created["body"])["person"]["id"])
    item = {"path_params": {"id": person_id}}
    path = f"/people/{person_id}"
    segment = quote(LAST)
    requests = [
        ("get_person", rest_event("GET", path, "/people/{id}", **item)),
        (
            "ids_by_last_name",
            rest_event(
                "GET", f"/ids/lastname/{segment}", "/ids/lastname/{lastname}", path_params={"lastname": segment}
            ),
        ),
        ("update_person", rest_event("PATCH", path, "/people/{id}", body=json.dumps({"first_name": LAST}), **item)),
        ("update_person", rest_event("PATCH", path, "/people/{id}", body=json.dumps({"age": FIRST}), **item)),
        ("list_people", rest_event("GET", "/people", "/people")),
        ("delete_person", rest_event("DELETE", path, "/people/{id}", **item)),
    ]

    # When each is answered
    statuses = [invoke(function, event)["statusCode"] for function, event in requests]

    # Then the lines written are bounded and name none of the person's values
    assert statuses == [200, 200, 200, 422, 200, 204]
    assert_bounded_and_impersonal(written())


def test_a_database_outage_is_logged_with_its_trace_in_a_bounded_line(people_db, monkeypatch, written):
    db.close()
    monkeypatch.setenv("DB_PORT", "1")
    response = invoke("create_person", rest_event("POST", "/people", "/people", body=json.dumps({"last_name": LAST})))

    assert response["statusCode"] == 503
    lines = written()
    assert any('"database unavailable"' in line and "Traceback" in line for line in lines)
    assert_bounded_and_impersonal(lines)
    monkeypatch.undo()
    db.close()


def _b64(data) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


HUGE = (" ".join(PERSONAL) + " ") * 15  # about 3,500 characters of personal values
REFUSED_WITH_HUGE_CLAIMS = {
    "an algorithm": lambda i: f"{_b64({'alg': HUGE, 'kid': 'rsa-1'})}.{_b64(i.claims())}.c2ln",
    "a key id": lambda i: i.token(headers={"kid": HUGE}),
    "a critical extension": lambda i: i.token(headers={"crit": [HUGE]}),
    "token_use": lambda i: i.token(token_use=HUGE),
    "a subject": lambda i: i.token(sub=HUGE),
    "a username": lambda i: i.token(username=HUGE),
    "a group": lambda i: i.token(["people-writers", {"name": HUGE}]),
    "an expiry": lambda i: i.token(exp=HUGE),
    "an issuer": lambda i: i.token(iss=HUGE),
    "a header that is not JSON": lambda i: f"{base64.urlsafe_b64encode(HUGE.encode()).decode()}.e30.c2ln",
}


@pytest.mark.parametrize("make_token", REFUSED_WITH_HUGE_CLAIMS.values(), ids=REFUSED_WITH_HUGE_CLAIMS.keys())
def test_a_refused_token_s_reason_names_what_is_wrong_without_quoting_it(token_issuer, written, make_token):
    authorizer.verifier.cache_clear()
    token = make_token(token_issuer)
    assert len(token) <= 8192  # read, not refused for its length

    with pytest.raises(Exception, match="^Unauthorized$"):
        invoke(
            "authorizer", {"type": "TOKEN", "methodArn": f"{API}/GET/people", "authorizationToken": f"Bearer {token}"}
        )

    lines = written()
    assert_bounded_and_impersonal(lines)
    (refusal,) = [json.loads(line) for line in lines if '"token refused"' in line]
    assert 0 < len(refusal["reason"]) <= 120
