"""SQL for the `exports` table: one record per export, and the lock that keeps a duplicate delivery from running it
twice.

The export function takes the connection it works on; the API's reads use the thread's connection from `db`.
"""

from __future__ import annotations

import pymysql

from people_api import db
from people_api.exports.record import QUEUED, RUNNING, ExportRecord

MAX_MESSAGE_CHARS = 1000  # the message column's size: callers cut to it
_RECORD_COLUMNS = (
    "id, status, message, rows_written, bytes_written, object_key, attempts, created_at, started_at, progress_at,"
    " finished_at"
)


def create() -> ExportRecord:
    """A new export, queued."""
    with db.cursor() as cur:
        cur.execute("INSERT INTO exports (status, created_at) VALUES (%s, UTC_TIMESTAMP(3))", (QUEUED,))
        export_id = cur.lastrowid
    return export_by_id(export_id)


def lock(conn: pymysql.Connection, export_id: int) -> bool:
    """True once this connection holds the export's lock; False at once when another delivery holds it."""
    return db.get_lock(conn, _lock_name(export_id), 0)


def unlock(conn: pymysql.Connection, export_id: int) -> None:
    db.release_lock_if_connected(conn, _lock_name(export_id))


def start(conn: pymysql.Connection, export_id: int) -> ExportRecord:
    """Mark the export running (one more attempt), its figures back to 0; the record as it now is."""
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE exports SET status = %s, attempts = attempts + 1, started_at = UTC_TIMESTAMP(3),"
            " rows_written = 0, bytes_written = 0, progress_at = NULL, finished_at = NULL WHERE id = %s",
            (RUNNING, export_id),
        )
    return export_by_id(export_id, conn)


def record_progress(conn: pymysql.Connection, export_id: int, rows: int, bytes_written: int) -> None:
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE exports SET rows_written = %s, bytes_written = %s, progress_at = UTC_TIMESTAMP(3)"
            " WHERE id = %s AND status = %s",
            (rows, bytes_written, export_id, RUNNING),
        )


def finish(
    conn: pymysql.Connection,
    export_id: int,
    status: str,
    message: str | None,
    rows: int,
    bytes_written: int,
    object_key: str | None,
) -> None:
    """Record how the export ended; `object_key` only for a complete file."""
    if message is not None and len(message) > MAX_MESSAGE_CHARS:
        message = message[: MAX_MESSAGE_CHARS - 1] + "…"
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE exports SET status = %s, message = %s, rows_written = %s, bytes_written = %s, object_key = %s,"
            " progress_at = UTC_TIMESTAMP(3), finished_at = UTC_TIMESTAMP(3) WHERE id = %s",
            (status, message, rows, bytes_written, object_key, export_id),
        )


def export_by_id(export_id: int, conn: pymysql.Connection | None = None) -> ExportRecord | None:
    """The record, or None; on `conn` (the export function's), else on this thread's connection (the API's)."""
    with conn.cursor() if conn is not None else db.read_cursor() as cur:
        cur.execute(f"SELECT {_RECORD_COLUMNS} FROM exports WHERE id = %s", (export_id,))
        row = cur.fetchone()
    return None if row is None else ExportRecord(*row)


def exports_newest_first(before_id: int, count: int) -> list[ExportRecord]:
    """Up to `count` records with an id below `before_id`, newest first."""
    with db.read_cursor() as cur:
        cur.execute(
            f"SELECT {_RECORD_COLUMNS} FROM exports WHERE id < %s ORDER BY id DESC LIMIT %s", (before_id, count)
        )
        return [ExportRecord(*row) for row in cur.fetchall()]


def _lock_name(export_id: int) -> str:
    return f"people-export-{export_id}"


# A quote, a comma or a line break (CR, LF) anywhere in a value: as characters, whatever sql_mode says of backslashes.
_NEEDS_QUOTES = "CONCAT('[\",', CHAR(13), CHAR(10), ']')"


def _csv_text(column: str) -> str:
    """A text column as one CSV field, built by the server: quoted whole, its quotes doubled, when it holds a quote,
    a comma or a line break; empty for NULL. Matched under the binary collation, so that no collation takes another
    character (a fullwidth comma) for one, and by one regular expression: a quarter of the time of four LOCATEs."""
    exact = f"{column} COLLATE utf8mb4_bin"
    quoted = f"CONCAT('\"', REPLACE({exact}, '\"', '\"\"'), '\"')"
    return f"IF({exact} REGEXP {_NEEDS_QUOTES}, {quoted}, IFNULL({column}, ''))"


# One CSV line per person, in the import's column order (person.CSV_HEADERS), dates as YYYY-MM-DD; a page of them
# joined by the server into one value, so the driver parses one row a page instead of 5,000 (README, Speed). The
# sum of the lines' lengths tells a page cut short by group_concat_max_len or max_allowed_packet from a whole one.
_CSV_PAGE_SQL = (
    "SELECT COUNT(*), MAX(id), SUM(LENGTH(line)), GROUP_CONCAT(line ORDER BY id SEPARATOR '') FROM ("
    " SELECT id, CAST(CONCAT("
    f"id, ',', {_csv_text('first_name')}, ',', {_csv_text('last_name')}, ',', IFNULL(age, ''), ',',"
    " IFNULL(github_account, ''), ',', IFNULL(third_grade_graduation, ''), CHAR(10)) AS BINARY) AS line"
    " FROM people WHERE id > %s ORDER BY id LIMIT %s) AS page"
)
# Room for a page of the longest lines: 5,000 of about 1.7 KB (two names of 100 four-byte characters, each a quote
# doubled) is 8.5 MB, within MariaDB's default max_allowed_packet (16 MiB; MySQL 8's is 64 MiB).
PAGE_MAX_BYTES = 16 * 1024 * 1024


class PageCutShort(Exception):
    """The server cut a page's lines short (its max_allowed_packet is below the page's size)."""


def open_snapshot(conn: pymysql.Connection) -> None:
    """Start the one read-only transaction every page of an export reads, so the file is the table at one moment."""
    with conn.cursor() as cur:
        cur.execute("SET SESSION group_concat_max_len = %s", (PAGE_MAX_BYTES,))
        cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")


def csv_lines(conn: pymysql.Connection, after_id: int, count: int) -> tuple[int, bytes, int]:
    """(lines, their UTF-8 bytes, the last id) of the next `count` people after `after_id`, in id order."""
    with conn.cursor() as cur:
        cur.execute(_CSV_PAGE_SQL, (after_id, count))
        lines, last_id, size, text = cur.fetchone()
    if lines == 0:
        return 0, b"", after_id
    if len(text) != size:
        raise PageCutShort(f"a page of {lines} people after id {after_id} came back cut to {len(text)} of {size} bytes")
    return lines, text, last_id
