"""The import modes against the database's own bulk load, on one generated directory.

Generates a file shaped like people.csv (bench/import_benchmark.py's) of N people, imports it (add), then,
each through the real handler (functions/import_csv) in a process of its own, from a moto S3 server:
  dry run   dry-run/upsert/ of a copy in which 10% of the rows changed (their age): counts, no person written
  upsert    upsert/ of the same copy: 10% updated, 90% unchanged
  mirror    mirror/ of a copy of the upsert's file: another 10% changed, 1% of the people left out (erased)
and, as the baseline in the same run, LOAD DATA LOCAL INFILE of the upsert's file into an empty copy of the
people table (no rules, no merge). Prints each rate, its ratio to the baseline (bar: 0.5x for upsert and
mirror) and each run's peak memory (the process's max RSS; bar: under 150 MB).
Run: PYTHONPATH=.:layers .venv/bin/python bench/import_modes.py [--rows N]   (DB_* say which server; default local)
"""

from __future__ import annotations

import argparse
import os
import tempfile
from contextlib import closing
from pathlib import Path

from bench.import_benchmark import BASELINE_TABLE, BUCKET, generate, load_data, run_import
from bench.measure import moto_server
from bench.throwaway import throwaway_database
from people_api import db

CHANGED_EVERY = 10  # one row in 10 changes
LEFT_OUT_EVERY = 100  # the mirror's file leaves out one person in 100
KEYS = {"add": "people.csv", "dry run": "dry-run/upsert/people.csv", "upsert": "upsert/people.csv"}
KEYS["mirror"] = "mirror/people.csv"


def changed_copy(source: Path, target: Path, changed_at: int, left_out_at: int | None = None) -> int:
    """`source` with the GitHub account of every CHANGED_EVERY-th row (from `changed_at`) changed, and every
    LEFT_OUT_EVERY-th row (from `left_out_at`) left out: the rows written. (The account, a field no other rule
    depends on: a changed age could move a two-digit year's century, and a few rows out of range.)"""
    written = 0
    with source.open("rb") as f, target.open("wb") as out:
        out.write(f.readline())
        for number, line in enumerate(f):
            if left_out_at is not None and number % LEFT_OUT_EVERY == left_out_at:
                continue
            if number % CHANGED_EVERY == changed_at:
                cells = line.rstrip(b"\r\n").split(b",")
                # The 2nd cell from the end is the account (names may hold quoted commas, the last cells never)
                cells[-2] = f"changed-{changed_at}-{number}".encode()
                line = b",".join(cells) + (b"\r\n" if line.endswith(b"\r\n") else b"")
            out.write(line)
            written += 1
    with target.open("rb+") as f:  # no newline after the last line, like the source
        if target.read_bytes().endswith(b"\r\n"):
            f.truncate(target.stat().st_size - 2)
    return written


def people_count(conn) -> int:
    with conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM people")
        return cur.fetchone()[0]


def measure(conn, endpoint: str, database: str, files: dict[str, Path]) -> dict:
    """Each mode's (seconds, rows, peak MB) through the real handler, in the order of `files`."""
    results = {}
    for name, path in files.items():
        run = run_import(endpoint, database, KEYS[name], path, "load_data")
        report = run["report"]
        assert report["status"] == "succeeded", report
        results[name] = (run["seconds"], report["rows"], run["peak_mb"])
        print(f"{name:8} {run['seconds']:7.2f} s  {report['rows']}  people after: {people_count(conn):,}")
    return results


def baseline(conn, path: Path) -> float:
    """Rows per second of LOAD DATA LOCAL INFILE of `path` into an empty copy of the people table."""
    with conn.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {BASELINE_TABLE}")
        cur.execute(f"CREATE TABLE {BASELINE_TABLE} LIKE people")
        cur.execute(f"ALTER TABLE {BASELINE_TABLE} ALTER COLUMN change_id SET DEFAULT 1")
    seconds, loaded = load_data(conn, path)
    print(f"\n{'':28} {'seconds':>8} {'rows/s':>9} {'of LOAD DATA':>13} {'peak MB':>8}")
    print(f"{'LOAD DATA into an empty copy':28} {seconds:8.2f} {loaded / seconds:9,.0f} {'1.00x':>13}")
    return loaded / seconds


def report(results: dict, load_rate: float) -> None:
    for name, (seconds, rows, peak_mb) in results.items():
        rate = rows["read"] / seconds
        print(f"{name:28} {seconds:8.2f} {rate:9,.0f} {rate / load_rate:12.2f}x {peak_mb:8.0f}")
    for name in ("upsert", "mirror"):
        seconds, rows, peak_mb = results[name]
        ratio = rows["read"] / seconds / load_rate
        print(
            f"{name}: {ratio:.2f}x LOAD DATA (bar 0.5x: {'met' if ratio >= 0.5 else 'NOT met'}),"
            f" peak {peak_mb:.0f} MB (bar under 150 MB: {'met' if peak_mb < 150 else 'NOT met'})"
        )
    print(f"dry run counts == the upsert's: {results['dry run'][1] == results['upsert'][1]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()

    import boto3

    os.environ["DB_READ_TIMEOUT"] = os.environ["DB_WRITE_TIMEOUT"] = "870"  # as template.yaml gives the import
    with moto_server() as endpoint, tempfile.TemporaryDirectory(prefix="import-modes-bench-") as tmp:
        workdir = Path(tmp)
        full, upsert, mirror = workdir / "people.csv", workdir / "upsert.csv", workdir / "mirror.csv"
        generate(full, args.rows)
        changed_copy(full, upsert, changed_at=3)
        mirror_rows = changed_copy(upsert, mirror, changed_at=7, left_out_at=51)  # after the upsert: 10% more
        size_mb = full.stat().st_size / 1e6
        print(f"file: {args.rows:,} people, {size_mb:.1f} MB; 10% changed; the mirror's {mirror_rows:,} rows")
        files = {"add": full, "dry run": upsert, "upsert": upsert, "mirror": mirror}
        s3 = boto3.client("s3", endpoint_url=endpoint)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        for name, path in files.items():
            s3.upload_file(str(path), BUCKET, KEYS[name])

        with (
            throwaway_database() as settings,
            closing(db.connect(settings, local_infile=True, read_timeout=3600, write_timeout=3600)) as conn,
        ):
            results = measure(conn, endpoint, settings.database, files)
            load_rate = baseline(conn, upsert)
        report(results, load_rate)


if __name__ == "__main__":
    main()
