"""Loading a file's rows in bulk, in file order, inside the caller's transaction, as its mode says (`load`).

`add` inserts people (`load_people`); `upsert` and `mirror` stage the rows in a temporary table and merge them
into people with a few set-based statements (people/store.py); a dry run does all of it, then rolls the people
back. The writes are one change of the feed (people/changes.py): every row carries its id, and the change takes
its place in the feed at the end of the load, the import's last write before COMMIT.

Either technique hands the rows to a feeder thread (`feeder.feeding`), which reads, checks
and formats them while the server stores the statement before: the `people` iterable is
consumed in that thread. LOAD DATA LOCAL INFILE (about twice as fast: docs/import.md) where
the server and the connection allow it; multi-row INSERT IGNORE statements otherwise.
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import pymysql
from pymysql.constants import CLIENT, ER
from pymysql.cursors import Cursor

from people_api.imports.csv_reader import FileRow
from people_api.imports.feeder import feeding
from people_api.imports.mode import ADD, MIRROR, ImportMode
from people_api.imports.outcome import MAX_CHANGES_LISTED, MAX_ROW_ERRORS, FileRejected, Tally
from people_api.people import changes
from people_api.people import store as people_store
from people_api.people.person import NAME_NEEDED, NewPerson
from people_api.people.store import PEOPLE_TABLE, STAGING_TABLE, BulkTable, insert_row, staged_row

LOAD_DATA, INSERT = "load_data", "insert"
INSERT_BATCH_ROWS = 5000
INSERT_BATCH_CHARS = 1_000_000
LOAD_DATA_CHUNK_ROWS = 20_000
_TSV_WRITE_BYTES = 64 * 1024
_PIPE_BYTES = 1024 * 1024
_TSV_LINES_PER_WRITE = 1000
_NEEDS_ESCAPE = re.compile(r"[\\\t\n\r]").search
_MAX_WARNINGS = 65535  # the most MySQL and MariaDB keep; more than a statement's rows (LOAD_DATA_CHUNK_ROWS)
# MariaDB: "Duplicate entry '5' for key 'PRIMARY'"; MySQL 8: "... for key 'people.PRIMARY'".
_DUPLICATE_KEY = re.compile(r"Duplicate entry '(-?[0-9]+)' for key '(?:[^'.]+\.)?([^']+)'")


def _nothing(_inserted: int, _duplicate: int) -> None:
    """`load_people`'s `stored` when nobody follows the load."""


@dataclass(frozen=True)
class Loaded:
    """What a load stored (or, in a dry run, would have): rows by what became of them, and how it loaded them
    (LOAD DATA or INSERT); `changes`: the first people updated, erased or kept by a conflict."""

    inserted: int
    duplicate: int
    method: str
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    conflict: int = 0
    changes: list[dict[str, Any]] = field(default_factory=list)


def load(
    cur: Cursor,
    rows: Iterable,
    mode: ImportMode,
    tally: Tally,
    method: str = "auto",
    stored: Callable[[int, int], None] = _nothing,
    max_erase_percent: float = 10,
) -> Loaded:
    """Load the file's rows (`read_people`'s for add, `read_updates`' otherwise) as `mode` says."""
    cur.execute("SAVEPOINT people_unwritten")
    if mode.name == ADD:
        loaded = load_people(cur, rows, method, stored)
    else:
        loaded = _merge(cur, rows, mode, tally, method, stored, max_erase_percent)
    if mode.dry_run:
        cur.execute("ROLLBACK TO SAVEPOINT people_unwritten")  # the change and every person it wrote
    return loaded


def _merge(
    cur: Cursor,
    rows: Iterable[FileRow],
    mode: ImportMode,
    tally: Tally,
    method: str,
    stored: Callable[[int, int], None],
    max_erase_percent: float,
) -> Loaded:
    """Upsert or mirror, as one change: stage the rows and merge each part into people as it lands (while the
    next is read), then a mirror's erasures (guarded), and count what became of each row from the people as
    the writes left them. A mirror's guard, or any failure, rolls all of it back with the transaction."""
    mirror = mode.name == MIRROR
    started = people_store.database_now(cur)  # before the file is read: the API's writes after it win
    change = changes.Change(changes.begin(cur))
    merged = {"through": 0}
    ahead: list[tuple[int, int]] = []

    def merge_so_far(_staged: int, duplicate: int) -> None:
        stored(0, duplicate)
        merge = people_store.Merge(tally.columns)  # the header is read before any row is staged
        merged["through"] = people_store.merge_part(
            cur, change.id, merge, started, merged["through"], ahead, MAX_CHANGES_LISTED
        )

    people_store.create_staging(cur)
    try:
        staged = stage_rows(cur, rows, method, merge_so_far)
        merge = people_store.Merge(tally.columns)
        tally.reject_all(*people_store.nameless_rows(cur, merge, MAX_ROW_ERRORS), "first_name", NAME_NEEDED)
        deleted = 0
        if mirror:
            erasing, stored_people = people_store.mirror_erasures(cur)
            if mode.erase_guard:
                _guard(erasing, stored_people, max_erase_percent)
            deleted = people_store.erase_unnamed(cur, change.id, started)
        counts = people_store.staged_counts(cur, change.id, merge, started, mirror)
        listed = people_store.first_changes(cur, change.id, merge, ahead, mirror, MAX_CHANGES_LISTED)
        change.rows = people_store.written_rows(cur, change.id)
        changes.stamp(cur, change)
    finally:
        people_store.drop_staging(cur)
    loaded = Loaded(
        inserted=counts.get(people_store.INSERTED, 0),
        duplicate=staged.duplicate,
        method=staged.method,
        updated=counts.get(people_store.UPDATED, 0),
        unchanged=counts.get(people_store.UNCHANGED, 0),
        deleted=deleted,
        conflict=counts.get(people_store.CONFLICT, 0),
        changes=listed,
    )
    stored(loaded.inserted, loaded.duplicate)
    return loaded


def _guard(erasing: int, stored: int, max_erase_percent: float) -> None:
    """Refuse a mirror that would erase more than `max_erase_percent` of the people (a truncated export?)."""
    if erasing * 100 > max_erase_percent * stored:
        raise FileRejected(
            f"this mirror would erase {erasing} of the {stored} people, more than {max_erase_percent:g}%"
            " (MIRROR_MAX_ERASE_PERCENT); nothing was imported. If the file is whole, upload it under mirror-all/"
            " (or with the metadata import-mode: mirror-all)"
        )


@dataclass(frozen=True)
class _Rows:
    """Rows for a BulkTable: the table, each item's values for its columns, and the id each item chose."""

    table: BulkTable
    values: Callable[[Any], tuple]
    chosen_id: Callable[[Any], int | None]


def load_people(
    cur: Cursor, people: Iterable[NewPerson], method: str = "auto", stored: Callable[[int, int], None] = _nothing
) -> Loaded:
    """Insert people in file order on `cur`; an id already taken is a duplicate. `method`: auto, load_data or insert.

    `stored(inserted, duplicate)` is told the totals so far after each statement.
    """
    method = _method(cur, method)
    change = changes.Change(changes.begin(cur))
    rows = _Rows(PEOPLE_TABLE, lambda person: insert_row(person, change.id), lambda person: person.id)
    loaded = _LOADS[method](cur, people, rows, stored)
    change.rows = loaded.inserted
    changes.stamp(cur, change)
    return loaded


def stage_rows(
    cur: Cursor, rows: Iterable[FileRow], method: str = "auto", stored: Callable[[int, int], None] = _nothing
) -> Loaded:
    """Load an upsert's or a mirror's rows into the session's staging table (people/store.py, create_staging) as
    `load_people` loads people: a row whose id an earlier row chose is a duplicate, left out."""
    method = _method(cur, method)
    staged = _Rows(STAGING_TABLE, lambda row: staged_row(*row), lambda row: row.person.id)
    return _LOADS[method](cur, rows, staged, stored)


def _method(cur: Cursor, method: str) -> str:
    cur.execute("SET SESSION max_error_count = %s", (_MAX_WARNINGS,))  # every refused row of a statement
    if method == "auto":
        method = LOAD_DATA if local_infile_allowed(cur) else INSERT
    if method not in (LOAD_DATA, INSERT):
        raise ValueError(f"unknown load method {method!r}")
    return method


def local_infile_allowed(cur: Cursor) -> bool:
    if not cur.connection.client_flag & CLIENT.LOCAL_FILES:
        return False
    cur.execute("SELECT @@local_infile")
    return bool(cur.fetchone()[0])


def _load_data(cur: Cursor, items: Iterable, rows: _Rows, stored: Callable[[int, int], None]) -> Loaded:
    """One LOAD DATA statement per chunk of LOAD_DATA_CHUNK_ROWS, each reading a pipe the feeder fills.

    Chunks, not one statement: with innodb_autoinc_lock_mode=1 (MariaDB's default) a LOAD DATA
    holds the table's AUTO-INC lock until it ends, which would stall `POST /people` for the file.
    """
    inserted = duplicate = 0
    with feeding(_tsv_chunks(items, rows), discard=lambda chunk: os.close(chunk.read_end)) as chunks:
        for chunk in chunks:
            try:
                cur.execute(rows.table.load_data_sql, (f"/dev/fd/{chunk.read_end}",))
            except AttributeError as error:
                # PyMySQL #989 (fix not released): a connection lost during LOAD DATA LOCAL surfaces
                # as an AttributeError raised while handling the OperationalError that says so.
                if isinstance(error.__context__, pymysql.OperationalError):
                    raise error.__context__ from None
                raise
            finally:
                os.close(chunk.read_end)
            added = cur.rowcount
            _check_refusals(cur, chunk.rows - added, chunk.chosen_ids, rows.table.unique_key)
            inserted += added
            duplicate += chunk.rows - added
            stored(inserted, duplicate)
    return Loaded(inserted, duplicate, LOAD_DATA)


def _insert_statements(cur: Cursor, items: Iterable, rows: _Rows, stored: Callable[[int, int], None]) -> Loaded:
    inserted = duplicate = 0
    with feeding(_insert_batches(items, rows, cur.mogrify)) as batches:
        for sql, count, chosen_ids in batches:
            added = cur.execute(sql)
            _check_refusals(cur, count - added, chosen_ids, rows.table.unique_key)
            inserted += added
            duplicate += count - added
            stored(inserted, duplicate)
    return Loaded(inserted, duplicate, INSERT)


_LOADS = {LOAD_DATA: _load_data, INSERT: _insert_statements}


def _insert_batches(
    items: Iterable, rows: _Rows, mogrify: Callable[[str, tuple], str]
) -> Generator[tuple[str, int, set[int]], None, None]:
    """INSERT IGNORE statements of up to INSERT_BATCH_ROWS rows (and INSERT_BATCH_CHARS), with their row
    counts and the ids their rows chose.

    Each row's values are bound by the driver (`cursor.mogrify`, what `execute` sends); building
    the statements here lets the feeder thread do it while the previous statement runs.
    """
    prefix, placeholders = rows.table.insert_prefix, rows.table.placeholders
    values: list[str] = []
    chosen_ids: set[int] = set()
    chars = 0
    for item in items:
        row = mogrify(placeholders, rows.values(item))
        values.append(row)
        chosen = rows.chosen_id(item)
        if chosen is not None:
            chosen_ids.add(chosen)
        chars += len(row) + 1
        if len(values) == INSERT_BATCH_ROWS or chars >= INSERT_BATCH_CHARS:
            yield prefix + ",".join(values), len(values), chosen_ids
            values, chosen_ids, chars = [], set(), 0
    if values:
        yield prefix + ",".join(values), len(values), chosen_ids


def _check_refusals(cur: Cursor, refused: int, chosen_ids: set[int], unique_key: str) -> None:
    """Accept the statement's refused rows only as duplicates: rows whose chosen id is taken (on `unique_key`).

    IGNORE turns any refusal into a warning (a duplicate id, but also another unique key, an
    id the column cannot hold, a truncated value); every warning must be a duplicate primary key
    (`unique_key`) of an id the rows chose, or the file is rejected (and its transaction rolled back).
    """
    if cur.warning_count == 0 and refused == 0:
        return
    warnings = cur.warning_count
    cur.execute("SHOW WARNINGS")
    problems = [
        (code, text) for _level, code, text in cur.fetchall() if not _is_duplicate(code, text, chosen_ids, unique_key)
    ]
    if problems or warnings != refused:
        raise FileRejected(
            f"the database refused or changed {max(refused, len(problems))} row(s) for another reason than an id"
            f" a person already has (first: {_reason(*problems[0]) if problems else 'a row it did not warn about'});"
            " nothing was imported"
        )


def _is_duplicate(code: int, text: str, chosen_ids: set[int], unique_key: str) -> bool:
    """A warning that a row's chosen id is already taken (by a stored person or an earlier row)."""
    match = _DUPLICATE_KEY.search(text) if code == ER.DUP_ENTRY else None
    return match is not None and match.group(2) == unique_key and int(match.group(1)) in chosen_ids


def _reason(code: int, text: str) -> str:
    """The database's error without the row's values (they may be personal): its code, and a key's name."""
    key = _DUPLICATE_KEY.search(text) if code == ER.DUP_ENTRY else None
    return f"error {code}" + (f" on key {key.group(2)!r}" if key else "")


@dataclass
class _Chunk:
    """A part of the TSV stream LOAD DATA reads: its pipe's read end, and the rows written to it."""

    read_end: int
    rows: int = 0  # set before the write end closes, so final once LOAD DATA has read to the end
    chosen_ids: set[int] = field(default_factory=set)  # likewise


def _tsv_chunks(items: Iterable, rows: _Rows) -> Generator[_Chunk, None, None]:
    """Pipes of up to LOAD_DATA_CHUNK_ROWS rows as LOAD DATA's tab-separated lines.

    Each pipe is handed over before it is written, so that the server reads while it fills.
    """
    items = iter(items)
    more = True
    while more:
        read_end, write_end = os.pipe()
        with open(write_end, "wb", buffering=_TSV_WRITE_BYTES) as pipe:
            with suppress(OSError):  # a bigger pipe lets the feeder run ahead while a statement ends
                fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
            chunk = _Chunk(read_end)
            yield chunk
            more = _write_chunk(pipe, chunk, items, rows)


def _write_chunk(pipe, chunk: _Chunk, items: Iterator, rows: _Rows) -> bool:
    """Write up to LOAD_DATA_CHUNK_ROWS rows; False once there are no more."""
    lines: list[str] = []
    chosen_ids_add = chunk.chosen_ids.add
    values, chosen_id = rows.values, rows.chosen_id
    for item in items:
        lines.append("\t".join(map(_tsv_value, values(item))))
        chosen = chosen_id(item)
        if chosen is not None:
            chosen_ids_add(chosen)
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
