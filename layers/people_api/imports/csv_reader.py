"""Reading people from a CSV byte stream: header, text checks and the person rules, row by row.

No I/O of its own: it reads any object with `read(n) -> bytes` (botocore's
StreamingBody, an open file), a chunk at a time, and yields each valid person.
Every row goes through `person.clean_person`, the rules `POST /people` applies.
"""

from __future__ import annotations

import codecs
import csv
import io
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from operator import itemgetter
from typing import Any, Protocol

from people_api.people.person import CSV_HEADERS, FIELDS, NewPerson, PersonInvalid, clean_person

MAX_FIELD_CHARS = 1000
MAX_ROW_ERRORS = 100
READ_CHUNK_BYTES = 256 * 1024
_DEADLINE_EVERY_ROWS = 4096
_COLUMN_FIELDS = {name.casefold(): f for name, f in CSV_HEADERS.items()} | {f: f for f in FIELDS}


class Readable(Protocol):
    def read(self, amt: int) -> bytes: ...


class FileRejected(Exception):
    """The file as a whole cannot be imported (not UTF-8 text, bad header, no rows...); final, not retried."""


class DeadlinePassed(TimeoutError):
    """The import would outlive its Lambda invocation; stopped so that it rolls back cleanly."""


@dataclass
class Tally:
    """What reading the file found: bytes and rows read, rows rejected by the rules, and the first row errors.

    Updated as the file is read (by the import's feeder thread), so that its progress can be reported.
    """

    bytes_read: int = 0
    rows_read: int = 0
    rows_rejected: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def reject(self, line: int, problems: list[tuple[str, str]]) -> None:
        self.rows_rejected += 1
        for field_name, message in problems:
            if len(self.errors) < MAX_ROW_ERRORS:
                self.errors.append({"line": line, "field": field_name, "message": message})


def read_people(
    body: Readable, today: date, tally: Tally, *, max_bytes: int, deadline: float | None = None
) -> Iterator[NewPerson]:
    """The valid people of a CSV file, in file order; invalid rows go to `tally`.

    Raises FileRejected for a problem with the whole file, DeadlinePassed once
    `time.monotonic()` passes `deadline`.
    """
    csv.field_size_limit(MAX_FIELD_CHARS)
    checked = _CheckedBytes(body, max_bytes, tally)
    text = io.TextIOWrapper(io.BufferedReader(checked, READ_CHUNK_BYTES), encoding="utf-8-sig", newline="")
    reader = csv.reader(text)
    header = _next_row(reader, checked)
    if header is None:
        raise FileRejected("the file is empty")
    width, pick = _columns(header)
    last_line = reader.line_num
    while True:
        row = _next_row(reader, checked)
        if row is None:
            break
        tally.rows_read += 1  # counted as it goes: a load that fails midway reports how far it got
        if len(row) != width:
            tally.reject(last_line + 1, [("row", f"has {len(row)} cells; the header has {width}")])
        else:
            row.append(None)  # what `pick` takes for a column the file does not have
            try:
                yield clean_person(*pick(row), today)
            except PersonInvalid as invalid:
                tally.reject(last_line + 1, [(e.field, e.message) for e in invalid.errors])
        last_line = reader.line_num
        if deadline is not None and tally.rows_read % _DEADLINE_EVERY_ROWS == 0 and time.monotonic() > deadline:
            raise DeadlinePassed(f"stopped at line {last_line}: the invocation is about to time out")
    if tally.rows_read == 0:
        raise FileRejected("the file has a header but no rows")


def _next_row(reader, checked: _CheckedBytes) -> list[str] | None:
    """The next non-blank row, or None at the end; CSV syntax errors reject the file."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return None
        except csv.Error as error:
            line = reader.line_num
            if "field limit" in str(error):
                raise FileRejected(
                    f"line {line}: a field is longer than {MAX_FIELD_CHARS} characters (an unclosed quote?)"
                ) from None
            raise FileRejected(f"line {line}: not valid CSV ({error})") from None
        if row:
            return row


def _columns(header: list[str]) -> tuple[int, itemgetter]:
    """The header's width, and a getter of a row's values in `FIELDS` order."""
    fields = [_COLUMN_FIELDS.get(name.strip().casefold()) for name in header]
    unknown = [name for name, f in zip(header, fields, strict=True) if f is None]
    if unknown:
        known = ", ".join([*CSV_HEADERS, *FIELDS])
        raise FileRejected(
            f"the header has unknown column(s) {', '.join(repr(n) for n in unknown)}; the columns are "
            f"(in any order and case): {known}"
        )
    repeated = sorted({f for f in fields if fields.count(f) > 1})
    if repeated:
        raise FileRejected(f"the header names {', '.join(repeated)} more than once")
    if "first_name" not in fields and "last_name" not in fields:
        raise FileRejected("the header has neither First nor Last (first_name, last_name): a person needs one")
    missing = len(header)
    return len(header), itemgetter(*(fields.index(f) if f in fields else missing for f in FIELDS))


class _CheckedBytes(io.RawIOBase):
    """A raw stream over `body` that rejects binary data, bytes that are not UTF-8, and files past `max_bytes`.

    Checking here, chunk by chunk, gives the exact line and byte of the problem.
    """

    def __init__(self, body: Readable, max_bytes: int, tally: Tally):
        self._body = body
        self._tally = tally
        self._max_bytes = max_bytes
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._offset = 0
        self._lines = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        chunk = self._body.read(len(buffer))
        if not chunk:
            self._check(b"", final=True)
            return 0
        self._check(chunk, final=False)
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def _check(self, chunk: bytes, final: bool) -> None:
        if self._offset + len(chunk) > self._max_bytes:
            raise FileRejected(f"the file is larger than the limit of {self._max_bytes} bytes")
        nul = chunk.find(b"\0")
        if nul >= 0:
            raise FileRejected(
                f"{self._where(chunk, nul, self._offset)}: a NUL byte; this is binary data, not CSV text"
            )
        pending = self._decoder.getstate()[0]
        try:
            self._decoder.decode(chunk, final)
        except UnicodeDecodeError as error:
            data = pending + chunk  # what the decoder saw: error.start counts from here
            where = self._where(data, error.start, self._offset - len(pending))
            raise FileRejected(f"{where}: byte 0x{data[error.start]:02x} is not UTF-8 text") from None
        self._lines += chunk.count(b"\n")
        self._offset += len(chunk)
        self._tally.bytes_read = self._offset

    def _where(self, data: bytes, index: int, data_offset: int) -> str:
        line = self._lines + data.count(b"\n", 0, index) + 1
        return f"line {line} (byte {data_offset + index + 1})"
