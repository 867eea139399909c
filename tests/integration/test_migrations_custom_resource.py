"""The Migrate function as CloudFormation's custom resource, answering a local stand-in for the response URL.

CloudFormation sends Create/Update/Delete with a pre-signed S3 URL and waits for one JSON answer PUT
there (docs/deploy.md#custom-resource). A local HTTP server takes that URL's place and records what
arrives, so these tests see exactly what CloudFormation would.
"""

from __future__ import annotations

import importlib
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import LambdaContext, invoke
from people_api import db
from people_api.migrations import LOCK_NAME, MIGRATIONS


@dataclass
class ResponseUrl:
    """A stand-in for the pre-signed URL: records each PUT; `fail_first` answers that many with 500."""

    url: str
    answers: list[dict] = field(default_factory=list)
    headers: list[dict] = field(default_factory=list)
    fail_first: int = 0


@pytest.fixture
def response_url():
    recorded = ResponseUrl(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            recorded.headers.append(dict(self.headers))
            if recorded.fail_first > 0:
                recorded.fail_first -= 1
                self.send_response(500)
            else:
                recorded.answers.append(json.loads(body))
                self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    recorded.url = f"http://127.0.0.1:{server.server_port}/cfn-response?X-Amz-Signature=abc"
    yield recorded
    server.shutdown()


def cfn_event(request_type: str, url: str, physical_id: str | None = None) -> dict:
    event = {
        "RequestType": request_type,
        "ServiceToken": "arn:aws:lambda:eu-west-1:123456789012:function:people-api-MigrateFunction",
        "ResponseURL": url,
        "StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/people-api/0a1b2c3d",
        "RequestId": str(uuid.uuid4()),
        "LogicalResourceId": "SchemaMigrations",
        "ResourceType": "Custom::SchemaMigrations",
        "ResourceProperties": {"ServiceToken": "arn:...", "MigrateFunctionVersion": "3"},
    }
    if physical_id is not None:
        event["PhysicalResourceId"] = physical_id
        event["OldResourceProperties"] = {"ServiceToken": "arn:...", "MigrateFunctionVersion": "2"}
    return event


def applied_versions() -> set[int]:
    with db.cursor() as cur:
        cur.execute("SELECT version FROM schema_migrations")
        return {version for (version,) in cur.fetchall()}


def test_create_migrates_and_answers_success_with_the_schema_version(database, response_url):
    # Given a stack being created
    event = cfn_event("Create", response_url.url)

    # When CloudFormation asks the Migrate function to create the resource
    invoke("migrate", event)

    # Then exactly one answer arrives: SUCCESS, the request's ids copied, the schema version as data
    [answer] = response_url.answers
    assert answer["Status"] == "SUCCESS"
    assert (answer["RequestId"], answer["StackId"], answer["LogicalResourceId"]) == (
        event["RequestId"],
        event["StackId"],
        "SchemaMigrations",
    )
    assert answer["PhysicalResourceId"]
    assert answer["Data"] == {"applied": "[]", "schema_version": str(max(MIGRATIONS))}
    assert applied_versions() == set(MIGRATIONS)
    # The pre-signed URL is signed without a content type: sending one would make S3 refuse it.
    assert response_url.headers[0].get("Content-Type", "") == ""


def test_update_applies_a_new_migration_and_keeps_the_physical_id(database, response_url, monkeypatch):
    # Given a deploy whose code brings a migration the database does not have yet
    version = max(MIGRATIONS) + 100
    monkeypatch.setitem(MIGRATIONS, version, ("CREATE TABLE IF NOT EXISTS cr_update_probe (id INT PRIMARY KEY)",))

    try:
        # When CloudFormation sends Update for the existing resource
        invoke("migrate", cfn_event("Update", response_url.url, physical_id="SchemaMigrations-first"))

        # Then the migration ran, and the answer keeps the physical id (a new one would mean replacement)
        [answer] = response_url.answers
        assert (answer["Status"], answer["PhysicalResourceId"]) == ("SUCCESS", "SchemaMigrations-first")
        assert answer["Data"]["applied"] == f"[{version}]"
        assert version in applied_versions()
    finally:
        with db.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS cr_update_probe")
            cur.execute("DELETE FROM schema_migrations WHERE version = %s", (version,))


def test_delete_answers_success_without_touching_the_database(database, response_url, monkeypatch):
    # Given a database that cannot be reached (deleting a stack must not hang on it or touch it)
    db.close()
    monkeypatch.setenv("DB_PORT", "1")

    # When CloudFormation deletes the resource
    invoke("migrate", cfn_event("Delete", response_url.url, physical_id="SchemaMigrations-first"))

    # Then it is told SUCCESS straight away: the schema and the data stay
    [answer] = response_url.answers
    assert (answer["Status"], answer["PhysicalResourceId"]) == ("SUCCESS", "SchemaMigrations-first")


def test_a_failing_migration_fails_the_deploy_with_the_database_message(database, response_url, monkeypatch):
    # Given a migration the server refuses
    version = max(MIGRATIONS) + 101
    monkeypatch.setitem(MIGRATIONS, version, ("ALTER TABLE people ADD COLUMN age INT",))

    # When CloudFormation creates the resource
    invoke("migrate", cfn_event("Create", response_url.url))

    # Then the answer is FAILED with MySQL's own message, and the version is not recorded as applied
    [answer] = response_url.answers
    assert answer["Status"] == "FAILED"
    assert "Duplicate column name 'age'" in answer["Reason"]
    assert answer["PhysicalResourceId"]
    assert version not in applied_versions()


def test_a_long_error_message_is_cut_to_fit_cloudformations_limit(database, response_url, monkeypatch):
    # Given a migration whose error message is very long (the statement is quoted back in it)
    long_name = "x" * 60
    statement = "SELECT * FROM " + " JOIN ".join(f"missing_{long_name}_{i}" for i in range(200))
    monkeypatch.setitem(MIGRATIONS, max(MIGRATIONS) + 102, (statement + " WHERE",))

    # When it fails during Create
    invoke("migrate", cfn_event("Create", response_url.url))

    # Then the whole answer still fits in 4096 bytes
    [answer] = response_url.answers
    assert answer["Status"] == "FAILED"
    assert len(json.dumps(answer).encode()) <= 4096


def test_near_the_timeout_the_function_answers_failed_instead_of_going_silent(database, response_url):
    # Given another session holding the migration lock, so the migration waits for it
    holder = db.connect(database)
    assert db.get_lock(holder, LOCK_NAME, 0)
    try:
        # When the function has 12 s left (the answer margin is 10 s)
        context = LambdaContext("people-api-test", timeout_seconds=12)  # times out 12 s from now
        started = time.monotonic()
        importlib.import_module("functions.migrate.app").lambda_handler(cfn_event("Create", response_url.url), context)

        # Then it answers FAILED before Lambda would stop it, saying why
        assert time.monotonic() - started < 11.5
        [answer] = response_url.answers
        assert answer["Status"] == "FAILED"
        assert "timeout" in answer["Reason"]
    finally:
        holder.close()  # releases the lock; the abandoned migration then finishes harmlessly


def test_an_answer_the_url_refuses_is_sent_again(database, response_url):
    # Given a response URL that fails the first PUT
    response_url.fail_first = 1

    # When the function answers
    invoke("migrate", cfn_event("Create", response_url.url))

    # Then the second attempt gets through
    assert len(response_url.headers) == 2
    assert [answer["Status"] for answer in response_url.answers] == ["SUCCESS"]


def test_a_manual_invocation_still_returns_the_result(database):
    # sam remote invoke MigrateFunction: no CloudFormation fields, the result comes back directly
    assert invoke("migrate", {}) == {"applied": [], "schema_version": max(MIGRATIONS)}
