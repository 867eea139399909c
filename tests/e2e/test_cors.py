"""CORS under `make dev` with CORS_ALLOWED_ORIGINS: the preflights (the template's mock integrations, as API
Gateway answers them), the headers of the answers, and cross-origin `fetch` from a page in headless Chromium
served by another local origin: the allowed origin reads the answers, another one is blocked.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from devstack.ports import free_port
from devstack.subprocess_stack import running_stack
from tests.e2e.browser import headless_chromium

pytestmark = pytest.mark.e2e

APP_PORT, OTHER_PORT = free_port(), free_port()
ALLOWED = f"http://127.0.0.1:{APP_PORT}"
DISALLOWED = f"http://127.0.0.1:{OTHER_PORT}"
SECOND_ALLOWED = "https://app.example.org"  # a second origin in the list: the answer names the one that asked
ACCESS_CONTROL = "access-control-"


@pytest.fixture(scope="module")
def stack():
    with running_stack(CORS_ALLOWED_ORIGINS=f"{ALLOWED},{SECOND_ALLOWED}") as running:
        yield running


def cors_headers(reply) -> dict[str, str]:
    return {name: value for name, value in reply.headers.items() if name.lower().startswith(ACCESS_CONTROL)}


def preflight(stack, path: str, origin: str | None, method: str = "PATCH"):
    headers = {"Access-Control-Request-Method": method, "Access-Control-Request-Headers": "authorization,if-match"}
    return stack.request("OPTIONS", path, headers=headers | ({"Origin": origin} if origin else {}))


@pytest.mark.parametrize("origin", [ALLOWED, SECOND_ALLOWED])
@pytest.mark.parametrize("path", ["/people", "/people/1", "/people/age", "/imports/1", "/ping", "/docs/openapi.json"])
def test_a_preflight_from_an_allowed_origin_is_answered_for_it(stack, path, origin):
    r = preflight(stack, path, origin)

    assert r.status == 204
    assert cors_headers(r) == {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": "GET, POST, PATCH, DELETE",
        "Access-Control-Allow-Headers": "Authorization, Content-Type, If-Match, If-None-Match",
        "Access-Control-Max-Age": "600",
    }
    assert r.headers["Vary"] == "Origin"


@pytest.mark.parametrize(
    "origin", [None, DISALLOWED, "null", f"{ALLOWED},{SECOND_ALLOWED}", f"{ALLOWED}.evil.example", "HTTP://127.0.0.1"]
)
def test_a_preflight_from_any_other_origin_allows_nothing(stack, origin):
    r = preflight(stack, "/people/1", origin)
    assert (r.status, cors_headers(r), r.headers["Vary"]) == (204, {}, "Origin")


def test_a_preflight_on_a_path_with_no_route_is_the_no_route_answer(stack):
    r = preflight(stack, "/nothing/here", ALLOWED)
    assert (r.status, r.json) == (404, {"message": "no route for this method and path"})


def test_the_answers_name_an_allowed_origin_only(stack):
    allowed = stack.request("GET", "/people/1", headers={"Origin": ALLOWED})
    other = stack.request("GET", "/people/1", headers={"Origin": DISALLOWED})

    assert allowed.status == other.status == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert {"ETag", "Location"} <= set(allowed.headers["Access-Control-Expose-Headers"].split(","))
    assert "Access-Control-Allow-Origin" not in other.headers
    assert allowed.headers["Vary"] == other.headers["Vary"] == "Origin"


def test_the_gateways_own_answers_name_the_origin(stack):
    # A gateway response cannot compare the Origin with the list: it names any (README, CORS).
    unauthorized = stack.request("POST", "/people", body={"first_name": "Ada"}, headers={"Origin": ALLOWED})
    no_route = stack.request("GET", "/nothing", headers={"Origin": ALLOWED})

    assert unauthorized.status == 401
    assert unauthorized.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert unauthorized.headers["Access-Control-Expose-Headers"] == "WWW-Authenticate"
    assert (no_route.status, no_route.headers["Access-Control-Allow-Origin"]) == (404, ALLOWED)


def test_without_the_setting_there_is_no_preflight_and_no_origin_is_named():
    with running_stack() as plain:
        options = preflight(plain, "/people", ALLOWED)
        answer = plain.request("GET", "/people/1", headers={"Origin": ALLOWED})

    assert (options.status, options.json) == (404, {"message": "no route for this method and path"})
    assert (answer.status, cors_headers(answer)) == (200, {})
    assert "Vary" not in answer.headers


# -- in a browser ---------------------------------------------------------------------------------


class _App(BaseHTTPRequestHandler):
    """A browser app's origin: one empty page; its scripts call the API."""

    def do_GET(self):
        body = b"<!DOCTYPE html><html><head><title>app</title><link rel='icon' href='data:,'></head></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@contextmanager
def app_origin(port: int) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", port), _App)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def browser():
    with headless_chromium() as running:
        yield running


FETCH = """(async () => {{
    try {{
        const r = await fetch({url}, {options});
        const [etag, location] = [r.headers.get("ETag"), r.headers.get("Location")];
        return {{status: r.status, etag, location, body: await r.text()}};
    }} catch (error) {{
        return {{blocked: String(error)}};
    }}
}})()"""


def fetch_from(browser, origin: str, url: str, **options) -> dict:
    """What a script of a page at `origin` gets from fetch(url, options): the answer, or `blocked`."""
    with browser.page() as page:
        page.goto(f"{origin}/")
        page.wait_for("document.readyState === 'complete' && document.title === 'app'")
        return page.evaluate(FETCH.format(url=json.dumps(url), options=json.dumps(options)))


def test_a_page_of_the_allowed_origin_reads_and_writes_with_a_preflight(stack, browser):
    token = stack.token()
    with app_origin(APP_PORT) as origin:
        read = fetch_from(browser, origin, f"{stack.url}/people/1", headers={"If-None-Match": '"stale"'})
        created = fetch_from(
            browser,
            origin,
            f"{stack.url}/people",
            method="POST",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            body=json.dumps({"first_name": "Grace", "last_name": "Hopper"}),
        )
        refused = fetch_from(browser, origin, f"{stack.url}/people", method="POST", body="{}")

    assert read["status"] == 200 and read["etag"].startswith('"')
    assert created["status"] == 201
    assert created["location"] == f"/people/{json.loads(created['body'])['person']['id']}"
    assert (refused["status"], json.loads(refused["body"])) == (401, {"message": "a valid bearer token is required"})


def test_a_page_of_another_origin_is_blocked(stack, browser):
    with app_origin(OTHER_PORT) as origin:
        simple = fetch_from(browser, origin, f"{stack.url}/people/1")  # no preflight: the answer names no origin
        preflighted = fetch_from(browser, origin, f"{stack.url}/people/1", headers={"If-None-Match": '"stale"'})

    assert simple.keys() == preflighted.keys() == {"blocked"}
    assert "Failed to fetch" in simple["blocked"]
