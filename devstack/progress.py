"""A running import in the terminal: its record, read twice a second, shown as it goes and summed up at the end.

On a terminal, one rich progress line under the import function's name (file, share, rows, rate,
time left); otherwise a plain line every few seconds, with no control characters. The figures are
the ones `GET /imports/{id}` answers: the import writes them to its record (people_api.import_progress).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn, TimeRemainingColumn

from devstack import logs
from people_api import db
from people_api.imports import store as imports_store
from people_api.imports.record import RUNNING, ImportRecord, ObjectRef, timings_json

POLL_SECONDS = 0.5
PLAIN_EVERY_SECONDS = 5.0


class ProgressBar:
    """One updating line per running import, drawn by rich on a terminal."""

    def __init__(self, console: Console, prefix: str):
        self._progress = Progress(
            TextColumn(prefix + "{task.description}", markup=False),
            BarColumn(bar_width=30),
            TaskProgressColumn(),
            TextColumn("{task.fields[rows]:,} rows  {task.fields[rate]:,} rows/s"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
            refresh_per_second=4,
        )
        self._tasks: dict[int, TaskID] = {}

    @property
    def console(self) -> Console:
        return self._progress.console

    def show(self, record: ImportRecord) -> None:
        progress = record.progress_json()
        fields = {"rows": record.rows.read, "rate": progress["rows_per_second"] or 0}
        if record.id not in self._tasks:
            self._progress.start()
            self._tasks[record.id] = self._progress.add_task(record.object.key, total=record.object.size, **fields)
        self._progress.update(self._tasks[record.id], completed=record.bytes_read, **fields)

    def close(self) -> None:
        self._progress.stop()


class ProgressLines:
    """A plain line every `every_seconds` per running import: for output that is not a terminal."""

    def __init__(self, write: Callable[[str], Any], every_seconds: float = PLAIN_EVERY_SECONDS):
        self._write = write
        self._every_seconds = every_seconds
        self._last: dict[int, float] = {}

    def show(self, record: ImportRecord) -> None:
        now = time.monotonic()
        if now - self._last.get(record.id, -self._every_seconds) < self._every_seconds:
            return
        self._last[record.id] = now
        progress = record.progress_json()
        left = progress["seconds_left"]
        self._write(
            f"{record.object.key}: {progress['percent'] or 0:.0f}% of {record.object.size:,} bytes,"
            f" {record.rows.read:,} rows read, {progress['rows_per_second'] or 0:,} rows/s"
            + (f", about {left:.0f} s left" if left is not None else "")
        )

    def close(self) -> None:
        """Nothing to take down: every line is already written."""


def summary(record: ImportRecord) -> str:
    """One line for an import that ended."""
    rows, seconds = record.rows, timings_json(record.created_at, record.started_at, record.finished_at)["seconds"]
    line = (
        f"{record.object.key}: {record.status}, {rows.read:,} rows read, {rows.inserted:,} inserted,"
        f" {rows.duplicate:,} duplicate, {rows.rejected:,} rejected"
    )
    if seconds:
        line += f" in {seconds:.1f} s ({round(rows.read / seconds):,} rows/s)"
    return line + (f": {record.message}" if record.message else "")


@contextmanager
def watching(objects: list[ObjectRef], function_name: str) -> Iterator[None]:
    """Show the imports of `objects` while the block runs the import function; sum each up after it."""
    terminal = logs.terminal()
    if terminal.isatty():
        display: ProgressBar | ProgressLines = ProgressBar(Console(file=terminal), logs.prefix_of(function_name))
    else:
        display = ProgressLines(lambda line: logs.say(line, source=function_name))
    stop = threading.Event()
    watcher = threading.Thread(target=_watch, args=(objects, display, stop), name="import-progress", daemon=True)
    with logs.above(display.console) if isinstance(display, ProgressBar) else nullcontext():
        watcher.start()
        try:
            yield
        finally:
            stop.set()
            watcher.join()
            display.close()
    for obj in objects:
        record = imports_store.import_of(obj)
        if record is not None and record.finished_at is not None:
            logs.say(summary(record), source=function_name)


def _watch(objects: list[ObjectRef], display: ProgressBar | ProgressLines, stop: threading.Event) -> None:
    try:
        while not stop.wait(POLL_SECONDS):
            for obj in objects:
                record = imports_store.import_of(obj)
                if record is not None and record.status == RUNNING and record.progress_at is not None:
                    display.show(record)
    except Exception as error:  # the import goes on without its view; say why there is none
        logs.say(f"cannot show the import's progress: {error}")
    finally:
        db.close()  # this thread's connection
