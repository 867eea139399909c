"""Loading people into the people table in bulk, in file order, inside the caller's transaction.

The load is one change of the feed (people/changes.py): every row carries its id, and the change takes its
place in the feed at the end of the load, the import's last write before COMMIT.

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

from people_api.imports.csv_reader import FileRejected
from people_api.imports.feeder import feeding
from people_api.people import changes
from people_api.people.person import NewPerson
from people_api.people.store import INSERT_COLUMNS, INSERT_PLACEHOLDERS, insert_row

LOAD_DATA, INSERT = "load_data", "insert"
INSERT_BATCH_ROWS = 5000
INSERT_BATCH_CHARS = 1_000_000
LOAD_DATA_CHUNK_ROWS = 20_000
_TSV_WRITE_BYTES = 64 * 1024
_PIPE_BYTES = 1024 * 1024
_TSV_LINES_PER_WRITE = 1000
_LOAD_DATA_SQL = (
    "LOAD DATA LOCAL INFILE %s IGNORE INTO TABLE people CHARACTER SET utf8mb4"
    " FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n'"
    f" ({INSERT_COLUMNS})"
)
_NEEDS_ESCAPE = re.compile(r"[\\\t\n\r]").search
_MAX_WARNINGS = 65535  # the most MySQL and MariaDB keep; more than a statement's rows (LOAD_DATA_CHUNK_ROWS)
# MariaDB: "Duplicate entry '5' for key 'PRIMARY'"; MySQL 8: "... for key 'people.PRIMARY'".
_DUPLICATE_KEY = re.compile(r"Duplicate entry '(-?[0-9]+)' for key '(?:[^'.]+\.)?([^']+)'")


def _nothing(_inserted: int, _duplicate: int) -> None:
    """`load_people`'s `stored` when nobody follows the load."""


@dataclass(frozen=True)
class Loaded:
    """What a load stored: rows inserted, ids already taken, and how (LOAD DATA or INSERT)."""

    inserted: int
    duplicate: int
    method: str


def load_people(
    cur: Cursor, people: Iterable[NewPerson], method: str = "auto", stored: Callable[[int, int], None] = _nothing
) -> Loaded:
    """Insert people in file order on `cur`; an id already taken is a duplicate. `method`: auto, load_data or insert.

    `stored(inserted, duplicate)` is told the totals so far after each statement.
    """
    cur.execute("SET SESSION max_error_count = %s", (_MAX_WARNINGS,))  # every refused row of a statement
    if method == "auto":
        method = LOAD_DATA if local_infile_allowed(cur) else INSERT
    if method not in (LOAD_DATA, INSERT):
        raise ValueError(f"unknown load method {method!r}")
    change = changes.Change(changes.begin(cur))
    load = _load_data if method == LOAD_DATA else _insert_statements
    loaded = load(cur, people, change.id, stored)
    change.rows = loaded.inserted
    changes.stamp(cur, change)
    return loaded


def local_infile_allowed(cur: Cursor) -> bool:
    if not cur.connection.client_flag & CLIENT.LOCAL_FILES:
        return False
    cur.execute("SELECT @@local_infile")
    return bool(cur.fetchone()[0])


def _load_data(cur: Cursor, people: Iterable[NewPerson], change_id: int, stored: Callable[[int, int], None]) -> Loaded:
    """One LOAD DATA statement per chunk of LOAD_DATA_CHUNK_ROWS, each reading a pipe the feeder fills.

    Chunks, not one statement: with innodb_autoinc_lock_mode=1 (MariaDB's default) a LOAD DATA
    holds the table's AUTO-INC lock until it ends, which would stall `POST /people` for the file.
    """
    inserted = duplicate = 0
    with feeding(_tsv_chunks(people, change_id), discard=lambda chunk: os.close(chunk.read_end)) as chunks:
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
            added = cur.rowcount
            _check_refusals(cur, chunk.rows - added, chunk.chosen_ids)
            inserted += added
            duplicate += chunk.rows - added
            stored(inserted, duplicate)
    return Loaded(inserted, duplicate, LOAD_DATA)


def _insert_statements(
    cur: Cursor, people: Iterable[NewPerson], change_id: int, stored: Callable[[int, int], None]
) -> Loaded:
    inserted = duplicate = 0
    with feeding(_insert_batches(people, change_id, cur.mogrify)) as batches:
        for sql, rows, chosen_ids in batches:
            added = cur.execute(sql)
            _check_refusals(cur, rows - added, chosen_ids)
            inserted += added
            duplicate += rows - added
            stored(inserted, duplicate)
    return Loaded(inserted, duplicate, INSERT)


def _insert_batches(
    people: Iterable[NewPerson], change_id: int, mogrify: Callable[[str, tuple], str]
) -> Generator[tuple[str, int, set[int]], None, None]:
    """INSERT IGNORE statements of up to INSERT_BATCH_ROWS people (and INSERT_BATCH_CHARS), with their row
    counts and the ids their rows chose.

    Each row's values are bound by the driver (`cursor.mogrify`, what `execute` sends); building
    the statements here lets the feeder thread do it while the previous statement runs.
    """
    prefix = f"INSERT IGNORE INTO people ({INSERT_COLUMNS}) VALUES "
    values: list[str] = []
    chosen_ids: set[int] = set()
    chars = 0
    for person in people:
        row = mogrify(INSERT_PLACEHOLDERS, insert_row(person, change_id))
        values.append(row)
        if person.id is not None:
            chosen_ids.add(person.id)
        chars += len(row) + 1
        if len(values) == INSERT_BATCH_ROWS or chars >= INSERT_BATCH_CHARS:
            yield prefix + ",".join(values), len(values), chosen_ids
            values, chosen_ids, chars = [], set(), 0
    if values:
        yield prefix + ",".join(values), len(values), chosen_ids


def _check_refusals(cur: Cursor, refused: int, chosen_ids: set[int]) -> None:
    """Accept the statement's refused rows only as duplicates: rows whose chosen id a person already has.

    IGNORE turns any refusal into a warning (a duplicate id, but also another unique key, an
    id the column cannot hold, a truncated value); every warning must be a duplicate primary key
    of an id the rows chose, or the file is rejected (and its transaction rolled back).
    """
    if cur.warning_count == 0 and refused == 0:
        return
    warnings = cur.warning_count
    cur.execute("SHOW WARNINGS")
    problems = [(code, text) for _level, code, text in cur.fetchall() if not _is_duplicate(code, text, chosen_ids)]
    if problems or warnings != refused:
        raise FileRejected(
            f"the database refused or changed {max(refused, len(problems))} row(s) for another reason than an id"
            f" a person already has (first: {_reason(*problems[0]) if problems else 'a row it did not warn about'});"
            " nothing was imported"
        )


def _is_duplicate(code: int, text: str, chosen_ids: set[int]) -> bool:
    """A warning that a row's chosen id is already taken (by a stored person or an earlier row)."""
    match = _DUPLICATE_KEY.search(text) if code == ER.DUP_ENTRY else None
    return match is not None and match.group(2) == "PRIMARY" and int(match.group(1)) in chosen_ids


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


def _tsv_chunks(people: Iterable[NewPerson], change_id: int) -> Generator[_Chunk, None, None]:
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
            more = _write_chunk(pipe, chunk, people, change_id)


def _write_chunk(pipe, chunk: _Chunk, people: Iterator[NewPerson], change_id: int) -> bool:
    """Write up to LOAD_DATA_CHUNK_ROWS people; False once there are no more."""
    lines: list[str] = []
    chosen_ids_add = chunk.chosen_ids.add
    for person in people:
        lines.append("\t".join(map(_tsv_value, insert_row(person, change_id))))
        if person.id is not None:
            chosen_ids_add(person.id)
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
