"""`make dev`'s view of a running import: a rich progress line on a terminal, plain lines otherwise."""

import io
from datetime import datetime, timedelta

from rich.console import Console

from devstack.progress import ProgressBar, ProgressLines, summary
from people_api.imports.record import ImportRecord, ObjectRef, RowCounts

STARTED = datetime(2026, 11, 29, 6, 0, 0)


def running(bytes_read: int, rows: int, seconds: float) -> ImportRecord:
    return ImportRecord(
        id=3,
        object=ObjectRef("people-import", "big.csv", "etag", None, 1_000_000),
        status="running",
        rows=RowCounts(read=rows, inserted=rows // 2),
        bytes_read=bytes_read,
        started_at=STARTED,
        progress_at=STARTED + timedelta(seconds=seconds),
    )


def test_without_a_terminal_a_plain_line_every_few_seconds_and_no_control_characters():
    lines: list[str] = []
    display = ProgressLines(lines.append, every_seconds=60)

    display.show(running(450_000, 45_000, 10))
    display.show(running(500_000, 50_000, 11))  # within the minute: no second line
    display.close()

    assert lines == ["big.csv: 45% of 1,000,000 bytes, 45,000 rows read, 4,500 rows/s, about 12 s left"]
    assert all(ch.isprintable() for ch in lines[0])


def test_on_a_terminal_one_updating_line_with_the_function_prefix():
    screen = io.StringIO()
    display = ProgressBar(Console(file=screen, force_terminal=True, width=140), "ImportCsvFunction | ")

    display.show(running(450_000, 45_000, 10))
    display.show(running(900_000, 90_000, 20))
    display.close()

    drawn = screen.getvalue()
    assert "ImportCsvFunction | big.csv" in drawn and "90%" in drawn and "90,000 rows" in drawn
    assert "\x1b[" in drawn  # redrawn in place (and cleared at the end), not a new line per update
    assert drawn.count("\n") <= 2


def test_the_summary_line_of_an_ended_import():
    ended = ImportRecord(
        id=3,
        object=ObjectRef("people-import", "big.csv", "etag", None, 1_000_000),
        status="succeeded",
        rows=RowCounts(read=100_000, inserted=99_990, duplicate=10),
        bytes_read=1_000_000,
        started_at=STARTED,
        finished_at=STARTED + timedelta(seconds=8),
    )
    assert summary(ended) == (
        "big.csv: succeeded, 100,000 rows read, 99,990 inserted, 10 duplicate, 0 rejected in 8.0 s (12,500 rows/s)"
    )
