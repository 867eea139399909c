"""GET /docs: a page where a person reads the API's OpenAPI document and tries it (Swagger UI);
GET /docs/{file}: the document as JSON, and the page's script and style.

The page loads nothing from elsewhere. The document is docs/openapi.yaml (`openapi.yaml` here links
to it; `sam build` copies the file it links to), Swagger UI is the copy aws-lambda-powertools ships in
the layer, and the document's server is the API that served it, stage included, so that "Try it out"
calls this API under `make dev` and in AWS alike.
"""

from __future__ import annotations

import functools
import hashlib
import html
import json
from http import HTTPStatus
from importlib.resources import files
from pathlib import Path
from string import Template

from aws_lambda_powertools.event_handler import Response

from people_api.errors import NotFound
from people_api.http.conditional import not_modified
from people_api.http.requests import request_header
from people_api.http.resolver import api_handler, make_resolver

HERE = Path(__file__).parent
SWAGGER_UI = files("aws_lambda_powertools.event_handler.openapi") / "swagger_ui"
PAGE = Template((HERE / "page.html").read_text(encoding="utf-8"))
PAGE_SECONDS = 300  # the page and the document: a deploy shows within 5 minutes
FILE_SECONDS = 86400  # Swagger UI's files change only with the layer's Powertools
FILES = {
    "swagger-ui-bundle.min.js": ("text/javascript; charset=utf-8", SWAGGER_UI / "swagger-ui-bundle.min.js"),
    "swagger-ui.min.css": ("text/css; charset=utf-8", SWAGGER_UI / "swagger-ui.min.css"),
    "docs.js": ("text/javascript; charset=utf-8", HERE / "docs.js"),
}
# The page runs its own scripts only and calls this API only (Swagger UI sets inline styles and data: images).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)

app = make_resolver()


@app.get("/docs")
def page() -> Response[str | None]:
    return cacheable("text/html; charset=utf-8", PAGE.substitute(docs=html.escape(f"{api_path()}/docs")), PAGE_SECONDS)


@app.get("/docs/<file>")
def docs_file(file: str) -> Response[str | None]:
    if file == "openapi.json":
        server = {"url": api_path() or "/", "description": "this API, the one that served this document"}
        return cacheable("application/json", json.dumps(document() | {"servers": [server]}), PAGE_SECONDS)
    if file not in FILES:
        raise NotFound("no such file under /docs")
    content_type, path = FILES[file]
    return cacheable(content_type, file_text(path), FILE_SECONDS)


@functools.cache
def document() -> dict:
    """docs/openapi.yaml, read on its first request: the page's cold start (most calls) needs no YAML parser."""
    import yaml

    return yaml.safe_load((HERE / "openapi.yaml").read_text(encoding="utf-8"))


@functools.cache
def file_text(path: Path) -> str:
    """A file of the page, read on its first request (Swagger UI's script is 1.5 MB) and kept while warm."""
    return path.read_text(encoding="utf-8")


def api_path() -> str:
    """The path this API is served under, as the client called it: the stage (`/v1`) in AWS, empty under `make dev`."""
    called, route = app.current_event.request_context.path, app.current_event.path
    return called.removesuffix(route) if called.endswith(route) else ""


def cacheable(content_type: str, text: str, max_age: int) -> Response[str | None]:
    """`text` with its ETag, cacheable by anyone for `max_age` seconds; 304 when If-None-Match names it."""
    etag = f'"{hashlib.sha256(text.encode()).hexdigest()[:32]}"'
    headers = {
        "ETag": etag,
        "Cache-Control": f"public, max-age={max_age}",
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
    }
    if not_modified(request_header(app, "If-None-Match"), etag):
        return Response(status_code=HTTPStatus.NOT_MODIFIED, headers=headers)
    return Response(status_code=HTTPStatus.OK, content_type=content_type, body=text, headers=headers)


lambda_handler = api_handler(app)
