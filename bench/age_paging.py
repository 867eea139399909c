"""Paging /people/age through a large table: index range scans against sorting the whole table.

Fills a throwaway database with N people (default 1,000,000: 45% stated ages, 45% only a
graduation date, 10% neither), then times pages of 100 at the start, the middle and the end
of the order, two ways, in the same run:
  people_by_age  the layer's query (index range scans merged in Python)
  full sort      one SELECT ordering by the computed age: what a naive version would run
Run: PYTHONPATH=.:layers .venv/bin/python bench/age_paging.py [--rows N]   (`make bench` sets PYTHONPATH so)
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import date, timedelta

from bench.throwaway import fill_people, throwaway_database
from people_api import db
from people_api.people import store as people_store
from people_api.people.person import NewPerson, utc_today

FULL_SORT = f"""
SELECT {people_store.COLUMNS} FROM people
ORDER BY COALESCE(age, TIMESTAMPDIFF(YEAR, third_grade_graduation, %s) + 9) IS NULL,
         COALESCE(age, TIMESTAMPDIFF(YEAR, third_grade_graduation, %s) + 9), id
LIMIT %s OFFSET %s
"""


def person_of(person_id: int) -> NewPerson:
    """Ages, graduation dates (age computed from them) and neither, mixed as the ordering must handle."""
    rng = random.Random(person_id)
    kind = rng.random()
    age = rng.randint(0, 100) if kind < 0.45 else None
    graduation = date(1930, 1, 1) + timedelta(days=rng.randint(0, 35_000)) if 0.45 <= kind < 0.9 else None
    return NewPerson(person_id, "First", f"Last{person_id % 5000}", age, None, graduation)


def timed(fn, repeat: int = 5) -> float:
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with throwaway_database():
        t0 = time.perf_counter()
        fill_people(args.rows, person_of)
        print(f"{args.rows:,} people loaded in {time.perf_counter() - t0:.0f} s")
        today = utc_today()
        positions = {  # (after age, after id), and the full sort's offset there
            "first page": ((-1, 0), 0),
            "age 40": ((40, 0), args.rows // 2),
            "no age (end)": ((None, args.rows - 500), args.rows - 500),
        }
        print(f"{'page of 100 at':<16}{'people_by_age ms':>18}{'full sort ms':>14}{'speed-up':>10}")
        for label, (after, offset) in positions.items():
            ours = timed(lambda after=after: people_store.people_in_age_order(*after, 101, today))

            def full_sort(offset=offset):
                with db.cursor() as cur:
                    cur.execute(FULL_SORT, (today, today, 100, offset))
                    cur.fetchall()

            naive = timed(full_sort, repeat=3)
            print(f"{label:<16}{ours:>18.1f}{naive:>14.1f}{naive / ours:>9.0f}x")


if __name__ == "__main__":
    main()
