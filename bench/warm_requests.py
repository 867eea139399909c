"""Warm requests of each read route, in this process, against a bare pymysql handler running the same SQL.

Fills a throwaway database with N people (default 100,000) and 200 import records, then, for each read
route (or those --routes names), calls its real handler (functions/<name>/app.py, warm: its connection open,
its modules loaded) and the baseline one after the other, N times (the order turned each time). The baseline
is what the request needs at the least: a handler that runs, on one pymysql connection, the very statements
the route ran (recorded from its first call) and answers `json.dumps` of the rows. A second baseline (pt)
runs that bare handler inside a one-route Powertools resolver: the floor of any Powertools function, so
`x pt` is what the layer and the handler add above it. CPU (this process's) and wall medians; the ratios are
the medians of each pair's ratio (the order turned each time), so a busy moment of the machine hits them alike.
Run: PYTHONPATH=.:layers .venv/bin/python bench/warm_requests.py [--rows N] [--requests N] [--routes a,b]
"""

from __future__ import annotations

import argparse
import copy
import importlib
import json
import statistics
import time
from contextlib import contextmanager
from types import SimpleNamespace

import pymysql.cursors

from bench.throwaway import fill_people, throwaway_database
from devstack.settings import ROOT
from people_api import db
from people_api.http.cursors import PEOPLE_BY_AGE, PEOPLE_BY_ID, encode_cursor
from people_api.imports import store
from people_api.imports.record import REJECTED, SUCCEEDED, ObjectRef, RowCounts
from people_api.observability import logger

CONTEXT = SimpleNamespace(function_name="bench", memory_limit_in_mb=512, invoked_function_arn="arn", aws_request_id="r")


def requests(rows: int) -> dict[str, tuple[str, dict]]:
    """label -> (function, what replaces parts of its sample event)."""
    middle = rows // 2
    return {
        "list_people": ("list_people", {"queryStringParameters": {"limit": "100"}}),
        "list_people, mid": (
            "list_people",
            {"queryStringParameters": {"limit": "100", "cursor": encode_cursor(PEOPLE_BY_ID.name, middle)}},
        ),
        "get_person": ("get_person", {"path": f"/people/{middle}", "pathParameters": {"id": str(middle)}}),
        "people_by_age": ("people_by_age", {"queryStringParameters": {"limit": "100"}}),
        "people_by_age, 40": (
            "people_by_age",
            {"queryStringParameters": {"limit": "100", "cursor": encode_cursor(PEOPLE_BY_AGE.name, 40, 0)}},
        ),
        "ids_by_last_name": (
            "ids_by_last_name",
            {"path": "/ids/lastname/last42", "pathParameters": {"lastname": "last42"}},
        ),
        "list_imports": ("list_imports", {"queryStringParameters": {"limit": "100"}}),
        "get_import": ("get_import", {"path": "/imports/7", "pathParameters": {"id": "7"}}),
    }


def fill(rows: int) -> None:
    """`rows` people of mixed ages and dates, and 200 import records: finished most of them, as a listing finds
    them (a tenth each pending, running and rejected, the rest succeeded with two row errors)."""
    from dataclasses import replace
    from datetime import date, timedelta
    from random import Random

    from people_api.people.person import NewPerson

    def person_of(person_id: int) -> NewPerson:
        rng = Random(person_id)
        kind = rng.random()
        age = rng.randint(0, 100) if kind < 0.45 else None
        graduation = date(1930, 1, 1) + timedelta(days=rng.randint(0, 35_000)) if 0.45 <= kind < 0.9 else None
        return NewPerson(person_id, f"First{person_id}", f"Last{person_id % 5000}", age, None, graduation)

    fill_people(rows, person_of)
    conn = db.connection()
    for i in range(200):
        import_id = store.claim(conn, ObjectRef("bench-bucket", f"upload-{i}.csv", f"etag-{i}", None, 1000 + i))
        if i % 10 == 0:
            continue  # pending
        started = store.start(conn, import_id)
        if i % 10 == 1:
            store.record_progress(conn, import_id, RowCounts(read=10 * i), 500 + i)  # running
            continue
        status, message = (REJECTED, "line 2: expected 6 columns, found 5") if i % 10 == 2 else (SUCCEEDED, None)
        errors = [{"line": line, "field": "age", "message": "must be a whole number"} for line in (3, 8)]
        counts = RowCounts(read=20 * i, inserted=20 * i - 2, rejected=2) if status == SUCCEEDED else RowCounts()
        ended = replace(started, status=status, message=message, rows=counts, errors=errors, bytes_read=1000 + i)
        store.finish(conn, replace(ended, report_key=f"reports/upload-{i}.csv/import-{import_id}-{status}.json"))


@contextmanager
def recorded_statements():
    """Every statement run through a pymysql cursor meanwhile, as (query, args)."""
    statements: list[tuple[str, object]] = []
    execute = pymysql.cursors.Cursor.execute

    def recording(cursor, query, args=None):
        statements.append((query, args))
        return execute(cursor, query, args)

    pymysql.cursors.Cursor.execute = recording
    try:
        yield statements
    finally:
        pymysql.cursors.Cursor.execute = execute


def bare_handler(conn: pymysql.Connection, statements: list[tuple[str, object]]):
    """The baseline: the same statements on a plain connection, the rows as JSON."""

    def handler(event, context):
        rows = []
        with conn.cursor() as cur:
            for query, args in statements:
                cur.execute(query, args)
                rows.extend(cur.fetchall())
        return {
            "statusCode": 200,
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps(rows, default=str),
        }

    return handler


def powertools_handler(conn: pymysql.Connection, statements: list[tuple[str, object]], event: dict):
    """The second baseline: the same, through a one-route Powertools resolver (no logger, nothing of ours)."""
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

    app = APIGatewayRestResolver()
    bare = bare_handler(conn, statements)

    @app.get(event["path"])
    def route():
        return Response(200, "application/json", bare(None, None)["body"])

    return app.resolve


def timed(handler, event) -> tuple[float, float]:
    event = copy.deepcopy(event)  # a handler may change its event; each call gets the sample as it was
    cpu, wall = time.process_time(), time.perf_counter()
    answer = handler(event, CONTEXT)
    if answer["statusCode"] != 200:
        raise RuntimeError(f"answered {answer['statusCode']}: {answer['body'][:300]}")
    return (time.process_time() - cpu) * 1000, (time.perf_counter() - wall) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300, help="of each route and of its baseline")
    parser.add_argument("--routes", help="only these routes, by label, comma-separated (list_imports,get_import)")
    args = parser.parse_args()
    logger.setLevel("WARNING")  # as deployed reads log nothing per request either (their lines are INFO at most)
    with throwaway_database() as settings:
        t0 = time.perf_counter()
        fill(args.rows)
        print(f"{args.rows:,} people, 200 imports loaded in {time.perf_counter() - t0:.0f} s")
        print(f"medians of {args.requests} requests each, paired; ratios: medians of each pair's ratio")
        print(
            f"{'route':<20}{'cpu ms':>8}{'bare':>7}{'x cpu':>7}{'wall ms':>9}{'bare':>7}{'x wall':>8}"
            f"{'pt/bare cpu':>12}{'x pt cpu':>11}"
        )
        bare_conn = db.connect(settings)
        routes = requests(args.rows)  # inside: the cursors in them are signed with the throwaway CURSOR_KEY
        for label in args.routes.split(",") if args.routes else routes:
            function, overrides = routes[label]
            event = json.loads((ROOT / "events" / f"{function}.json").read_text()) | overrides
            handler = importlib.import_module(f"functions.{function}.app").lambda_handler
            with recorded_statements() as statements:
                timed(handler, event)
            handlers = {
                "ours": handler,
                "bare": bare_handler(bare_conn, statements),
                "powertools": powertools_handler(bare_conn, statements, event),
            }
            runs: dict[str, list[tuple[float, float]]] = {name: [] for name in handlers}
            names = list(handlers)
            for i in range(args.requests):
                for name in names[i % 3 :] + names[: i % 3]:
                    runs[name].append(timed(handlers[name], event))
            ours, bare, powertools = runs["ours"], runs["bare"], runs["powertools"]
            cpu = f"{_median(ours, 0):>8.2f}{_median(bare, 0):>7.2f}{_ratio(ours, bare, 0):>7.2f}"
            wall = f"{_median(ours, 1):>9.2f}{_median(bare, 1):>7.2f}{_ratio(ours, bare, 1):>8.2f}"
            print(f"{label:<20}{cpu}{wall}{_ratio(powertools, bare, 0):>12.2f}{_ratio(ours, powertools, 0):>11.2f}")
        bare_conn.close()


def _median(runs: list[tuple[float, float]], measure: int) -> float:
    return statistics.median(run[measure] for run in runs)


def _ratio(ours: list[tuple[float, float]], bare: list[tuple[float, float]], measure: int) -> float:
    # CPU time has the clock's resolution (about a microsecond here): a zero is counted as that.
    return statistics.median(max(a[measure], 1e-3) / max(b[measure], 1e-3) for a, b in zip(ours, bare, strict=True))


if __name__ == "__main__":
    main()
