"""What every API function shares: the resolver, its error answers, query types and JSON shapes."""

from __future__ import annotations

import base64
import json
from datetime import date
from http import HTTPStatus
from typing import Annotated, Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent
from pydantic import BeforeValidator

from people_api import access
from people_api.conditional import PreconditionFailed
from people_api.config import read_settings
from people_api.db import DatabaseUnavailable
from people_api.paging import DEFAULT_LIMIT, MAX_CURSOR_LENGTH, MAX_LIMIT, InvalidCursor, Page
from people_api.people_store import PersonExists, PersonNotFound
from people_api.person import MAX_ID, PersonInvalid, StoredPerson

MAX_BODY_BYTES = 16 * 1024
JSON = content_types.APPLICATION_JSON
DATABASE_RETRY_AFTER_SECONDS = 5

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size")]
NO_STORE = "no-store"
Cursor = Annotated[str | None, Query(max_length=MAX_CURSOR_LENGTH, description="`next_cursor` of the previous page")]
__all__ = [  # what the handlers use
    "DEFAULT_LIMIT",
    "MAX_BODY_BYTES",
    "BadRequest",
    "Cursor",
    "Limit",
    "NotFound",
    "PathId",
    "json_object_body",
    "make_resolver",
    "people_json",
    "percent_decoded",
    "person_response",
    "request_header",
]


def _decimal_digits(value: object) -> object:
    """Decimal digits, no leading zero: pydantic alone would also take `1.0`, `+1`, ` 1`, `01` or `1_0` for 1.

    `0` itself passes, to be refused by the range check with its own message.
    """
    if isinstance(value, str) and not (value.isascii() and value.isdigit() and len(value) <= 16):
        raise ValueError(f"must be a whole number from 1 to {MAX_ID} written with digits only")
    if isinstance(value, str) and value.startswith("0") and value != "0":
        raise ValueError(f"must be a whole number from 1 to {MAX_ID} without leading zeros")
    return value


# The `{id}` of a path: a person's or an import's (400 naming `id` otherwise).
PathId = Annotated[int, BeforeValidator(_decimal_digits), Path(alias="id", ge=1, le=MAX_ID)]


class BadRequest(Exception):
    def __init__(self, message: str, status: HTTPStatus = HTTPStatus.BAD_REQUEST):
        super().__init__(message)
        self.status = status


class NotFound(LookupError):
    """Something other than a person is missing (an import, say)."""


def error_response(status: HTTPStatus, message: str, errors: list[dict] | None = None, **headers: str) -> Response:
    body: dict[str, Any] = {"message": message}
    if errors is not None:
        body["errors"] = errors
    headers = {"Cache-Control": NO_STORE, **headers}
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body, headers=headers)


def cache_control(read_cache_seconds: int):
    """A middleware: successful reads may be cached that long; writes may not (errors: error_response).

    A read that came through the authorizer (reads need a token, or it is an import's) is
    `private`: a shared cache must not hand one caller's answer to another.
    """

    def middleware(app: APIGatewayRestResolver, next_middleware) -> Response:
        response = next_middleware(app)
        read = app.current_event.http_method == "GET"
        if read and response.status_code in (HTTPStatus.OK, HTTPStatus.NOT_MODIFIED):
            audience = "private" if access.caller_of(app.current_event.raw_event) else "public"
            response.headers.setdefault("Cache-Control", f"{audience}, max-age={read_cache_seconds}")
        else:
            response.headers.setdefault("Cache-Control", NO_STORE)
        return response

    return middleware


def make_resolver() -> APIGatewayRestResolver:
    """A REST API resolver that answers every known error as JSON with a `message`.

    Built at cold start, so it checks the settings then: a variable with a bad value stops the function, named.
    """
    settings = read_settings()
    app = APIGatewayRestResolver(enable_validation=True)
    app.use([cache_control(settings.read_cache_seconds)])

    @app.exception_handler(RequestValidationError)
    def invalid_request(error: RequestValidationError) -> Response:
        problems = [{"field": str(e["loc"][-1]), "message": e["msg"]} for e in error.errors()]
        in_path = any(e["loc"][0] == "path" for e in error.errors())
        status = HTTPStatus.BAD_REQUEST if in_path else HTTPStatus.UNPROCESSABLE_ENTITY
        return error_response(status, "the request's parameters are not valid", problems)

    @app.exception_handler(PersonInvalid)
    def invalid_person(error: PersonInvalid) -> Response:
        problems = [{"field": e.field, "message": e.message} for e in error.errors]
        return error_response(HTTPStatus.UNPROCESSABLE_ENTITY, "the person is not valid", problems)

    @app.exception_handler(BadRequest)
    def bad_request(error: BadRequest) -> Response:
        return error_response(error.status, str(error))

    @app.exception_handler(InvalidCursor)
    def invalid_cursor(error: InvalidCursor) -> Response:
        return error_response(HTTPStatus.BAD_REQUEST, str(error))

    @app.exception_handler(PreconditionFailed)
    def precondition_failed(error: PreconditionFailed) -> Response:
        return error_response(HTTPStatus.PRECONDITION_FAILED, str(error))

    @app.exception_handler([PersonNotFound, NotFound])
    def not_found(error: LookupError) -> Response:
        return error_response(HTTPStatus.NOT_FOUND, str(error))

    @app.exception_handler(PersonExists)
    def conflict(error: PersonExists) -> Response:
        return error_response(HTTPStatus.CONFLICT, str(error))

    @app.exception_handler(DatabaseUnavailable)
    def unavailable(error: DatabaseUnavailable) -> Response:
        return error_response(
            HTTPStatus.SERVICE_UNAVAILABLE, str(error), **{"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)}
        )

    @app.not_found
    def no_route(_error: Exception) -> Response:
        return error_response(HTTPStatus.NOT_FOUND, "no such route")

    return app


def json_object_body(app: APIGatewayRestResolver, media_types: tuple[str, ...] = (JSON,)) -> dict[str, Any]:
    """The request body as a JSON object: 415 for another Content-Type, 413 past MAX_BODY_BYTES, 400 otherwise."""
    event = app.current_event
    require_media_type(event, media_types)
    data = (
        base64.b64decode(event.body or "")
        if event.is_base64_encoded
        else (event.body or "").encode(errors="surrogatepass")
    )
    if len(data) > MAX_BODY_BYTES:
        raise BadRequest(
            f"the body is {len(data)} bytes; the limit is {MAX_BODY_BYTES}", HTTPStatus.REQUEST_ENTITY_TOO_LARGE
        )
    try:
        body = json.loads(data.decode(), object_pairs_hook=_object_without_repeated_keys)
    except UnicodeDecodeError as error:
        raise BadRequest(f"the body is not UTF-8 text (byte {error.start + 1})") from None
    except RecursionError:
        raise BadRequest("the body nests arrays or objects too deeply") from None
    except ValueError:
        raise BadRequest("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def _object_without_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refused if it names a key twice (json.loads would keep the last value silently)."""
    body = dict(pairs)
    if len(body) < len(pairs):
        seen: set[str] = set()
        repeated = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise BadRequest(f"the body names {repeated[:100]!r} more than once")
    return body


def require_media_type(event: BaseProxyEvent, media_types: tuple[str, ...]) -> None:
    """415 unless the request's Content-Type (if it has one) is one of `media_types`, in UTF-8.

    No Content-Type at all is accepted, for clients that send none; a form or text type is not.
    """
    header = event.headers.get("content-type")
    if header is None:
        return
    media_type, *parameters = (part.strip().lower() for part in header.split(";"))
    charsets = [value.strip('"') for name, _, value in (p.partition("=") for p in parameters) if name == "charset"]
    if media_type not in media_types or charsets not in ([], ["utf-8"]):
        raise BadRequest(
            f"the body must be {' or '.join(media_types)} in UTF-8, not {header[:100]!r}",
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
        )


def request_header(app: APIGatewayRestResolver, name: str) -> str | None:
    """A request header's value; repeated headers joined with commas, as RFC 9110 reads them."""
    event = app.current_event
    lowered = name.lower()
    repeated = [v for k, values in (event.multi_value_headers or {}).items() if k.lower() == lowered for v in values]
    return ", ".join(repeated) if repeated else event.headers.get(name)


def person_response(person: StoredPerson, today: date) -> Response:
    """One person as JSON (200), with its ETag."""
    return Response(
        status_code=HTTPStatus.OK, content_type=JSON, body=person.as_json(today), headers={"ETag": person.etag}
    )


def percent_decoded(segment: str, name: str) -> str:
    """A path parameter as the client meant it: API Gateway REST APIs pass it still percent-encoded
    (`O%27Neil`, docs/dev.md, Paths), so it is decoded here, once; 400 unless it decodes to UTF-8."""
    try:
        return unquote(segment, errors="strict")
    except UnicodeDecodeError:
        raise BadRequest(f"{name} is not percent-encoded UTF-8 text") from None


def people_json(page: Page, today: date) -> dict[str, Any]:
    """A page of StoredPerson as the listings answer it."""
    return {"people": [person.as_json(today) for person in page.items], "next_cursor": page.next_cursor}
