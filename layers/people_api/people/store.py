"""SQL for the people table. Every query is parameterised and index-backed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
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
