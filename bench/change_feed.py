"""A page of the change feed on a large table: what it reads, against two baselines measured in the same run.

Fills a throwaway database with N people (default 1,000,000, the genesis change's), then makes 10,000 recent
changes (corrections of one random person each, through the layer's own writer), and reads a page of 1,000
changes after the sync point before them, three ways:
  feed          people/changes.feed_after, what GET /people/changes runs
  id page       a page of 1,000 of GET /people (an index range scan by id): the cheapest page the API has
  updated_at    what a sync by timestamp without the feed would run: people updated since, no index on it
Each is timed (median of 5) and counted with the server's handler counters (SHOW SESSION STATUS
'Handler_read%'), as the /people/age tests count their reads.
Run: PYTHONPATH=.:layers .venv/bin/python bench/change_feed.py [--rows N] [--changes M]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from bench.throwaway import fill_people, throwaway_database
from people_api import db
from people_api.people import changes
from people_api.people import store as people_store
from people_api.people.person import NewPerson

PAGE = 1000


def person_of(person_id: int) -> NewPerson:
    return NewPerson(person_id, "First", f"Last{person_id % 5000}", person_id % 90, None, None)


def counted(fn) -> tuple[float, dict[str, int]]:
    """Median milliseconds of 5 runs, and the handler reads of one."""
    samples = []
    for _ in range(5):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    with db.cursor() as cur:
        cur.execute("FLUSH STATUS")
    fn()
    with db.cursor() as cur:
        cur.execute("SHOW SESSION STATUS LIKE 'Handler_read%%'")
        reads = {name.removeprefix("Handler_read_"): int(value) for name, value in cur.fetchall() if int(value)}
    return statistics.median(samples), reads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--changes", type=int, default=10_000)
    args = parser.parse_args()
    with throwaway_database():
        t0 = time.perf_counter()
        fill_people(args.rows, person_of)
        print(f"{args.rows:,} people loaded in {time.perf_counter() - t0:.0f} s")
        since = changes.bounds().last
        with db.cursor() as cur:
            cur.execute("SELECT UTC_TIMESTAMP(6)")
            (since_time,) = cur.fetchone()
        rng = random.Random(18)
        t0 = time.perf_counter()
        for _ in range(args.changes):
            current = people_store.person_by_id(rng.randint(1, args.rows))
            people_store.update_if_current(current.fields()._replace(age=rng.randint(0, 99)), current)
        print(f"{args.changes:,} changes made in {time.perf_counter() - t0:.0f} s")

        page = changes.feed_after((since, changes.DONE, 0), PAGE, 10_000)
        assert len(page.items) == PAGE + 1

        def updated_since():
            with db.cursor() as cur:
                cur.execute(
                    f"SELECT {people_store.COLUMNS} FROM people WHERE updated_at > %s ORDER BY updated_at, id LIMIT %s",
                    (since_time, PAGE + 1),
                )
                cur.fetchall()

        ways = {
            "feed": lambda: changes.feed_after((since, changes.DONE, 0), PAGE, 10_000),
            "id page": lambda: people_store.people_in_id_order(args.rows // 2, PAGE + 1),
            "updated_at": updated_since,
        }
        results = {label: counted(fn) for label, fn in ways.items()}
        feed_ms, feed_reads = results["feed"]
        print(f"a page of {PAGE:,} changes after {args.changes:,} recent ones, on {args.rows:,} people")
        print(f"{'way':<12}{'ms':>8}{'vs feed':>9}{'rows read':>11}  handler reads")
        for label, (ms, reads) in results.items():
            total = sum(reads.values())
            print(f"{label:<12}{ms:>8.1f}{ms / feed_ms:>8.1f}x{total:>11,}  {reads}")
        print(f"feed: {sum(feed_reads.values()) / PAGE:.1f} handler reads per item")


if __name__ == "__main__":
    main()
