"""Conditional requests (RFC 9110, section 13): If-Match and If-None-Match against an ETag.

A value that is not `*` or a list of entity tags names no version: it matches nothing, so a
write with such an If-Match changes nothing (412) and a read with such an If-None-Match is
answered in full. Nothing is lost either way, and no client is broken by a proxy's oddity.
"""

from __future__ import annotations

import re

_TAG = r'(?:W/)?"[\x21\x23-\x7e\x80-\xff]*"'
# A string like _TAG, which `re` compiles on its first use and keeps: most requests carry neither header.
_TAG_LIST = rf"{_TAG}(?:[ \t]*,[ \t]*{_TAG})*"
MAX_HEADER_CHARS = 2048


class PreconditionFailed(Exception):
    """If-Match names no current version: nothing was changed (412)."""


def entity_tags(header: str) -> list[str] | None:
    """The tags of an If-Match/If-None-Match value: None for `*` (any current version), [] if malformed."""
    value = header.strip(" \t")
    if value == "*":
        return None
    if len(value) > MAX_HEADER_CHARS or not re.fullmatch(_TAG_LIST, value):
        return []
    return re.findall(_TAG, value)


def require_match(if_match: str | None, etag: str) -> None:
    """If-Match by strong comparison (weak tags never match); raise PreconditionFailed when it fails."""
    if if_match is None:
        return
    tags = entity_tags(if_match)
    if tags is not None and etag not in tags:
        raise PreconditionFailed("If-Match names no current version of this resource; nothing was changed")


def not_modified(if_none_match: str | None, etag: str) -> bool:
    """If-None-Match by weak comparison: True when the client's copy is current (304)."""
    if if_none_match is None:
        return False
    tags = entity_tags(if_none_match)
    return tags is None or etag.removeprefix("W/") in {tag.removeprefix("W/") for tag in tags}
