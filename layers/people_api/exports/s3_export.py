"""The export: every person as one CSV file in the export bucket, streamed from one snapshot into a multipart upload.

`POST /exports` creates a queued record and sends its id to the export queue; the queue's deliveries reach
`handle_event`, which takes the export's lock (a duplicate delivery finds it held, or the export finished, and
does nothing), reads the people in pages of `PAGE_ROWS` by id inside one consistent snapshot, and uploads the
lines in parts of `PART_BYTES`: memory holds one part and one page, whatever the table's size. A failure aborts
the upload, so no partial file is ever visible, and is recorded; the export is then final (POST again).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import closing, suppress
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, NamedTuple

from aws_lambda_powertools.metrics import MetricUnit

from people_api import db
from people_api.config import Settings, database_settings
from people_api.errors import QueueUnavailable
from people_api.exports import store
from people_api.exports.record import FAILED, FINISHED, SUCCEEDED, Download, ExportRecord
from people_api.imports.feeder import feeding
from people_api.observability import error_fields, error_text, logger, metrics
from people_api.people.person import CSV_HEADERS

EXPORTS_PREFIX = "exports/"
HEADER = (",".join(CSV_HEADERS) + "\n").encode()
PAGE_ROWS = 5000
PART_BYTES = 8 * 1024 * 1024  # S3's parts are 5 MiB at least (the last one excepted)
MAX_ATTEMPTS = 3  # deliveries that found the export started and never finished (a crash): then it fails
DEADLINE_MARGIN_SECONDS = 20
CONTENT_TYPE = "text/csv; charset=utf-8"


class Sizes(NamedTuple):
    """How many people a page reads, and how many bytes an uploaded part holds (tests make them small)."""

    page_rows: int = PAGE_ROWS
    part_bytes: int = PART_BYTES


SIZES = Sizes()  # the deployed function's


@cache
def s3_client():
    """Created on first use, then kept for the container's life. Pre-signs with SigV4 on the region's own endpoint:
    boto3's default, `<bucket>.s3.amazonaws.com`, answers a new bucket with a redirect its signature does not
    survive (docs/export.md). An endpoint the environment names (`make dev`'s moto) is kept."""
    import boto3
    from botocore.config import Config

    region = boto3.session.Session().region_name
    named = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    endpoint = None if named or not region else f"https://s3.{region}.amazonaws.com"
    config = Config(signature_version="s3v4", s3={"addressing_style": "virtual"})
    return boto3.client("s3", endpoint_url=endpoint, config=config)


@cache
def sqs_client():
    """Created on first use (POST /exports), then kept for the container's life."""
    import boto3

    return boto3.client("sqs")


def enqueue(sqs, settings: Settings) -> ExportRecord:
    """A new export record, and its message on the export queue; a message not sent fails the record."""
    record = store.create()
    try:
        sqs.send_message(QueueUrl=settings.export_queue_url, MessageBody=json.dumps({"export_id": record.id}))
    except Exception as error:
        logger.error("could not queue the export", extra={"export_id": record.id, **error_fields(error)})
        store.finish(db.connection(), record.id, FAILED, "the export could not be queued", 0, 0, None)
        raise QueueUnavailable("the export could not be queued; try again shortly") from error
    return record


def download(s3, settings: Settings, record: ExportRecord, now: datetime) -> Download | None:
    """A pre-signed GET URL of a succeeded export's file, valid EXPORT_URL_SECONDS; None before (or without) one."""
    if record.status != SUCCEEDED or record.object_key is None:
        return None
    url = s3.generate_presigned_url(
        "get_object",
        Params={
            "Bucket": settings.export_bucket,
            "Key": record.object_key,
            "ResponseContentDisposition": f'attachment; filename="people-export-{record.id}.csv"',
        },
        ExpiresIn=settings.export_url_seconds,
    )
    return Download(url, now.replace(tzinfo=None) + timedelta(seconds=settings.export_url_seconds))


def export_ids(event: dict[str, Any]) -> list[int]:
    """The export ids of an SQS event's messages; a message that names none is logged and left out."""
    ids = []
    for message in event.get("Records") or []:
        try:
            export_id = json.loads(message.get("body") or "")["export_id"]
        except (ValueError, TypeError, KeyError):
            export_id = None
        if type(export_id) is int and export_id > 0:
            ids.append(export_id)
        else:
            logger.warning("ignored a message that names no export", extra={"message_id": message.get("messageId")})
    return ids


def handle_event(
    event: dict[str, Any], conn, s3, remaining_seconds: Callable[[], float], settings: Settings, sizes: Sizes = SIZES
) -> dict[str, str]:
    """Run the exports the event's messages name; what became of each, by id."""
    ends_at = time.monotonic() + remaining_seconds() - DEADLINE_MARGIN_SECONDS
    return {str(i): run_export(conn, s3, i, settings, ends_at, sizes) for i in export_ids(event)}


def run_export(conn, s3, export_id: int, settings: Settings, deadline: float, sizes: Sizes = SIZES) -> str:
    """Export once: a delivery that finds the lock held, or the export finished, does nothing. Its outcome."""
    if not store.lock(conn, export_id):
        logger.info("export running in another delivery", extra={"export_id": export_id})
        return "running elsewhere"
    try:
        record = store.export_by_id(export_id, conn)
        if record is None or record.status in FINISHED:
            logger.info("export already done or gone", extra={"export_id": export_id})
            return "already done" if record else "no such export"
        if record.attempts >= MAX_ATTEMPTS:
            message = f"gave up after {record.attempts} attempts that never finished"
            store.finish(conn, export_id, FAILED, message, record.rows_written, record.bytes_written, None)
            return FAILED
        return _run(conn, s3, store.start(conn, export_id), settings, deadline, sizes)
    finally:
        store.unlock(conn, export_id)


def _run(conn, s3, record: ExportRecord, settings: Settings, deadline: float, sizes: Sizes) -> str:
    clock = time.monotonic()
    key = f"{EXPORTS_PREFIX}{datetime.now(UTC):%Y%m%dT%H%M%S.%fZ}-export-{record.id}.csv"
    progress = _Progress(conn, record.id)
    try:
        with closing(db.connect(database_settings())) as snapshot:
            store.open_snapshot(snapshot)
            # The next page is read (the server builds it) while this thread uploads the ones before.
            with feeding(_lines(snapshot, progress, deadline, sizes.page_rows)) as lines:
                _upload(s3, settings.export_bucket, key, _parts(lines, sizes.part_bytes), progress)
    except Exception as error:
        metrics.add_metric(name="ExportsFailed", unit=MetricUnit.Count, value=1)
        logger.error("export failed", extra={"export_id": record.id, "rows": progress.rows, **error_fields(error)})
        store.finish(conn, record.id, FAILED, error_text(error), progress.rows, progress.bytes, None)
        return FAILED
    store.finish(conn, record.id, SUCCEEDED, None, progress.rows, progress.bytes, key)
    seconds = round(time.monotonic() - clock, 3)
    metrics.add_metric(name="ExportsSucceeded", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="PeopleExported", unit=MetricUnit.Count, value=progress.rows)
    logger.info(
        "export finished",
        extra={"export_id": record.id, "rows": progress.rows, "bytes": progress.bytes, "seconds": seconds},
    )
    return SUCCEEDED


class _Progress:
    """The lines read so far and the bytes uploaded, written to the record after each part."""

    def __init__(self, conn, export_id: int):
        self._conn, self._export_id = conn, export_id
        self.rows = 0  # lines read from the snapshot
        self.bytes = 0  # uploaded

    def uploaded(self, part: bytes) -> None:
        self.bytes += len(part)
        store.record_progress(self._conn, self._export_id, self.rows, self.bytes)


def _lines(snapshot, progress: _Progress, deadline: float, page_rows: int) -> Iterator[bytes]:
    """The header, then every person's line, a page at a time; stops with TimeoutError past `deadline`."""
    yield HEADER
    after_id = 0
    while True:
        if time.monotonic() > deadline:
            raise TimeoutError(f"stopped after {progress.rows} people: the invocation is about to time out")
        count, lines, after_id = store.csv_lines(snapshot, after_id, page_rows)
        if count == 0:
            return
        progress.rows += count
        yield lines
        if count < page_rows:
            return


def _parts(chunks: Iterator[bytes], part_bytes: int) -> Iterator[bytes]:
    """The chunks regrouped into parts of at least `part_bytes` (the last may be smaller; it is also the first of
    an empty table's file, its header alone)."""
    buffer = bytearray()
    for chunk in chunks:
        buffer += chunk
        if len(buffer) >= part_bytes:
            yield bytes(buffer)
            buffer.clear()
    if buffer:
        yield bytes(buffer)


def _upload(s3, bucket: str, key: str, parts: Iterator[bytes], progress: _Progress) -> None:
    """A multipart upload of `parts` to `key`, completed only once every part is in; aborted on any failure, so the
    object never exists unless whole."""
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key, ContentType=CONTENT_TYPE)["UploadId"]
    try:
        done = []
        for number, part in enumerate(parts, 1):
            answer = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=part)
            done.append({"ETag": answer["ETag"], "PartNumber": number})
            progress.uploaded(part)
        s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": done})
    except BaseException:
        with suppress(Exception):  # the failure that got here is the one to record; the bucket's lifecycle rule
            # removes an upload left incomplete after a day
            s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        raise
