"""The daily purge of old records, the imports' and the exports' alike: both hold what a file held (keys, row
errors, how many people) and go after their retention in days, as the bucket's lifecycle removes the files.

Both tables have `created_at`, `started_at`, `finished_at` and an index on `finished_at` (migrations 6 and 8).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import pymysql

from people_api import db
from people_api.observability import logger

PURGED_TABLES = ("imports", "exports")  # the only names put into the SQL below
PURGE_BATCH_ROWS = 500
PURGE_STOP_SECONDS_LEFT = 10  # a batch takes milliseconds; stop well before the function's timeout
# Finished: by when it finished. Never finished (a crash left it pending or running): by when it was
# last started, or created; an import or an export runs 15 minutes at most, so a running one is never that old.
# (condition, order), both found through the index on finished_at.
_FINISHED_LONG_AGO = ("finished_at < UTC_TIMESTAMP(3) - INTERVAL %(days)s DAY", "finished_at")
_NEVER_FINISHED_LONG_AGO = (
    "finished_at IS NULL AND COALESCE(started_at, created_at) < UTC_TIMESTAMP(3) - INTERVAL %(days)s DAY",
    "id",
)


class Purged(NamedTuple):
    """How many records one purge deleted, and in how many batches."""

    finished: int
    never_finished: int
    batches: int
    complete: bool  # False: time ran out first; the next run deletes the rest


def purge_expired(
    conn: pymysql.Connection,
    table: str,
    retention_days: int,
    seconds_left: Callable[[], float],
    batch_rows: int = PURGE_BATCH_ROWS,
) -> Purged:
    """Delete the records of `table` older than `retention_days` (see above), `batch_rows` at a time, while time
    is left."""
    if table not in PURGED_TABLES:
        raise ValueError(f"{table!r} is not a table of records")
    deleted = {_FINISHED_LONG_AGO: 0, _NEVER_FINISHED_LONG_AGO: 0}
    batches = 0
    for kind in deleted:
        found = batch_rows
        while found == batch_rows:
            if seconds_left() < PURGE_STOP_SECONDS_LEFT:
                return Purged(deleted[_FINISHED_LONG_AGO], deleted[_NEVER_FINISHED_LONG_AGO], batches, complete=False)
            found, batch = _purge_batch(conn, table, *kind, retention_days, batch_rows)
            batches += 1
            deleted[kind] += batch
    return Purged(deleted[_FINISHED_LONG_AGO], deleted[_NEVER_FINISHED_LONG_AGO], batches, complete=True)


def _purge_batch(
    conn: pymysql.Connection, table: str, condition: str, order: str, retention_days: int, batch_rows: int
) -> tuple[int, int]:
    """(records found, records deleted) in one short transaction.

    The ids are found without locks, then deleted through the primary key alone, the condition checked
    again as each row is locked. Through the finished_at index the DELETE would also lock the entry after
    the range, which can be the row of a record finishing meanwhile (uncommitted), and wait for it. Index
    hints work on a multi-table DELETE, not a single-table one (MySQL's "Index Hints"; MariaDB's the same).
    """
    with db.transaction(conn) as cur:
        values = {"days": retention_days, "limit": batch_rows}
        cur.execute(f"SELECT id FROM {table} WHERE {condition} ORDER BY {order} LIMIT %(limit)s", values)
        found = [record_id for (record_id,) in cur.fetchall()]
        if not found:
            return 0, 0
        # PyMySQL writes a sequence parameter as a parenthesised list of escaped values.
        deleted = cur.execute(
            f"DELETE {table} FROM {table} FORCE INDEX (PRIMARY) WHERE id IN %(ids)s AND {condition}",
            values | {"ids": found},
        )
        return len(found), deleted


def scheduled_purge(conn: pymysql.Connection, table: str, retention_days: int, context) -> dict[str, int | bool]:
    """A daily purge function's work: purge `table` while its invocation has time, log the counts, return them."""
    purged = purge_expired(conn, table, retention_days, lambda: context.get_remaining_time_in_millis() / 1000)
    counts = purged._asdict()
    kind = table.removesuffix("s")  # "import", "export"
    logger.info(f"expired {kind} records deleted", extra={"retention_days": retention_days, **counts})
    return counts
