"""What a request carries, read and checked: path ids, page parameters, JSON bodies, headers."""

from __future__ import annotations

import base64
import json
import math
from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, content_types
from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent

from people_api.http.cursors import DEFAULT_LIMIT, MAX_CURSOR_LENGTH, MAX_LIMIT
from people_api.people.person import MAX_ID

MAX_BODY_BYTES = 16 * 1024
# Digits of a whole number in a JSON body: past any field's range (an id has at most 16), so that the rules
# still say which field is out of range, and few enough for their message to quote the number.
MAX_NUMBER_DIGITS = 100
JSON = content_types.APPLICATION_JSON


class BadRequest(Exception):
    """The request cannot be read: malformed JSON, a path that does not decode... (400)."""


class PayloadTooLarge(Exception):
    """The body is over MAX_BODY_BYTES (413)."""


class UnsupportedMediaType(Exception):
    """The body's Content-Type is not one the route reads (415)."""


class ParameterInvalid(ValueError):
    """A path or query parameter out of its rules; `field` names it, the message says the rule."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


class PathParameterInvalid(ParameterInvalid):
    """The path names nothing that could exist, such as `/people/1.0` (400)."""


class QueryParameterInvalid(ParameterInvalid):
    """A query parameter such as `limit=0` (422)."""


def _whole_number(text: str, low: int, high: int) -> int | None:
    """`text` as a number from `low` to `high` in decimal digits without a leading zero, or None.

    `int()` alone would also take `+1`, ` 1`, `1_0` or non-ASCII digits.
    """
    if not (text.isascii() and text.isdigit() and len(text) <= 16) or (text.startswith("0") and text != "0"):
        return None
    number = int(text)
    return number if low <= number <= high else None


def path_id(text: str) -> int:
    """The `{id}` of a path, a person's or an import's: 400 naming `id` unless it is digits from 1 to MAX_ID."""
    number = _whole_number(text, 1, MAX_ID)
    if number is None:
        raise PathParameterInvalid("id", f"must be a whole number from 1 to {MAX_ID} in digits, no leading zero")
    return number


def page_parameters(app: APIGatewayRestResolver) -> tuple[int, str | None]:
    """A listing's `limit` (1 to MAX_LIMIT, else DEFAULT_LIMIT) and `cursor` (a `next_cursor`); 422 naming either."""
    query = app.current_event.query_string_parameters or {}
    limit_text, cursor = query.get("limit"), query.get("cursor")
    limit = DEFAULT_LIMIT if limit_text is None else _whole_number(limit_text, 1, MAX_LIMIT)
    if limit is None:
        raise QueryParameterInvalid("limit", f"must be a whole number from 1 to {MAX_LIMIT} in digits")
    if cursor is not None and len(cursor) > MAX_CURSOR_LENGTH:
        raise QueryParameterInvalid("cursor", f"must be at most {MAX_CURSOR_LENGTH} characters")
    return limit, cursor


def since_parameter(app: APIGatewayRestResolver) -> str | None:
    """The change feed's `since` (a `next_since`), at most MAX_CURSOR_LENGTH characters; 422 otherwise."""
    since = (app.current_event.query_string_parameters or {}).get("since")
    if since is not None and len(since) > MAX_CURSOR_LENGTH:
        raise QueryParameterInvalid("since", f"must be at most {MAX_CURSOR_LENGTH} characters")
    return since


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
        body = json.loads(
            data.decode(),
            object_pairs_hook=_object_without_repeated_keys,
            parse_int=_json_integer,
            parse_float=_json_float,
            parse_constant=_not_json,
        )
    except UnicodeDecodeError as error:
        raise BadRequest(f"the body is not UTF-8 text (byte {error.start + 1})") from None
    except RecursionError:
        raise BadRequest("the body nests arrays or objects too deeply") from None
    except ValueError:
        raise BadRequest("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def _json_integer(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_NUMBER_DIGITS:
        raise BadRequest(f"the body has a number of {digits} digits; a number may have at most {MAX_NUMBER_DIGITS}")
    return int(text)


def _json_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):  # 1e999: too large for a double
        raise BadRequest("the body has a number too large to read (over 1.8e308)")
    return number


def _not_json(name: str) -> None:
    """NaN, Infinity and -Infinity, which Python's json reads and JSON (RFC 8259) does not have."""
    raise ValueError(f"{name} is not JSON")


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
    event = app.current_event.raw_event  # the event's own dicts: Powertools builds a case-blind copy on each read
    lowered = name.lower()
    repeated = [
        v for k, values in (event.get("multiValueHeaders") or {}).items() if k.lower() == lowered for v in values
    ]
    if repeated:
        return ", ".join(repeated)
    return next((v for k, v in (event.get("headers") or {}).items() if k.lower() == lowered), None)


def percent_decoded(segment: str, name: str) -> str:
    """A path parameter as the client meant it: API Gateway REST APIs pass it still percent-encoded
    (`O%27Neil`, docs/dev.md, Paths), so it is decoded here, once; 400 unless it decodes to UTF-8."""
    try:
        return unquote(segment, errors="strict")
    except UnicodeDecodeError:
        raise BadRequest(f"{name} is not percent-encoded UTF-8 text") from None
