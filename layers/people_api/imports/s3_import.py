"""The CSV import from S3: each object once per content, all or nothing, with a report.

For every ObjectCreated record: claim the object's `imports` record by (bucket,
key, ETag), take its lock (racing deliveries wait, then see it done), stream the
object through `csv_reader` (the person rules, row by row) and `loader`
into the people table, as the object's mode says (`mode`), in one transaction that
also marks the import succeeded, then write a JSON report under `reports/`.
A file rejected as a whole is final; any other failure rolls back, is recorded,
and is raised so that Lambda retries the event (then sends it to the DLQ).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import replace
from datetime import UTC, datetime
from functools import cache
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import S3Event
from botocore.exceptions import ClientError

from people_api import db
from people_api.config import Settings
from people_api.imports import loader, progress, store
from people_api.imports.csv_reader import read_people, read_updates
from people_api.imports.mode import ADD, MIRROR, ImportMode, mode_of
from people_api.imports.outcome import FileRejected, Tally
from people_api.imports.record import FAILED, FINISHED, REJECTED, SUCCEEDED, ImportRecord, ObjectRef, RowCounts
from people_api.observability import error_fields, error_text, logger, metrics
from people_api.people.person import utc_today

REPORTS_PREFIX = "reports/"
CSV_SUFFIX = ".csv"
DEADLINE_MARGIN_SECONDS = 20
ALREADY_IMPORTED = "already_imported"
_OBJECT_GONE = {"NoSuchKey", "NoSuchVersion", "PreconditionFailed", "404", "412"}
_MAX_S3_KEY_BYTES = 1024
_MAX_EVENT_NAME_CHARS = 100


class ImportFailed(Exception):
    """At least one object of the event failed (each is recorded and reported); Lambda retries the event."""


class ImportBusy(Exception):
    """Another delivery of the same object held its lock until this invocation ran out of time."""


@cache
def s3_client():
    """Created on first use, then kept for the container's life."""
    import boto3

    return boto3.client("s3")


def created_objects(event: dict[str, Any]) -> list[ObjectRef]:
    """Every object an S3 event says was created (keys URL-decoded); none for S3's s3:TestEvent."""
    return [obj for event_name, obj in _records(event) if event_name.startswith("ObjectCreated:")]


def objects_of(event: dict[str, Any]) -> list[ObjectRef]:
    """The created objects an S3 event names (keys URL-decoded), leaving out the import's own reports."""
    objects = []
    if "Records" not in event:  # S3's s3:TestEvent, sent when a notification is configured
        logger.info(
            "ignored an event without records", extra={"event": str(event.get("Event", ""))[:_MAX_EVENT_NAME_CHARS]}
        )
        return objects
    for event_name, obj in _records(event):
        if not event_name.startswith("ObjectCreated:") or obj.key.startswith(REPORTS_PREFIX):
            logger.info("ignored", extra={"event_name": event_name[:_MAX_EVENT_NAME_CHARS], "key": obj.key})
            continue
        objects.append(obj)
    return objects


def _records(event: dict[str, Any]) -> list[tuple[str, ObjectRef]]:
    """Each record's event name and object."""
    records = []
    for record in S3Event(event).records if "Records" in event else []:
        s3_object = record.s3.get_object
        key = unquote_plus(s3_object.key)
        records.append(
            (
                record.event_name,
                ObjectRef(record.s3.bucket.name, key, s3_object.etag, s3_object.version_id, s3_object.size),
            )
        )
    return records


def handle_event(
    event: dict[str, Any], conn, s3, remaining_seconds: Callable[[], float], settings: Settings
) -> dict[str, Any]:
    """Import every object of the event; raise ImportFailed afterwards if any of them failed."""
    reports, failures = [], []
    for obj in objects_of(event):
        try:
            reports.append(import_object(conn, s3, obj, settings, time.monotonic() + remaining_seconds()))
        except Exception as error:
            logger.error("import failed", extra={"bucket": obj.bucket, "key": obj.key, **error_fields(error)})
            failures.append(error)
    if failures:
        raise ImportFailed(f"{len(failures)} of the event's objects failed; see their reports") from failures[0]
    return {"reports": reports}


def import_object(conn, s3, obj: ObjectRef, settings: Settings, ends_at: float) -> dict[str, Any]:
    """Import one object unless its content was imported before; answer with its report."""
    deadline = ends_at - DEADLINE_MARGIN_SECONDS
    import_id = store.claim(conn, obj)
    # GET_LOCK answers only when its wait ends: a wait past the connection's read timeout would end
    # as a lost connection instead of ImportBusy.
    wait_seconds = min(deadline - time.monotonic(), settings.db_read_timeout - 1)
    if not store.lock(conn, import_id, max(1, int(wait_seconds))):
        raise ImportBusy(f"import {import_id} of s3://{obj.bucket}/{obj.key} is still running in another delivery")
    try:
        previous = store.import_json(import_id, conn, with_errors=False)
        if previous["status"] in FINISHED:
            return _already_imported(s3, obj, previous)
        return _run(conn, s3, store.start(conn, import_id), settings, deadline)
    finally:
        store.unlock(conn, import_id)


def _run(conn, s3, record: ImportRecord, settings: Settings, deadline: float) -> dict[str, Any]:
    started_at, clock = datetime.now(UTC), time.monotonic()
    obj = record.object
    tally = Tally()
    loaded = None
    try:
        _check_name(obj)
        _check_size(obj, settings.max_import_bytes)
        response = _open(s3, obj)
        with closing(response["Body"]) as body:
            mode = mode_of(obj.key, response.get("Metadata"))
            record = replace(record, mode=mode.recorded, dry_run=mode.dry_run)
            store.record_mode(conn, record.id, record.mode, record.dry_run)
            # A generator: the loader consumes it in its feeder thread, which so fills `tally` too.
            rows = _rows(body, mode, tally, settings.max_import_bytes, deadline)
            if mode.name != ADD:
                _read_committed(conn)
            with db.transaction(conn) as cur:
                with progress.reporting(record.id, tally) as reporter:
                    loaded = loader.load(
                        cur,
                        rows,
                        mode,
                        tally,
                        settings.import_load_method,
                        reporter.stored,
                        settings.mirror_max_erase_percent,
                    )
                ended = _ended(record, SUCCEEDED, None, tally, loaded)
                store.finish(conn, ended)
    except FileRejected as rejected:
        ended = _ended(record, REJECTED, str(rejected), tally)
        store.finish(conn, ended)
    except Exception as error:
        ended = _ended(record, FAILED, error_text(error), tally)
        _record_failure(conn, s3, ended, started_at, clock)
        raise
    report = _report(ended, started_at, clock, loaded.method if loaded else None)
    _put_report(s3, obj.bucket, ended.report_key, report)
    _count(ended, report["timings"]["seconds"])
    logger.info(
        "import finished",
        extra={"import_id": ended.id, "status": ended.status, "reason": ended.message, "rows": report["rows"]},
    )
    return report


def _rows(body, mode: ImportMode, tally: Tally, max_bytes: int, deadline: float):
    """The file's rows as the mode's load takes them: people to add, or rows to merge."""
    if mode.name == ADD:
        return read_people(body, utc_today(), tally, max_bytes=max_bytes, deadline=deadline)
    return read_updates(body, utc_today(), tally, max_bytes=max_bytes, deadline=deadline, mirror=mode.name == MIRROR)


def _read_committed(conn) -> None:
    """The next transaction reads the latest committed rows, and its INSERT ... SELECTs read people without
    locks (under REPEATABLE READ they would lock every person they read, and the API's writes would wait for
    the whole file). The API's writes that commit meanwhile are seen, so they win (`conflict`)."""
    with conn.cursor() as cur:
        cur.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")


def _check_name(obj: ObjectRef) -> None:
    if not obj.key.lower().endswith(CSV_SUFFIX):
        raise FileRejected(f"only keys ending in {CSV_SUFFIX}, in any case, are imported; the object was left as it is")


def _check_size(obj: ObjectRef, max_bytes: int) -> None:
    if obj.size > max_bytes:
        raise FileRejected(f"the file is {obj.size} bytes; the limit is {max_bytes} (MAX_IMPORT_BYTES)")
    if obj.size == 0:
        raise FileRejected("the file is empty")


def _open(s3, obj: ObjectRef) -> dict[str, Any]:
    """GetObject's answer (its body a stream, its metadata): exactly the version (or ETag) the event names."""
    exact = {"VersionId": obj.version_id} if obj.version_id else {"IfMatch": f'"{obj.etag}"'}
    try:
        return s3.get_object(Bucket=obj.bucket, Key=obj.key, **exact)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in _OBJECT_GONE:
            raise FileRejected(
                "the object was deleted or replaced after the event; a newer upload has an event of its own"
            ) from None
        raise


def _ended(record: ImportRecord, status: str, message: str | None, tally: Tally, loaded=None) -> ImportRecord:
    """The record as the import ends: `loaded` only when the people were stored.

    Its message, the same in the record, the report and the log, is cut to the record's column.
    """
    if message is not None and len(message) > store.MAX_MESSAGE_CHARS:
        message = message[: store.MAX_MESSAGE_CHARS - 1] + "…"
    return replace(
        record,
        status=status,
        message=message,
        rows=RowCounts(
            read=tally.rows_read,
            inserted=loaded.inserted if loaded else 0,
            duplicate=loaded.duplicate if loaded else 0,
            rejected=tally.rows_rejected,
            updated=loaded.updated if loaded else 0,
            unchanged=loaded.unchanged if loaded else 0,
            deleted=loaded.deleted if loaded else 0,
            conflict=loaded.conflict if loaded else 0,
        ),
        errors=tally.errors,
        changes=loaded.changes if loaded else [],
        report_key=report_key(record.object, record.id, status),
        bytes_read=tally.bytes_read,
    )


def _record_failure(conn, s3, ended: ImportRecord, started_at: datetime, clock: float) -> None:
    """Record and report a failure as far as the database and S3 still allow; the failure itself is raised."""
    metrics.add_metric(name="ImportsFailed", unit=MetricUnit.Count, value=1)
    _time(ended, time.monotonic() - clock)
    try:
        store.finish(conn, ended)
    except Exception as error:
        logger.error("could not record the failure", extra={"import_id": ended.id, **error_fields(error)})
    try:
        _put_report(s3, ended.object.bucket, ended.report_key, _report(ended, started_at, clock, None))
    except Exception as error:
        logger.error("could not write the failure report", extra={"import_id": ended.id, **error_fields(error)})


def _already_imported(s3, obj: ObjectRef, previous: dict[str, Any]) -> dict[str, Any]:
    """Report an event for content imported before: `previous`, that import's record as `GET /imports` lists it."""
    previous_id = previous["id"]
    report = {
        "import_id": previous_id,
        "status": ALREADY_IMPORTED,
        "message": f"this content (bucket, key and ETag) was already imported as import {previous_id}"
        f" ({previous['status']}); nothing was done",
        "object": obj.as_json(),
        "import": previous,
    }
    key = report_key(obj, previous_id, ALREADY_IMPORTED)
    _put_report(s3, obj.bucket, key, report)
    metrics.add_metric(name="ImportsAlreadyDone", unit=MetricUnit.Count, value=1)
    logger.info("already imported", extra={"import_id": previous_id, "key": obj.key, "report_key": key})
    return report


def _report(ended: ImportRecord, started_at: datetime, clock: float, method: str | None) -> dict[str, Any]:
    """The S3 report: the record's status, message, object, rows and errors, with this run's own timings."""
    seconds = round(time.monotonic() - clock, 3)
    return {
        "import_id": ended.id,
        "status": ended.status,
        "message": ended.message,
        "object": ended.object.as_json(),
        "mode": ended.mode,
        "dry_run": ended.dry_run,
        "rows": ended.rows.as_json(),
        "errors": ended.errors,
        "changes": ended.changes,
        "load_method": method,
        "timings": {
            "started_at": started_at.isoformat(timespec="milliseconds"),
            "finished_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "seconds": seconds,
            "rows_per_second": round(ended.rows.read / seconds) if seconds else None,
        },
    }


def report_key(obj: ObjectRef, import_id: int, status: str) -> str:
    """reports/<object key>/<UTC time>-import-<id>-<status>.json: never .csv, so never imported itself."""
    name = f"{datetime.now(UTC):%Y%m%dT%H%M%S.%fZ}-import-{import_id}-{status}.json"
    key = f"{REPORTS_PREFIX}{obj.key}/{name}"
    if len(key.encode()) > _MAX_S3_KEY_BYTES:
        key = f"{REPORTS_PREFIX}{obj.key_hash}/{name}"
    return key


def _put_report(s3, bucket: str, key: str, report: dict[str, Any]) -> None:
    body = json.dumps(report, ensure_ascii=False, indent=2).encode()
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")


def _count(ended: ImportRecord, seconds: float) -> None:
    name = "ImportsSucceeded" if ended.status == SUCCEEDED else "ImportsRejected"
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    _time(ended, seconds)
    rows = ended.rows
    if not ended.dry_run:
        metrics.add_metric(name="PeopleImported", unit=MetricUnit.Count, value=rows.inserted)
        if ended.mode != ADD:
            metrics.add_metric(name="PeopleUpdatedByImports", unit=MetricUnit.Count, value=rows.updated)
            metrics.add_metric(name="PeopleErasedByImports", unit=MetricUnit.Count, value=rows.deleted)
            metrics.add_metric(name="ImportConflicts", unit=MetricUnit.Count, value=rows.conflict)
    metrics.add_metric(name="ImportRowsRejected", unit=MetricUnit.Count, value=rows.rejected)
    # Per mode: ImportsAdd, ImportsUpsert, ImportsMirror, ImportsMirrorAll, and ImportsDryRun beside one of them.
    metrics.add_metric(name=f"Imports{ended.mode.title().replace('-', '')}", unit=MetricUnit.Count, value=1)
    if ended.dry_run:
        metrics.add_metric(name="ImportsDryRun", unit=MetricUnit.Count, value=1)


def _time(ended: ImportRecord, seconds: float) -> None:
    """How long the import ran and how fast it read rows, whatever its outcome."""
    metrics.add_metric(name="ImportDuration", unit=MetricUnit.Seconds, value=round(seconds, 3))
    if seconds > 0:
        metrics.add_metric(
            name="ImportRowsPerSecond", unit=MetricUnit.CountPerSecond, value=round(ended.rows.read / seconds)
        )
