"""The CSV import, through the real handler: S3 from moto (S3 only), the people and imports tables in MariaDB."""

from __future__ import annotations

import copy
import csv
import io
import json
import threading
import time
import urllib.request
from dataclasses import dataclass
from datetime import date
from urllib.parse import quote_plus

import boto3
import pymysql
import pytest
from moto import mock_aws
from moto.server import ThreadedMotoServer

from conftest import PEOPLE_CSV, invoke, load_event, load_template, run_together
from devstack.ports import free_port
from devstack.settings import aws_client
from people_api import db
from people_api.config import database_settings, read_settings
from people_api.imports import csv_reader, outcome, s3_import
from people_api.imports import store as imports_store
from people_api.observability import MAX_LOG_LINE_CHARS, logger
from people_api.people import store as people_store
from people_api.people.person import StoredPerson, person_from_json, utc_today

BUCKET = "people-import"
METHODS = ["load_data", "insert"]


@dataclass
class Bucket:
    s3: object
    name: str = BUCKET

    def put(self, key: str, data: bytes | str) -> dict:
        """Upload an object; answer with the ObjectCreated event S3 would send for it."""
        body = data.encode() if isinstance(data, str) else data
        put = self.s3.put_object(Bucket=self.name, Key=key, Body=body)
        return s3_event(key, put["ETag"].strip('"'), put.get("VersionId"), len(body))

    def report(self, key: str) -> dict:
        return json.loads(self.s3.get_object(Bucket=self.name, Key=key)["Body"].read())

    def reports(self) -> list[str]:
        listing = self.s3.list_objects_v2(Bucket=self.name, Prefix="reports/")
        return sorted(o["Key"] for o in listing.get("Contents", []))


def s3_event(key: str, etag: str, version_id: str | None, size: int) -> dict:
    event = load_event("import_csv")
    obj = event["Records"][0]["s3"]["object"]
    obj.update(key=quote_plus(key, safe="/"), eTag=etag, size=size)  # S3 URL-encodes keys, a space as "+"
    if version_id:
        obj["versionId"] = version_id
    else:
        del obj["versionId"]
    return event


@pytest.fixture
def bucket(empty_db, monkeypatch):
    """A versioned bucket in moto, an empty database, and the handler's S3 client made inside the mock.

    The database connection is the import function's, with LOAD DATA LOCAL allowed as the template allows it.
    """
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "DB_LOCAL_INFILE": "true",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    with mock_aws():
        s3_import.s3_client.cache_clear()
        s3 = boto3.client("s3", region_name="eu-west-1")
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        db.close()  # the next connection is opened with the import function's settings
        yield Bucket(s3)
    s3_import.s3_client.cache_clear()
    db.close()


@pytest.fixture(params=METHODS)
def method(request, monkeypatch):
    """Each loading technique: LOAD DATA LOCAL INFILE, and the INSERT IGNORE path used where it is off."""
    monkeypatch.setenv("IMPORT_LOAD_METHOD", request.param)
    return request.param


def import_event(event: dict) -> list[dict]:
    return invoke("import_csv", event)["reports"]


def only_report(event: dict) -> dict:
    (report,) = import_event(event)
    return report


def stored_people() -> list[tuple]:
    """The person fields of every row (not its version and timestamps)."""
    with db.cursor() as cur:
        cur.execute(f"SELECT {people_store.COLUMNS} FROM people ORDER BY id")
        return [tuple(StoredPerson(*row).fields()) for row in cur.fetchall()]


def people_count() -> int:
    with db.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM people")
        return cur.fetchone()[0]


def imports_rows() -> list[tuple]:
    with db.cursor() as cur:
        cur.execute("SELECT id, status, attempts, rows_inserted FROM imports ORDER BY id")
        return list(cur.fetchall())


def expected_people_csv() -> list[tuple]:
    with PEOPLE_CSV.open(encoding="utf-8-sig", newline="") as f:
        return [tuple(person_from_json(row, utc_today())) for row in csv.DictReader(f)]


def _with_body(response: dict, wrapper, *args) -> dict:
    """GetObject's answer (s3_import._open's) with its body wrapped."""
    return response | {"Body": wrapper(response["Body"], *args)}


def added(**counts: int) -> dict[str, int]:
    """An add's rows as the record and report give them: the counts of the other modes are 0."""
    return (
        dict.fromkeys(("read", "inserted", "updated", "unchanged", "deleted", "conflict", "duplicate", "rejected"), 0)
        | counts
    )


def generated_csv(rows: int, first_id: int = 1001) -> bytes:
    lines = ["ID,First,Last,Age,GithubAcct,Date of 3rd Grade Graduation"]
    year = utc_today().year
    lines += [
        f"{i},First{i},Last{i % 97},{i % 90 + 10},,6/25/{(year - i % 90 - 1) % 100:02d}"
        for i in range(first_id, first_id + rows)
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


# people.csv


def test_people_csv_imports_as_the_seven_people(bucket, method):
    # Given people.csv, with its BOM, CRLF line ends and no newline after the last line
    data = PEOPLE_CSV.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data and not data.endswith(b"\n")

    # When it is dropped into the bucket
    report = only_report(bucket.put("people.csv", data))

    # Then the 7 people are stored as the person rules make them
    assert report["status"] == "succeeded" and report["load_method"] == method
    assert report["rows"] == added(read=7, inserted=7, duplicate=0, rejected=0)
    assert stored_people() == expected_people_csv()


def test_people_csv_imported_again_under_another_key_gives_seven_duplicates(bucket, method):
    only_report(bucket.put("people.csv", PEOPLE_CSV.read_bytes()))

    report = only_report(bucket.put("again/people.csv", PEOPLE_CSV.read_bytes()))

    assert report["status"] == "succeeded"
    assert report["rows"] == added(read=7, inserted=0, duplicate=7, rejected=0)
    assert stored_people() == expected_people_csv()


# Messy files


def test_quotes_commas_and_odd_characters_are_stored_as_given_and_control_characters_rejected(bucket, method):
    data = (
        "\ufeffID,First,Last,Age\r\n"
        '1,"Smith, Jr.","O""Neil",30\r\n'
        '2,"Anne\r\nMarie",Zoë,\r\n'
        "3,=SUM(A1),+1 Plus,\r\n"
        "4,-dash,@at,\r\n"
        '5,"tab\there","back\\slash",\r\n'
        '6,\\N,"new\nline",40\r\n'
        '7,100%s,"x\'); DROP TABLE people; --",41'
    )
    report = only_report(bucket.put("messy.csv", data))

    assert report["rows"] == added(read=7, inserted=4, duplicate=0, rejected=3), report
    assert [(p[0], p[1], p[2]) for p in stored_people()] == [
        (1, "Smith, Jr.", 'O"Neil'),
        (3, "=SUM(A1)", "+1 Plus"),
        (4, "-dash", "@at"),
        (7, "100%s", "x'); DROP TABLE people; --"),
    ]
    # Line breaks and tabs inside quotes are valid CSV, but names with them break the text rules
    assert [(e["line"], e["field"]) for e in report["errors"]] == [
        (3, "first_name"),
        (7, "first_name"),
        (8, "last_name"),
    ]
    assert all("control character" in e["message"] for e in report["errors"])


def test_names_a_reader_cannot_see_or_that_reorder_text_are_rejected_rows_and_nfc_is_stored(bucket, method):
    data = (
        "ID,First,Last\r\n"
        "1,\u200b,Hidden\r\n"  # zero-width space
        "2,Ada,\u3164\r\n"  # Hangul filler
        "3,\u202eevil,Override\r\n"  # right-to-left override
        "4,Ada,\u0301\r\n"  # a combining accent alone
        "5,Zoe\u0308,Nu\u0301n\u0303ez\r\n"  # NFD
        "6,\U0001f469\u200d\U0001f52c,\u0646\u0648\u0634\u200c\u0622\u0641\u0631\u06cc\u0646\r\n"  # ZWJ, ZWNJ
        "7,Ada," + "e\u0301" + "\u00e9" * 99 + "\r\n"  # 101 code points, 100 in NFC
    )

    report = only_report(bucket.put("invisible.csv", data))

    assert report["rows"] == added(read=7, inserted=3, duplicate=0, rejected=4), report
    assert [(e["line"], e["field"]) for e in report["errors"]] == [
        (2, "first_name"),
        (3, "last_name"),
        (4, "first_name"),
        (5, "last_name"),
    ]
    assert [(p[0], p[1], p[2]) for p in stored_people()] == [
        (5, "Zoë", "Núñez"),
        (6, "👩\u200d🔬", "نوش\u200cآفرین"),
        (7, "Ada", "\u00e9" * 100),
    ]


def test_the_import_loads_with_load_data_where_the_connection_allows_it_and_inserts_elsewhere(bucket, monkeypatch):
    assert only_report(bucket.put("one.csv", PEOPLE_CSV.read_bytes()))["load_method"] == "load_data"

    monkeypatch.delenv("DB_LOCAL_INFILE")  # as for the API functions
    db.close()
    report = only_report(bucket.put("two.csv", PEOPLE_CSV.read_bytes()))

    assert report["load_method"] == "insert"
    assert report["rows"] == added(read=7, inserted=0, duplicate=7, rejected=0)


def test_lf_file_without_bom_and_without_final_newline(bucket):
    report = only_report(bucket.put("lf.csv", "ID,First,Last\n1,Ada,Lovelace\n2,Alan,Turing"))
    assert report["rows"]["inserted"] == 2
    assert [p[:3] for p in stored_people()] == [(1, "Ada", "Lovelace"), (2, "Alan", "Turing")]


def test_header_in_any_case_and_order_or_with_json_names_and_without_ids(bucket, method):
    only_report(bucket.put("a.csv", "last,AGE,first\r\nLovelace,36,Ada\r\n"))
    only_report(bucket.put("b.csv", "github_account,first_name,third_grade_graduation\r\nturing,Alan,1921-06-25\r\n"))

    assert [p[1:] for p in stored_people()] == [
        ("Ada", "Lovelace", 36, None, None),
        ("Alan", None, None, "turing", date(1921, 6, 25)),
    ]
    assert [p[0] for p in stored_people()] == [1, 2]


def test_invalid_rows_are_rejected_with_line_field_and_reason_and_duplicates_counted(bucket, method):
    data = (
        "ID,First,Last,Age,GithubAcct,Date of 3rd Grade Graduation\r\n"
        "1,Ada,Lovelace,36,,\r\n"
        "x,Bad,Id,,,\r\n"
        '3,,"",,,\r\n'
        "4,Too,Many,1,,,extra\r\n"
        '5,"Multi\r\nLine",Age,151,,\r\n'
        "1,Second,Copy,,,\r\n"
    )
    report = only_report(bucket.put("rows.csv", data))

    assert report["status"] == "succeeded"
    assert report["rows"] == added(read=6, inserted=1, duplicate=1, rejected=4)
    assert [(e["line"], e["field"]) for e in report["errors"]] == [
        (3, "id"),
        (4, "first_name"),
        (5, "row"),
        (6, "first_name"),  # a line break: a control character
        (6, "age"),
    ]
    assert "151" in report["errors"][4]["message"]
    assert stored_people() == [(1, "Ada", "Lovelace", 36, None, None)]  # the first id 1 won


def test_only_the_first_100_row_errors_are_kept(bucket):
    data = "ID,First,Age\r\n" + "".join(f"{i},X,999\r\n" for i in range(1, 151))
    report = only_report(bucket.put("bad-ages.csv", data))
    assert report["rows"]["rejected"] == 150 and len(report["errors"]) == 100


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"ID,First,Last\r\n1,Jos\xe9,Block\r\n", "line 2 (byte 21): byte 0xe9 is not UTF-8 text"),
        (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", "NUL byte"),
        (b"ID,Age\r\n1,20\r\n", "neither First nor Last"),
        (b"ID,First,Nickname\r\n1,Ada,Countess\r\n", "1 unknown column (the 3rd cell is not a column name)"),
        (b"ID,First,first_name\r\n1,Ada,Ada\r\n", "first_name more than once"),
        (b"ID,First,Last\r\n", "a header but no rows"),
        (b"\r\n\r\n", "empty"),
        (b"", "empty"),
        (b'ID,First\r\n1,"' + b"a" * 2000 + b'"\r\n', "longer than 1000 characters"),
        (b'{"people": [{"first_name": "Ada"}]}', "line 1: a quote inside an unquoted field"),
        (b"1,Ada,Lovelace\r\n2,Alan,Turing\r\n", "line 1 is not a header: none of its 3 cells is a column name"),
    ],
)
def test_files_that_cannot_be_imported_are_rejected_with_a_reason(bucket, data, reason):
    report = only_report(bucket.put("bad.csv", data))

    assert report["status"] == "rejected"
    assert reason in report["message"]
    assert people_count() == 0
    assert imports_rows()[0][1] == "rejected"
    assert bucket.report(bucket.reports()[0])["message"] == report["message"]


def test_invalid_utf8_late_in_a_big_file_rejects_it_whole(bucket, method):
    data = generated_csv(20_000) + b"99999,Jos\xe9,Late\r\n"
    report = only_report(bucket.put("late.csv", data))
    assert report["status"] == "rejected" and "line 20002" in report["message"]
    assert people_count() == 0


def test_object_over_the_size_limit_is_rejected_before_reading(bucket, monkeypatch):
    monkeypatch.setenv("MAX_IMPORT_BYTES", "100")
    monkeypatch.setattr(s3_import, "_open", lambda *_: pytest.fail("the object was read"))

    report = only_report(bucket.put("people.csv", PEOPLE_CSV.read_bytes()))

    assert report["status"] == "rejected"
    assert report["message"] == "the file is 253 bytes; the limit is 100 (MAX_IMPORT_BYTES)"


def test_stream_longer_than_the_limit_is_rejected_while_reading():
    tally = outcome.Tally()
    with pytest.raises(outcome.FileRejected, match="larger than the limit of 1000 bytes"):
        list(csv_reader.read_people(io.BytesIO(generated_csv(100)), utc_today(), tally, max_bytes=1000))


# Keys and events


def test_url_encoded_key_with_spaces_plus_parentheses_and_folders(bucket):
    key = "incoming/2026 11/people (1)+copy.csv"
    event = bucket.put(key, PEOPLE_CSV.read_bytes())
    assert event["Records"][0]["s3"]["object"]["key"] == "incoming/2026+11/people+%281%29%2Bcopy.csv"

    report = only_report(event)

    assert report["status"] == "succeeded" and report["object"]["key"] == key
    (report_key,) = bucket.reports()
    assert report_key.startswith(f"reports/{key}/") and report_key.endswith("-succeeded.json")


def test_several_records_in_one_event(bucket):
    first = bucket.put("one.csv", "ID,First\r\n1,Ada\r\n")
    second = bucket.put("two.csv", "ID,First\r\n2,Alan\r\n")
    first["Records"] += second["Records"]

    reports = import_event(first)

    assert [r["object"]["key"] for r in reports] == ["one.csv", "two.csv"]
    assert [p[:2] for p in stored_people()] == [(1, "Ada"), (2, "Alan")]


def test_reports_do_not_trigger_imports(bucket):
    # The trigger passes every key (S3's suffix filter is case-sensitive), reports included ...
    template = load_template()
    trigger = template["Resources"]["ImportCsvFunction"]["Properties"]["Events"]["CsvCreated"]["Properties"]
    assert "Filter" not in trigger
    only_report(bucket.put("people.csv", PEOPLE_CSV.read_bytes()))
    [report_key] = bucket.reports()

    # ... and the handler ignores anything under reports/: no import, no record, no report of a report
    assert import_event(s3_event(report_key, "0" * 32, None, 10)) == []
    assert import_event(bucket.put("reports/people.csv", PEOPLE_CSV.read_bytes())) == []
    assert len(imports_rows()) == 1 and [k for k in bucket.reports() if k.endswith(".json")] == [report_key]


# Idempotency


def test_the_same_event_twice_imports_once(bucket):
    event = bucket.put("people.csv", PEOPLE_CSV.read_bytes())
    only_report(event)

    again = only_report(event)

    assert again["status"] == "already_imported" and "nothing was done" in again["message"]
    assert people_count() == 7
    assert imports_rows() == [(1, "succeeded", 1, 7)]
    assert [k.rsplit("-", 1)[-1] for k in bucket.reports()] == ["succeeded.json", "already_imported.json"]


def test_same_bytes_uploaded_again_to_the_same_key_is_already_imported(bucket):
    only_report(bucket.put("people.csv", PEOPLE_CSV.read_bytes()))
    assert only_report(bucket.put("people.csv", PEOPLE_CSV.read_bytes()))["status"] == "already_imported"
    # other bytes under the same key are another import
    assert only_report(bucket.put("people.csv", "ID,First\r\n8,Grace\r\n"))["rows"]["inserted"] == 1


def test_the_same_import_id_in_another_database_on_the_server_does_not_wait(bucket):
    # Given another database on this server whose import 1 holds its lock (named locks are server-wide)
    other = db.connect(database_settings(), database="information_schema")
    try:
        assert db.get_lock(other, imports_store._lock_name(1), 0)

        # When this database's import 1 runs
        report = only_report(bucket.put("people.csv", PEOPLE_CSV.read_bytes()))
    finally:
        other.close()

    # Then it is not held up by the other database's
    assert (report["import_id"], report["status"]) == (1, "succeeded")


def test_a_delivery_waiting_for_the_lock_gives_up_as_busy_before_its_connection_times_out(bucket, monkeypatch):
    # Given a connection read timeout of 3 s, and another delivery holding this content's import lock
    monkeypatch.setenv("DB_READ_TIMEOUT", "3")
    db.close()  # the import's next connection takes the shorter timeout
    event = bucket.put("people.csv", PEOPLE_CSV.read_bytes())
    holder = db.connect(database_settings())
    try:
        assert db.get_lock(holder, imports_store._lock_name(1), 0)

        # When the event is delivered
        with pytest.raises(s3_import.ImportFailed) as failed:
            import_event(event)
    finally:
        holder.close()
        db.close()

    # Then it gave up waiting as busy (Lambda retries it), not as a lost connection, and stored nothing
    assert isinstance(failed.value.__cause__, s3_import.ImportBusy)
    assert people_count() == 0


@pytest.fixture
def served_bucket(empty_db, monkeypatch):
    """The bucket on a moto server of its own, which execution environments (other processes) reach too."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    url = f"http://127.0.0.1:{server._port}"
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ENDPOINT_URL": url,
        "AWS_ENDPOINT_URL_S3": url,
        "DB_LOCAL_INFILE": "true",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    s3 = aws_client("s3", url, "eu-west-1")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    yield Bucket(s3)
    # moto's server keeps its buckets in this process's moto state: reset for the next test
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST")).close()
    server.stop()


def test_racing_deliveries_of_one_event_import_once(served_bucket, method, environments):
    # Given an object, and 4 warm environments of the import (each its own process, as in Lambda)
    event = served_bucket.put("big.csv", generated_csv(20_000))
    environments.warm("import_csv", 4, {"Records": []})  # an event that names no object: nothing imported
    start = threading.Barrier(4)
    reports: list[dict] = []

    def deliver():
        start.wait()
        reports.extend(environments.invoke("import_csv", copy.deepcopy(event))["reports"])

    # When its event is delivered 4 times at once
    run_together(deliver, [()] * 4)

    assert sorted(r["status"] for r in reports) == ["already_imported"] * 3 + ["succeeded"]
    assert people_count() == 20_000
    # One record, named by every report; its id is whichever AUTO_INCREMENT value the winning claim got
    # (a racing claim that finds the row already there still uses up a value).
    (import_id,) = {r["import_id"] for r in reports}
    assert imports_rows() == [(import_id, "succeeded", 1, 20_000)]


# All or nothing


class _BrokenBody:
    """An S3 body whose connection drops after `good_bytes`."""

    def __init__(self, body, good_bytes: int):
        self._body, self._left = body, good_bytes

    def read(self, amt: int) -> bytes:
        if self._left <= 0:
            raise ConnectionResetError("connection reset by peer (injected)")
        chunk = self._body.read(min(amt, self._left))
        self._left -= len(chunk)
        return chunk

    def close(self) -> None:
        self._body.close()


def test_a_dropped_s3_connection_midway_leaves_nothing_and_the_retry_imports(people_db, bucket, method, monkeypatch):
    before = stored_people()
    data = generated_csv(30_000)
    event = bucket.put("big.csv", data)
    real_open = s3_import._open
    monkeypatch.setattr(s3_import, "_open", lambda s3, obj: _with_body(real_open(s3, obj), _BrokenBody, len(data) // 2))

    with pytest.raises(s3_import.ImportFailed):
        import_event(event)

    assert stored_people() == before
    (failed,) = imports_rows()
    assert failed[1:3] == ("failed", 1)
    failure = bucket.report(bucket.reports()[0])
    assert failure["status"] == "failed" and "injected" in failure["message"]

    monkeypatch.setattr(s3_import, "_open", real_open)
    retry = only_report(event)
    assert retry["status"] == "succeeded" and retry["rows"]["inserted"] == 30_000
    assert people_count() == 7 + 30_000
    assert imports_rows() == [(1, "succeeded", 2, 30_000)]


def test_a_crash_in_the_middle_of_the_rows_leaves_nothing(bucket, method, monkeypatch):
    event = bucket.put("big.csv", generated_csv(30_000))
    real_clean, calls = csv_reader.clean_person, []

    def crash_at_row_20000(*args):
        calls.append(1)
        if len(calls) == 20_000:
            raise MemoryError("injected")
        return real_clean(*args)

    monkeypatch.setattr(csv_reader, "clean_person", crash_at_row_20000)
    with pytest.raises(s3_import.ImportFailed):
        import_event(event)
    assert people_count() == 0 and imports_rows()[0][1] == "failed"

    monkeypatch.setattr(csv_reader, "clean_person", real_clean)
    assert only_report(event)["rows"]["inserted"] == 30_000


def test_a_lost_database_connection_midway_leaves_nothing_and_the_retry_imports(bucket, method, monkeypatch):
    event = bucket.put("big.csv", generated_csv(30_000))
    import_connection = db.connection().thread_id()
    real_clean, calls = csv_reader.clean_person, []

    def kill_the_import_connection_at_row_15000(*args):
        calls.append(1)
        if len(calls) == 15_000:  # while earlier rows are being stored
            with db.connect(database_settings()) as admin, admin.cursor() as cur:
                cur.execute("KILL CONNECTION %s", (import_connection,))
        return real_clean(*args)

    monkeypatch.setattr(csv_reader, "clean_person", kill_the_import_connection_at_row_15000)
    with pytest.raises(s3_import.ImportFailed) as failed:
        import_event(event)
    assert isinstance(failed.value.__cause__, pymysql.err.OperationalError)
    assert people_count() == 0
    failure = bucket.report(bucket.reports()[0])
    assert failure["status"] == "failed" and failure["rows"]["read"] >= 15_000, failure

    monkeypatch.setattr(csv_reader, "clean_person", real_clean)
    retry = only_report(event)
    assert retry["status"] == "succeeded" and retry["rows"]["inserted"] == 30_000
    assert people_count() == 30_000
    assert imports_rows() == [(1, "succeeded", 2, 30_000)]


def test_running_out_of_time_stops_and_rolls_back(bucket, method):
    event = bucket.put("big.csv", generated_csv(10_000))
    almost_out_of_time = s3_import.DEADLINE_MARGIN_SECONDS - 1

    with pytest.raises(s3_import.ImportFailed) as failed:
        s3_import.handle_event(event, db.connection(), bucket.s3, lambda: almost_out_of_time, read_settings())

    assert isinstance(failed.value.__cause__, csv_reader.DeadlinePassed)
    assert people_count() == 0 and imports_rows()[0][1] == "failed"


# The imports record and the API


def test_imports_are_listed_newest_first_a_page_at_a_time(bucket, api):
    for name in ("one", "two", "three"):
        only_report(bucket.put(f"{name}.csv", f"First\r\n{name}\r\n"))

    seen, cursor = [], None
    while True:
        query = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        r = api("list_imports", "GET", "/imports", "/imports", query=query)
        assert r.status == 200
        seen += [(i["id"], i["key"]) for i in r.json["imports"]]
        cursor = r.json["next_cursor"]
        if cursor is None:
            break

    assert seen == [(3, "three.csv"), (2, "two.csv"), (1, "one.csv")]


def test_an_import_record_has_status_counts_errors_timings_and_report_key(bucket, api):
    report = only_report(bucket.put("people.csv", PEOPLE_CSV.read_bytes() + b"\r\n8,,,,,\r\n"))

    r = api("get_import", "GET", f"/imports/{report['import_id']}", "/imports/{id}", path_params={"id": "1"})

    assert r.status == 200
    record = r.json
    assert record["status"] == "succeeded" and record["key"] == "people.csv" and record["attempts"] == 1
    assert record["rows"] == added(read=8, inserted=7, duplicate=0, rejected=1)
    assert record["errors"] == [
        {"line": 9, "field": "first_name", "message": "a person needs a first_name or a last_name"}
    ]
    assert record["timings"]["seconds"] >= 0 and record["timings"]["finished_at"].endswith("Z")
    assert bucket.report(record["report_key"]) == report


def test_sample_events_answer(bucket):
    only_report(bucket.put("people.csv", PEOPLE_CSV.read_bytes()))
    listed = json.loads(invoke("list_imports", load_event("list_imports"))["body"])
    assert [i["id"] for i in listed["imports"]] == [1]
    got = json.loads(invoke("get_import", load_event("get_import"))["body"])
    assert got["id"] == 1


@pytest.mark.parametrize(("import_id", "status"), [("99", 404), ("0", 400), ("-1", 400), ("abc", 400)])
def test_missing_or_malformed_import_ids(empty_db, api, import_id, status):
    r = api("get_import", "GET", f"/imports/{import_id}", "/imports/{id}", path_params={"id": import_id})
    assert r.status == status
    assert r.json["message"]
    if status == 404:
        assert r.json == {"message": "no import has id 99"}
    else:
        assert [e["field"] for e in r.json["errors"]] == ["id"]


def test_s3_test_event_is_ignored(bucket):
    event = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": BUCKET, "RequestId": "X", "HostId": "Y"}
    assert import_event(event) == []


# Ids and refusals (issue 7)


@pytest.mark.parametrize("largest_chosen_id", [2**31 - 1, 2**31 - 2])
def test_a_file_without_ids_after_the_largest_chosen_id_is_imported_with_ids_after_it(
    bucket, method, largest_chosen_id
):
    # Given a person under the largest id a client may choose
    people_store.add_person(person_from_json({"id": largest_chosen_id, "first_name": "Top"}, utc_today()))

    # When a file without an ID column is imported
    report = only_report(bucket.put("no-ids.csv", "First,Last\nAda,Lovelace\nAlan,Turing\n"))

    # Then both people are stored, after it, and none is counted as a duplicate
    assert (report["status"], report["rows"]["inserted"], report["rows"]["duplicate"]) == ("succeeded", 2, 0)
    ids = [row[0] for row in stored_people()]
    assert ids[0] == largest_chosen_id and len(ids) == 3 and largest_chosen_id < ids[1] < ids[2] <= 2**53 - 1


@pytest.fixture
def unique_github_accounts():
    """A unique key besides the id, so that the database refuses rows for another reason than a taken id."""
    with db.cursor() as cur:
        cur.execute("ALTER TABLE people ADD UNIQUE KEY people_github_test (github_account)")
    yield
    with db.cursor() as cur:
        cur.execute("ALTER TABLE people DROP KEY people_github_test")


@pytest.mark.parametrize(
    "csv_text",
    [
        "First,GithubAcct\nAda,same\nAlan,same\n",  # no ids: nothing can be a duplicate
        "ID,First,GithubAcct\n10,Ada,same\n11,Alan,same\n",  # free ids refused by another key
    ],
)
def test_a_row_refused_for_another_reason_than_a_taken_id_rejects_the_file(
    bucket, method, unique_github_accounts, csv_text
):
    report = only_report(bucket.put("refused.csv", csv_text))

    assert report["status"] == "rejected"
    assert "another reason than an id a person already has" in report["message"]
    assert "same" not in report["message"]  # names the key, not the value
    assert people_count() == 0


def test_a_taken_id_among_refused_rows_is_still_counted_only_when_taken(bucket, method, unique_github_accounts):
    people_store.add_person(person_from_json({"id": 10, "first_name": "Taken"}, utc_today()))

    report = only_report(bucket.put("mixed.csv", "ID,First,GithubAcct\n10,Ada,a\n11,Alan,a\n12,Grace,a\n"))

    assert report["status"] == "rejected"
    assert [row[0] for row in stored_people()] == [10]


# Personal data in what the import keeps


def test_row_errors_never_echo_a_rows_values(bucket, api):
    # Given rows that are rejected, each with personal values in its other cells
    data = (
        "ID,First,Last,Age,GithubAcct,Date of 3rd Grade Graduation\r\n"
        "1,Secretfirst,Secretlast,999,secret-account,6/25/99\r\n"
        "2,Otherfirst,Otherlast,30,other-account,not a date\r\n"
        "3,Cellfirst,Celllast,31,cell-account,6/25/99,extra-cell-value\r\n"
    )
    report = only_report(bucket.put("private.csv", data))
    record = api("get_import", "GET", "/imports/1", "/imports/{id}", path_params={"id": "1"}).json

    # Then the errors name line and field, and no value of another cell appears in them
    where = [(e["line"], e["field"]) for e in report["errors"]]
    assert where == [(2, "age"), (3, "third_grade_graduation"), (4, "row")]
    kept = json.dumps(report["errors"]) + json.dumps(record["errors"]) + json.dumps(bucket.report(record["report_key"]))
    values = ("Secretfirst", "Secretlast", "secret-account", "Otherfirst", "Otherlast", "other-account")
    for value in (*values, "Cellfirst", "Celllast", "cell-account", "extra-cell-value"):
        assert value.lower() not in kept.lower()


def test_the_import_sets_created_at_and_updated_at(bucket, method, api):
    only_report(bucket.put("people.csv", PEOPLE_CSV.read_bytes()))
    people = api("list_people", "GET", "/people", "/people").json["people"]
    assert len(people) == 7
    assert all(p["created_at"].endswith("Z") and p["updated_at"] == p["created_at"] for p in people)
    with db.cursor() as cur:
        cur.execute("SELECT MIN(TIMESTAMPDIFF(SECOND, created_at, UTC_TIMESTAMP())) FROM people")
        assert 0 <= cur.fetchone()[0] < 60  # UTC, just now


# Progress while a file loads


class _SlowBody:
    """An S3 body that hands out 16 KiB every 0.1 s (a slow network), and drops after `good_bytes` if given."""

    def __init__(self, body, good_bytes: int | None = None):
        self._body, self._left = body, good_bytes

    def read(self, amt: int) -> bytes:
        time.sleep(0.1)
        if self._left is not None and self._left <= 0:
            raise ConnectionResetError("connection reset by peer (injected)")
        chunk = self._body.read(min(amt, 16 * 1024, self._left if self._left is not None else amt))
        if self._left is not None:
            self._left -= len(chunk)
        return chunk

    def close(self) -> None:
        self._body.close()


def _import_while_watching(api, event: dict) -> tuple[list[dict], list]:
    """Run the import in a thread; poll GET /imports/{id} until it ends (`api` calls, each in an execution
    environment of its own: never two handlers in one process). The records seen while it ran, and the
    import's outcome (its reports, or the exception it raised)."""
    outcome: list = []

    def run() -> None:
        try:
            outcome.append(import_event(event))
        except Exception as error:
            outcome.append(error)
        finally:
            db.close()  # this thread's own connection

    api("list_imports", "GET", "/imports", "/imports")  # the readers' cold starts, before the import starts
    api("get_import", "GET", "/imports/1", "/imports/{id}", path_params={"id": "1"})
    importer = threading.Thread(target=run)
    importer.start()
    seen = []
    while importer.is_alive():
        listed = api("list_imports", "GET", "/imports", "/imports").json["imports"]
        if listed:
            import_id = str(listed[0]["id"])
            record = api("get_import", "GET", f"/imports/{import_id}", "/imports/{id}", path_params={"id": import_id})
            if record.json["status"] == "running":
                seen.append(record.json)
        time.sleep(0.2)
    importer.join()
    return seen, outcome


def test_a_slow_import_shows_its_progress_while_it_runs_then_its_final_figures(
    bucket, method, environment_api, monkeypatch
):
    api = environment_api
    # Given a file of 20,000 rows whose stream takes about 4 s
    data = generated_csv(20_000)
    event = bucket.put("slow.csv", data)
    real_open = s3_import._open
    monkeypatch.setattr(s3_import, "_open", lambda s3, obj: _with_body(real_open(s3, obj), _SlowBody))

    # When it is imported while a client polls GET /imports/{id}
    seen, outcome = _import_while_watching(api, event)

    # Then the running record shows rows and bytes growing, with a share of the file, a rate and time left
    progress = [(r["rows"]["read"], r["progress"]["bytes_read"]) for r in seen if r["progress"]["updated_at"]]
    assert len(set(progress)) >= 2, seen
    assert progress == sorted(progress) and progress[0] < progress[-1]
    midway = [r for r in seen if 0 < r["progress"]["bytes_read"] < len(data)]
    assert midway, seen
    moving = midway[0]
    assert 0 < moving["progress"]["percent"] < 100 and moving["progress"]["rows_per_second"] > 0
    assert moving["progress"]["seconds_left"] > 0 and moving["rows"]["read"] < 20_000
    # ... and once it ended, its final figures
    [[report]] = outcome
    final = api("get_import", "GET", f"/imports/{report['import_id']}", "/imports/{id}", path_params={"id": "1"}).json
    assert final["status"] == "succeeded" and final["rows"] == report["rows"]
    assert final["progress"]["bytes_read"] == len(data) and final["progress"]["percent"] == 100
    assert final["progress"]["seconds_left"] is None


def test_a_running_import_says_its_mode_and_dry_run_while_it_runs(bucket, method, environment_api, monkeypatch):
    # Given a slow file dropped for a dry run of an upsert
    data = generated_csv(20_000)
    event = bucket.put("dry-run/upsert/slow.csv", data)
    real_open = s3_import._open
    monkeypatch.setattr(s3_import, "_open", lambda s3, obj: _with_body(real_open(s3, obj), _SlowBody))

    # When it is imported while a client polls GET /imports/{id}
    seen, outcome = _import_while_watching(environment_api, event)

    # Then the running record says what the import is doing once the object is open (before, for the moment
    # between the claim and the object's first bytes, it still says `add`), not only once it ended
    modes = [(r["mode"], r["dry_run"]) for r in seen]
    assert modes[-1] == ("upsert", True) and modes.count(("upsert", True)) >= len(modes) - 1, modes
    [[report]] = outcome
    assert report["status"] == "succeeded" and (report["mode"], report["dry_run"]) == ("upsert", True)


def test_a_failure_midway_keeps_the_progress_reached_and_no_rows(bucket, method, environment_api, monkeypatch):
    api = environment_api
    data = generated_csv(20_000)
    event = bucket.put("slow.csv", data)
    real_open = s3_import._open
    monkeypatch.setattr(
        s3_import, "_open", lambda s3, obj: _with_body(real_open(s3, obj), _SlowBody, len(data) * 2 // 3)
    )

    seen, outcome = _import_while_watching(api, event)

    assert isinstance(outcome[0], s3_import.ImportFailed)
    if method == "insert":  # 5,000-row statements: stored (not committed) as they go, and shown so
        assert any(r["rows"]["inserted"] for r in seen), seen
    assert people_count() == 0
    (record,) = api("list_imports", "GET", "/imports", "/imports").json["imports"]
    assert record["status"] == "failed" and record["rows"]["inserted"] == 0
    assert 0 < record["rows"]["read"] < 20_000
    assert 0 < record["progress"]["bytes_read"] < len(data) and 0 < record["progress"]["percent"] < 100


# Keys (issue 7): .csv in any case is imported; any other key leaves a trace.


@pytest.mark.parametrize("key", ["upper.CSV", "mixed.Csv", "drops/Mixed.cSv"])
def test_a_csv_suffix_in_any_case_is_imported(bucket, key):
    report = only_report(bucket.put(key, "ID,First\r\n1,Ada\r\n"))

    assert (report["status"], report["rows"]["inserted"]) == ("succeeded", 1)


@pytest.mark.parametrize("key", ["notes.txt", "people.csv.bak", "people.tsv", "no-suffix"])
def test_a_key_that_is_not_imported_is_recorded_as_rejected_with_a_report(bucket, key):
    report = only_report(bucket.put(key, "ID,First\r\n1,Ada\r\n"))

    assert report["status"] == "rejected"
    assert ".csv" in report["message"]
    assert people_count() == 0
    [report_key] = [k for k in bucket.reports() if k.startswith(f"reports/{key}/")]
    assert bucket.report(report_key)["status"] == "rejected"
    assert [row[1] for row in imports_rows()] == ["rejected"]


# Strict CSV (issue 15): nothing after a misplaced quote vanishes without a word.


@pytest.mark.parametrize(
    ("second_line", "problem"),
    [('"Alan,Turing\r\n', "never closed"), ('Alan,Tu"ring\r\n', "quote inside an unquoted field")],
)
def test_a_misplaced_quote_rejects_the_file_naming_its_line(bucket, method, api, second_line, problem):
    # Given a header and four data lines, the second of which has a misplaced quote
    data = "First,Last\r\nAda,Lovelace\r\n" + second_line + "Grace,Hopper\r\nEdsger,Dijkstra\r\n"

    # When it is imported
    report = only_report(bucket.put("quote.csv", data))

    # Then nothing is imported, and the report names the line; the one row before it was read
    assert report["status"] == "rejected" and report["message"].startswith("line 3: "), report
    assert problem in report["message"]
    assert report["rows"]["read"] == 1 and people_count() == 0
    record = api("get_import", "GET", "/imports/1", "/imports/{id}", path_params={"id": "1"}).json
    assert record["message"] == report["message"]


# No personal values in logs, records or reports; every message and log line bounded (issue 15)


@pytest.fixture
def log_lines():
    """The JSON lines the layer's logger writes while the test runs (parsed), each checked to be short enough
    not to need the logger's cut (MAX_LOG_LINE_CHARS): the import's lines are short by what they hold."""
    stream = io.StringIO()
    terminal = logger.registered_handler.setStream(stream)

    def lines() -> list[dict]:
        written = [json.loads(line) for line in stream.getvalue().splitlines()]
        cut = [(line["message"], line["cut_from_chars"]) for line in written if "cut_from_chars" in line]
        assert not cut, f"log lines cut from their length: {cut}"
        assert all(len(line) <= MAX_LOG_LINE_CHARS for line in stream.getvalue().splitlines())
        return written

    yield lines
    logger.registered_handler.setStream(terminal)


def everything_kept(bucket, api, report: dict, log_lines) -> str:
    """The log lines, the import's record and its S3 report, as one text."""
    import_id = str(report["import_id"])
    record = api("get_import", "GET", f"/imports/{import_id}", "/imports/{id}", path_params={"id": import_id}).json
    return json.dumps([log_lines(), record, bucket.report(record["report_key"])], ensure_ascii=False)


def test_a_file_without_a_header_is_rejected_without_its_cells_in_logs_record_or_report(bucket, api, log_lines):
    report = only_report(bucket.put("no-header.csv", "1,Alice,Secretname,30,alice-gh,\r\n2,Bob,Other,31,bob-gh,\r\n"))

    assert report["status"] == "rejected"
    assert report["message"].startswith("line 1 is not a header: none of its 6 cells is a column name")
    kept = everything_kept(bucket, api, report, log_lines)
    for value in ("Alice", "Secretname", "alice-gh", "Bob", "bob-gh"):
        assert value not in kept
    assert any(line["message"] == "import finished" for line in log_lines())


def test_a_10_mb_header_gives_a_short_message_report_and_log(bucket, api, log_lines):
    header = "First," + ",".join(f"Secret{i}" for i in range(1_000_000))

    report = only_report(bucket.put("wide.csv", header + "\r\nAda\r\n"))

    assert report["status"] == "rejected" and report["message"] == "line 1: the header is longer than 1000 characters"
    kept = everything_kept(bucket, api, report, log_lines)
    assert "Secret" not in kept and len(kept) < 20_000


def test_a_headerless_file_whose_first_row_has_a_column_name_is_rejected_without_its_cells(bucket, api, log_lines):
    # Given a file without a header whose first person's last name is a column's ("Age")
    data = "1,Alice,Age,30,alice-gh,\r\n2,Bob,Other,31,bob-gh,\r\n"

    report = only_report(bucket.put("no-header-but-age.csv", data))

    # Then the rejection counts and places the unknown cells, and logs, record and report never quote them
    assert report["status"] == "rejected"
    assert report["message"].startswith(
        "the header has 5 unknown columns (the 1st to 2nd and 4th to 6th cells are not column names)"
    ), report
    kept = everything_kept(bucket, api, report, log_lines)
    for value in ("Alice", "alice-gh", "Bob", "bob-gh"):
        assert value not in kept


def test_a_failure_whose_database_error_quotes_a_value_is_kept_without_it(
    bucket, method, api, log_lines, unique_github_accounts, monkeypatch
):
    # Given a person holding a GitHub account, and a fault that makes the import repeat it in a plain INSERT
    people_store.add_person(
        person_from_json({"id": 1, "first_name": "Held", "github_account": "secret-gh"}, utc_today())
    )
    real_clean = csv_reader.clean_person

    def insert_the_same_account(*cells):
        with db.connect(database_settings()) as other, other.cursor() as cur:
            cur.execute("INSERT INTO people (first_name, github_account, change_id) VALUES ('Copy', 'secret-gh', 1)")
        return real_clean(*cells)

    monkeypatch.setattr(csv_reader, "clean_person", insert_the_same_account)
    key = "a/" + "k" * 1000 + ".csv"  # near S3's longest key (1024 bytes): logged whole

    # When the import fails on the database's error, which quotes the account
    with pytest.raises(s3_import.ImportFailed) as failed:
        import_event(bucket.put(key, "First\r\nAda\r\n"))

    # Then the record, the report and the log name the error without the value, each line within its bound
    assert isinstance(failed.value.__cause__, pymysql.err.IntegrityError)
    [report_key] = bucket.reports()
    report = bucket.report(report_key)
    assert report["status"] == "failed" and report["message"].startswith("IntegrityError: (1062) Duplicate entry '…'")
    kept = everything_kept(bucket, api, report, log_lines)
    assert "secret-gh" not in kept
    [failure] = [line for line in log_lines() if line["message"] == "import failed"]
    assert failure["exception_name"] == "IntegrityError" and "(1062) Duplicate entry '…'" in failure["exception"]
    assert "insert_the_same_account" in failure["exception"]  # where it was raised: the stack's frames


@pytest.mark.parametrize(
    "error",
    [ValueError("invalid literal for int() with base 10: 'Secretname'"), RuntimeError('x "Secretname" ' * 100_000)],
    ids=["quoted", "long"],
)
def test_any_failure_is_kept_short_and_without_what_its_message_quotes(bucket, api, log_lines, monkeypatch, error):
    def fail(*_cells):
        raise error

    monkeypatch.setattr(csv_reader, "clean_person", fail)
    with pytest.raises(s3_import.ImportFailed):
        import_event(bucket.put("fails.csv", "First\r\nAda\r\n"))

    [report_key] = bucket.reports()
    report = bucket.report(report_key)
    assert report["message"].startswith(type(error).__name__) and len(report["message"]) <= 400, report["message"]
    assert "Secretname" not in everything_kept(bucket, api, report, log_lines)
