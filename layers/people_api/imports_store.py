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
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import pymysql
from pymysql.constants import CLIENT
from pymysql.cursors import Cursor

from people_api import db
from people_api.paging import Page, decode_cursor, encode_cursor, page_of
from people_api.people_store import INSERT_COLUMNS, INSERT_PLACEHOLDERS, insert_row
from people_api.person import NewPerson

T = TypeVar("T")
PENDING, RUNNING, SUCCEEDED, REJECTED, FAILED = "pending", "running", "succeeded", "rejected", "failed"
FINISHED = (SUCCEEDED, REJECTED)
LOAD_DATA, INSERT = "load_data", "insert"
INSERT_BATCH_ROWS = 5000
INSERT_BATCH_CHARS = 1_000_000
MAX_MESSAGE_CHARS = 1000
LOAD_DATA_CHUNK_ROWS = 20_000
_TSV_WRITE_BYTES = 64 * 1024
_PIPE_BYTES = 1024 * 1024
_TSV_LINES_PER_WRITE = 1000
_FEED_QUEUE_ITEMS = 2
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


# Loading people.


def load_people(conn: pymysql.Connection, people: Iterable[NewPerson], method: str = "auto") -> Loaded:
    """Insert people in file order inside the caller's transaction; an id already taken is a duplicate.

    Either way a feeder thread reads, checks and formats the rows while the server stores
    the ones before. LOAD DATA LOCAL INFILE (about twice as fast: docs/import.md) where the
    server and the connection allow it; multi-row INSERT IGNORE statements otherwise.
    """
    with conn.cursor() as cur:
        if method == "auto":
            method = LOAD_DATA if local_infile_allowed(cur) else INSERT
        if method == LOAD_DATA:
            return _load_data(cur, people)
        if method == INSERT:
            return _insert_statements(cur, people)
    raise ValueError(f"unknown load method {method!r}")


def local_infile_allowed(cur: Cursor) -> bool:
    if not cur.connection.client_flag & CLIENT.LOCAL_FILES:
        return False
    cur.execute("SELECT @@local_infile")
    return bool(cur.fetchone()[0])


def _load_data(cur: Cursor, people: Iterable[NewPerson]) -> Loaded:
    """One LOAD DATA statement per chunk of LOAD_DATA_CHUNK_ROWS, each reading a pipe the feeder fills.

    Chunks, not one statement: with innodb_autoinc_lock_mode=1 (MariaDB's default) a LOAD DATA
    holds the table's AUTO-INC lock until it ends, which would stall `POST /people` for the file.
    """
    inserted = duplicate = 0
    with _feeding(_tsv_chunks(people), discard=lambda chunk: os.close(chunk.read_end)) as chunks:
        for chunk in chunks:
            try:
                cur.execute(_LOAD_DATA_SQL, (f"/dev/fd/{chunk.read_end}",))
            except AttributeError as error:
                # PyMySQL #989 (fix not released): a connection lost during LOAD DATA LOCAL surfaces
                # as an AttributeError raised while handling the OperationalError that says so.
                if isinstance(error.__context__, pymysql.OperationalError):
                    raise error.__context__ from None
                raise
            finally:
                os.close(chunk.read_end)
            inserted += cur.rowcount
            duplicate += chunk.rows - cur.rowcount
            _check_warnings(cur, chunk.rows - cur.rowcount)
    return Loaded(inserted, duplicate, LOAD_DATA)


def _insert_statements(cur: Cursor, people: Iterable[NewPerson]) -> Loaded:
    inserted = duplicate = 0
    with _feeding(_insert_batches(people, cur.mogrify)) as batches:
        for sql, rows in batches:
            added = cur.execute(sql)
            _check_warnings(cur, rows - added)
            inserted += added
            duplicate += rows - added
    return Loaded(inserted, duplicate, INSERT)


def _insert_batches(
    people: Iterable[NewPerson], mogrify: Callable[[str, tuple], str]
) -> Generator[tuple[str, int], None, None]:
    """INSERT IGNORE statements of up to INSERT_BATCH_ROWS people (and INSERT_BATCH_CHARS), with their row counts.

    Each row's values are bound by the driver (`cursor.mogrify`, what `execute` sends); building
    the statements here lets the feeder thread do it while the previous statement runs.
    """
    prefix = f"INSERT IGNORE INTO people ({INSERT_COLUMNS}) VALUES "
    values: list[str] = []
    chars = 0
    for person in people:
        row = mogrify(INSERT_PLACEHOLDERS, insert_row(person))
        values.append(row)
        chars += len(row) + 1
        if len(values) == INSERT_BATCH_ROWS or chars >= INSERT_BATCH_CHARS:
            yield prefix + ",".join(values), len(values)
            values, chars = [], 0
    if values:
        yield prefix + ",".join(values), len(values)


def _check_warnings(cur: Cursor, duplicate: int) -> None:
    """IGNORE turns duplicate ids into warnings, but it would do the same to any other bad value: refuse those."""
    if cur.warning_count != duplicate:
        warnings = cur.warning_count
        cur.execute("SHOW WARNINGS LIMIT 5")
        raise RuntimeError(f"the database warned about stored values ({warnings} warnings): {cur.fetchall()}")


@contextmanager
def _feeding(items: Generator[T, None, None], discard: Callable[[T], None] = lambda _: None) -> Iterator[Iterator[T]]:
    """`items`, produced by a feeder thread while the caller loads the ones before; stops the feeder on error."""
    feeder = _Feeder(items, discard)
    with _quick_thread_switches():
        feeder.start()
        try:
            yield feeder.items()
        finally:
            feeder.stop()


@contextmanager
def _quick_thread_switches() -> Iterator[None]:
    """Hand the GIL over every 0.5 ms instead of 5 while loading (the process's setting, restored after).

    The feeder thread is always busy; at the default interval the loading thread waits up
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


class _Feeder(threading.Thread):
    """Runs a generator in a thread of its own, handing its items over through a short queue."""

    _END = object()

    def __init__(self, items: Generator[T, None, None], discard: Callable[[T], None]):
        super().__init__(name="people-import-feeder", daemon=True)
        self._source = items
        self._discard = discard
        self._queue: queue.Queue = queue.Queue(maxsize=_FEED_QUEUE_ITEMS)
        self._stopping = threading.Event()
        self._ended = False
        self._error: BaseException | None = None

    def run(self) -> None:
        try:
            for item in self._source:
                self._queue.put(item)
                if self._stopping.is_set():
                    break
        except BrokenPipeError:
            pass  # the statement reading the pipe failed; its error is the one reported
        except BaseException as error:
            self._error = error
        finally:
            self._source.close()
            self._queue.put(self._END)

    def items(self) -> Iterator[T]:
        """Each item as it comes; then the feeder's own error (a bad file, the deadline...), if it had one."""
        while (item := self._queue.get()) is not self._END:
            yield item
        self._ended = True
        self.join()
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        """After the last item, or a failed statement: discard what nobody will load, and wait for the thread."""
        self._stopping.set()
        while not self._ended:
            item = self._queue.get()
            if item is self._END:
                self._ended = True
            else:
                self._discard(item)
        self.join()


@dataclass
class _Chunk:
    read_end: int
    rows: int = 0  # set before the write end closes, so final once LOAD DATA has read to the end


def _tsv_chunks(people: Iterable[NewPerson]) -> Generator[_Chunk, None, None]:
    """Pipes of up to LOAD_DATA_CHUNK_ROWS people as LOAD DATA's tab-separated lines.

    Each pipe is handed over before it is written, so that the server reads while it fills.
    """
    people = iter(people)
    more = True
    while more:
        read_end, write_end = os.pipe()
        with open(write_end, "wb", buffering=_TSV_WRITE_BYTES) as pipe:
            with suppress(OSError):  # a bigger pipe lets the feeder run ahead while a statement ends
                fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
            chunk = _Chunk(read_end)
            yield chunk
            more = _write_chunk(pipe, chunk, people)


def _write_chunk(pipe, chunk: _Chunk, people: Iterator[NewPerson]) -> bool:
    """Write up to LOAD_DATA_CHUNK_ROWS people; False once there are no more."""
    lines: list[str] = []
    for person in people:
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
