"""What the API answers: JSON bodies, error answers, and the caching headers of every answer."""

from __future__ import annotations

from datetime import date
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types

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


def person_response(person: StoredPerson, today: date) -> Response:
    """One person as JSON (200), with its ETag."""
    return Response(
        status_code=HTTPStatus.OK, content_type=JSON, body=person.as_json(today), headers={"ETag": person.etag}
    )


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


def cache_control(read_cache_seconds: int, vary_origin: bool = False):
    """A middleware: successful reads may be cached that long; writes may not (errors: error_response).

    A read that came through the authorizer (reads need a token, or it is an import's) is
    `private`: a shared cache must not hand one caller's answer to another. With CORS on, every
    answer `Vary: Origin`: a cache must not hand one origin's answer, which names it, to another.
    """

    def middleware(app: APIGatewayRestResolver, next_middleware) -> Response:
        response = next_middleware(app)
        if vary_origin:
            response.headers["Vary"] = "Origin"
        read = app.current_event.http_method == "GET"
        if read and response.status_code in (HTTPStatus.OK, HTTPStatus.NOT_MODIFIED):
            audience = "private" if access.caller_of(app.current_event.raw_event) else "public"
            response.headers.setdefault("Cache-Control", f"{audience}, max-age={read_cache_seconds}")
        else:
            response.headers.setdefault("Cache-Control", NO_STORE)
        return response

    return middleware
