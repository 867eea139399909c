"""The local gateway answers as API Gateway does: paths as sent, JSON for every error, concurrent invocations.

Over HTTP against `python -m devstack` (devstack/subprocess_stack.py), for what the handler tests
with AWS-shaped events cannot show: the events the local gateway builds.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from urllib.parse import quote

import pytest

from devstack.subprocess_stack import running_stack

pytestmark = pytest.mark.e2e

NAMES = ["O'Neil", "Zoe\u0301", "😀", "100%", "a%41b", "hash#tag", "what?", 'say "hi"', "back\\slash", "a/b", "日本"]


@pytest.fixture(scope="module")
def stack():
    with running_stack() as running:
        yield running


def raw_request(stack, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    """A request with the path exactly as given (urllib would re-encode it)."""
    connection = http.client.HTTPConnection("127.0.0.1", stack.api_port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type"), response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("name", NAMES)
def test_a_stored_last_name_is_found_through_its_url_encoded_path(stack, name):
    token = {"Authorization": f"Bearer {stack.token()}"}
    created = stack.request("POST", "/people", {"first_name": "Round", "last_name": name}, token)
    assert created.status == 201, created.body

    upper = quote(name, safe="")
    for segment in (upper, re.sub("%[0-9A-F]{2}", lambda escape: escape.group().lower(), upper)):
        found = stack.request("GET", f"/ids/lastname/{segment}")
        assert found.status == 200, (segment, found.body)
        assert created.json["person"]["id"] in found.json["ids"]
        assert found.json["last_name"] == name


@pytest.mark.parametrize(
    "method,path",
    [
        ("HEAD", "/ping"),
        ("HEAD", "/people"),
        ("OPTIONS", "/people"),
        ("PUT", "/ping"),
        ("TRACE", "/ping"),
        ("GET", "/people//1"),
        ("GET", "/%00"),
        ("GET", "/people/%2e%2e/ping"),
        ("GET", "/ids/lastname/"),
    ],
)
def test_a_method_or_path_with_no_route_is_a_json_404_never_html_or_5xx(stack, method, path):
    status, content_type, body = raw_request(stack, method, path)

    assert (status, content_type) == (404, "application/json"), body
    if method != "HEAD":
        assert b"<" not in body


def test_a_body_that_is_not_utf8_is_a_400(stack):
    token = {"Authorization": f"Bearer {stack.token()}", "Content-Type": "application/json"}

    status, _, body = raw_request(stack, "POST", "/people", b'{"first_name": "Jos\xe9"}', token)

    assert status == 400, body


def test_an_id_that_is_not_decimal_digits_is_400(stack):
    for path in ("/people/1.0", "/people/+1", "/people/%201", "/people/1%2F2"):
        status, _, body = raw_request(stack, "GET", path)
        assert status == 400, (path, body)


def test_200_concurrent_requests_to_one_function_are_all_answered(stack):
    def people_by_age(_):
        return stack.request("GET", "/people/age?limit=5", timeout=60).status

    with ThreadPoolExecutor(200) as clients:
        statuses = list(clients.map(people_by_age, range(200)))

    failed = [status for status in statuses if status != 200]
    assert not failed, f"{len(failed)} of 200 failed: {failed}\n" + "\n".join(
        line for line in stack.lines if "GET /people/age -> 200" not in line
    )


def test_the_access_log_names_the_route_not_the_path_so_no_name_reaches_the_terminal(stack):
    # Given a request whose path holds a last name
    name = "Zyxwvutsrqp"
    found = stack.request("GET", f"/ids/lastname/{name}")
    assert found.status == 200

    # Then the access log line has the route's template path (API Gateway's $context.resourcePath), not the name
    stack.wait_for_line("GET /ids/lastname/{lastname} -> 200", timeout=10)
    assert name not in stack.output
    assert name.lower() not in stack.output


def test_a_request_over_lambdas_6_mb_is_a_413_and_reaches_no_function(stack):
    token = {"Authorization": f"Bearer {stack.token()}", "Content-Type": "application/json"}
    body = json.dumps({"first_name": "Big", "last_name": "x" * 6_300_000}).encode()

    status, content_type, answer = raw_request(stack, "POST", "/people", body, token)

    assert (status, content_type, json.loads(answer)) == (413, "application/json", {"message": "Request Too Long"})


SECRET = "Secretname"
REFUSED_BEFORE_ANY_ROUTE = {
    "request line that is not HTTP": (f"GET /ids/lastname/{SECRET} NOT-HTTP\r\n\r\n".encode(), 400),
    "request line of four words": (f"GET /ids/lastname/{SECRET} x HTTP/1.1\r\n\r\n".encode(), 400),
    "HTTP version it does not speak": (f"GET /ids/lastname/{SECRET} HTTP/9.9\r\n\r\n".encode(), 505),
    "request line over 64 KB": (f"GET /ids/lastname/{SECRET}{'x' * 70_000} HTTP/1.1\r\n\r\n".encode(), 414),
    "header line over 64 KB": (
        f"GET /ids/lastname/{SECRET} HTTP/1.1\r\nHost: a\r\nX-Big: {SECRET}{'y' * 70_000}\r\n\r\n".encode(),
        431,
    ),
    "method of 60 KB, then a header too long": (
        f"{'M' * 60_000}{SECRET} / HTTP/1.1\r\nX-Big: {'y' * 70_000}\r\n\r\n".encode(),
        431,
    ),
}


def settled_line_count(stack) -> int:
    """How many lines the stack has written, once it has written none for 0.3 s: the gateway writes a request's
    access line after its answer, so an earlier test's line can still be on its way (it once failed CI)."""
    count, deadline = len(stack.lines), time.monotonic() + 10
    while time.monotonic() < deadline:
        time.sleep(0.3)
        if len(stack.lines) == count:
            return count
        count = len(stack.lines)
    raise AssertionError("the stack kept writing lines for 10 s")


def raw_bytes(stack, data: bytes) -> bytes:
    """What the server answers to exactly these bytes, up to its closing the connection."""
    with socket.create_connection(("127.0.0.1", stack.api_port), timeout=10) as connection:
        connection.sendall(data)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize(("request_bytes", "status"), REFUSED_BEFORE_ANY_ROUTE.values(), ids=REFUSED_BEFORE_ANY_ROUTE)
def test_a_request_the_server_refuses_before_any_route_is_json_and_one_short_log_line(stack, request_bytes, status):
    lines_before = settled_line_count(stack)

    answer = raw_bytes(stack, request_bytes)

    # Then the answer is HTTP with a JSON body, as the gateway's answers are, not werkzeug's HTML page
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value for name, _, value in (line.partition(": ") for line in header_lines)}
    phrase = HTTPStatus(status).phrase
    assert (status_line, headers["content-type"], json.loads(body)) == (
        f"HTTP/1.1 {status} {phrase}",
        "application/json",
        {"message": phrase},
    )

    # And the terminal has one JSON line for it, short, without the request's path or values
    def lines_of_the_api() -> list[str]:
        return [line for line in stack.lines[lines_before:] if line.startswith("api ")]

    deadline = time.monotonic() + 10
    while not lines_of_the_api() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)  # any other line it would write
    new = lines_of_the_api()
    assert len(new) == 1, new
    logged = json.loads(new[0].partition(" | ")[2])
    assert logged["status"] == status and logged["level"] == "error", logged
    assert len(new[0]) < 200 and SECRET not in new[0] and "lastname" not in new[0], new[0]
