"""Reading people from CSV bytes (no I/O): header mapping, text checks, row errors with their line."""

import io
from datetime import date

import pytest

from people_api.imports.csv_reader import DeadlinePassed, FileRejected, Tally, read_people

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
