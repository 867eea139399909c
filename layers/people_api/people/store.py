"""SQL for the people table. Every query is parameterised and index-backed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TypeVar

import pymysql
from pymysql.constants import ER

from people_api import db
from people_api.errors import Conflict, NotFound
from people_api.observability import logger
from people_api.people import changes
from people_api.people.person import (
    FIELDS,
    NewPerson,
    StoredPerson,
    inferred_age,
    last_name_key,
    latest_graduation_for_age,
)

COLUMNS = ", ".join(StoredPerson._fields)  # a StoredPerson's: the person's FIELDS, then version and times
_INSERT_FIELDS = (*FIELDS, "last_name_key", "change_id")
INSERT_COLUMNS = ", ".join(_INSERT_FIELDS)  # the values of insert_row()
INSERT_PLACEHOLDERS = f"({', '.join(['%s'] * len(_INSERT_FIELDS))})"  # one row of insert_row()
# Every insert column but the id, as `column = %s`, for the values insert_row(...)[1:].
_UPDATE_ASSIGNMENTS = ", ".join(f"{column} = %s" for column in _INSERT_FIELDS[1:])
# Left to themselves, MySQL and MariaDB scan (age, id) or only the age part of this index,
# reading a whole age group instead of the one-year range of dates asked for.
_BY_GRADUATION = "FORCE INDEX (people_by_graduation)"
_BY_CHANGE = "FORCE INDEX (people_by_change)"
T = TypeVar("T")
DEADLOCK_ATTEMPTS = 3  # of a write that InnoDB rolled back as a deadlock


def _retried_on_deadlock(write: Callable[[], T], done: str) -> T:
    """The result of `write` (one statement, or one transaction), tried again when it deadlocked.

    Writes of one id racing each other (an insert, an update, a delete) can deadlock on its row or
    index record; InnoDB then rolls back one transaction whole, which is safe to run again. After
    DEADLOCK_ATTEMPTS deadlocks: Conflict (409), nothing written, never a 5xx.
    """
    for _ in range(DEADLOCK_ATTEMPTS):
        try:
            return write()
        except pymysql.err.OperationalError as error:
            if error.args[0] != ER.LOCK_DEADLOCK:
                raise
            logger.info("a write of a person deadlocked with another; trying again")
    raise Conflict(
        f"the person could not be {done} while other writes of its id raced it; nothing was {done}, try again"
    )


def insert_row(person: NewPerson, change_id: int) -> tuple:
    """The values of INSERT_COLUMNS for a person written by change `change_id` (people/changes.py)."""
    return (*person, last_name_key(person.last_name), change_id)


def add_person(person: NewPerson) -> StoredPerson:
    """Insert a person; return the row as inserted. An id already taken raises Conflict, changing nothing.

    The row is read back inside the insert's transaction, where it stays locked until commit: the
    answer is the person inserted even if a DELETE of its id comes a moment later.
    """

    def insert() -> StoredPerson:
        try:
            with db.cursor() as autocommit, changes.writing(autocommit.connection) as (cur, change):
                row = insert_row(person, change.id)
                change.rows += cur.execute(f"INSERT INTO people ({INSERT_COLUMNS}) VALUES {INSERT_PLACEHOLDERS}", row)
                cur.execute(f"SELECT {COLUMNS} FROM people WHERE id = %s", (cur.lastrowid,))
                return StoredPerson(*cur.fetchone())
        except pymysql.err.IntegrityError as error:
            if error.args[0] == ER.DUP_ENTRY:
                raise Conflict(f"a person with id {person.id} already exists") from error
            raise

    return _retried_on_deadlock(insert, "added")


def update_if_current(person: NewPerson, current: StoredPerson) -> StoredPerson | None:
    """Write `person` over `current` if the row is still that version: the new row, or None (nothing written).

    The version test and the write are one statement, so two writers that read the same
    version cannot both succeed.
    """

    def update() -> StoredPerson | None:
        # db.cursor() for its connection and its DatabaseUnavailable; the transaction for the read-back.
        with db.cursor() as autocommit, changes.writing(autocommit.connection) as (cur, change):
            change.rows += cur.execute(
                f"UPDATE people SET {_UPDATE_ASSIGNMENTS}, version = version + 1, updated_at = UTC_TIMESTAMP(6)"
                " WHERE id = %s AND version = %s AND created_at = %s",
                (*insert_row(person, change.id)[1:], current.id, current.version, current.created_at),
            )
            if not change.rows:
                return None
            # The row stays locked until commit: this reads exactly the version written.
            cur.execute(f"SELECT {COLUMNS} FROM people WHERE id = %s", (current.id,))
            return StoredPerson(*cur.fetchone())

    return _retried_on_deadlock(update, "changed")


def erase_person(person_id: int, current: StoredPerson | None = None) -> bool:
    """Delete a person (only if still the version `current` is, when given), leaving its tombstone in the change
    feed; False if nothing was deleted."""

    def delete() -> bool:
        with db.cursor() as autocommit, changes.writing(autocommit.connection) as (cur, change):
            if current is None:
                cur.execute("DELETE FROM people WHERE id = %s", (person_id,))
            else:
                cur.execute(
                    "DELETE FROM people WHERE id = %s AND version = %s AND created_at = %s",
                    (person_id, current.version, current.created_at),
                )
            if cur.rowcount != 1:
                return False
            changes.record_erasure(cur, change, person_id)
            return True

    return _retried_on_deadlock(delete, "deleted")


def person_by_id(person_id: int) -> StoredPerson:
    with db.read_cursor() as cur:
        cur.execute(f"SELECT {COLUMNS} FROM people WHERE id = %s", (person_id,))
        row = cur.fetchone()
    if row is None:
        raise NotFound(f"no person has id {person_id}")
    return StoredPerson(*row)


def people_in_id_order(after_id: int, count: int) -> list[StoredPerson]:
    """Up to `count` people after id `after_id`, ordered by id."""
    with db.read_cursor() as cur:
        cur.execute(f"SELECT {COLUMNS} FROM people WHERE id > %s ORDER BY id LIMIT %s", (after_id, count))
        return [StoredPerson(*row) for row in cur.fetchall()]


def ids_with_last_name(last_name: str, after_id: int, count: int) -> list[int]:
    """Up to `count` ids after `after_id` of the people with this last name, case-insensitively, in id order."""
    with db.read_cursor() as cur:
        cur.execute(
            "SELECT id FROM people WHERE last_name_key = %s AND id > %s ORDER BY id LIMIT %s",
            (last_name_key(last_name), after_id, count),
        )
        return [person_id for (person_id,) in cur.fetchall()]


def people_in_age_order(after_age: int | None, after_id: int, count: int, today: date) -> list[StoredPerson]:
    """Up to `count` people after (`after_age`, `after_id`), youngest first by their age, stated or inferred
    as of `today`; ties by id. Start at age -1; an age of None is the people with neither age nor date.

    The inferred age changes with the date, so no column can hold it. Instead this
    merges index range scans: stated ages in (age, id) order; graduation dates
    newest first, which is inferred age order, each age being a one-year range of
    dates whose rows are then ordered by id; and last, people with neither.
    """
    with db.read_cursor() as cur:
        if after_age is None:
            return _without_age(cur, after_id, count)
        rows = _with_age(cur, after_age, after_id, count, today)
        if len(rows) < count:
            rows += _without_age(cur, 0, count - len(rows))
        return rows


def _with_age(cur, after_age: int, after_id: int, count: int, today: date) -> list[StoredPerson]:
    def key(person: StoredPerson) -> tuple[int, int]:
        return person.effective_age(today), person.id

    cur.execute(
        f"SELECT {COLUMNS} FROM people WHERE age >= %s AND (age > %s OR id > %s) ORDER BY age, id LIMIT %s",
        (max(after_age, 0), after_age, after_id, count),
    )
    candidates = [StoredPerson(*row) for row in cur.fetchall()]
    if after_age >= 0:
        candidates += _inferred_of_age(cur, after_age, after_id, count, today)
        older_than = latest_graduation_for_age(after_age + 1, today)
    else:
        older_than = None
    older = _inferred_newest_first(cur, older_than, count)
    if len(older) == count:
        # The last age reached may have more rows, with smaller ids: fetch that age in id order.
        last_age = inferred_age(older[-1].third_grade_graduation, today)
        older = [p for p in older if key(p)[0] != last_age]
        older += _inferred_of_age(cur, last_age, 0, count, today)
    return sorted(candidates + older, key=key)[:count]


def _inferred_of_age(cur, age: int, after_id: int, count: int, today: date) -> list[StoredPerson]:
    """People without a stated age whose graduation date gives them this inferred age."""
    newest = latest_graduation_for_age(age, today) if age > 0 else date.max
    cur.execute(
        f"SELECT {COLUMNS} FROM people {_BY_GRADUATION} WHERE age IS NULL"
        " AND third_grade_graduation > %s AND third_grade_graduation <= %s AND id > %s ORDER BY id LIMIT %s",
        (latest_graduation_for_age(age + 1, today), newest, after_id, count),
    )
    return [StoredPerson(*row) for row in cur.fetchall()]


def _inferred_newest_first(cur, on_or_before: date | None, count: int) -> list[StoredPerson]:
    cur.execute(
        f"SELECT {COLUMNS} FROM people {_BY_GRADUATION} WHERE age IS NULL AND third_grade_graduation <= %s"
        " ORDER BY third_grade_graduation DESC LIMIT %s",
        (on_or_before or date.max, count),
    )
    return [StoredPerson(*row) for row in cur.fetchall()]


def _without_age(cur, after_id: int, count: int) -> list[StoredPerson]:
    cur.execute(
        f"SELECT {COLUMNS} FROM people WHERE age IS NULL AND third_grade_graduation IS NULL"
        " AND id > %s ORDER BY id LIMIT %s",
        (after_id, count),
    )
    return [StoredPerson(*row) for row in cur.fetchall()]


# The bulk writes of the CSV import (imports/loader.py streams the rows; the SQL is here, with every other
# statement that writes people).


@dataclass(frozen=True)
class BulkTable:
    """A table the import fills in bulk: its LOAD DATA and INSERT IGNORE statements, and the unique key whose
    duplicates are expected (a row whose id an earlier row or a person already has)."""

    load_data_sql: str
    insert_prefix: str
    placeholders: str
    unique_key: str


def _bulk_table(table: str, columns: str, unique_key: str) -> BulkTable:
    return BulkTable(
        load_data_sql=(
            f"LOAD DATA LOCAL INFILE %s IGNORE INTO TABLE {table} CHARACTER SET utf8mb4"
            " FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n'"
            f" ({columns})"
        ),
        insert_prefix=f"INSERT IGNORE INTO {table} ({columns}) VALUES ",
        placeholders=f"({', '.join(['%s'] * len(columns.split(', ')))})",
        unique_key=unique_key,
    )


PEOPLE_TABLE = _bulk_table("people", INSERT_COLUMNS, "PRIMARY")  # the add mode's: rows of insert_row()
# An upsert's or a mirror's rows, staged in a session's temporary table, then merged into people by a few
# statements (merge_staged). `fate`: what became of the row; `changed`: a bit per field that differs.
_STAGED_COLUMNS = ("line", *FIELDS, "last_name_key", "fate")
STAGING_TABLE = _bulk_table("import_rows", ", ".join(_STAGED_COLUMNS), "staged_by_id")  # rows of staged_row()
_CREATE_STAGING = """
    CREATE TEMPORARY TABLE import_rows (
        line BIGINT NOT NULL PRIMARY KEY,
        id BIGINT NULL,
        first_name VARCHAR(100) NULL,
        last_name VARCHAR(100) NULL,
        age TINYINT UNSIGNED NULL,
        github_account VARCHAR(39) NULL,
        third_grade_graduation DATE NULL,
        last_name_key VARCHAR(300) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
        fate VARCHAR(9) CHARACTER SET ascii NULL,
        changed SMALLINT UNSIGNED NOT NULL DEFAULT 0,
        UNIQUE KEY staged_by_id (id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
"""
_CREATE_ERASURES = "CREATE TEMPORARY TABLE import_erasures (id BIGINT NOT NULL PRIMARY KEY) ENGINE=InnoDB"
_CREATE_FATES = (
    "CREATE TEMPORARY TABLE import_fates (line BIGINT NOT NULL PRIMARY KEY, fate VARCHAR(9) CHARACTER SET ascii"
    " NOT NULL, changed SMALLINT UNSIGNED NOT NULL) ENGINE=InnoDB"
)
INSERTED, UPDATED, UNCHANGED, CONFLICT, REJECTED, DELETED = (
    "inserted",
    "updated",
    "unchanged",
    "conflict",
    "rejected",
    "deleted",
)
_INSERT_LINES_PER_STATEMENT = 20_000  # as the add mode's LOAD DATA chunks: the AUTO-INC lock is held per statement
_LINES_IN_RANGE = "s.line > %(after)s AND s.line <= %(through)s"  # the part classify_staged classifies
_COMPARED = FIELDS[1:]  # `changed` has bit i for _COMPARED[i]
_TEXT_FIELDS = {"first_name", "last_name", "github_account"}


def staged_row(line: int, person: NewPerson, rejected: bool) -> tuple:
    """The values of STAGING_TABLE's columns for a file's row (`rejected`: only its id is kept)."""
    return (line, *person, last_name_key(person.last_name), REJECTED if rejected else None)


def create_staging(cur) -> None:
    """The session's empty staging tables (temporary: each connection has its own, gone when it closes)."""
    drop_staging(cur)
    cur.execute(_CREATE_STAGING)
    cur.execute(_CREATE_ERASURES)
    cur.execute(_CREATE_FATES)


def drop_staging(cur) -> None:
    cur.execute("DROP TEMPORARY TABLE IF EXISTS import_rows, import_erasures, import_fates")


def _set_fates(cur, select: str, args: tuple | dict = (), lines: tuple[int, int] | None = None) -> int:
    """Give staged rows the fate (and `changed`) that `select` (line, fate, changed) finds, reading people: the
    number of rows it found.

    Through a second temporary table: an UPDATE of import_rows joining people would lock every person it
    reads until COMMIT, even in READ COMMITTED, and the API's writes of them would wait for the whole import;
    an INSERT ... SELECT reads them as committed, without a lock (MySQL's "Locks Set by Different SQL
    Statements in InnoDB"; tested in test_import_modes.py). `lines` (after, through): the staged lines among
    which `select` finds its rows, so that the UPDATE reads only those (the optimizer would otherwise scan the
    whole staging table for every part staged).
    """
    cur.execute("DELETE FROM import_fates")
    found = cur.execute(f"INSERT INTO import_fates (line, fate, changed) {select}", args)
    if found:
        update = "UPDATE import_rows s JOIN import_fates f ON f.line = s.line"
        update += " SET s.fate = f.fate, s.changed = f.changed"
        if lines is None:
            cur.execute(update)
        else:
            cur.execute(f"{update} WHERE s.line > %s AND s.line <= %s", lines)
    return found


def database_now(cur) -> datetime:
    """The database's UTC clock, which sets updated_at: an import's start, to tell the API's newer writes."""
    cur.execute("SELECT UTC_TIMESTAMP(6)")
    return cur.fetchone()[0]


@dataclass
class Classified:
    """How far the staged rows are classified (the lines up to `through`), and the rows found to break the name
    rule on the person as it would be stored (person.NAME_NEEDED): how many, and the first lines."""

    through: int = 0
    nameless: int = 0
    nameless_lines: list[int] = field(default_factory=list)


def classify_staged(cur, columns: tuple[str, ...], started: datetime, classified: Classified, max_lines: int) -> None:
    """Give the staged rows after `classified.through` their fate, reading people in the caller's transaction
    (READ COMMITTED: no locks); called after each statement that stages rows, so that the database classifies
    a part while the import reads the next.

    First, when the file lacks a name column, a row whose person would have no name (its stored name for the
    column missing) is rejected. Then a row whose id a person has is `unchanged` when every column the file has
    holds the stored value, else `updated` (`changed` names the fields), or a `conflict` when the person was
    written after `started` (the import's start, by the database's clock): the API's newer write wins. Any
    other row is `inserted`.
    """
    cur.execute("SELECT MAX(line) FROM import_rows")
    through = cur.fetchone()[0] or 0
    lines = {"after": classified.through, "through": through, "started": started}
    in_range = f"{_LINES_IN_RANGE} AND s.fate IS NULL"
    if "first_name" not in columns or "last_name" not in columns:
        first = "s.first_name" if "first_name" in columns else "p.first_name"
        last = "s.last_name" if "last_name" in columns else "p.last_name"
        found = _set_fates(
            cur,
            f"SELECT s.line, '{REJECTED}', 0 FROM import_rows s LEFT JOIN people p ON p.id = s.id"
            f" WHERE {in_range} AND {first} IS NULL AND {last} IS NULL ORDER BY s.line",
            lines,
            (classified.through, through),
        )
        if found:
            classified.nameless += found
            wanted = max_lines - len(classified.nameless_lines)
            cur.execute("SELECT line FROM import_fates ORDER BY line LIMIT %s", (wanted,))
            classified.nameless_lines += [line for (line,) in cur.fetchall()]
    differs = " + ".join(f"((NOT {_same(f)}) << {i})" for i, f in enumerate(_COMPARED) if f in columns) or "0"
    _set_fates(
        cur,
        f"SELECT s.line, IF(p.updated_at > %(started)s, '{CONFLICT}', IF({differs} = 0, '{UNCHANGED}', '{UPDATED}')),"
        f" {differs} FROM import_rows s JOIN people p ON p.id = s.id WHERE {in_range}",
        lines,
        (classified.through, through),
    )
    cur.execute(f"UPDATE import_rows s SET s.fate = '{INSERTED}' WHERE {in_range}", lines)
    classified.through = through


def mirror_erasures(cur) -> tuple[int, int]:
    """Find the people a mirror erases, those whose id no staged row names: (how many, people stored)."""
    erasing = cur.execute(
        "INSERT INTO import_erasures (id) SELECT p.id FROM people p LEFT JOIN import_rows s ON s.id = p.id"
        " WHERE s.id IS NULL"
    )
    cur.execute("SELECT COUNT(*) FROM people")
    return erasing, cur.fetchone()[0]


def write_staged(cur, change_id: int, columns: tuple[str, ...], started: datetime, mirror: bool) -> int:
    """Write the classified rows as change `change_id`, set-based: an UPDATE of the rows `updated` (the columns
    the file has, version + 1), INSERTs of the new ones, and a mirror's DELETE with its tombstones. Returns the
    people erased.

    A person written after `started` is neither overwritten nor erased; rows are checked again after each
    write, so that a write of the API landing between two statements turns its row into a `conflict` too.
    """
    values = {"started": started, "change": change_id}
    written = [f for f in columns if f != "id"] + (["last_name_key"] if "last_name" in columns else [])
    if written:
        assignments = ", ".join(f"p.{f} = s.{f}" for f in written)
        cur.execute(
            f"UPDATE people p JOIN import_rows s ON s.id = p.id SET {assignments}, p.version = p.version + 1,"
            " p.updated_at = UTC_TIMESTAMP(6), p.change_id = %(change)s"
            f" WHERE s.fate = '{UPDATED}' AND p.updated_at <= %(started)s",
            values,
        )
    _conflicts_after(cur, UPDATED, change_id)
    _insert_staged(cur, change_id)
    _conflicts_after(cur, INSERTED, change_id)
    if not mirror:
        return 0
    deleted = cur.execute(
        "DELETE p FROM people p JOIN import_erasures e ON e.id = p.id WHERE p.updated_at <= %(started)s", values
    )
    cur.execute(
        "INSERT INTO erasures (person_id, change_id) SELECT e.id, %(change)s FROM import_erasures e"
        " LEFT JOIN people p ON p.id = e.id WHERE p.id IS NULL ON DUPLICATE KEY UPDATE change_id = %(change)s",
        values,
    )
    return deleted


def staged_counts(cur, mirror: bool) -> dict[str, int]:
    """The staged rows by fate; with a mirror, the people it could not erase (written after its start) are
    conflicts too."""
    cur.execute("SELECT fate, COUNT(*) FROM import_rows GROUP BY fate")
    counts = {fate: count for fate, count in cur.fetchall() if fate is not None}
    if mirror:
        cur.execute("SELECT COUNT(*) FROM import_erasures e JOIN people p ON p.id = e.id")
        counts[CONFLICT] = counts.get(CONFLICT, 0) + cur.fetchone()[0]
    return counts


def _same(field: str) -> str:
    """SQL true when the stored and the staged value are the same: text compared byte for byte (the table's
    collation would take `ada` for `Ada`, and a corrected case must be written)."""
    if field in _TEXT_FIELDS:
        return f"(BINARY p.{field} <=> BINARY s.{field})"
    return f"(p.{field} <=> s.{field})"


def _conflicts_after(cur, fate: str, change_id: int) -> None:
    """Rows of `fate` whose person this change did not write after all (the API's write came first): conflicts."""
    _set_fates(
        cur,
        f"SELECT s.line, '{CONFLICT}', s.changed FROM import_rows s LEFT JOIN people p ON p.id = s.id"
        f" WHERE s.fate = '{fate}' AND s.id IS NOT NULL AND (p.id IS NULL OR p.change_id <> %s)",
        (change_id,),
    )


def _insert_staged(cur, change_id: int) -> None:
    """Insert the new rows in file order, a range of lines per statement; an id the API took meanwhile is left
    to the API's person (ON DUPLICATE KEY: no change), and so found a conflict."""
    cur.execute(f"SELECT MIN(line), MAX(line) FROM import_rows WHERE fate = '{INSERTED}'")
    first, last = cur.fetchone()
    if first is None:
        return
    for start in range(first, last + 1, _INSERT_LINES_PER_STATEMENT):
        cur.execute(
            f"INSERT INTO people ({INSERT_COLUMNS}) SELECT {', '.join(f's.{f}' for f in FIELDS)}, s.last_name_key,"
            f" %s FROM import_rows s WHERE s.fate = '{INSERTED}' AND s.line >= %s AND s.line < %s ORDER BY s.line"
            " ON DUPLICATE KEY UPDATE id = people.id",
            (change_id, start, start + _INSERT_LINES_PER_STATEMENT),
        )


def written_rows(cur, change_id: int) -> int:
    """The rows change `change_id` wrote: people, and tombstones (its row count in the feed)."""
    cur.execute(f"SELECT COUNT(*) FROM people {_BY_CHANGE} WHERE change_id = %s", (change_id,))
    people = cur.fetchone()[0]
    cur.execute("SELECT COUNT(*) FROM erasures FORCE INDEX (erasures_by_change) WHERE change_id = %s", (change_id,))
    return people + cur.fetchone()[0]


def first_changes(cur, mirror: bool, count: int) -> list[dict]:
    """The first `count` rows updated or in conflict (in file order: the names of the fields that differ, never
    their values), then the first ids erased, or kept by a conflict (by id)."""
    cur.execute(
        f"SELECT id, fate, changed FROM import_rows WHERE fate IN ('{UPDATED}', '{CONFLICT}') ORDER BY line LIMIT %s",
        (count,),
    )
    listed = [
        {"id": person_id, "change": fate, "fields": [f for i, f in enumerate(_COMPARED) if changed >> i & 1]}
        for person_id, fate, changed in cur.fetchall()
    ]
    if mirror and len(listed) < count:
        cur.execute(
            f"SELECT e.id, IF(p.id IS NULL, '{DELETED}', '{CONFLICT}') FROM import_erasures e"
            " LEFT JOIN people p ON p.id = e.id ORDER BY e.id LIMIT %s",
            (count - len(listed),),
        )
        listed += [{"id": person_id, "change": fate, "fields": []} for person_id, fate in cur.fetchall()]
    return listed
