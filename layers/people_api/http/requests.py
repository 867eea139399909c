"""What a request carries, read and checked: path ids, page parameters, JSON bodies, headers."""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, content_types
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent
from pydantic import BeforeValidator

from people_api.http.cursors import MAX_CURSOR_LENGTH, MAX_LIMIT
from people_api.people.person import MAX_ID

MAX_BODY_BYTES = 16 * 1024
JSON = content_types.APPLICATION_JSON

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size")]
Cursor = Annotated[str | None, Query(max_length=MAX_CURSOR_LENGTH, description="`next_cursor` of the previous page")]


class BadRequest(Exception):
    """The request cannot be read: malformed JSON, a path that does not decode... (400)."""


class PayloadTooLarge(Exception):
    """The body is over MAX_BODY_BYTES (413)."""


class UnsupportedMediaType(Exception):
    """The body's Content-Type is not one the route reads (415)."""


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
        raise PayloadTooLarge(f"the body is {len(data)} bytes; the limit is {MAX_BODY_BYTES}")
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
        raise UnsupportedMediaType(f"the body must be {' or '.join(media_types)} in UTF-8, not {header[:100]!r}")


def request_header(app: APIGatewayRestResolver, name: str) -> str | None:
    """A request header's value; repeated headers joined with commas, as RFC 9110 reads them."""
    event = app.current_event
    lowered = name.lower()
    repeated = [v for k, values in (event.multi_value_headers or {}).items() if k.lower() == lowered for v in values]
    return ", ".join(repeated) if repeated else event.headers.get(name)


def percent_decoded(segment: str, name: str) -> str:
    """A path parameter as the client meant it: API Gateway REST APIs pass it still percent-encoded
    (`O%27Neil`, docs/dev.md, Paths), so it is decoded here, once; 400 unless it decodes to UTF-8."""
    try:
        return unquote(segment, errors="strict")
    except UnicodeDecodeError:
        raise BadRequest(f"{name} is not percent-encoded UTF-8 text") from None
