"""GET /docs and GET /docs/{file} through the real handler: the page, the document, Swagger UI's files."""

from __future__ import annotations

import html.parser
from importlib.resources import files
from pathlib import Path

import pytest
import yaml

from conftest import invoke, load_event, reply, rest_event

ROOT = Path(__file__).resolve().parents[2]
SWAGGER_UI = files("aws_lambda_powertools.event_handler.openapi") / "swagger_ui"
THIS_API = "this API, the one that served this document"


def get(path: str, resource: str, headers: dict[str, str] | None = None, called_as: str | None = None):
    """GET `path` as API Gateway sends it (`/v1` before the path in requestContext), or as `make dev` does."""
    file = path.removeprefix("/docs/") if resource == "/docs/{file}" else None
    event = rest_event("GET", path, resource, path_params={"file": file} if file else None, headers=headers)
    if called_as is not None:
        event["requestContext"]["path"] = called_as
    return reply(invoke("docs", event))


class Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: list[str] = []
        self.attributes: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href") and not value.startswith("data:"):  # the favicon: none, not a request
                self.urls.append(value)
            self.attributes[name] = value


def links(page: str) -> Links:
    parser = Links()
    parser.feed(page)
    return parser


def test_the_sample_event_gets_the_page(database):
    r = reply(invoke("docs", load_event("docs")))
    assert (r.status, r.headers["Content-Type"]) == (200, "text/html; charset=utf-8")


def test_the_page_loads_its_files_and_the_document_from_this_api_only(database):
    r = get("/docs", "/docs")

    assert r.status == 200
    page = links(r.body)
    assert page.urls == ["/v1/docs/swagger-ui.min.css", "/v1/docs/swagger-ui-bundle.min.js", "/v1/docs/docs.js"]
    assert page.attributes["data-document"] == "/v1/docs/openapi.json"
    assert r.headers["Cache-Control"] == "public, max-age=300"
    assert "default-src 'self'" in r.headers["Content-Security-Policy"]
    assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_under_make_dev_the_page_is_at_the_root(database):
    # SAM CLI's local API puts the route, not the path called, in requestContext.path (docs/dev.md).
    r = get("/docs", "/docs", called_as="/docs")
    assert links(r.body).urls[0] == "/docs/swagger-ui.min.css"

    document = get("/docs/openapi.json", "/docs/{file}", called_as="/docs/{file}").json
    assert document["servers"] == [{"url": "/", "description": THIS_API}]


def test_a_trailing_slash_keeps_the_stage(database):
    assert links(get("/docs/", "/docs").body).urls[0] == "/v1/docs/swagger-ui.min.css"


def test_the_document_is_docs_openapi_yaml_with_this_api_as_its_server(database):
    committed = yaml.safe_load((ROOT / "docs" / "openapi.yaml").read_text())

    r = get("/docs/openapi.json", "/docs/{file}")

    assert (r.status, r.headers["Content-Type"]) == (200, "application/json")
    assert r.json == committed | {"servers": [{"url": "/v1", "description": THIS_API}]}
    assert set(r.json["paths"]) >= {"/ping", "/people", "/people/{id}", "/docs", "/docs/{file}"}


def test_the_function_reads_the_one_committed_document():
    link = ROOT / "functions" / "docs" / "openapi.yaml"
    assert link.is_symlink() and link.resolve() == (ROOT / "docs" / "openapi.yaml").resolve()


@pytest.mark.parametrize(
    ("file", "content_type", "content"),
    [
        ("swagger-ui-bundle.min.js", "text/javascript; charset=utf-8", SWAGGER_UI / "swagger-ui-bundle.min.js"),
        ("swagger-ui.min.css", "text/css; charset=utf-8", SWAGGER_UI / "swagger-ui.min.css"),
        ("docs.js", "text/javascript; charset=utf-8", ROOT / "functions" / "docs" / "docs.js"),
    ],
)
def test_the_pages_files_are_served_for_a_day(database, file, content_type, content):
    r = get(f"/docs/{file}", "/docs/{file}")
    assert (r.status, r.headers["Content-Type"]) == (200, content_type)
    assert r.body == content.read_text(encoding="utf-8")
    assert r.headers["Cache-Control"] == "public, max-age=86400"


@pytest.mark.parametrize(("path", "resource"), [("/docs", "/docs"), ("/docs/openapi.json", "/docs/{file}")])
def test_a_current_copy_is_304_and_a_stale_one_gets_the_file(database, path, resource):
    first = get(path, resource)
    etag = first.headers["ETag"]

    again = get(path, resource, headers={"If-None-Match": etag})
    stale = get(path, resource, headers={"If-None-Match": '"0123456789abcdef0123456789abcdef"'})

    assert (again.status, again.body, again.headers["ETag"]) == (304, None, etag)
    assert again.headers["Cache-Control"] == first.headers["Cache-Control"]
    assert (stale.status, stale.body) == (200, first.body)


@pytest.mark.parametrize("file", ["app.py", "page.html", "openapi.yaml", "requirements.txt", "..%2Fapp.py", "%2e%2e"])
def test_nothing_else_is_served(database, file):
    r = get(f"/docs/{file}", "/docs/{file}")
    assert (r.status, r.json, r.headers["Cache-Control"]) == (404, {"message": "no such file under /docs"}, "no-store")
