"""Reading people from CSV bytes (no I/O): header mapping, text checks, row errors with their line."""

import io
import re
import string
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from people_api.imports import csv_reader
from people_api.imports.csv_reader import DeadlinePassed, read_people
from people_api.imports.outcome import FileRejected, Tally
from people_api.imports.store import MAX_MESSAGE_CHARS

TODAY = date(2026, 11, 28)


def read(data: bytes, **options) -> tuple[list, Tally]:
    tally = Tally()
    people = list(read_people(io.BytesIO(data), TODAY, tally, max_bytes=options.pop("max_bytes", 10**6), **options))
    return people, tally


def rejection(data: bytes, **options) -> str:
    with pytest.raises(FileRejected) as rejected:
        read(data, **options)
    return str(rejected.value)


def test_line_numbers_count_the_lines_inside_quoted_fields():
    data = b'First,Age\r\n"Two\r\nlines",1\r\n"Three\nlines\nhere",x\r\nOk,1\r\n,\r\n'
    people, tally = read(data)
    assert [p.first_name for p in people] == ["Ok"]
    # a line break in a name breaks the text rules (the row is rejected, its line counted right)
    assert [(e["line"], e["field"]) for e in tally.errors] == [
        (2, "first_name"),
        (4, "first_name"),
        (4, "age"),
        (8, "first_name"),
    ]
    assert (tally.rows_read, tally.rows_rejected) == (4, 3)


def test_blank_lines_are_skipped_not_counted():
    people, tally = read(b"First\n\nAda\n\n\nAlan\n\n")
    assert [p.first_name for p in people] == ["Ada", "Alan"] and tally.rows_read == 2


def test_bom_is_not_part_of_the_first_column_name():
    people, _ = read(b"\xef\xbb\xbfid,first_name\n7,Ada")
    assert people[0][:2] == (7, "Ada")


def test_header_names_are_trimmed_and_case_insensitive():
    people, _ = read(b" gITHUBacct , LAST ,date OF 3RD grade graduation\nada-l,Lovelace,1999-06-25\n")
    assert people[0] == (None, None, "Lovelace", None, "ada-l", date(1999, 6, 25))


def test_a_file_cut_inside_a_utf8_character_is_rejected_at_its_last_byte():
    assert rejection("First\nJosé".encode()[:-1]) == "line 2 (byte 10): byte 0xc3 is not UTF-8 text"


def test_invalid_utf8_is_found_past_the_first_read_chunk():
    data = b"First\n" + b"Ada\n" * 100_000 + b"Jos\xe9\n"
    assert rejection(data) == f"line 100002 (byte {6 + 400_000 + 4}): byte 0xe9 is not UTF-8 text"


def test_nul_bytes_mean_binary():
    assert "NUL byte" in rejection(b"First\nA\x00da\n")


def test_deadline_stops_the_read():
    with pytest.raises(DeadlinePassed):
        read(b"First\n" + b"Ada\n" * 10_000, deadline=0.0)


def test_a_row_after_blank_lines_is_named_by_its_own_line():
    _, tally = read(b"First,Age\r\n\r\n\r\nAda,x\r\n\nAlan,y\r\n")
    assert [e["line"] for e in tally.errors] == [4, 6]


def test_a_line_of_spaces_is_a_row_not_a_blank_line():
    _, tally = read(b"First,Age\r\nAda,1\r\n  \r\n")
    assert tally.rows_read == 2
    assert tally.errors == [{"line": 3, "field": "row", "message": "has 1 cells; the header has 2"}]


def test_line_numbers_count_cr_line_ends_in_byte_errors_as_in_row_errors():
    assert rejection(b"First\rAda\rJos\xe9\r") == "line 3 (byte 14): byte 0xe9 is not UTF-8 text"
    _, tally = read(b"First,Age\rAda,x\r\nAlan,y\nGrace,z\r")
    assert [e["line"] for e in tally.errors] == [2, 3, 4]


def test_a_bad_byte_stops_the_read_at_its_line_with_the_rows_before_it_counted():
    tally = Tally()
    with pytest.raises(FileRejected, match="line 5 "):
        list(read_people(io.BytesIO(b"First\r\nA\r\nB\r\nC\r\nD\xff\r\nE\r\n"), TODAY, tally, max_bytes=10**6))
    assert tally.rows_read == 3


# Strict CSV: a misplaced quote rejects the file at its line; the rows before it are counted.

HEADER = b"First,Last\r\n"
GOOD = [b"Ada,Lovelace\r\n", b"Alan,Turing\r\n", b"Grace,Hopper\r\n", b"Edsger,Dijkstra\r\n"]


def with_line(index: int, bad: bytes) -> bytes:
    """The header and the four good lines, data line `index` (0-based) replaced by `bad`."""
    lines = list(GOOD)
    lines[index] = bad
    return HEADER + b"".join(lines)


def read_until_rejected(data: bytes) -> tuple[str, Tally]:
    tally = Tally()
    with pytest.raises(FileRejected) as rejected:
        list(read_people(io.BytesIO(data), TODAY, tally, max_bytes=10**9))
    return str(rejected.value), tally


@pytest.mark.parametrize("index", [0, 1, 3], ids=["start", "middle", "end"])
@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        (b'"Barbara,Liskov\r\n', "never closed"),
        (b'Bar"bara,Liskov\r\n', "quote inside an unquoted field"),
        (b'Barbara,Liskov"\r\n', "quote inside an unquoted field"),
        (b'"Bar"bara,Liskov\r\n', "after the quote that closes"),
        (b'"Barbara" ,Liskov\r\n', "after the quote that closes"),
    ],
    ids=["unclosed", "bare-quote", "bare-quote-at-the-end", "text-after-closing-quote", "space-after-closing-quote"],
)
def test_a_misplaced_quote_rejects_the_file_at_its_line_with_the_rows_before_it_counted(index, bad, problem):
    message, tally = read_until_rejected(with_line(index, bad))

    assert message.startswith(f"line {index + 2}: ") and problem in message, message
    assert tally.rows_read == index


def test_an_unclosed_quote_in_a_long_file_is_named_where_it_opens():
    message, tally = read_until_rejected(HEADER + GOOD[0] + b'"Bar,Liskov\r\n' + b"Ada,Lovelace\r\n" * 1000)
    assert message.startswith("line 3: ") and "1000 characters" in message, message
    assert tally.rows_read == 1


def test_a_quote_closing_a_field_opened_lines_before_is_named_where_it_opened():
    message, tally = read_until_rejected(HEADER + GOOD[0] + b'"Bar,Liskov\r\nAda,"Love"lace\r\n')
    assert message.startswith("line 3: ") and "line 4" in message, message
    assert tally.rows_read == 1


def test_quotes_where_csv_puts_them_are_read():
    people, tally = read(HEADER + b'"Ada ""A.""",Lovelace\r\n"Alan","Turing, Jr"\r\n"",Hopper\r\n"""",x\r\n')
    assert [(p.first_name, p.last_name) for p in people] == [
        ('Ada "A."', "Lovelace"),
        ("Alan", "Turing, Jr"),
        (None, "Hopper"),
        ('"', "x"),
    ]
    assert tally.rows_rejected == 0


# Every data row is accounted for, on any file: read (and, if rejected, named), or after the line that stopped it.

NAME = st.text(alphabet=string.ascii_letters + " ", min_size=1, max_size=12).filter(str.strip)
TERMINATORS = st.sampled_from(["\r\n", "\n", "\r"])


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


@st.composite
def csv_files(draw):
    """(file text, the rows as (first line, valid), the fault's (row index, line) or None)."""
    end = draw(TERMINATORS)
    parts = ["\n" * draw(st.integers(0, 2)), "First,Last,Age", end]  # blank lines may come before the header
    rows, fault = [], None
    kinds = st.sampled_from(
        ["valid", "quoted", "bad age", "line break in a name", "quotes around a line break", "cells", "spaces", "blank"]
    )
    for _ in range(draw(st.integers(0, 30))):
        kind = draw(kinds)
        line = 1 + len(re.findall(r"\r\n|\r|\n", "".join(parts)))
        if kind == "blank":
            parts.append(end)
            continue
        first, last = draw(NAME), draw(NAME)
        text = {
            "valid": f"{first},{last},{draw(st.integers(0, 150))}",
            "quoted": f"{_quoted(first + ', ' + last)},{_quoted(last + chr(34))},",
            "bad age": f"{first},{last},{draw(st.integers(151, 999))}",
            "line break in a name": f"{_quoted(first + draw(TERMINATORS) + last)},{last},",
            "quotes around a line break": f"{_quoted(first + chr(34) + draw(TERMINATORS) + chr(34) + last)},{last},",
            "cells": f"{first},{last}",
            "spaces": " ",
        }[kind]
        rows.append((line, kind in ("valid", "quoted")))
        parts += [text, end]
    if rows and draw(st.booleans()):
        index = draw(st.integers(0, len(rows) - 1))
        line = rows[index][0]
        kind = draw(st.sampled_from(["unclosed", "bare quote", "after closing"]))
        fault_text = {"unclosed": '"Ada,', "bare quote": 'Ada"x,', "after closing": '"Ada"x,'}[kind]
        text = "".join(parts)
        cut = _offset_of_line(text, line)
        rest = text[cut:]
        if kind == "unclosed":  # no quote after it (another quote could close it: then it is valid CSV)
            rest = rest.replace('"', "")
        text = text[:cut] + fault_text + rest
        fault = (index, line)
        return text, rows, fault
    if rows and draw(st.booleans()):
        parts.pop()  # no line end after the last row
    return "".join(parts), rows, fault


def _offset_of_line(text: str, line: int) -> int:
    if line == 1:
        return 0
    return [m.end() for m in re.finditer(r"\r\n|\r|\n", text)][line - 2]


@settings(max_examples=300, deadline=None)
@given(csv_files(), st.booleans())
def test_every_data_row_is_read_or_after_the_line_the_rejection_names(generated, with_bom):
    text, rows, fault = generated
    data = ("\ufeff" if with_bom else "").encode() + text.encode()
    tally = Tally()
    try:
        people = list(read_people(io.BytesIO(data), TODAY, tally, max_bytes=10**6))
    except FileRejected as rejected:
        message = str(rejected)
        if not rows:
            assert message == "the file has a header but no rows"
            return
        assert fault is not None, message
        index, line = fault
        assert message.startswith(f"line {line}: "), message
        assert tally.rows_read == index  # the rows before the faulty one; it and the rest are not read
        return
    assert fault is None
    assert tally.rows_read == len(rows)
    assert len(people) == sum(valid for _, valid in rows)
    assert tally.rows_rejected == len(rows) - len(people)
    assert sorted({e["line"] for e in tally.errors}) == [line for line, valid in rows if not valid]


# Bounded work and memory: limits checked as the bytes come, whatever the file holds.


class Endless:
    """A body that repeats `unit` after `head` until `size` bytes, made as they are read; counts what it gave."""

    def __init__(self, head: bytes, unit: bytes, size: int, tail: bytes = b""):
        self.head, self.unit, self.size, self.tail = head, unit, size, tail
        self.given = 0

    def read(self, amt: int) -> bytes:
        if self.given >= self.size + len(self.tail):
            return b""
        if self.given < len(self.head):
            chunk = self.head[self.given : self.given + amt]
        elif self.given < self.size:
            n = min(amt, self.size - self.given)
            start = (self.given - len(self.head)) % len(self.unit)
            chunk = (self.unit * (n // len(self.unit) + 2))[start : start + n]
        else:
            chunk = self.tail[self.given - self.size : self.given - self.size + amt]
        self.given += len(chunk)
        return chunk


def read_endless(body: Endless) -> tuple[str, Tally]:
    tally = Tally()
    with pytest.raises(FileRejected) as rejected:
        list(read_people(body, TODAY, tally, max_bytes=1 << 30))
    return str(rejected.value), tally


def test_a_200_mb_line_is_rejected_as_soon_as_it_passes_the_longest_row_its_header_allows():
    body = Endless(b"First,Last\r\n", b"ab,", 200_000_000)

    message, tally = read_endless(body)

    longest = 2 * (2 * csv_reader.MAX_FIELD_CHARS + 2) + 1
    assert message == f"line 2: longer than {longest} characters, the longest a row of 2 columns can be", message
    assert body.given <= 2 * csv_reader.READ_CHUNK_BYTES and tally.rows_read == 0


def test_a_one_million_column_header_is_rejected_after_its_first_kilobytes():
    body = Endless(b"", b"id,", 3_000_000, b"id\r\n1\r\n")  # known names only: each counted once

    message, _ = read_endless(body)

    assert message == f"line 1: the header is longer than {csv_reader.MAX_HEADER_CHARS} characters"
    assert body.given <= 2 * csv_reader.READ_CHUNK_BYTES


def test_a_header_naming_columns_many_times_names_each_repeated_field_once():
    header = "id," * 300 + "First,first_name,Last"
    assert rejection(header.encode() + b"\r\n1,Ada,Ada,L\r\n") == "the header names first_name, id more than once"


def test_a_row_spread_over_many_lines_by_a_quote_is_bounded_like_a_long_line():
    body = Endless(b'First\r\n"', b"\r\n", 200_000_000)  # a quote, then line breaks

    message, _ = read_endless(body)

    assert message.startswith("line 2: ") and "1000 characters" in message, message
    assert body.given <= 2 * csv_reader.READ_CHUNK_BYTES


def test_a_million_blank_lines_are_skipped_and_counted():
    people, tally = read(b"First\r\n" + b"\r\n" * 1_000_000 + b"Ada,x\r\n", max_bytes=10**7)
    assert people == [] and tally.errors[0]["line"] == 1_000_002 and tally.rows_read == 1


@pytest.mark.parametrize("blank", [b"\n", b"\r\n", b"\r"])
def test_a_file_of_line_breaks_only_is_empty(blank):
    assert rejection(blank * 1_000_000, max_bytes=10**7) == "the file is empty"


def test_the_deadline_is_checked_while_skipping_blank_lines():
    with pytest.raises(DeadlinePassed):
        read(b"First\r\n" + b"\r\n" * 1_000_000, deadline=0.0, max_bytes=10**7)


# Messages name what is wrong, never the cells of a data row, and stay short.


def test_a_file_without_a_header_is_rejected_without_its_cells():
    message = rejection(b"1,Alice,Secretname,30,alice-gh,\r\n2,Bob,Other,31,,\r\n")

    assert message.startswith("line 1 is not a header: none of its 6 cells is a column name"), message
    for value in ("Alice", "Secretname", "alice-gh", "'1'", "'30'"):
        assert value not in message


def test_a_headerless_first_row_with_a_cell_like_a_column_name_is_rejected_without_its_cells():
    # A person whose last name is "Age": one cell of the first row names a column, the others are values
    message = rejection(b"1,Alice,Age,30,alice-gh,\r\n2,Bob,Other,31,,\r\n")

    assert message.startswith(
        "the header has 5 unknown columns (the 1st to 2nd and 4th to 6th cells are not column names); "
    ), message
    for value in ("Alice", "alice-gh", "'1'", "30"):
        assert value not in message


def test_unknown_columns_of_a_header_are_counted_and_placed_never_quoted():
    names = ["First", "Nickname", "E" * 300, "Last", *[f"Extra{i}" for i in range(2, 60, 2) for _ in (0, 1)][:40]]
    names[10] = "Age"  # runs of unknown cells: 2-3, 5-10, 12-44

    message = rejection(",".join(names).encode() + b"\r\nAda\r\n")

    assert message.startswith(
        "the header has 41 unknown columns (the 2nd to 3rd, 5th to 10th and 12th to 44th cells are not column names); "
    ), message
    assert "Nickname" not in message and "EEE" not in message and "Extra" not in message
    assert rejection(b"First,Nickname\r\nAda,x\r\n").startswith(
        "the header has 1 unknown column (the 2nd cell is not a column name); "
    )
    many_runs = rejection(",".join(["First", "x"] * 20).encode() + b"\r\nAda\r\n")
    assert "(the 2nd, 4th, 6th, 8th, 10th and 15 more cells are not column names)" in many_runs, many_runs
    assert len(message) <= MAX_MESSAGE_CHARS


@pytest.mark.parametrize(
    "header",
    ["\x01" * 900, "First," + "\u200b\x7f" * 400, "First," + ",".join(["\U0001f600" * 40] * 20)],
    ids=["control characters", "invisible", "emoji"],
)
def test_every_rejection_of_a_header_stays_under_the_message_limit(header):
    message = rejection(header.encode() + b"\r\nAda\r\n")
    assert len(message) <= MAX_MESSAGE_CHARS and "\x01" not in message
