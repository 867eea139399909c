"""GET /people/changes as pages: the people written and the ids erased since a `since` token (docs/changes.md).

A page position is (seq, part, person id, floor): where the last page ended in the feed, and the seq below
which purged tombstones do not matter to this client: its `since`, or for a sync from the beginning the last
seq when it started (a person erased before the first page was never in the client's copy). A client whose
tombstones may have been purged (the purge's horizon at or past what it still needs, and past its floor) is
answered 410: its copy may hold someone erased since, and only starting over can tell.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from people_api.errors import Gone
from people_api.http.cursors import CHANGES_SINCE, PEOPLE_CHANGES, encode_cursor
from people_api.people import changes
from people_api.people.person import utc_iso

# Changes read per page at most: old changes whose people all changed again are empty, and a page of them
# ends early (with a next_cursor) instead of reading on.
MAX_CHANGES_PER_PAGE = 10_000
START_OVER = (
    "the changes since this token are no longer all kept (erasures are kept {days} days):"
    " start over with an empty copy and GET /people/changes without since"
)


def changes_page(since: str | None, cursor: str | None, limit: int, today: date, retention_days: int) -> dict:
    """One page of the feed, as GET /people/changes answers it."""
    if cursor is not None:
        seq, part, after_id, floor = PEOPLE_CHANGES.after(cursor)
    elif since is not None:
        (seq,) = CHANGES_SINCE.after(since)
        part, after_id, floor = changes.DONE, 0, seq
    else:
        seq, part, after_id, floor = 0, changes.DONE, 0, changes.bounds().last
    feed = changes.feed_after((seq, part, after_id), limit, MAX_CHANGES_PER_PAGE)
    bounds = changes.bounds()  # after the reads: a purge that began before them has moved the horizon by now
    needed_from = seq + 1 if part == changes.DONE else seq
    if seq > bounds.last or (bounds.horizon >= needed_from and bounds.horizon > floor):
        raise Gone(START_OVER.format(days=retention_days))
    resume = None if feed.complete else (feed.scanned_to, changes.DONE, 0, floor)
    page = PEOPLE_CHANGES.page(
        feed.items, limit, lambda item: (*item.position, floor), lambda item: _item_json(item, today), resume
    )
    next_since = None
    if page.next_cursor is None:
        next_since = encode_cursor(CHANGES_SINCE.name, feed.scanned_to)
    return {"changes": page.items, "next_cursor": page.next_cursor, "next_since": next_since}


def _item_json(item: changes.Written | changes.Erased, today: date) -> dict[str, Any]:
    if isinstance(item, changes.Erased):
        return {"op": "erase", "id": item.person_id, "erased_at": utc_iso(item.erased_at)}
    return {"op": "put", "person": item.person.as_json(today)}
