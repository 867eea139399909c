"""The export through `make dev`: POST /exports, the queue's poller, the export function, and the file downloaded
from moto's S3 with a plain HTTP client at the URL GET /exports/{id} gives."""

from __future__ import annotations

import csv
import io
import time
import urllib.request

import pytest

from devstack import issuer
from devstack.settings import EXPORT_BUCKET, aws_client
from devstack.subprocess_stack import running_stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack():
    with running_stack() as running:  # people.csv seeded through the bucket, as `make dev` does
        yield running


def wait_until_finished(stack, path: str, auth: dict, timeout: float = 60) -> dict:
    ends = time.monotonic() + timeout
    while time.monotonic() < ends:
        record = stack.request("GET", path, headers=auth).json
        if record["status"] in ("succeeded", "failed"):
            return record
        time.sleep(0.2)
    raise AssertionError(f"{path} still {record['status']} after {timeout} s")


def test_an_export_is_queued_run_and_downloaded_from_its_url(stack):
    auth = {"Authorization": f"Bearer {stack.token()}"}  # make token's user: in every group, people-exporters too

    # When an export is asked for
    posted = stack.request("POST", "/exports", headers=auth)
    assert posted.status == 202 and posted.json["status"] == "queued"
    assert posted.headers["Cache-Control"] == "no-store"

    # Then the queue's poller runs it, and its record gives a URL to the file
    record = wait_until_finished(stack, posted.headers["Location"], auth)
    assert record["status"] == "succeeded", record
    url = record["download"]["url"]
    assert url.startswith(f"http://127.0.0.1:{stack.s3_port}/{EXPORT_BUCKET}/exports/")
    with urllib.request.urlopen(url, timeout=10) as answer:  # no token, no AWS client: a plain GET
        data = answer.read()

    # And the file is people.csv's people in the import's format, dates as YYYY-MM-DD
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert rows[0] == ["ID", "First", "Last", "Age", "GithubAcct", "Date of 3rd Grade Graduation"]
    people = stack.request("GET", "/people?limit=1000").json["people"]
    assert [int(row[0]) for row in rows[1:]] == [person["id"] for person in people]
    assert rows[1] == ["1", "Matt", "Conway", "22", "wr0ngway", "2001-06-25"]
    assert record["progress"] == record["progress"] | {"rows_written": len(people), "bytes_written": len(data)}
    # And it is listed, newest first; the list and the record are never cached
    listed = stack.request("GET", "/exports", headers=auth)
    assert listed.json["exports"][0]["id"] == posted.json["id"] and listed.headers["Cache-Control"] == "no-store"


def writer_token(stack) -> str:
    """An access token of a user of the local pool in people-writers alone: no people:export."""
    endpoint = f"http://127.0.0.1:{stack.s3_port}"
    pool = issuer.find(endpoint)
    cognito = aws_client("cognito-idp", endpoint)
    user = {"UserPoolId": pool.pool_id, "Username": "writer"}
    cognito.admin_create_user(**user, MessageAction="SUPPRESS")
    cognito.admin_set_user_password(**user, Password=issuer.PASSWORD, Permanent=True)
    cognito.admin_add_user_to_group(**user, GroupName="people-writers")
    result = cognito.initiate_auth(
        ClientId=pool.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "writer", "PASSWORD": issuer.PASSWORD},
    )
    return result["AuthenticationResult"]["AccessToken"]


def test_the_exports_need_a_token_with_the_export_permission(stack):
    assert stack.request("POST", "/exports").status == 401
    assert stack.request("GET", "/exports/1").status == 401
    assert stack.request("GET", "/exports", headers={"Authorization": "Bearer not-a-token"}).status == 401
    writer = {"Authorization": f"Bearer {writer_token(stack)}"}
    assert stack.request("POST", "/people", {"last_name": "Allowed"}, writer).status == 201
    for method, path in (("POST", "/exports"), ("GET", "/exports"), ("GET", "/exports/1")):
        assert stack.request(method, path, headers=writer).status == 403, (method, path)
