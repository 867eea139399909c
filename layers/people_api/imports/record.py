"""The record of one CSV import of one S3 object, and the parts of its JSON (imports/store.py builds it)."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

PENDING, RUNNING, SUCCEEDED, REJECTED, FAILED = "pending", "running", "succeeded", "rejected", "failed"
FINISHED = (SUCCEEDED, REJECTED)


@dataclass(frozen=True)
class ObjectRef:
    """One version of one S3 object, as an ObjectCreated event names it."""

    bucket: str
    key: str
    etag: str
    version_id: str | None
    size: int

    @property
    def key_hash(self) -> str:
        """The key's SHA-256 (hex): keys are up to 1024 bytes, too long for an index or some report keys."""
        return hashlib.sha256(self.key.encode()).hexdigest()

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RowCounts:
    """The rows of an import: read, and what became of them."""

    read: int = 0
    inserted: int = 0
    duplicate: int = 0  # add: ids already taken, left as they were; upsert, mirror: an id an earlier row gave
    rejected: int = 0  # rows that broke the person rules
    updated: int = 0  # upsert, mirror: people the file changed (a new version each)
    unchanged: int = 0  # upsert, mirror: rows identical to the person stored (nothing written)
    deleted: int = 0  # mirror: people the file did not name, erased
    conflict: int = 0  # upsert, mirror: people the API wrote after the import started, left as the API wrote them

    def as_json(self) -> dict[str, int]:
        return rows_json(
            self.read,
            self.inserted,
            self.duplicate,
            self.rejected,
            self.updated,
            self.unchanged,
            self.deleted,
            self.conflict,
        )


def rows_json(
    read: int, inserted: int, duplicate: int, rejected: int, updated: int, unchanged: int, deleted: int, conflict: int
) -> dict[str, int]:
    """RowCounts as JSON, from its values (in RowCounts' order): GET /imports builds 100 a page from their rows,
    where a frozen RowCounts each, and asdict()'s recursive copy, took longer than the rest of the record."""
    return {
        "read": read,
        "inserted": inserted,
        "updated": updated,
        "unchanged": unchanged,
        "deleted": deleted,
        "conflict": conflict,
        "duplicate": duplicate,
        "rejected": rejected,
    }


@dataclass(frozen=True)
class ImportRecord:
    """An `imports` row: the object, how far its import got, and when."""

    id: int
    object: ObjectRef
    status: str
    mode: str = "add"  # imports/mode.py: add, upsert, mirror or mirror-all
    dry_run: bool = False  # every rule and count, but no person written
    message: str | None = None
    rows: RowCounts = RowCounts()
    errors: list[dict[str, Any]] = field(default_factory=list)  # the first row errors: line, field, message
    changes: list[dict[str, Any]] = field(default_factory=list)  # the first changes: id, change, field names
    attempts: int = 0
    report_key: str | None = None
    bytes_read: int = 0  # of the object's size: how far the latest attempt read
    progress_at: datetime | None = None  # when the latest attempt last wrote its progress (or ended)
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    def progress_json(self) -> dict[str, Any]:
        return progress_json(
            self.status,
            self.object.size,
            self.bytes_read,
            self.rows.read,
            self.started_at,
            self.progress_at,
            self.finished_at,
        )


def progress_json(
    status: str,
    size: int,
    done: int,
    rows_read: int,
    started: datetime | None,
    progress_at: datetime | None,
    finished: datetime | None,
) -> dict[str, Any]:
    """How far an import's latest attempt got: bytes, share of the file, rate and (while running) time left."""
    until = finished or progress_at
    seconds = (until - started).total_seconds() if until and started else None
    seconds_left = None
    if status == RUNNING and seconds and done:
        seconds_left = round(seconds * max(size - done, 0) / done, 1)
    return {
        "bytes_read": done,
        "percent": round(min(100.0, 100 * done / size), 1) if size else None,
        "rows_per_second": round(rows_read / seconds) if seconds else None,
        "seconds_left": seconds_left,
        "updated_at": iso_json(progress_at),
    }


def timings_json(created: datetime | None, started: datetime | None, finished: datetime | None) -> dict[str, Any]:
    """When a record (an import's, an export's) was created, started and finished, and how long it ran."""
    return {
        "created_at": iso_json(created),
        "started_at": iso_json(started),
        "finished_at": iso_json(finished),
        "seconds": (finished - started).total_seconds() if finished and started else None,
    }


def iso_json(moment: datetime | None) -> str | None:
    """A database time (UTC, naive) as the API writes it: ISO 8601 to the millisecond, with Z."""
    if moment is None:
        return None
    # isoformat() cut to the millisecond, as timespec="milliseconds" writes it, without parsing a keyword on every
    # call: four times a record, 400 a page of GET /imports (README, Speed). It leaves out a fraction of zero.
    return moment.isoformat()[:23] + "Z" if moment.microsecond else moment.isoformat() + ".000Z"
