"""SQL for the people table. Every query is parameterised and index-backed.

The writes import the change feed (people/changes.py) where they use it: the functions that only read people,
most cold starts, then never load it (issue 20).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import NamedTuple, TypeVar

import pymysql
from pymysql.constants import ER

from people_api import db
from people_api.errors import Conflict, NotFound
from people_api.observability import logger
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

    from people_api.people import changes

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

    from people_api.people import changes

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

    from people_api.people import changes

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


class BulkTable(NamedTuple):
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
# statements. `fate` is `rejected` for a mirror's row that broke a rule (only its id is kept), else NULL.
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
        UNIQUE KEY staged_by_id (id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
"""
_CREATE_ERASURES = "CREATE TEMPORARY TABLE import_erasures (id BIGINT NOT NULL PRIMARY KEY) ENGINE=InnoDB"
# The staged rows to write, found without locks before the statements that write them: those that differ from
# their person (`fields`: a bit per field), and those whose id no person has (`new`).
_CREATE_UPDATES = (
    "CREATE TEMPORARY TABLE import_updates (line BIGINT NOT NULL PRIMARY KEY, id BIGINT NULL,"
    " fields SMALLINT UNSIGNED NOT NULL, new BOOLEAN NOT NULL) ENGINE=InnoDB"
)
INSERTED, UPDATED, UNCHANGED, CONFLICT, REJECTED, DELETED = (
    "inserted",
    "updated",
    "unchanged",
    "conflict",
    "rejected",
    "deleted",
)
_COMPARED = FIELDS[1:]  # a change's `fields`, bit i for _COMPARED[i]
_TEXT_FIELDS = {"first_name", "last_name", "github_account"}


def staged_row(line: int, person: NewPerson, rejected: bool) -> tuple:
    """The values of STAGING_TABLE's columns for a file's row (`rejected`: only its id is kept)."""
    return (line, *person, last_name_key(person.last_name), REJECTED if rejected else None)


def create_staging(cur) -> None:
    """The session's empty staging tables (temporary: each connection has its own, gone when it closes)."""
    drop_staging(cur)
    cur.execute(_CREATE_STAGING)
    cur.execute(_CREATE_ERASURES)
    cur.execute(_CREATE_UPDATES)


def drop_staging(cur) -> None:
    cur.execute("DROP TEMPORARY TABLE IF EXISTS import_rows, import_erasures, import_updates")


def database_now(cur) -> datetime:
    """The database's UTC clock, which sets updated_at: an import's start, to tell the API's newer writes."""
    cur.execute("SELECT UTC_TIMESTAMP(6)")
    return cur.fetchone()[0]


class Merge(NamedTuple):
    """The SQL conditions of one merge, over staged rows `s` and people `p` (the file's columns decide them)."""

    columns: tuple[str, ...]

    @property
    def named(self) -> str:
        """The person as it will be has a name (person.NAME_NEEDED): a name column the file lacks keeps the
        stored one (none for a new person)."""
        if "first_name" in self.columns and "last_name" in self.columns:
            return "TRUE"  # the reader applied the rule to the row itself
        first = "s.first_name" if "first_name" in self.columns else "p.first_name"
        last = "s.last_name" if "last_name" in self.columns else "p.last_name"
        return f"NOT ({first} IS NULL AND {last} IS NULL)"

    @property
    def differs(self) -> str:
        """A bit per field (of _COMPARED) whose staged value is not the stored one; 0 for the same person."""
        bits = [f"((NOT {_same(f)}) << {i})" for i, f in enumerate(_COMPARED) if f in self.columns]
        return f"({' + '.join(bits)})" if bits else "0"

    @property
    def merged(self) -> str:
        """The staged rows that are merged: not a mirror's rejected row, and with a name."""
        return f"s.fate IS NULL AND {self.named}"


def nameless_rows(cur, merge: Merge, max_lines: int) -> tuple[int, list[int]]:
    """The staged rows whose person would have no name (a name column the file lacks keeps the stored one):
    how many, and the first `max_lines` lines. The merge leaves them out (Merge.merged)."""
    if merge.named == "TRUE":
        return 0, []
    unnamed = f"FROM import_rows s LEFT JOIN people p ON p.id = s.id WHERE s.fate IS NULL AND NOT {merge.named}"
    cur.execute(f"SELECT COUNT(*) {unnamed}")
    count = cur.fetchone()[0]
    cur.execute(f"SELECT s.line {unnamed} ORDER BY s.line LIMIT %s", (max_lines,))
    return count, [line for (line,) in cur.fetchall()]


def merge_part(
    cur, change_id: int, merge: Merge, started: datetime, after_line: int, ahead: list[tuple[int, int]], count: int
) -> int:
    """Merge the rows staged after line `after_line` into people as change `change_id`, reading people as
    committed (READ COMMITTED); called after each statement that stages rows, so that the database merges a
    part while the import reads the next. Returns the last line merged. The first `count` rows that differ
    from their person go to `ahead` first: (id, bits of the fields), in file order.

    One UPDATE of the people whose row differs (the columns the file has, version + 1; an identical row is
    not written), one INSERT ... SELECT of the rows whose id no person has (or no id), in file order: a
    statement per part, so that the AUTO-INC lock is held no longer than by add's LOAD DATA chunks. The API's
    newer write wins: a person written after `started` (the import's start, by the database's clock) is not
    overwritten; an id the API took meanwhile is left to the API's person (ON DUPLICATE KEY: no change). The
    rows to write are found first by an INSERT ... SELECT into import_updates, which READ COMMITTED makes
    without locks; the UPDATE and the INSERT then touch only those, so only the people written are locked.
    """
    cur.execute("SELECT MAX(line) FROM import_rows")
    through = cur.fetchone()[0] or 0
    values = {"started": started, "change": change_id, "after": after_line, "through": through}
    part = f"s.line > %(after)s AND s.line <= %(through)s AND {merge.merged}"
    # The rows to write, read without a lock (an INSERT ... SELECT in READ COMMITTED): an UPDATE joining the
    # part's rows to people directly would lock every person it reads until COMMIT, changed or not.
    cur.execute(
        f"INSERT INTO import_updates (line, id, fields, new) SELECT s.line, s.id, IF(p.id IS NULL, 0, {merge.differs}),"
        f" p.id IS NULL FROM import_rows s LEFT JOIN people p ON p.id = s.id"
        f" WHERE {part} AND (p.id IS NULL OR {merge.differs} <> 0)",
        values,
    )
    if len(ahead) < count:
        cur.execute(
            "SELECT id, fields FROM import_updates WHERE line > %(after)s AND line <= %(through)s AND NOT new"
            " ORDER BY line LIMIT %(count)s",
            values | {"count": count - len(ahead)},
        )
        ahead += cur.fetchall()
    written = [f for f in merge.columns if f != "id"] + (["last_name_key"] if "last_name" in merge.columns else [])
    if written:
        assignments = ", ".join(f"p.{f} = s.{f}" for f in written)
        cur.execute(
            "UPDATE import_updates u STRAIGHT_JOIN people p ON p.id = u.id STRAIGHT_JOIN import_rows s"
            f" ON s.line = u.line SET {assignments}, p.version = p.version + 1, p.updated_at = UTC_TIMESTAMP(6),"
            " p.change_id = %(change)s WHERE u.line > %(after)s AND u.line <= %(through)s AND NOT u.new"
            f" AND {merge.differs} <> 0 AND p.updated_at <= %(started)s",
            values,
        )
    cur.execute(
        f"INSERT INTO people ({INSERT_COLUMNS}) SELECT {', '.join(f's.{f}' for f in FIELDS)}, s.last_name_key,"
        " %(change)s FROM import_updates u STRAIGHT_JOIN import_rows s ON s.line = u.line"
        " WHERE u.line > %(after)s AND u.line <= %(through)s AND u.new ORDER BY u.line"
        " ON DUPLICATE KEY UPDATE id = people.id",
        values,
    )
    return through


def mirror_erasures(cur) -> tuple[int, int]:
    """Find the people a mirror erases, those whose id no staged row names: (how many, people stored)."""
    erasing = cur.execute(
        "INSERT INTO import_erasures (id) SELECT p.id FROM people p LEFT JOIN import_rows s ON s.id = p.id"
        " WHERE s.id IS NULL"
    )
    cur.execute("SELECT COUNT(*) FROM people")
    return erasing, cur.fetchone()[0]


def erase_unnamed(cur, change_id: int, started: datetime) -> int:
    """A mirror's DELETE of the people `mirror_erasures` found, each with its tombstone, as change `change_id`;
    a person written after `started` is kept (the API's newer write wins). Returns the people erased."""
    values = {"started": started, "change": change_id}
    deleted = cur.execute(
        "DELETE p FROM people p JOIN import_erasures e ON e.id = p.id WHERE p.updated_at <= %(started)s", values
    )
    cur.execute(
        "INSERT INTO erasures (person_id, change_id) SELECT e.id, %(change)s FROM import_erasures e"
        " LEFT JOIN people p ON p.id = e.id WHERE p.id IS NULL ON DUPLICATE KEY UPDATE change_id = %(change)s",
        values,
    )
    return deleted


def _same(field: str) -> str:
    """SQL true when the stored and the staged value are the same: text compared byte for byte (the table's
    collation would take `ada` for `Ada`, and a corrected case must be written)."""
    if field in _TEXT_FIELDS:
        return f"(BINARY p.{field} <=> BINARY s.{field})"
    return f"(p.{field} <=> s.{field})"


def staged_counts(cur, change_id: int, merge: Merge, started: datetime, mirror: bool) -> dict[str, int]:
    """What became of the merged rows, from the people as the writes left them: written by this change and
    there before the import (`updated`) or not (`inserted`, and every row without an id); not written and
    the same as the row (`unchanged`), or not (`conflict`: the API's newer write, or its id taken meanwhile).
    With a mirror, the people it could not erase (written after its start) are conflicts too."""
    values = {"started": started, "change": change_id}
    cur.execute(
        "SELECT COUNT(*), SUM(s.id IS NULL OR (p.change_id = %(change)s AND p.created_at > %(started)s)),"
        " SUM(p.change_id = %(change)s AND p.created_at <= %(started)s),"
        f" SUM(p.change_id <> %(change)s AND {merge.differs} = 0)"
        f" FROM import_rows s LEFT JOIN people p ON p.id = s.id WHERE {merge.merged}",
        values,
    )
    merged, inserted, updated, unchanged = (int(n or 0) for n in cur.fetchone())
    counts = {INSERTED: inserted, UPDATED: updated, UNCHANGED: unchanged}
    counts[CONFLICT] = merged - inserted - updated - unchanged
    if mirror:
        cur.execute("SELECT COUNT(*) FROM import_erasures e JOIN people p ON p.id = e.id")
        counts[CONFLICT] += cur.fetchone()[0]
    return counts


def written_rows(cur, change_id: int) -> int:
    """The rows change `change_id` wrote: people, and tombstones (its row count in the feed)."""
    cur.execute(f"SELECT COUNT(*) FROM people {_BY_CHANGE} WHERE change_id = %s", (change_id,))
    people = cur.fetchone()[0]
    cur.execute("SELECT COUNT(*) FROM erasures FORCE INDEX (erasures_by_change) WHERE change_id = %s", (change_id,))
    return people + cur.fetchone()[0]


def first_changes(
    cur, change_id: int, merge: Merge, ahead: list[tuple[int, int]], mirror: bool, count: int
) -> list[dict]:
    """The changes `merge_part` found ahead, each `updated` if this change wrote its person, else a `conflict` (the
    names of the fields, never their values); then the conflicts that arose after (the API wrote a person the
    file had the same as stored); then, for a mirror, the first ids erased or kept by a conflict."""
    written: set[int] = set()
    if ahead:
        ids = [person_id for person_id, _bits in ahead]
        cur.execute(
            f"SELECT id FROM people WHERE id IN ({', '.join(['%s'] * len(ids))}) AND change_id = %s", (*ids, change_id)
        )
        written = {person_id for (person_id,) in cur.fetchall()}
    listed = [
        {
            "id": person_id,
            "change": UPDATED if person_id in written else CONFLICT,
            "fields": [f for i, f in enumerate(_COMPARED) if bits >> i & 1],
        }
        for person_id, bits in ahead
    ]
    if len(listed) < count:
        cur.execute(
            f"SELECT s.id, {merge.differs} FROM import_rows s JOIN people p ON p.id = s.id WHERE {merge.merged}"
            f" AND p.change_id <> %s AND {merge.differs} <> 0 ORDER BY s.line LIMIT %s",
            (change_id, count),
        )
        seen = {person_id for person_id, _bits in ahead}
        late = [(person_id, bits) for person_id, bits in cur.fetchall() if person_id not in seen]
        listed += [
            {"id": person_id, "change": CONFLICT, "fields": [f for i, f in enumerate(_COMPARED) if bits >> i & 1]}
            for person_id, bits in late[: count - len(listed)]
        ]
    if mirror and len(listed) < count:
        cur.execute(
            f"SELECT e.id, IF(p.id IS NULL, '{DELETED}', '{CONFLICT}') FROM import_erasures e"
            " LEFT JOIN people p ON p.id = e.id ORDER BY e.id LIMIT %s",
            (count - len(listed),),
        )
        listed += [{"id": person_id, "change": fate, "fields": []} for person_id, fate in cur.fetchall()]
    return listed
