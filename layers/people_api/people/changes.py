"""The change feed's SQL: every transaction that writes people is one change, and the feed lists changes in the
order they committed (docs/changes.md).

A writer opens its transaction with `writing()`: a `changes` row is inserted (its id stamped on every person row
the transaction writes, its tombstones), and just before COMMIT the change takes the next `seq` from the
one-row `change_counter`. That row stays locked until the COMMIT, so the next writer gets seq N + 1 only
once N has committed: the committed seqs are always 1..N with no gap still to fill, and a reader that saw
seq N will never see a smaller one appear later, however long a transaction ran.

A person row names only the change that last wrote it, so a person changed twice appears once, at its latest
change. An erased id keeps one tombstone (its latest erasure) until the daily purge: `horizon_seq` is the
largest seq whose tombstones the purge deleted, and a client that still needed one must start over.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import NamedTuple

import pymysql
from pymysql.cursors import Cursor

from people_api import db
from people_api.people.person import StoredPerson

GENESIS = 1  # the change that holds the people who were there before the feed (migration 9), seq 1
ERASED, WRITTEN, DONE = 0, 1, 2  # a change's tombstones come before its people; DONE: after the whole change
_COLUMNS = ", ".join(f"p.{column}" for column in StoredPerson._fields)
PURGE_BATCH = 1000
# Changes whose rows one statement reads (an IN list): below MariaDB's in_predicate_conversion_threshold (1000),
# past which it would turn the list into a temporary table to join.
MAX_CHANGES_PER_READ = 500
# Left to themselves, MySQL and MariaDB scan these tables instead when the range looks large next to a small
# table, or when an IN list is past eq_range_index_dive_limit (200) and the statistics say most people share the
# genesis change: a page would then read the whole table. The indexes always read about a page's rows.
_BY_SEQ = "FORCE INDEX (changes_by_seq)"
_BY_CHANGE = "FORCE INDEX (erasures_by_change)"
_PEOPLE_BY_CHANGE = "FORCE INDEX (people_by_change)"


class Change:
    """The change a writing transaction makes: its id, and how many rows it wrote (people and tombstones)."""

    __slots__ = ("id", "rows")

    def __init__(self, id: int, rows: int = 0):
        self.id = id
        self.rows = rows


@contextmanager
def writing(conn: pymysql.Connection) -> Iterator[tuple[Cursor, Change]]:
    """A transaction on `conn` that writes people as one change: stamp `change.id` on every row written and
    count them in `change.rows`. It commits with its seq; with no row written it is rolled back."""
    with db.transaction(conn) as cur:
        change = Change(begin(cur))
        yield cur, change
        if change.rows:
            stamp(cur, change)
        else:
            conn.rollback()  # nothing written: no change (db.transaction's COMMIT then has nothing to do)


def begin(cur: Cursor) -> int:
    """A new change, in the caller's transaction: its id, for the person rows it writes."""
    cur.execute("INSERT INTO changes () VALUES ()")
    return cur.lastrowid


def stamp(cur: Cursor, change: Change) -> None:
    """Give the change its seq, the last statements before COMMIT: the counter's row lock, taken here, is held
    until then, so seqs commit in order."""
    cur.execute("UPDATE change_counter SET last_seq = LAST_INSERT_ID(last_seq + 1) WHERE id = 1")
    cur.execute(
        "UPDATE changes SET seq = LAST_INSERT_ID(), committed_at = UTC_TIMESTAMP(6), row_count = %s WHERE id = %s",
        (change.rows, change.id),
    )


def record_erasure(cur: Cursor, change: Change, person_id: int) -> None:
    """The tombstone of an id just deleted in this change (an earlier tombstone of the id moves here)."""
    cur.execute(
        "INSERT INTO erasures (person_id, change_id) VALUES (%s, %s) ON DUPLICATE KEY UPDATE change_id = %s",
        (person_id, change.id, change.id),
    )
    change.rows += 1


class Written(NamedTuple):
    """A person as a change left it."""

    seq: int
    person: StoredPerson

    @property
    def position(self) -> tuple[int, int, int]:
        return self.seq, WRITTEN, self.person.id


class Erased(NamedTuple):
    """A tombstone: the id, and when the change that erased it committed."""

    seq: int
    erased_at: datetime
    person_id: int

    @property
    def position(self) -> tuple[int, int, int]:
        return self.seq, ERASED, self.person_id


class Feed(NamedTuple):
    """Up to `count` + 1 items in feed order after the position asked for; when fewer, `scanned_to` is the seq the
    reading reached (the next page, or the next sync, goes on after it) and `complete` says whether it reached the
    last committed change."""

    items: list[Written | Erased]
    scanned_to: int
    complete: bool


class Bounds(NamedTuple):
    """The feed's ends: seqs after `horizon` still have every tombstone; `last` is the last committed seq."""

    horizon: int
    last: int


def bounds() -> Bounds:
    with db.cursor() as cur:
        cur.execute("SELECT horizon_seq, last_seq FROM change_counter WHERE id = 1")
        return Bounds(*cur.fetchone())


def feed_after(position: tuple[int, int, int], count: int, max_changes: int) -> Feed:
    """The items after `position` (seq, ERASED/WRITTEN/DONE, person id), in (seq, tombstones first, id) order.

    Changes are read by seq, at most `max_changes` (old changes whose people all moved on are empty), and
    then their rows by change id through the indexes: a page reads about as many index entries as it has items
    and changes. Changes are taken while their row counts (at most what is left of them) fit in the page; a
    change larger than the page is read alone, `count` rows at a time.
    """
    seq, part, after_id = position
    wanted = count + 1
    items: list[Written | Erased] = []
    with db.cursor() as cur:
        if part != DONE:
            cur.execute("SELECT id, seq, committed_at FROM changes WHERE seq = %s", (seq,))
            change = cur.fetchone()
            if change is not None:
                items += _rows_of_one(cur, change, part, after_id, wanted)
            if len(items) == wanted:
                return Feed(items, seq, False)
        scanned = 0
        while len(items) < wanted and scanned < max_changes:
            asked = min(wanted, max_changes - scanned, MAX_CHANGES_PER_READ)
            cur.execute(
                f"SELECT id, seq, committed_at, row_count FROM changes {_BY_SEQ} WHERE seq > %s ORDER BY seq LIMIT %s",
                (seq, asked),
            )
            batch = cur.fetchall()
            if not batch:
                return Feed(items, seq, True)
            room = wanted - len(items)
            taken, rows = [], 0
            for change_id, change_seq, committed_at, row_count in batch:
                if taken and rows + row_count > room:
                    break
                taken.append((change_id, change_seq, committed_at))
                rows += row_count
            if rows > room:  # one change larger than the room left: read it alone, a page at a time
                [change] = taken
                seq = change[1]
                items += _rows_of_one(cur, change, ERASED, 0, room)
                scanned += 1
                if len(items) == wanted:
                    return Feed(items, seq, False)
                continue
            items += _rows_of(cur, {change_id: (s, at) for change_id, s, at in taken})
            seq = taken[-1][1]
            scanned += len(taken)
            if len(taken) == len(batch) < asked:  # the last committed change was in this batch
                return Feed(items, seq, True)
        return Feed(items, seq, False)


def _rows_of(cur: Cursor, changes: dict[int, tuple[int, datetime]]) -> list[Written | Erased]:
    """Every row of these changes (by id: their seq and commit time), in feed order."""
    placeholders = ", ".join(["%s"] * len(changes))
    ids = tuple(changes)
    cur.execute(f"SELECT change_id, person_id FROM erasures {_BY_CHANGE} WHERE change_id IN ({placeholders})", ids)
    items: list[Written | Erased] = [Erased(*changes[c], p) for c, p in cur.fetchall()]
    cur.execute(
        f"SELECT p.change_id, {_COLUMNS} FROM people p {_PEOPLE_BY_CHANGE} WHERE p.change_id IN ({placeholders})", ids
    )
    items += [Written(changes[row[0]][0], StoredPerson(*row[1:])) for row in cur.fetchall()]
    return sorted(items, key=lambda item: item.position)


def _rows_of_one(
    cur: Cursor, change: tuple[int, int, datetime], part: int, after_id: int, count: int
) -> list[Written | Erased]:
    """Up to `count` rows of one change (id, seq, commit time) after (`part`, `after_id`), in feed order."""
    change_id, seq, committed_at = change
    items: list[Written | Erased] = []
    if part == ERASED:
        cur.execute(
            f"SELECT person_id FROM erasures {_BY_CHANGE}"
            " WHERE change_id = %s AND person_id > %s ORDER BY person_id LIMIT %s",
            (change_id, after_id, count),
        )
        items += [Erased(seq, committed_at, person_id) for (person_id,) in cur.fetchall()]
        after_id = 0
    if len(items) < count:
        cur.execute(
            f"SELECT {_COLUMNS} FROM people p {_PEOPLE_BY_CHANGE}"
            " WHERE p.change_id = %s AND p.id > %s ORDER BY p.id LIMIT %s",
            (change_id, after_id, count - len(items)),
        )
        items += [Written(seq, StoredPerson(*row)) for row in cur.fetchall()]
    return items


class Purged(NamedTuple):
    """What a purge run deleted, and whether it got through every expired change."""

    tombstones: int
    changes: int
    complete: bool


def purge_expired(conn: pymysql.Connection, retention_days: int, seconds_left: Callable[[], float]) -> Purged:
    """Forget the tombstones of the changes committed more than `retention_days` ago, and those changes once no
    person names them, a batch of changes at a time in autocommit. Before a batch's tombstones go, the horizon
    moves past them (its own commit): a client that still needed one is told to start over, never handed a feed
    without it."""
    tombstones = changes = 0
    with conn.cursor() as cur:
        cur.execute(
            "SELECT seq FROM changes WHERE committed_at < UTC_TIMESTAMP(6) - INTERVAL %s DAY"
            " ORDER BY committed_at DESC, seq DESC LIMIT 1",
            (retention_days,),
        )
        row = cur.fetchone()
        through = row[0] if row else 0
        after = 0
        while seconds_left() > 30:
            cur.execute(
                "SELECT id, seq FROM changes WHERE seq > %s AND seq <= %s ORDER BY seq LIMIT %s",
                (after, through, PURGE_BATCH),
            )
            seq_of_change = dict(cur.fetchall())
            if not seq_of_change:
                return Purged(tombstones, changes, True)
            ids = tuple(seq_of_change)
            placeholders = ", ".join(["%s"] * len(ids))
            cur.execute(f"SELECT DISTINCT change_id FROM erasures WHERE change_id IN ({placeholders})", ids)
            erasing = [change_id for (change_id,) in cur.fetchall()]
            if erasing:
                horizon = max(seq_of_change[change_id] for change_id in erasing)
                cur.execute(
                    "UPDATE change_counter SET horizon_seq = GREATEST(horizon_seq, %s) WHERE id = 1", (horizon,)
                )
                cur.execute(f"DELETE FROM erasures WHERE change_id IN ({placeholders})", ids)
                tombstones += cur.rowcount
            cur.execute(
                f"DELETE FROM changes WHERE id IN ({placeholders})"
                " AND NOT EXISTS (SELECT 1 FROM people WHERE people.change_id = changes.id)",
                ids,
            )
            changes += cur.rowcount
            after = max(seq_of_change.values())
    return Purged(tombstones, changes, False)
