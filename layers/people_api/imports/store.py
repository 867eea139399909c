"""SQL for the `imports` table: one record per S3 object content, and the lock that serializes its deliveries.

The import's functions take the connection they work on (each delivery of an event holds
its own); the API's reads use the thread's connection from `db`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pymysql

from people_api import db, retention
from people_api.imports.record import (
    PENDING,
    RUNNING,
    ImportRecord,
    ObjectRef,
    RowCounts,
    progress_json,
    rows_json,
    timings_json,
)

MAX_MESSAGE_CHARS = 1000  # the message column's size: callers cut to it
_RECORD_COLUMNS = (
    "id, bucket, object_key, etag, version_id, size_bytes, status, message, rows_read, rows_inserted,"
    " rows_duplicate, rows_rejected, row_errors, attempts, report_key, bytes_read, progress_at,"
    " created_at, started_at, finished_at, mode, dry_run, rows_updated, rows_unchanged, rows_deleted,"
    " rows_conflict, changes"
)
# A listing answers records without their row errors and changes (_json(row, with_errors=False)): up to
# 100 of each, kilobytes a record, that the server need not send nor the function parse.
_LISTED_COLUMNS = _RECORD_COLUMNS.replace("row_errors", "NULL").replace("changes", "NULL")


def claim(conn: pymysql.Connection, obj: ObjectRef) -> int:
    """The id of the object's import record, created if this is the first event for it."""
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO imports"
            " (bucket, object_key, object_key_hash, etag, version_id, size_bytes, status, created_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, UTC_TIMESTAMP(3))"
            " ON DUPLICATE KEY UPDATE id = LAST_INSERT_ID(id)",
            (obj.bucket, obj.key, obj.key_hash, obj.etag, obj.version_id, obj.size, PENDING),
        )
        return cur.lastrowid


def lock(conn: pymysql.Connection, import_id: int, wait_seconds: int) -> bool:
    """Serialize the deliveries of one object: True once this connection holds the import's lock."""
    return db.get_lock(conn, _lock_name(import_id), wait_seconds)


def unlock(conn: pymysql.Connection, import_id: int) -> None:
    db.release_lock_if_connected(conn, _lock_name(import_id))


def start(conn: pymysql.Connection, import_id: int) -> ImportRecord:
    """Mark the import running (one more attempt); the record as it now is."""
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE imports SET status = %s, attempts = attempts + 1, started_at = UTC_TIMESTAMP(3),"
            " finished_at = NULL, rows_read = 0, rows_inserted = 0, rows_duplicate = 0, rows_rejected = 0,"
            " rows_updated = 0, rows_unchanged = 0, rows_deleted = 0, rows_conflict = 0, changes = NULL,"
            " bytes_read = 0, progress_at = NULL WHERE id = %s",
            (RUNNING, import_id),
        )
    return import_by_id(import_id, conn)


def finish(conn: pymysql.Connection, ended: ImportRecord) -> None:
    """Record how the import ended: its status, message, rows, errors and report (inside the load's transaction
    when it succeeded)."""
    rows = ended.rows
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE imports SET status = %s, message = %s, rows_read = %s, rows_inserted = %s, rows_duplicate = %s,"
            " rows_rejected = %s, mode = %s, dry_run = %s, rows_updated = %s, rows_unchanged = %s,"
            " rows_deleted = %s, rows_conflict = %s, changes = %s, row_errors = %s, report_key = %s, bytes_read = %s,"
            " progress_at = UTC_TIMESTAMP(3), finished_at = UTC_TIMESTAMP(3) WHERE id = %s",
            (
                ended.status,
                ended.message,
                rows.read,
                rows.inserted,
                rows.duplicate,
                rows.rejected,
                ended.mode,
                ended.dry_run,
                rows.updated,
                rows.unchanged,
                rows.deleted,
                rows.conflict,
                json.dumps(ended.changes),
                json.dumps(ended.errors, ensure_ascii=False),
                ended.report_key,
                ended.bytes_read,
                ended.id,
            ),
        )


def record_mode(conn: pymysql.Connection, import_id: int, mode: str, dry_run: bool) -> None:
    """The running import's mode, once its object says it (autocommit: a client polling the record sees it)."""
    with conn.cursor() as cur:
        cur.execute("UPDATE imports SET mode = %s, dry_run = %s WHERE id = %s", (mode, dry_run, import_id))


def record_progress(conn: pymysql.Connection, import_id: int, rows: RowCounts, bytes_read: int) -> None:
    """How far a running import got, in autocommit on a connection other than the import's (whose
    transaction would hide it until the end); an import that ended meanwhile keeps its final figures."""
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE imports SET rows_read = %s, rows_inserted = %s, rows_duplicate = %s, rows_rejected = %s,"
            " bytes_read = %s, progress_at = UTC_TIMESTAMP(3) WHERE id = %s AND status = %s",
            (rows.read, rows.inserted, rows.duplicate, rows.rejected, bytes_read, import_id, RUNNING),
        )


def import_of(obj: ObjectRef) -> ImportRecord | None:
    """The record of this object's content (bucket, key, ETag), or None before its first event claimed it."""
    with db.read_cursor() as cur:
        cur.execute(
            f"SELECT {_RECORD_COLUMNS} FROM imports WHERE bucket = %s AND object_key_hash = %s AND etag = %s",
            (obj.bucket, obj.key_hash, obj.etag),
        )
        row = cur.fetchone()
    return None if row is None else _record(row)


def import_by_id(import_id: int, conn: pymysql.Connection) -> ImportRecord | None:
    """The record as the import's connection `conn` reads it, or None."""
    with conn.cursor() as cur:
        cur.execute(f"SELECT {_RECORD_COLUMNS} FROM imports WHERE id = %s", (import_id,))
        row = cur.fetchone()
    return None if row is None else _record(row)


def import_json(
    import_id: int, conn: pymysql.Connection | None = None, with_errors: bool = True
) -> dict[str, Any] | None:
    """The record as `GET /imports/{id}` and the reports answer it, or None; on `conn` (the import's own), else on
    this thread's connection (the API's)."""
    columns = _RECORD_COLUMNS if with_errors else _LISTED_COLUMNS
    with conn.cursor() if conn is not None else db.read_cursor() as cur:
        cur.execute(f"SELECT {columns} FROM imports WHERE id = %s", (import_id,))
        row = cur.fetchone()
    return None if row is None else _json(row, with_errors)


def imports_newest_first(before_id: int, count: int) -> list[dict[str, Any]]:
    """Up to `count` records with an id below `before_id`, newest first, as JSON without their errors and changes."""
    with db.read_cursor() as cur:
        cur.execute(
            f"SELECT {_LISTED_COLUMNS} FROM imports WHERE id < %s ORDER BY id DESC LIMIT %s", (before_id, count)
        )
        return [_json(row, with_errors=False) for row in cur.fetchall()]


def purge_expired(
    conn: pymysql.Connection,
    retention_days: int,
    seconds_left: Callable[[], float],
    batch_rows: int = retention.PURGE_BATCH_ROWS,
) -> retention.Purged:
    """Delete the import records older than `retention_days` (retention.py says how), while time is left."""
    return retention.purge_expired(conn, "imports", retention_days, seconds_left, batch_rows)


def _record(row: tuple) -> ImportRecord:
    (import_id, bucket, key, etag, version_id, size, status, message, read, inserted, duplicate, rejected) = row[:12]
    row_errors, attempts, report_key, bytes_read, progress_at, created_at, started_at, finished_at = row[12:20]
    mode, dry_run, updated, unchanged, deleted, conflict, changes = row[20:]
    return ImportRecord(
        id=import_id,
        object=ObjectRef(bucket, key, etag, version_id, size),
        status=status,
        mode=mode,
        dry_run=bool(dry_run),
        message=message,
        rows=RowCounts(read, inserted, duplicate, rejected, updated, unchanged, deleted, conflict),
        errors=json.loads(row_errors) if row_errors else [],
        changes=json.loads(changes) if changes else [],
        attempts=attempts,
        report_key=report_key,
        bytes_read=bytes_read,
        progress_at=progress_at,
        created_at=created_at,
        started_at=started_at,
        finished_at=finished_at,
    )


def _json(row: tuple, with_errors: bool) -> dict[str, Any]:
    """A record as the API and the reports answer it, straight from its row: no ImportRecord on the way, whose
    frozen dataclasses took about as long as the JSON itself for the 100 records of a `GET /imports` page."""
    (import_id, bucket, key, etag, version_id, size, status, message, read, inserted, duplicate, rejected) = row[:12]
    row_errors, attempts, report_key, bytes_read, progress_at, created_at, started_at, finished_at = row[12:20]
    mode, dry_run, updated, unchanged, deleted, conflict, changes = row[20:]
    body = {
        "id": import_id,
        "bucket": bucket,
        "key": key,
        "etag": etag,
        "version_id": version_id,
        "size_bytes": size,
        "status": status,
        "mode": mode,
        "dry_run": bool(dry_run),
        "message": message,
        "rows": rows_json(read, inserted, duplicate, rejected, updated, unchanged, deleted, conflict),
        "progress": progress_json(status, size, bytes_read, read, started_at, progress_at, finished_at),
        "attempts": attempts,
        "report_key": report_key,
        "timings": timings_json(created_at, started_at, finished_at),
    }
    if with_errors:
        body["errors"] = json.loads(row_errors) if row_errors else []
        body["changes"] = json.loads(changes) if changes else []
    return body


def _lock_name(import_id: int) -> str:
    return f"people-import-{import_id}"
