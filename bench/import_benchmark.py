"""The CSV import against the database's own bulk load and a row-by-row loop, on one generated file.

Generates a file shaped like people.csv (BOM, CRLF, header, some empty cells, two-digit-year
dates, quoted names with commas and quotes, unicode, no final newline), puts it in a moto S3
bucket (moto's server, so the import reads it through a real HTTP stream), and in a
throwaway database times, each into an identical empty people table:
  import            the real handler (functions/import_csv) in its own process, every row through
                    the person rules; once per loading technique (LOAD DATA through a pipe, and
                    the batched INSERT IGNORE used where local_infile is off); its process's CPU too,
                    the part the database's own speed does not blur
  LOAD DATA         LOAD DATA LOCAL INFILE of the same CSV, no rules: the practical limit
  row-by-row        one INSERT per row and one commit: the original server's way
The import's peak memory (the process's max RSS, what Lambda reports) is measured on the first
100,000 rows and on the whole file.
Run: PYTHONPATH=.:layers .venv/bin/python bench/import_benchmark.py [--rows N]   (DB_* say which server; default local)
     PYTHONPATH=.:layers .venv/bin/python bench/import_benchmark.py --rows N --write big.csv   (only the file)
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

from bench.measure import LambdaContext, child_environment, moto_server, peak_rss_mb
from bench.throwaway import throwaway_database
from devstack.settings import ROOT
from people_api import db
from people_api.people.person import utc_today

BUCKET = "people-import"
MEMORY_ROWS = 100_000
FIRST_NAMES = ["Matt", "David", "Rob", "Jason", "Alex", "Lawrence", "José", "Zoë", "Łukasz", "Anne Marie", "Sam", "Li"]
LAST_NAMES = [
    "Conway",
    "Block",
    "Robiner",
    "May",
    "Smith, Jr.",
    "Müller",
    "García",
    "Nguyễn",
    "O'Brien",
    'Al "Doc" Lee',
]
BASELINE_TABLE = "people_baseline"
LOAD_DATA_CSV = f"""
LOAD DATA LOCAL INFILE %s IGNORE INTO TABLE {BASELINE_TABLE} CHARACTER SET utf8mb4
FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '"' ESCAPED BY '' LINES TERMINATED BY '\\r\\n' IGNORE 1 LINES
(@id, @first, @last, @age, @github, @graduation)
SET id = NULLIF(@id, ''), first_name = NULLIF(@first, ''), last_name = NULLIF(@last, ''),
    last_name_key = LOWER(NULLIF(@last, '')), age = NULLIF(@age, ''), github_account = NULLIF(@github, ''),
    third_grade_graduation = STR_TO_DATE(NULLIF(@graduation, ''), '%%c/%%e/%%y'), change_id = 0
"""
ROW_INSERT = f"""
INSERT INTO {BASELINE_TABLE}
    (id, first_name, last_name, last_name_key, age, github_account, third_grade_graduation, change_id)
VALUES (%s, %s, %s, LOWER(%s), %s, %s, STR_TO_DATE(%s, '%%c/%%e/%%y'), 0)
"""


def generate(path: Path, rows: int) -> None:
    """`rows` valid people, deterministic; the shape of people.csv."""
    rng = random.Random(20261128)
    year = utc_today().year
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        out = csv.writer(f, lineterminator="\r\n")
        out.writerow(["ID", "First", "Last", "Age", "GithubAcct", "Date of 3rd Grade Graduation"])
        for person_id in range(1, rows + 1):
            age = rng.randint(10, 95)
            graduated = f"{rng.randint(1, 12)}/{rng.randint(1, 28)}/{(year - age + 9) % 100:02d}"
            first = rng.choice(FIRST_NAMES) if rng.random() < 0.9 else ""
            last = rng.choice(LAST_NAMES) if not first or rng.random() < 0.9 else ""
            github = rng.choice(["", "", "wr0ngway", "a-rob", f"user{person_id}"])
            row = [person_id, first, last, age if rng.random() < 0.7 else "", github]
            row.append(graduated if rng.random() < 0.8 else "")
            out.writerow(row)
    with path.open("rb+") as f:  # like people.csv: no newline after the last line
        f.truncate(path.stat().st_size - 2)


def first_rows(source: Path, target: Path, rows: int) -> None:
    with source.open("rb") as f, target.open("wb") as out:
        for _ in range(rows + 1):
            out.write(f.readline())
    with target.open("rb+") as f:
        f.truncate(target.stat().st_size - 2)


def run_import(endpoint: str, database: str, key: str, path: Path, method: str) -> dict:
    """The real handler, in a process of its own (its max RSS is the import's memory), for one S3 event."""
    result = Path(tempfile.mktemp(suffix=".json"))
    env = child_environment(
        database,
        endpoint,
        IMPORT_LOAD_METHOD=method,
        DB_LOCAL_INFILE="true",  # as template.yaml gives the import function
        MAX_IMPORT_BYTES=str(1 << 30),
    )
    subprocess.run(
        [sys.executable, __file__, "--child", key, str(path.stat().st_size), str(result)], env=env, check=True
    )
    outcome = json.loads(result.read_text())
    result.unlink()
    return outcome


def child(key: str, size: int, result: str) -> None:
    import boto3

    from functions.import_csv.app import lambda_handler
    from people_api.imports import s3_import

    head = boto3.client("s3").head_object(Bucket=BUCKET, Key=key)
    event = json.loads((ROOT / "events" / "import_csv.json").read_text())
    event["Records"][0]["s3"]["object"].update(key=key, size=size, eTag=head["ETag"].strip('"'))
    del event["Records"][0]["s3"]["object"]["versionId"]
    s3_import.s3_client(), db.connection()  # a warm container: the timing leaves out cold-start work
    ready_mb = peak_rss_mb()
    started, cpu_started = time.perf_counter(), time.process_time()
    (report,) = lambda_handler(event, LambdaContext("import-benchmark", memory_limit_in_mb=1024))["reports"]
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    peak_mb = peak_rss_mb()
    outcome = {"seconds": seconds, "cpu_seconds": cpu_seconds, "ready_mb": ready_mb, "peak_mb": peak_mb}
    outcome["report"] = report
    Path(result).write_text(json.dumps(outcome))


def load_data(conn, path: Path) -> tuple[float, int]:
    with conn.cursor() as cur:
        started = time.perf_counter()
        conn.begin()
        cur.execute(LOAD_DATA_CSV, (str(path),))
        conn.commit()
        return time.perf_counter() - started, cur.rowcount


def row_by_row(conn, path: Path) -> tuple[float, int]:
    rows = 0
    with conn.cursor() as cur, path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        started = time.perf_counter()
        conn.begin()
        for row in reader:
            cur.execute(
                ROW_INSERT, [cell or None for cell in row[:3]] + [row[2] or None] + [c or None for c in row[3:]]
            )
            rows += 1
        conn.commit()
        return time.perf_counter() - started, rows


def fresh_table(conn, name: str) -> None:
    with conn.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {name}")
        cur.execute(f"CREATE TABLE {name} LIKE people")
        cur.execute("TRUNCATE TABLE people")
        cur.execute("TRUNCATE TABLE imports")


def measure(conn, endpoint: str, database: str, full: Path, small: Path, rows_wanted: int) -> tuple[dict, dict]:
    """Each way's (seconds, rows, note), and the import's peak memory (small file, full file, before reading)."""
    rates, peaks = {}, {}
    for method in ("load_data", "insert"):
        fresh_table(conn, BASELINE_TABLE)
        small_run = run_import(endpoint, database, "bench/people-small.csv", small, method)
        fresh_table(conn, BASELINE_TABLE)
        run = run_import(endpoint, database, "bench/people-1.csv", full, method)
        rows = run["report"]["rows"]
        assert run["report"]["status"] == "succeeded" and rows["read"] == rows_wanted, run["report"]
        note = f"{rows['inserted']:,} inserted; {run['cpu_seconds']:.2f} s CPU in its process"
        rates[f"import ({method})"] = (run["seconds"], rows["read"], note)
        peaks[method] = (small_run["report"]["rows"]["read"], small_run["peak_mb"], run["peak_mb"], run["ready_mb"])
    fresh_table(conn, BASELINE_TABLE)
    seconds, rows = load_data(conn, full)
    rates["LOAD DATA LOCAL INFILE"] = (seconds, rows, "no rules")
    fresh_table(conn, BASELINE_TABLE)
    seconds, rows = row_by_row(conn, full)
    rates["row-by-row INSERT"] = (seconds, rows, "no rules, one commit")
    return rates, peaks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--write", type=Path, metavar="FILE", help="only write the generated file (to import by hand)")
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args.child[2])
        return
    if args.write:
        generate(args.write, args.rows)
        print(f"{args.write}: {args.rows:,} people, {args.write.stat().st_size / 1e6:.1f} MB")
        return

    import boto3

    with moto_server() as endpoint, tempfile.TemporaryDirectory(prefix="import-bench-") as tmp:
        workdir = Path(tmp)
        full, small = workdir / "people-1.csv", workdir / "people-small.csv"
        started = time.perf_counter()
        generate(full, args.rows)
        first_rows(full, small, min(MEMORY_ROWS, args.rows))
        size_mb = full.stat().st_size / 1e6
        print(f"file: {args.rows:,} rows, {size_mb:.1f} MB, generated in {time.perf_counter() - started:.1f} s")
        s3 = boto3.client("s3", endpoint_url=endpoint)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        s3.upload_file(str(full), BUCKET, "bench/people-1.csv")
        s3.upload_file(str(small), BUCKET, "bench/people-small.csv")

        with (
            throwaway_database() as settings,
            closing(db.connect(settings, local_infile=True, read_timeout=3600, write_timeout=3600)) as conn,
        ):
            rates, peaks = measure(conn, endpoint, settings.database, full, small, args.rows)
        report(rates, peaks, args.rows)


def report(rates: dict, peaks: dict, rows: int) -> None:
    per_second = {name: count / seconds for name, (seconds, count, _) in rates.items()}
    print(f"\n{'':24} {'seconds':>8} {'rows/s':>9}")
    for name, (seconds, _, note) in rates.items():
        print(f"{name:24} {seconds:8.2f} {per_second[name]:9,.0f}   {note}")
    load, loop = per_second["LOAD DATA LOCAL INFILE"], per_second["row-by-row INSERT"]
    for method in ("load_data", "insert"):
        rate = per_second[f"import ({method})"]
        of_load, over_loop = rate / load, rate / loop
        print(
            f"import ({method}): {of_load:.0%} of LOAD DATA (bar 60%: {'met' if of_load >= 0.6 else 'NOT met'}),"
            f" {over_loop:.1f}x row-by-row (bar 10x: {'met' if over_loop >= 10 else 'NOT met'})"
        )
    for method, (small_rows, small_mb, full_mb, ready_mb) in peaks.items():
        flat = full_mb < 150 and full_mb <= small_mb * 1.1
        print(
            f"import ({method}) peak memory (process max RSS): {small_mb:.0f} MB at {small_rows:,} rows,"
            f" {full_mb:.0f} MB at {rows:,} rows (bar under 150 MB, not growing: {'met' if flat else 'NOT met'});"
            f" {ready_mb:.0f} MB before reading the file"
        )


if __name__ == "__main__":
    main()
