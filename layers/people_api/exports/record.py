"""The record of one export of every person, and its JSON (`POST /exports`, `GET /exports`, `GET /exports/{id}`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from people_api.imports.record import iso_json, timings_json

QUEUED, RUNNING, SUCCEEDED, FAILED = "queued", "running", "succeeded", "failed"
FINISHED = (SUCCEEDED, FAILED)


class Download(NamedTuple):
    """Where a finished export's file can be fetched: a pre-signed S3 GET URL, and until when it works."""

    url: str
    expires_at: datetime


class ExportRecord(NamedTuple):
    """An `exports` row: how far the export got, and when."""

    id: int
    status: str
    message: str | None = None
    rows_written: int = 0
    bytes_written: int = 0
    object_key: str | None = None  # in the export bucket, once the file is complete
    attempts: int = 0
    created_at: datetime | None = None
    started_at: datetime | None = None
    progress_at: datetime | None = None
    finished_at: datetime | None = None

    def as_json(self, download: Download | None = None, with_download: bool = True) -> dict[str, Any]:
        """The record as the API answers it; a listing leaves `download` out (only `GET /exports/{id}` signs URLs)."""
        body = {
            "id": self.id,
            "status": self.status,
            "message": self.message,
            "progress": {
                "rows_written": self.rows_written,
                "bytes_written": self.bytes_written,
                "updated_at": iso_json(self.progress_at),
            },
            "attempts": self.attempts,
            "timings": timings_json(self.created_at, self.started_at, self.finished_at),
        }
        if with_download:
            body["download"] = (
                None if download is None else {"url": download.url, "expires_at": iso_json(download.expires_at)}
            )
        return body
