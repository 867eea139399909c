"""A running import's progress, written to its record about once a second by a thread on a connection of its own.

Outside the import's transaction, so `GET /imports/{id}` shows it while the file loads, and the
all-or-nothing load is untouched: a failed import's people still roll back, its progress stays.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import pymysql

from people_api import db
from people_api.config import database_settings
from people_api.imports import store
from people_api.imports.outcome import Tally
from people_api.imports.record import RowCounts
from people_api.observability import error_fields, logger

PROGRESS_EVERY_SECONDS = 1.0


class Progress:
    """What the loader has stored so far, beside what the reader's tally has read; written by a thread."""

    def __init__(self, import_id: int, tally: Tally, every_seconds: float):
        self.import_id = import_id
        self.tally = tally
        self.inserted = self.duplicate = 0
        self._every_seconds = every_seconds
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._write_until_stopped, name="people-import-progress", daemon=True)
        self._conn: pymysql.Connection | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """No more writes once this returns (one in flight is waited for)."""
        self._stopped.set()
        self._thread.join()

    def stored(self, inserted: int, duplicate: int) -> None:
        """The loader's totals so far (loader.load_people's `stored`)."""
        self.inserted, self.duplicate = inserted, duplicate

    def rows(self) -> RowCounts:
        return RowCounts(self.tally.rows_read, self.inserted, self.duplicate, self.tally.rows_rejected)

    def _write_until_stopped(self) -> None:
        while not self._stopped.wait(self._every_seconds):
            try:
                if self._conn is None:
                    self._conn = db.connect(database_settings())
                store.record_progress(self._conn, self.import_id, self.rows(), self.tally.bytes_read)
            except pymysql.Error as error:
                # Progress is a courtesy: the import goes on, and the next tick tries a new connection.
                logger.warning("could not record the import's progress", extra=error_fields(error))
                self._close()
        self._close()

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with suppress(pymysql.Error):  # already broken: nothing left to close
                conn.close()


@contextmanager
def reporting(import_id: int, tally: Tally, every_seconds: float = PROGRESS_EVERY_SECONDS) -> Iterator[Progress]:
    """Write the import's progress every `every_seconds` until the block ends (then its final figures are the
    caller's to record)."""
    progress = Progress(import_id, tally, every_seconds)
    progress.start()
    try:
        yield progress
    finally:
        progress.stop()
