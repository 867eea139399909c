"""The export of every person against the database's own client dump of the same columns, in the same run.

In a throwaway database filled with N people (names with commas, quotes and unicode, some empty cells), times:
  export (S3)     the real handler (functions/export_people) in its own process, for one SQS message: one
                  snapshot read in pages of 5,000, CSV lines built by the server, 8 MiB parts uploaded to a
                  moto S3 server over HTTP (as in Lambda, where the parts go to S3)
  export (file)   the same code with the parts appended to a local file instead of uploaded: what the export's
                  own reading and writing cost, moto's HTTP server left out
  mariadb dump    `mariadb --batch -e "SELECT ..." > file` of the same columns in id order: the practical limit
The export's peak memory (the process's VmHWM, what Lambda reports as max memory) is printed for each run.
Each of --rounds (3) rounds times the three one after another, and its ratios are taken within the round: on a
shared machine the load moves from one minute to the next. The median ratio is the result.
Run: PYTHONPATH=.:layers .venv/bin/python bench/export_benchmark.py [--rows N] [--rounds R]
     (DB_* say which server; the local one by default)
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from bench.measure import LambdaContext, child_environment, moto_server, peak_rss_mb
from bench.throwaway import fill_people, throwaway_database
from devstack.settings import ROOT
from people_api import db
from people_api.people.person import NewPerson

BUCKET = "people-export"
FIRST_NAMES = ("Matt", "Zoë", "Anne Marie", None, "José", "Łukasz")
LAST_NAMES = ("Conway", "Smith, Jr.", 'Al "Doc" Lee', "Nguyễn", "Müller")


def person_of(person_id: int) -> NewPerson:
    """Names with commas, quotes and unicode, some empty cells: what the export's quoting has to handle."""
    return NewPerson(
        person_id,
        FIRST_NAMES[person_id % len(FIRST_NAMES)],
        LAST_NAMES[person_id % len(LAST_NAMES)],
        None if person_id % 3 == 0 else person_id % 100,
        f"gh-{person_id}" if person_id % 4 == 0 else None,
        date(1990, 6, 25) + timedelta(days=person_id % 9000) if person_id % 2 == 0 else None,
    )


DUMP_SQL = "SELECT id, first_name, last_name, age, github_account, third_grade_graduation FROM people ORDER BY id"


class FileParts:
    """An S3 client's multipart calls, each part appended to a local file: the export without moto's server."""

    def __init__(self, path: Path):
        self.path = path

    def create_multipart_upload(self, **_):
        self.path.write_bytes(b"")
        return {"UploadId": "file"}

    def upload_part(self, Body: bytes, PartNumber: int, **_):  # noqa: N803 (boto3's names)
        with self.path.open("ab") as f:
            f.write(Body)
        return {"ETag": str(PartNumber)}

    def complete_multipart_upload(self, **_):
        return {}

    def abort_multipart_upload(self, **_):
        self.path.unlink(missing_ok=True)


def child(target: str, result: str) -> None:
    """One export in this process, as a warm Lambda environment runs it; its time and peak memory to `result`."""
    from functions.export_people.app import lambda_handler
    from people_api.exports import s3_export, store

    export_id = store.create().id
    if target != "s3":
        s3_export.s3_client.cache_clear()
        s3_export.s3_client = lambda: FileParts(Path(target))  # the handler asks for its client each invocation
    s3_export.s3_client(), db.connection()  # a warm container: the timing leaves out cold-start work
    ready_mb = peak_rss_mb()
    event = json.loads((ROOT / "events" / "export_people.json").read_text())
    event["Records"][0]["body"] = json.dumps({"export_id": export_id})
    started = time.perf_counter()
    outcome = lambda_handler(event, LambdaContext("export-benchmark"))
    seconds = time.perf_counter() - started
    record = store.export_by_id(export_id)
    Path(result).write_text(
        json.dumps(
            {
                "seconds": seconds,
                "ready_mb": ready_mb,
                "peak_mb": peak_rss_mb(),
                "outcome": outcome,
                "rows": record.rows_written,
                "bytes": record.bytes_written,
                "message": record.message,
            }
        )
    )


def run_export(endpoint: str, database: str, target: str) -> dict:
    result = Path(tempfile.mktemp(suffix=".json"))
    env = child_environment(database, endpoint, EXPORT_BUCKET=BUCKET, DB_READ_TIMEOUT="870")
    subprocess.run([sys.executable, __file__, "--child", target, str(result)], env=env, check=True)
    outcome = json.loads(result.read_text())
    result.unlink()
    return outcome


def mariadb_dump(settings, path: Path) -> float:
    """`mariadb --batch -e "SELECT ..." > file`, timed."""
    command = ["mariadb", "--batch", "-h", settings.host, "-P", str(settings.port), "-u", settings.user]
    if settings.password:
        command.append(f"-p{settings.password}")
    started = time.perf_counter()
    with path.open("wb") as out:
        subprocess.run([*command, "-e", DUMP_SQL, settings.database], stdout=out, check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return

    import boto3

    peaks: dict[str, list[float]] = {}
    with moto_server() as endpoint, throwaway_database() as settings, tempfile.TemporaryDirectory() as scratch:
        database, workdir = settings.database, Path(scratch)
        started = time.perf_counter()
        fill_people(args.rows, person_of)
        print(f"table: {args.rows:,} people, filled in {time.perf_counter() - started:.1f} s")
        boto3.client("s3", endpoint_url=endpoint).create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )

        dump = workdir / "dump.tsv"
        ratios: dict[str, list[float]] = {}
        for round_number in range(1, args.rounds + 1):
            # Each round times the three one after another: the machine's load moves less within a round.
            dump_seconds = mariadb_dump(settings, dump)
            runs = {"export (S3)": run_export(endpoint, database, "s3")}
            runs["export (file)"] = run_export(endpoint, database, str(workdir / "export.csv"))
            print(f"\nround {round_number}{'':16}{'seconds':>8}{'rows/s':>11}{'MB':>8}{'peak MB':>9}")
            dump_mb = dump.stat().st_size / 1e6
            print(f"{'mariadb --batch dump':24}{dump_seconds:8.2f}{args.rows / dump_seconds:11,.0f}{dump_mb:8.1f}")
            for name, run in runs.items():
                assert run["rows"] == args.rows and set(run["outcome"].values()) == {"succeeded"}, run
                rate = run["rows"] / run["seconds"]
                print(f"{name:24}{run['seconds']:8.2f}{rate:11,.0f}{run['bytes'] / 1e6:8.1f}{run['peak_mb']:9.0f}")
                ratios.setdefault(name, []).append(dump_seconds / run["seconds"])
                peaks.setdefault(name, []).append(run["peak_mb"])
        print()
        for name, values in ratios.items():
            median = statistics.median(values)
            met = "met" if median >= 0.5 else "NOT met"
            each = ", ".join(f"{v:.2f}" for v in values)
            print(f"{name}: median {median:.2f}x the mariadb client's rate ({each}; goal 0.5x: {met})")
        for name, values in peaks.items():
            met = "met" if max(values) < 150 else "NOT met"
            print(f"{name} peak memory (process VmHWM): at most {max(values):.0f} MB (goal under 150 MB: {met})")


if __name__ == "__main__":
    main()
