"""`make put FILE=...`: upload a CSV into the bucket of a running `make dev`, then wait for its import to end.

`MODE=upsert` (`mirror`, `mirror-all`) and `DRY_RUN=1` put it under the key prefix that says so
(`dry-run/upsert/people.csv`: docs/import.md, Modes). Needs nothing but the project's own dependencies
(no AWS CLI). Where it goes is what `make dev` uses:
API_PORT, S3_PORT and BUCKET, with the same defaults. The import is followed through the API
(`GET /imports`, with a token of the local issuer, as `make token` gets), as any client would;
Ctrl-C stops waiting, not the import.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request
from pathlib import Path

from botocore.exceptions import EndpointConnectionError

from devstack import issuer
from devstack.settings import Settings, aws_client
from people_api.imports.mode import ADD, DRY_RUN, MODES

START_TIMEOUT_SECONDS = 30
POLL_SECONDS = 1
# Standard output is the upload and the outcome, however long the import takes; a note on where to
# follow a longer one goes to standard error, after this long.
ANNOUNCE_AFTER_SECONDS = 2
FINISHED = {"succeeded", "rejected", "failed"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("file", type=Path, help="the CSV file to upload")
    parser.add_argument("--key", help="its key in the bucket (default: the file's name, after the mode's prefix)")
    parser.add_argument("--mode", choices=MODES, default=ADD, help="the import mode (default: add)")
    parser.add_argument("--dry-run", action="store_true", help="count what the import would do, write no person")
    args = parser.parse_args()
    settings = Settings.from_environ()
    key = args.key or _prefix(args.mode, args.dry_run) + args.file.name
    s3 = aws_client("s3", settings.s3_url)
    try:
        etag = s3.put_object(Bucket=settings.bucket, Key=key, Body=args.file.read_bytes())["ETag"].strip('"')
    except EndpointConnectionError:
        print(f"nothing answers at {settings.s3_url}: start the stack with `make dev` (same S3_PORT)", file=sys.stderr)
        return 1
    print(f"upload: {args.file} to s3://{settings.bucket}/{key}", flush=True)
    token = issuer.access_token(settings.s3_url)  # GET /imports wants one
    record = _wait_for_import(settings.api_url, key, etag, token)
    if record is None:
        print(f"no import of {key} started within {START_TIMEOUT_SECONDS} s: is `make dev` running?", file=sys.stderr)
        return 1
    print(_outcome(record))
    return 0 if record["status"] == "succeeded" else 1


def _prefix(mode: str, dry_run: bool) -> str:
    return (f"{DRY_RUN}/" if dry_run else "") + ("" if mode == ADD else f"{mode}/")


def _outcome(record: dict) -> str:
    """One line: the status and the counts (an add's as before modes; the others' every count)."""
    rows = record["rows"]
    if record["mode"] == ADD and not record["dry_run"]:
        counts = f"{rows['inserted']} inserted, {rows['duplicate']} duplicate, {rows['rejected']} rejected"
    else:
        counts = ", ".join(f"{rows[name]} {name}" for name in list(rows)[1:])
    how = f"{record['mode']}, dry run: no person written" if record["dry_run"] else record["mode"]
    status = record["status"] if record["mode"] == ADD and not record["dry_run"] else f"{record['status']} ({how})"
    return f"import {record['id']}: {status}, {rows['read']} rows read, {counts}" + (
        f" ({record['message']})" if record["message"] else ""
    )


def _wait_for_import(api: str, key: str, etag: str, token: str) -> dict | None:
    """The import record of this content once it ended; None if none started in time."""
    started = time.monotonic()
    deadline, announced, record = started + START_TIMEOUT_SECONDS, False, None
    while True:
        if record is None:
            listed = _get(f"{api}/imports?limit=20", token)["imports"]
            record = next((r for r in listed if r["key"] == key and r["etag"] == etag), None)
        else:
            record = _get(f"{api}/imports/{record['id']}", token)
        if record is not None and record["status"] in FINISHED:
            return record
        if record is not None and not announced and time.monotonic() - started > ANNOUNCE_AFTER_SECONDS:
            follow = f"{api}/imports/{record['id']}"
            print(f"import {record['id']} is {record['status']}: follow it at {follow}", file=sys.stderr, flush=True)
            announced = True
        if record is None and time.monotonic() > deadline:
            return None
        time.sleep(POLL_SECONDS)


def _get(url: str, token: str) -> dict:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request) as response:
        return json.load(response)


if __name__ == "__main__":
    sys.exit(main())
