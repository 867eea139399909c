"""SQL for the CSV import: the `imports` records, the per-object lock, and loading people in bulk.

The import's functions take the connection they work on (each delivery of an
event holds its own); the API's reads use the thread's connection from `db`.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import queue
import re
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any

import pymysql
from pymysql.constants import CLIENT
from pymysql.cursors import Cursor

from people_api import db
from people_api.paging import Page, decode_cursor, encode_cursor, page_of
from people_api.people_store import INSERT_COLUMNS, insert_row
from people_api.person import NewPerson

PENDING, RUNNING, SUCCEEDED, REJECTED, FAILED = "pending", "running", "succeeded", "rejected", "failed"
FINISHED = (SUCCEEDED, REJECTED)
LOAD_DATA, INSERT = "load_data", "insert"
INSERT_BATCH_ROWS = 2000
MAX_MESSAGE_CHARS = 1000
LOAD_DATA_CHUNK_ROWS = 20_000
_TSV_WRITE_BYTES = 64 * 1024
_PIPE_BYTES = 1024 * 1024
_TSV_LINES_PER_WRITE = 1000
_LOAD_DATA_SQL = (
    "LOAD DATA LOCAL INFILE %s IGNORE INTO TABLE people CHARACTER SET utf8mb4"
    " FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n'"
    f" ({INSERT_COLUMNS})"
)
_LOAD_SWITCH_SECONDS = 0.0005
_switch_lock = threading.Lock()
_loads_running = 0
_usual_switch_interval = sys.getswitchinterval()
_NEEDS_ESCAPE = re.compile(r"[\\\t\n\r]").search
_RECORD_COLUMNS = (
    "id, bucket, object_key, etag, version_id, size_bytes, status, message, rows_read, rows_inserted,"
    " rows_duplicate, rows_rejected, row_errors, attempts, report_key, created_at, started_at, finished_at"
)


@dataclass(frozen=True)
class ObjectRef:
    """One version of one S3 object, as an ObjectCreated event names it."""

    bucket: str
    key: str
    etag: str
    version_id: str | None
    size: int


@dataclass(frozen=True)
class Loaded:
    inserted: int
    duplicate: int
    method: str


@dataclass(frozen=True)
class Outcome:
    """How an import ended, as its record keeps it."""

    status: str
    message: str | None
    rows_read: int
    rows_inserted: int
    rows_duplicate: int
    rows_rejected: int
    errors: list[dict[str, Any]]
    report_key: str


@dataclass(frozen=True)
class ImportRecord:
    id: int
    bucket: str
    key: str
    etag: str
    version_id: str | None
    size_bytes: int
    status: str
    message: str | None
    rows_read: int
    rows_inserted: int
    rows_duplicate: int
    rows_rejected: int
    row_errors: str | None
    attempts: int
    report_key: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    def as_json(self, with_errors: bool = True) -> dict[str, Any]:
        seconds = (self.finished_at - self.started_at).total_seconds() if self.finished_at and self.started_at else None
        body = {
            "id": self.id,
            "bucket": self.bucket,
            "key": self.key,
            "etag": self.etag,
            "version_id": self.version_id,
            "size_bytes": self.size_bytes,
            "status": self.status,
            "message": self.message,
            "rows": {
                "read": self.rows_read,
                "inserted": self.rows_inserted,
                "duplicate": self.rows_duplicate,
                "rejected": self.rows_rejected,
            },
            "attempts": self.attempts,
            "report_key": self.report_key,
            "timings": {
                "created_at": _iso(self.created_at),
                "started_at": _iso(self.started_at),
                "finished_at": _iso(self.finished_at),
                "seconds": seconds,
            },
        }
        if with_errors:
            body["errors"] = json.loads(self.row_errors) if self.row_errors else []
        return body


# The import's records and lock (each on the import's own connection, in autocommit unless in `transaction`).


def claim(conn: pymysql.Connection, obj: ObjectRef) -> int:
    """The id of the object's import record, created if this is the first event for it."""
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO imports"
            " (bucket, object_key, object_key_hash, etag, version_id, size_bytes, status, created_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, UTC_TIMESTAMP(3))"
            " ON DUPLICATE KEY UPDATE id = LAST_INSERT_ID(id)",
            (obj.bucket, obj.key, _key_hash(obj.key), obj.etag, obj.version_id, obj.size, PENDING),
        )
        return cur.lastrowid


def lock(conn: pymysql.Connection, import_id: int, wait_seconds: int) -> bool:
    """Serialize the deliveries of one object: True once this connection holds the import's lock."""
    with conn.cursor() as cur:
        cur.execute("SELECT GET_LOCK(%s, %s)", (_lock_name(import_id), wait_seconds))
        return cur.fetchone()[0] == 1


def unlock(conn: pymysql.Connection, import_id: int) -> None:
    with suppress(pymysql.Error), conn.cursor() as cur:  # a dropped connection released the lock with it
        cur.execute("DO RELEASE_LOCK(%s)", (_lock_name(import_id),))


def record(conn: pymysql.Connection, import_id: int) -> ImportRecord:
    with conn.cursor() as cur:
        cur.execute(f"SELECT {_RECORD_COLUMNS} FROM imports WHERE id = %s", (import_id,))
        return ImportRecord(*cur.fetchone())


def start(conn: pymysql.Connection, import_id: int) -> None:
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE imports SET status = %s, attempts = attempts + 1, started_at = UTC_TIMESTAMP(3), finished_at = NULL"
            " WHERE id = %s",
            (RUNNING, import_id),
        )


def finish(conn: pymysql.Connection, import_id: int, outcome: Outcome) -> None:
    """Record how the import ended (inside the load's transaction when it succeeded)."""
    message = outcome.message[:MAX_MESSAGE_CHARS] if outcome.message else None
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE imports SET status = %s, message = %s, rows_read = %s, rows_inserted = %s, rows_duplicate = %s,"
            " rows_rejected = %s, row_errors = %s, report_key = %s, finished_at = UTC_TIMESTAMP(3) WHERE id = %s",
            (
                outcome.status,
                message,
                outcome.rows_read,
                outcome.rows_inserted,
                outcome.rows_duplicate,
                outcome.rows_rejected,
                json.dumps(outcome.errors, ensure_ascii=False),
                outcome.report_key,
                import_id,
            ),
        )


@contextmanager
def transaction(conn: pymysql.Connection) -> Iterator[None]:
    """One transaction on the import's connection: committed at the end, rolled back on any error."""
    conn.begin()
    try:
        yield
        conn.commit()
    except BaseException:
        with suppress(pymysql.Error):  # a dropped connection: the server rolls back itself
            conn.rollback()
        raise


# Loading people.


def load_people(conn: pymysql.Connection, people: Iterable[NewPerson], method: str = "auto") -> Loaded:
    """Insert people in file order inside the caller's transaction; an id already taken is a duplicate.

    LOAD DATA LOCAL INFILE streams the rows through a pipe while they are read and
    checked (about twice as fast as multi-row INSERTs here: docs/import.md); where the
    server or the connection does not allow it, batched INSERT IGNORE does the same.
    """
    with conn.cursor() as cur:
        if method == "auto":
            method = LOAD_DATA if local_infile_allowed(cur) else INSERT
        if method == LOAD_DATA:
            return _load_data(cur, people)
        if method == INSERT:
            return _insert_batches(cur, people)
    raise ValueError(f"unknown load method {method!r}")


def local_infile_allowed(cur: Cursor) -> bool:
    if not cur.connection.client_flag & CLIENT.LOCAL_FILES:
        return False
    cur.execute("SELECT @@local_infile")
    return bool(cur.fetchone()[0])


def _load_data(cur: Cursor, people: Iterable[NewPerson]) -> Loaded:
    """One LOAD DATA statement per chunk of LOAD_DATA_CHUNK_ROWS, each reading a pipe the writer thread fills.

    Chunks, not one statement: with innodb_autoinc_lock_mode=1 (MariaDB's default) a LOAD DATA
    holds the table's AUTO-INC lock until it ends, which would stall `POST /people` for the file.
    """
    writer = _TsvWriter(people)
    inserted = duplicate = 0
    with _quick_thread_switches():
        writer.start()
        try:
            while (chunk := writer.chunks.get()) is not None:
                try:
                    cur.execute(_LOAD_DATA_SQL, (f"/dev/fd/{chunk.read_end}",))
                finally:
                    os.close(chunk.read_end)
                inserted += cur.rowcount
                duplicate += chunk.rows - cur.rowcount
                _check_warnings(cur, chunk.rows - cur.rowcount)
        except BaseException:
            writer.abandon()
            raise
        writer.join()
    if writer.error is not None:
        raise writer.error
    return Loaded(inserted, duplicate, LOAD_DATA)


def _insert_batches(cur: Cursor, people: Iterable[NewPerson]) -> Loaded:
    placeholders = ", ".join(["%s"] * len(INSERT_COLUMNS.split(",")))
    sql = f"INSERT IGNORE INTO people ({INSERT_COLUMNS}) VALUES ({placeholders})"
    rows = map(insert_row, people)
    inserted = duplicate = 0
    while batch := list(islice(rows, INSERT_BATCH_ROWS)):
        added = cur.executemany(sql, batch)
        _check_warnings(cur, len(batch) - added)
        inserted += added
        duplicate += len(batch) - added
    return Loaded(inserted, duplicate, INSERT)


def _check_warnings(cur: Cursor, duplicate: int) -> None:
    """IGNORE turns duplicate ids into warnings, but it would do the same to any other bad value: refuse those."""
    if cur.warning_count != duplicate:
        warnings = cur.warning_count
        cur.execute("SHOW WARNINGS LIMIT 5")
        raise RuntimeError(f"the database warned about stored values ({warnings} warnings): {cur.fetchall()}")


@contextmanager
def _quick_thread_switches() -> Iterator[None]:
    """Hand the GIL over every 0.5 ms instead of 5 while loading (the process's setting, restored after).

    The writer thread is always busy; at the default interval the loading thread waits up
    to 5 ms each time it needs the GIL to pass a packet on, and the server waits with it:
    measured, the import runs about twice as fast this way (docs/import.md).
    """
    global _loads_running, _usual_switch_interval
    with _switch_lock:
        if _loads_running == 0:
            _usual_switch_interval = sys.getswitchinterval()
            sys.setswitchinterval(_LOAD_SWITCH_SECONDS)
        _loads_running += 1
    try:
        yield
    finally:
        with _switch_lock:
            _loads_running -= 1
            if _loads_running == 0:
                sys.setswitchinterval(_usual_switch_interval)


@dataclass
class _Chunk:
    read_end: int
    rows: int = 0  # set before the write end closes, so final once LOAD DATA has read to the end


class _TsvWriter(threading.Thread):
    """Writes people as LOAD DATA's tab-separated lines into one pipe per chunk, while the server reads."""

    def __init__(self, people: Iterable[NewPerson]):
        super().__init__(name="people-tsv-writer", daemon=True)
        self._people = iter(people)
        self._stopped = threading.Event()
        self.chunks: queue.SimpleQueue[_Chunk | None] = queue.SimpleQueue()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            more = True
            while more and not self._stopped.is_set():
                read_end, write_end = os.pipe()
                with suppress(OSError):  # a bigger pipe lets the writer run ahead while a statement ends
                    fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
                chunk = _Chunk(read_end)
                self.chunks.put(chunk)
                with open(write_end, "wb", buffering=_TSV_WRITE_BYTES) as pipe:
                    more = self._write_chunk(pipe, chunk)
        except BrokenPipeError:
            pass  # the statement reading the pipe failed; its error is the one reported
        except BaseException as error:
            self.error = error
        finally:
            self.chunks.put(None)

    def _write_chunk(self, pipe, chunk: _Chunk) -> bool:
        """Write up to LOAD_DATA_CHUNK_ROWS people; False once there are no more."""
        lines: list[str] = []
        for person in self._people:
            lines.append("\t".join(map(_tsv_value, insert_row(person))))
            if len(lines) == _TSV_LINES_PER_WRITE:
                pipe.write(("\n".join(lines) + "\n").encode())
                chunk.rows += len(lines)
                lines.clear()
                if chunk.rows >= LOAD_DATA_CHUNK_ROWS:
                    return True
        if lines:
            pipe.write(("\n".join(lines) + "\n").encode())
            chunk.rows += len(lines)
        return False

    def abandon(self) -> None:
        """After a failed statement: close the pipes nobody will read, so that the writer stops, and wait."""
        self._stopped.set()
        while (chunk := self.chunks.get()) is not None:
            os.close(chunk.read_end)  # the writer, if blocked on it, gets BrokenPipeError
        self.join()


def _tsv_value(value: Any) -> str:
    if value is None:
        return "\\N"
    if type(value) is str:
        if _NEEDS_ESCAPE(value):
            return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
        return value
    return str(value)  # int, or date as YYYY-MM-DD


# The API's reads.


def imports_newest_first(limit: int, cursor: str | None = None) -> Page:
    (before_id,) = decode_cursor(cursor, "imports", 1) if cursor else (2**31,)
    with db.cursor() as cur:
        cur.execute(
            f"SELECT {_RECORD_COLUMNS} FROM imports WHERE id < %s ORDER BY id DESC LIMIT %s", (before_id, limit + 1)
        )
        rows = [ImportRecord(*row) for row in cur.fetchall()]
    return page_of(rows, limit, lambda last: encode_cursor("imports", last.id))


def import_by_id(import_id: int) -> ImportRecord | None:
    with db.cursor() as cur:
        cur.execute(f"SELECT {_RECORD_COLUMNS} FROM imports WHERE id = %s", (import_id,))
        row = cur.fetchone()
    return None if row is None else ImportRecord(*row)


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _lock_name(import_id: int) -> str:
    return f"people-import-{import_id}"


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="milliseconds") + "Z"
