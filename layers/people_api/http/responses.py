"""What the API answers: JSON bodies, error answers, and the caching headers of every answer."""

from __future__ import annotations

from datetime import date
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types

from people_api.auth import access
from people_api.http.cursors import Page, compact_json
from people_api.people.person import StoredPerson

JSON = content_types.APPLICATION_JSON
NO_STORE = "no-store"


def error_response(status: HTTPStatus, message: str, errors: list[dict] | None = None, **headers: str) -> Response:
    body: dict[str, Any] = {"message": message}
    if errors is not None:
        body["errors"] = errors
    headers = {"Cache-Control": NO_STORE, **headers}
    return Response(status_code=status, content_type=JSON, body=body, headers=headers)


def person_response(person: StoredPerson, today: date, etag: str | None = None) -> Response:
    """One person as JSON (200), with its ETag (`etag`, where the caller has computed it already)."""
    body = compact_json(person.as_json(today))  # as Powertools' serializer writes it, without its encoder per call
    return Response(status_code=HTTPStatus.OK, content_type=JSON, body=body, headers={"ETag": etag or person.etag})


def listing_response(
    items_name: str,
    page: Page,
    fields: dict[str, Any] | None = None,
    status: HTTPStatus = HTTPStatus.OK,
    headers: dict[str, str] | None = None,
) -> Response:
    """A page of a listing as JSON: `fields` first, then the items under `items_name`, then `next_cursor`.

    The items are written as the page measured them (Page.items_json): a page of 100 records is encoded
    once, not once for its size and again by the resolver's serializer (README, Speed).
    """
    head = "".join(f"{compact_json(name)}:{compact_json(value)}," for name, value in (fields or {}).items())
    body = f'{{{head}{compact_json(items_name)}:{page.items_json},"next_cursor":{compact_json(page.next_cursor)}}}'
    return Response(status_code=status, content_type=JSON, body=body, headers=headers)


def with_cache_headers(
    answer: dict[str, Any], event: dict[str, Any], read_cache_seconds: int, vary_origin: bool
) -> None:
    """Add the caching headers to a resolver's answer (API Gateway's `multiValueHeaders` proxy format).

    A successful read may be cached `read_cache_seconds`; any other answer has `no-store` unless it says
    otherwise (error_response always does). A read that came through the authorizer (reads need a token,
    or it is an import's) is `private`: a shared cache must not hand one caller's answer to another. With
    CORS on, every answer `Vary: Origin`: a cache must not hand one origin's answer, which names it, to another.
    Done on the answer, not in a Powertools middleware: a middleware's frames cost more per request than
    this whole function (README, Speed).
    """
    headers = answer["multiValueHeaders"]
    if vary_origin:
        headers["Vary"] = ["Origin"]
    if "Cache-Control" in headers:
        return
    if event.get("httpMethod") == "GET" and answer["statusCode"] in (HTTPStatus.OK, HTTPStatus.NOT_MODIFIED):
        audience = "private" if access.caller_of(event) else "public"
        headers["Cache-Control"] = [f"{audience}, max-age={read_cache_seconds}"]
    else:
        headers["Cache-Control"] = [NO_STORE]
