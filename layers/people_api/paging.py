"""Opaque page cursors: what a page's last row was, so the next page starts after it."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


class InvalidCursor(ValueError):
    """A cursor this API did not hand out for this listing."""


@dataclass(frozen=True)
class Page:
    items: list[Any]
    next_cursor: str | None


def encode_cursor(listing: str, *position: int | None) -> str:
    raw = json.dumps([listing, *position], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, listing: str, size: int) -> list[int | None]:
    """The position inside a cursor of `listing`, `size` whole numbers (or nulls) long."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError):
        raise InvalidCursor("cursor is not one this API handed out") from None
    if (
        not isinstance(value, list)
        or len(value) != size + 1
        or value[0] != listing
        or not all(v is None or (type(v) is int and 0 <= v < 2**31) for v in value[1:])
    ):
        raise InvalidCursor("cursor is not one this API handed out for this listing")
    return value[1:]


def page_of(rows: list[Any], limit: int, cursor_of) -> Page:
    """Cut `limit + 1` fetched rows to a page; the extra row only says another page exists."""
    if len(rows) > limit:
        return Page(rows[:limit], cursor_of(rows[limit - 1]))
    return Page(rows, None)
