"""Reading people from a CSV byte stream: header, text checks and the person rules, row by row.

No I/O of its own: it reads any object with `read(n) -> bytes` (botocore's
StreamingBody, an open file), a chunk at a time, and yields each valid person.
Every row goes through `person.clean_person`, the rules `POST /people` applies.

Strict and bounded: a quote where CSV does not allow one rejects the file at its
line, and no line, row or header is held longer than its limit allows, so the
memory and work per file stay bounded whatever the bytes are.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date
from operator import itemgetter
from typing import NamedTuple, Protocol

from people_api.imports.outcome import FileRejected, Tally
from people_api.people.person import (
    CSV_HEADERS,
    FIELDS,
    FieldError,
    NewPerson,
    PersonInvalid,
    chosen_id,
    clean_person,
    has_two_digit_year,
)

MAX_FIELD_CHARS = 1000
MAX_HEADER_CHARS = 1000
READ_CHUNK_BYTES = 256 * 1024
_NAMED_POSITION_RUNS = 5  # of unknown columns, in a message
_COLUMN_FIELDS = {name.casefold(): f for name, f in CSV_HEADERS.items()} | {f: f for f in FIELDS}
_COLUMNS_HELP = f"the columns are (in any order and case): {', '.join([*CSV_HEADERS, *FIELDS])}"
_LINE_ENDS = "\r\n"
_READ_PAST = 3  # a line is read up to its limit, a line break of two characters and one more
# Inside a quoted field, quotes come in pairs; the first one alone closes it. Possessive, so that the
# pairs are never split again to find a closing quote (`ab""` ends inside the field).
_TO_CLOSING_QUOTE = re.compile(r'[^"]*+(?:""[^"]*+)*+"').match
_CENTURY_NEEDS_AGE = (
    "a two-digit year's century depends on the age, and this file has no Age column: give the year in four digits"
)
_QUOTING = 'a field with quotes in it is quoted whole, each of its quotes doubled ("a ""b"" c")'


class Readable(Protocol):
    def read(self, amt: int) -> bytes: ...


class DeadlinePassed(TimeoutError):
    """The import would outlive its Lambda invocation; stopped so that it rolls back cleanly."""


class FileRow(NamedTuple):
    """A row of a file that updates people (upsert, mirror): its first line, and its person as the file gives it.

    `rejected`: the row broke a rule and only its id is kept (a mirror must not erase the person it names).
    """

    line: int
    person: NewPerson
    rejected: bool = False


def read_people(
    body: Readable, today: date, tally: Tally, *, max_bytes: int, deadline: float | None = None
) -> Iterator[NewPerson]:
    """The valid people of a CSV file, in file order; invalid rows go to `tally`.

    Raises FileRejected for a problem with the whole file, DeadlinePassed once
    `time.monotonic()` passes `deadline`. A row's line is its first; blank lines
    are not rows, and a row's quoted line breaks are lines of their own.
    """
    for line, values in _rows(body, tally, max_bytes, deadline, names_needed=True, ids_needed=False):
        try:
            yield clean_person(*values, today)
        except PersonInvalid as invalid:
            tally.reject(line, [(e.field, e.message) for e in invalid.errors])


def read_updates(
    body: Readable, today: date, tally: Tally, *, max_bytes: int, deadline: float | None = None, mirror: bool = False
) -> Iterator[FileRow]:
    """The rows of a file that updates people (upsert, or `mirror`), in file order; as `read_people`, but:

    a header needs no name column (the stored names stay); the name rule is then left to the store, which
    sees the person as it will be; a two-digit year is refused where the file has no Age column (its century
    depends on the age, which may be the stored one). A mirror needs an id on every row: a row without one
    rejects the file, and a row that breaks a rule keeps its id (`rejected`), so that it is not erased.
    """
    rows = _rows(body, tally, max_bytes, deadline, names_needed=False, ids_needed=mirror)
    name_required = None
    for line, values in rows:
        if name_required is None:  # the header is read once the first row comes
            name_required = "first_name" in tally.columns and "last_name" in tally.columns
            stored_age_decides = "age" not in tally.columns
        if mirror and chosen_id(values[0]) is None:
            raise FileRejected(
                f"line {line}: a mirror needs a valid id on every row (the file names everyone to keep);"
                " nothing was imported"
            )
        try:
            if stored_age_decides and has_two_digit_year(values[5]) and values[0]:
                raise PersonInvalid([FieldError("third_grade_graduation", _CENTURY_NEEDS_AGE)])
            yield FileRow(line, clean_person(*values, today, name_required=name_required))
        except PersonInvalid as invalid:
            tally.reject(line, [(e.field, e.message) for e in invalid.errors])
            if mirror:
                yield FileRow(line, NewPerson(chosen_id(values[0]), None, None, None, None, None), rejected=True)


def _rows(
    body: Readable, tally: Tally, max_bytes: int, deadline: float | None, names_needed: bool, ids_needed: bool
) -> Iterator[tuple[int, tuple]]:
    """Each row of the file's width with its first line, its values in FIELDS order (None for a missing column).

    A row of another width is rejected here; `tally.columns` is set once the header is read.
    """
    csv.field_size_limit(MAX_FIELD_CHARS)
    checked = _CheckedBytes(body, max_bytes, tally, deadline)
    text = io.TextIOWrapper(io.BufferedReader(checked, READ_CHUNK_BYTES), encoding="utf-8-sig", newline="")
    lines = _Lines(text)
    reader = csv.reader(lines, strict=True)
    header, header_line = _header(reader, lines)
    width, pick, tally.columns = _columns(header, header_line, names_needed, ids_needed)
    lines.rows_of(width)
    line = reader.line_num  # the last line read: a row's first line is the one after
    try:
        for row in reader:
            if row:  # not a blank line
                tally.rows_read += 1  # counted as it goes: a load that fails midway reports how far it got
                if len(row) != width:
                    tally.reject(line + 1, [("row", f"has {len(row)} cells; the header has {width}")])
                else:
                    row.append(None)  # what `pick` takes for a column the file does not have
                    yield line + 1, pick(row)
            line = reader.line_num
    except csv.Error as error:
        raise lines.rejection(error, reader.line_num) from None
    if tally.rows_read == 0:
        raise FileRejected("the file has a header but no rows")


def _header(reader, lines: _Lines) -> tuple[list[str], int]:
    """The first row that is not a blank line, and its line."""
    line = 0
    try:
        for row in reader:
            if row:
                return row, line + 1
            line = reader.line_num
    except csv.Error as error:
        raise lines.rejection(error, reader.line_num) from None
    raise FileRejected("the file is empty")


def _columns(
    header: list[str], line: int, names_needed: bool, ids_needed: bool
) -> tuple[int, itemgetter, tuple[str, ...]]:
    """The header's width, a getter of a row's values in `FIELDS` order, and the fields it names.

    A line none of whose cells names a column is not a header (a file without one starts with
    people). A cell that names no column is never quoted, since it may be a person's value (a
    headerless file whose first row has a cell like `Age`): the message counts them and gives
    their positions.
    """
    fields = [_COLUMN_FIELDS.get(name.strip().casefold()) for name in header]
    unknown = [position for position, f in enumerate(fields, 1) if f is None]
    if len(unknown) == len(header):
        cells = f"its {len(header)} cells is" if len(header) > 1 else "its cell is"
        raise FileRejected(f"line {line} is not a header: none of {cells} a column name; {_COLUMNS_HELP}")
    if unknown:
        columns = f"{len(unknown)} unknown column{'s' if len(unknown) > 1 else ''}"
        raise FileRejected(f"the header has {columns} ({_cells_at(unknown)}); {_COLUMNS_HELP}")
    repeated = sorted(f for f, n in Counter(fields).items() if n > 1)
    if repeated:
        raise FileRejected(f"the header names {', '.join(repeated)} more than once")
    if names_needed and "first_name" not in fields and "last_name" not in fields:
        raise FileRejected("the header has neither First nor Last (first_name, last_name): a person needs one")
    if ids_needed and "id" not in fields:
        raise FileRejected("a mirror's header needs the ID column (the file names everyone to keep)")
    position = {f: i for i, f in enumerate(fields)}
    missing = len(header)
    return len(header), itemgetter(*(position.get(f, missing) for f in FIELDS)), tuple(fields)


def _cells_at(positions: list[int]) -> str:
    """Cell positions (1 up, ascending) as a message gives them: "the 3rd cell is not a column name",
    "the 2nd to 6th cells are not column names", "the 2nd, 4th and 7th to 9th cells are ...", the first
    few runs of positions only ("... and 12 more cells are ...")."""
    runs: list[list[int]] = []
    for position in positions:
        if runs and runs[-1][-1] == position - 1:
            runs[-1][-1] = position
        else:
            runs.append([position, position])
    named = [f"{_ordinal(first)} to {_ordinal(last)}" if last > first else _ordinal(first) for first, last in runs]
    shown = named[:_NAMED_POSITION_RUNS]
    left = sum(last - first + 1 for first, last in runs[_NAMED_POSITION_RUNS:])
    if left:
        shown.append(f"{left} more")
    listed = shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"
    if len(positions) == 1:
        return f"the {listed} cell is not a column name"
    return f"the {listed} cells are not column names"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _longest_row(width: int) -> int:
    """The most characters a valid row of `width` fields can take, its line break left out: every field
    at its limit and quoted, each of its characters a quote (doubled), and the commas between them."""
    return width * (2 * MAX_FIELD_CHARS + 2) + width - 1


class _Lines:
    """The file's lines for `csv.reader`, each checked as it comes, none read past its row's limit.

    `csv.reader` takes whole lines; a line of the text stream is read with a length limit, so a
    line longer than any valid row is refused once its first characters past the limit are read,
    and a row that quoted line breaks spread over many lines is bounded the same way. Quotes are
    checked where they are (the csv module takes a quote inside an unquoted field as text, and
    the end of the file inside quotes as the end of a field): a field is quoted whole, its quotes
    doubled, or not at all.
    """

    def __init__(self, text: io.TextIOWrapper):
        self._text = text
        self._max_chars = MAX_HEADER_CHARS
        self._width = 0  # of the rows; 0 while the header is read
        self.quoted_since: int | None = None  # where the quoted field the last line ends in began

    def rows_of(self, width: int) -> None:
        """From now on the lines are rows of `width` fields (until now, the header)."""
        self._width, self._max_chars = width, _longest_row(width)

    def __iter__(self) -> Iterator[str]:
        readline = self._text.readline
        number = 0  # of the line
        quoted_since = None  # where the quoted field the line ends in began
        row_chars = 0  # of the lines before this one in the same row (a quoted field spanning lines)
        while True:
            allowed = self._max_chars - row_chars  # at least -2: a line of the row had at most allowed + 2
            line = readline(allowed + _READ_PAST)
            if not line:
                if quoted_since is not None:
                    raise FileRejected(f"line {quoted_since}: a quote opens a field that is never closed")
                return
            number += 1
            if len(line) > allowed and len(line.rstrip(_LINE_ENDS)) > allowed:
                raise FileRejected(self._too_long(number, quoted_since))
            if quoted_since is not None or '"' in line:
                quoted_since = self.quoted_since = _quotes(line, number, quoted_since)
                row_chars = row_chars + len(line) if quoted_since is not None else 0
            yield line

    def _too_long(self, line: int, quoted_since: int | None) -> str:
        if quoted_since is not None:
            return (
                f"line {quoted_since}: a row with a quoted field that opens here is longer than {self._max_chars}"
                " characters (a quote never closed?)"
            )
        if self._width == 0:
            return f"line {line}: the header is longer than {MAX_HEADER_CHARS} characters"
        return (
            f"line {line}: longer than {self._max_chars} characters, the longest a row of {self._width} columns can be"
        )

    def rejection(self, error: csv.Error, line: int) -> FileRejected:
        """The csv module's error (a field over its limit, or a syntax `_quotes` let through) as a rejection."""
        if "field limit" in str(error):
            if self.quoted_since is not None:
                return FileRejected(
                    f"line {self.quoted_since}: a quoted field that opens here is longer than {MAX_FIELD_CHARS}"
                    " characters (a quote never closed?)"
                )
            return FileRejected(f"line {line}: a field is longer than {MAX_FIELD_CHARS} characters")
        return FileRejected(f"line {line}: not valid CSV ({str(error)[:100]})")


class _CheckedBytes(io.RawIOBase):
    """A raw stream over `body` that rejects binary data, bytes that are not UTF-8, and files past `max_bytes`,
    and stops the read once `deadline` passes.

    Checking here, chunk by chunk, gives the exact line and byte of the problem. The lines before a
    bad byte are passed on first, so that the rows before its line are read (and counted).
    """

    def __init__(self, body: Readable, max_bytes: int, tally: Tally, deadline: float | None):
        self._body = body
        self._tally = tally
        self._max_bytes = max_bytes
        self._deadline = deadline
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._offset = 0
        self._lines = 0  # line breaks passed on: \r\n, \n or \r, as the text stream counts them
        self._after_cr = False  # the bytes passed on end with \r (a \n next ends the same line)
        self._problem: FileRejected | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._problem is not None:
            raise self._problem
        if self._deadline is not None and time.monotonic() > self._deadline:
            raise DeadlinePassed(f"stopped at line {self._lines + 1}: the invocation is about to time out")
        chunk = self._body.read(len(buffer))
        good = self._check(chunk, final=not chunk)
        if self._problem is not None and good == 0:
            raise self._problem
        buffer[:good] = chunk[:good]
        self._passed(chunk[:good])
        return good

    def _check(self, chunk: bytes, final: bool) -> int:
        """How many of the chunk's bytes to pass on: all, or those before the line of its first problem.

        A NUL byte means binary data, the clearer reason, wherever it is in the chunk.
        """
        if self._offset + len(chunk) > self._max_bytes:
            raise FileRejected(f"the file is larger than the limit of {self._max_bytes} bytes")
        pending = self._decoder.getstate()[0]
        data = pending + chunk  # what the decoder sees: a character can start in the chunk before
        nul = data.find(b"\0", len(pending))
        try:
            self._decoder.decode(chunk, final)
            not_utf8 = -1
        except UnicodeDecodeError as error:
            not_utf8 = error.start
        if nul < 0 and not_utf8 < 0:
            return len(chunk)
        if nul >= 0:
            bad, what = nul, "a NUL byte; this is binary data, not CSV text"
        else:
            bad, what = not_utf8, f"byte 0x{data[not_utf8]:02x} is not UTF-8 text"
        line = self._lines + _line_breaks(data[:bad], self._after_cr and not pending) + 1
        self._problem = FileRejected(f"line {line} (byte {self._offset - len(pending) + bad + 1}): {what}")
        first = min(p for p in (nul, not_utf8) if p >= 0)
        line_start = max(data.rfind(b"\n", 0, first), data.rfind(b"\r", 0, first)) + 1
        return max(0, line_start - len(pending))

    def _passed(self, good: bytes) -> None:
        self._lines += _line_breaks(good, self._after_cr)
        if good:
            self._after_cr = good.endswith(b"\r")
        self._offset += len(good)
        self._tally.bytes_read = self._offset


def _line_breaks(data: bytes, after_cr: bool) -> int:
    """The line breaks in `data` (\\r\\n, \\n or \\r each one), the \\n of a \\r\\n split before it not counted."""
    breaks = data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")
    return breaks - 1 if after_cr and data.startswith(b"\n") else breaks


def _quotes(line: str, number: int, opened: int | None) -> int | None:
    """Check the quotes of line `number`, which starts inside a quoted field opened on line `opened`
    (None: outside quotes); the line where the quoted field it ends in began, or None."""
    at = 0
    while True:
        if opened is not None:  # inside quotes: on to the quote that closes the field, if on this line
            closing = _TO_CLOSING_QUOTE(line, at)
            if closing is None:
                return opened
            at = closing.end()
            if at < len(line) and line[at] not in ",\r\n":
                where = "" if opened == number else f" on line {number}"
                raise FileRejected(f"line {opened}: text after the quote that closes a quoted field{where}; {_QUOTING}")
        quote = line.find('"', at)  # outside quotes: a quote may only open a field
        if quote < 0:
            return None
        if quote > 0 and line[quote - 1] != ",":
            raise FileRejected(f"line {number}: a quote inside an unquoted field; {_QUOTING}")
        opened, at = number, quote + 1
