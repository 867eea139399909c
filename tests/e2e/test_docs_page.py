"""The docs page in headless Chromium, against `make dev`'s stack: every operation of the document renders,
"Try it out" calls this API, and the page loads nothing from anywhere else.

DOCS_SCREENSHOT=docs/docs-page.png makes the test write its screenshot there (the one in docs/ is this test's).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from devstack.settings import ROOT
from devstack.subprocess_stack import running_stack
from tests.e2e.browser import headless_chromium

pytestmark = pytest.mark.e2e

DOCUMENT = yaml.safe_load((ROOT / "docs" / "openapi.yaml").read_text())
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
OPERATIONS = sorted(
    (method.upper(), path) for path, item in DOCUMENT["paths"].items() for method in item if method in HTTP_METHODS
)
RENDERED_OPERATIONS = """[...document.querySelectorAll('.opblock')].map(block => [
    block.querySelector('.opblock-summary-method').textContent,
    block.querySelector('.opblock-summary-path').getAttribute('data-path')])"""


@pytest.fixture(scope="module")
def stack():
    with running_stack() as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    with headless_chromium() as running:
        yield running


def test_every_operation_of_the_document_renders(stack, browser, tmp_path):
    with browser.page() as page:
        page.goto(f"{stack.url}/docs")
        page.wait_for(f"document.querySelectorAll('.opblock').length >= {len(OPERATIONS)}")

        assert sorted(tuple(operation) for operation in page.evaluate(RENDERED_OPERATIONS)) == OPERATIONS
        assert page.evaluate("document.querySelector('.info .title').textContent").startswith(DOCUMENT["info"]["title"])
        screenshot = Path(os.environ.get("DOCS_SCREENSHOT") or tmp_path / "docs-page.png")
        page.screenshot(screenshot)
        assert screenshot.read_bytes().startswith(b"\x89PNG")

        # Nothing came from elsewhere, and nothing was refused (the Content-Security-Policy included).
        assert {url.split("/docs")[0] for url in page.requested_urls() if not url.startswith("data:")} == {stack.url}
        assert page.console_errors() == []


def test_try_it_out_calls_the_api_that_served_the_page(stack, browser):
    ping = "#operations-health-ping"
    with browser.page() as page:
        page.goto(f"{stack.url}/docs")
        for step in (".opblock-summary-control", ".try-out__btn", ".execute"):
            page.wait_for(f"!!document.querySelector('{ping} {step}')")
            page.evaluate(f"document.querySelector('{ping} {step}').click()")
        status = page.wait_for(
            f"document.querySelector('{ping} .live-responses-table tbody .response-col_status')?.textContent.trim()"
        )
        body = page.evaluate(f"document.querySelector('{ping} .live-responses-table tbody pre').textContent")
        url = page.evaluate(f"document.querySelector('{ping} .request-url pre').textContent")

    assert (status, body, url) == ("200", "pong", f"{stack.url}/ping")


def test_the_document_names_this_api_as_its_server(stack):
    reply = stack.request("GET", "/docs/openapi.json")
    assert reply.status == 200
    assert reply.json["servers"] == [{"url": "/", "description": "this API, the one that served this document"}]
    assert json.loads(reply.body)["paths"].keys() == DOCUMENT["paths"].keys()


def test_the_page_is_public_and_cacheable_even_when_the_reads_need_a_token():
    with running_stack(PEOPLE_READS_AUTHORIZER="BearerToken") as stack:
        page, people = stack.request("GET", "/docs"), stack.request("GET", "/people")

    assert (page.status, page.headers["Cache-Control"]) == (200, "public, max-age=300")
    assert people.status == 401
