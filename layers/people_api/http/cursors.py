"""Page cursors: where a listing's page ended, signed so that only cursors this API handed out are accepted.

The stores fetch rows after a position; a `Listing` turns a client's cursor into that position
and the rows fetched into a page with the next cursor, so cursors stay an HTTP concern.

A cursor is `<payload>.<tag>`, both base64url without padding (no other spelling of the same bytes
is read): the payload is the JSON `[listing, *position]`, the tag an HMAC-SHA256 of the payload under the cursor key
(`config.cursor_key`), truncated to 128 bits. A cursor of another listing, one signed with another key, or any
edited or made-up string is refused (400), whatever it would decode to.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any, NamedTuple

from people_api.config import cursor_key
from people_api.people.person import MAX_ID

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
# A page's items take at most this many bytes of the answer, as Lambda carries it: a synchronous response is
# at most 6 MB (6,291,456 bytes; README, Limits), and the rest of an answer (status, headers, the page's
# wrapper and cursor, POST's person) is a few KB.
PAGE_BYTES = 4 * 1024 * 1024
MAX_CURSOR_LENGTH = 200
MAX_POSITION = MAX_ID  # ids and ages alike
_TAG_BYTES = 16


class InvalidCursor(ValueError):
    """A cursor this API did not hand out for this listing."""


class Page(NamedTuple):
    """A page of a listing: its items as JSON, and the cursor of the next page (None after the last).

    `items_json`: the items encoded as the answer carries them (the encoding the page's size was measured
    with), so that the answer reuses it instead of encoding the page again (http/responses.py).
    """

    items: list[Any]
    items_json: str
    next_cursor: str | None


def encode_cursor(listing: str, *position: int | None) -> str:
    payload = json.dumps([listing, *position], separators=(",", ":")).encode()
    return f"{_b64(payload)}.{_b64(_tag(payload))}"


def decode_cursor(cursor: str, listing: str, size: int) -> list[int | None]:
    """The position inside a cursor of `listing`, `size` whole numbers (or nulls) long."""
    payload_text, _, tag_text = cursor.partition(".")
    try:
        payload, tag = _unb64(payload_text), _unb64(tag_text)
    except (binascii.Error, ValueError):
        raise InvalidCursor("cursor is not one this API handed out") from None
    if not hmac.compare_digest(tag, _tag(payload)):
        raise InvalidCursor("cursor is not one this API handed out")
    value = json.loads(payload)
    if (
        not isinstance(value, list)
        or len(value) != size + 1
        or value[0] != listing
        or not all(v is None or (type(v) is int and 0 <= v <= MAX_POSITION) for v in value[1:])
    ):
        raise InvalidCursor("cursor is not one this API handed out for this listing")
    return value[1:]


class Listing(NamedTuple):
    """A paged listing: its name, which every cursor it hands out carries, and the position before its first row."""

    name: str
    start: tuple[int | None, ...]

    def after(self, cursor: str | None) -> tuple[int | None, ...]:
        """Where the page asked for starts: the cursor's position, or the listing's start without one."""
        return self.start if cursor is None else tuple(decode_cursor(cursor, self.name, len(self.start)))

    def page(
        self,
        rows: list[Any],
        limit: int,
        position_of: Callable[[Any], tuple[int | None, ...]],
        as_json: Callable[[Any], Any],
        resume: tuple[int | None, ...] | None = None,
    ) -> Page:
        """`limit + 1` fetched rows cut to a page of their JSON: at most `limit` items, and fewer when the next
        would take the items past PAGE_BYTES (never none). The extra row only says another page exists; the
        next cursor goes on after the last row the page holds. `resume`: where the next page starts when the
        rows stop before the listing does (the change feed's reading budget); None: the listing ends with them."""
        items = [as_json(row) for row in rows[:limit]]
        items_json = compact_json(items)  # the whole page at once: one encoding, not one per item
        if proxy_bytes(items_json) > PAGE_BYTES:
            items = _cut_to_page_bytes(items)
            items_json = compact_json(items)
        if len(items) < min(len(rows), limit):
            return Page(items, items_json, encode_cursor(self.name, *position_of(rows[len(items) - 1])))
        if len(rows) > limit:
            return Page(items, items_json, encode_cursor(self.name, *position_of(rows[limit - 1])))
        return Page(items, items_json, None if resume is None else encode_cursor(self.name, *resume))


def _cut_to_page_bytes(items: list[Any]) -> list[Any]:
    """The first items that take at most PAGE_BYTES together (never none)."""
    size = 0
    for count, item in enumerate(items):
        size += answer_bytes(item) + 1  # and the comma before the next
        if count and size > PAGE_BYTES:
            return items[:count]
    return items


def answer_bytes(value: Any) -> int:
    """The bytes a JSON value takes in the Lambda response that carries it."""
    return proxy_bytes(compact_json(value))


def proxy_bytes(body: str) -> int:
    """The bytes a JSON body (compact_json's) takes in the Lambda response: the proxy response carries it as a
    JSON string, which escapes each quote and backslash again."""
    return len(body) + body.count('"') + body.count("\\")


# JSON as the answers carry it: compact, in ASCII (every other character a \\u escape, an astral one two of
# them), as Powertools' serializer writes a body (json.dumps with its default ensure_ascii). One encoder:
# json.dumps builds one per call.
compact_json = json.JSONEncoder(separators=(",", ":")).encode


# The API's listings, in one place: a cursor of one is refused by the others because the names differ.
PEOPLE_BY_ID = Listing("people", (0,))
PEOPLE_BY_AGE = Listing("age", (-1, 0))  # (age, id); an age of None: the people with neither age nor date
IDS_BY_LAST_NAME = Listing("lastname", (0,))
IMPORTS_NEWEST_FIRST = Listing("imports", (MAX_ID + 1,))
EXPORTS_NEWEST_FIRST = Listing("exports", (MAX_ID + 1,))
# The change feed (http/feed.py): (seq, part, person id, floor), and the `since` token that ends a sync: (seq,).
PEOPLE_CHANGES = Listing("changes", (0, 2, 0, 0))
CHANGES_SINCE = Listing("since", (0,))


def _tag(payload: bytes) -> bytes:
    return hmac.new(cursor_key(), payload, hashlib.sha256).digest()[:_TAG_BYTES]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    """base64url as `_b64` writes it, and no other spelling of the same bytes: padding, characters outside
    the alphabet (which the decoder would skip), `+` or `/`, or unused bits set in the last character."""
    if not text.isascii():
        raise ValueError("not base64")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64(data) != text:
        raise ValueError("not base64url as this API writes it")
    return data
