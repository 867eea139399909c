"""/people/age against a brute-force sort, on many people, and its index use."""

import random
from datetime import date, timedelta

import pytest

from people_api import db
from people_api.people import store as people_store
from people_api.people.changes import GENESIS
from people_api.people.person import NewPerson, StoredPerson

TODAYS = [date(2026, 11, 28), date(2028, 2, 29), date(2027, 3, 1)]


@pytest.fixture
def many_people(empty_db):
    """3,000 people: stated ages, graduation dates spread over a century, and neither."""
    rng = random.Random(20261128)
    rows = []
    for person_id in rng.sample(range(1, 100_000), 3000):
        kind = rng.random()
        age = rng.randint(0, 110) if kind < 0.45 else None
        graduation = date(1915, 1, 1) + timedelta(days=rng.randint(0, 45_000)) if kind < 0.9 else None
        if rng.random() < 0.05 and graduation:
            graduation = date(2000, 2, 29)  # leap-day anniversaries on a leap-day today
        rows.append(people_store.insert_row(NewPerson(person_id, "P", f"L{person_id}", age, None, graduation), GENESIS))
    with db.transaction(db.connection()) as cur:
        columns, placeholders = people_store.INSERT_COLUMNS, people_store.INSERT_PLACEHOLDERS
        cur.executemany(f"INSERT INTO people ({columns}) VALUES {placeholders}", rows)
    with db.cursor() as cur:
        cur.execute(f"SELECT {people_store.COLUMNS} FROM people")
        return [StoredPerson(*row) for row in cur.fetchall()]


def brute_force_order(people: list[StoredPerson], today: date) -> list[int]:
    def key(p: StoredPerson):
        age = p.effective_age(today)
        return (age is None, age or 0, p.id)

    return [p.id for p in sorted(people, key=key)]


def position_after(person: StoredPerson, today: date) -> tuple[int | None, int]:
    """Where a page that ends with `person` ends, as the API's cursor says it (GET /people/age)."""
    return person.effective_age(today), person.id


@pytest.mark.parametrize("today", TODAYS)
@pytest.mark.parametrize("limit", [5, 100, 1000])
def test_paging_by_age_matches_a_full_sort(many_people, today, limit):
    ids, after = [], (-1, 0)
    while True:
        rows = people_store.people_in_age_order(*after, limit, today)
        assert len(rows) <= limit
        ids += [p.id for p in rows]
        if len(rows) < limit:
            break
        after = position_after(rows[-1], today)
    assert ids == brute_force_order(many_people, today)


def test_a_page_reads_few_rows_not_the_whole_table(many_people):
    """Index range scans: no full-table read and no sort of the whole table for a page."""
    today = TODAYS[0]
    first = people_store.people_in_age_order(-1, 0, 50, today)
    middle = people_store.people_in_age_order(*position_after(first[-1], today), 50, today)
    with db.cursor() as cur:
        cur.execute("FLUSH STATUS")
        people_store.people_in_age_order(*position_after(middle[-1], today), 50, today)
        cur.execute("SHOW SESSION STATUS WHERE Variable_name IN ('Handler_read_rnd_next', 'Sort_rows')")
        status = {name: int(value) for name, value in cur.fetchall()}
    # 3,000 rows in the table; a page of 50 reads its candidates plus at most one age's dates.
    assert status["Handler_read_rnd_next"] < 100
    assert status["Sort_rows"] < 500
