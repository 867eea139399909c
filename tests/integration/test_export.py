"""The export, through the real handlers: S3 and SQS from moto, the people and exports tables in MariaDB.

An export is written, downloaded, and imported back by the real import into an empty table: the same people.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import date

import boto3
import pytest
from moto import mock_aws

from conftest import invoke, load_event, reply, rest_event
from people_api import db
from people_api.config import database_settings, read_settings
from people_api.exports import s3_export
from people_api.exports import store as exports_store
from people_api.exports.record import FAILED, QUEUED, SUCCEEDED
from people_api.imports import loader, s3_import
from people_api.imports.record import ObjectRef
from people_api.people import store as people_store
from people_api.people.person import MAX_ID, NewPerson, StoredPerson, person_from_json, utc_today

REGION = "eu-west-1"
EXPORT_BUCKET = "people-export-test"
IMPORT_BUCKET = "people-import-test"
SMALL = s3_export.Sizes(page_rows=1000, part_bytes=16 * 1024)  # many pages and parts from a few thousand people
HEADER = "ID,First,Last,Age,GithubAcct,Date of 3rd Grade Graduation"

# Names at the CSV's edges: quotes, commas, both, a quote alone, unicode (an emoji takes 4 bytes), characters a
# collation could take for a quote or a comma (fullwidth), leading and inner spaces kept by the rules.
HOSTILE_PEOPLE = [
    {"id": 1, "first_name": 'Dwayne "The Rock"', "last_name": "Johnson", "age": 51},
    {"id": 2, "first_name": "Smith, Jr.", "last_name": 'O"Brien, "Pat"', "github_account": "pat-ob"},
    {"id": 3, "first_name": '"', "last_name": ",", "third_grade_graduation": "2001-06-25"},
    {"id": 4, "first_name": "Zoë 😀", "last_name": "Ångström-李", "age": 0},
    {"id": 5, "first_name": "＂quoted＂", "last_name": "a，b", "age": 150},
    {"id": 6, "last_name": "Only Last", "third_grade_graduation": "6/25/1999"},
    {"id": 100, "first_name": "Gap", "last_name": "After", "age": 47, "third_grade_graduation": "1988-06-25"},
]


@pytest.fixture
def aws(empty_db, monkeypatch):
    """The export bucket and queue in moto, the import bucket for the round trip, and the functions' settings."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "EXPORT_BUCKET": EXPORT_BUCKET,
        "DB_LOCAL_INFILE": "true",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        # moto refuses parts under 5 MiB as S3 does; SMALL's parts are 16 KiB so that a few thousand people fill many
        monkeypatch.setattr("moto.s3.models.S3_UPLOAD_PART_MIN_SIZE", SMALL.part_bytes)
        for cached in (s3_export.s3_client, s3_export.sqs_client, s3_import.s3_client):
            cached.cache_clear()
        s3 = boto3.client("s3", region_name=REGION)
        for bucket in (EXPORT_BUCKET, IMPORT_BUCKET):
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(QueueName="export-queue")["QueueUrl"]
        monkeypatch.setenv("EXPORT_QUEUE_URL", queue_url)
        db.close()
        yield s3, sqs, queue_url
    for cached in (s3_export.s3_client, s3_export.sqs_client, s3_import.s3_client):
        cached.cache_clear()
    db.close()


def add_people(people: list[dict]) -> None:
    for person in people:
        people_store.add_person(person_from_json(person, utc_today()))


def add_many(count: int, first_id: int) -> None:
    """`count` people with chosen ids from `first_id`, every field filled in turn, loaded as the import loads them."""
    generated = (
        NewPerson(
            first_id + n,
            f"First{n}" if n % 3 else None,
            f"Last, {n}" if n % 5 == 0 else f"Last{n}",
            n % 151 if n % 2 else None,
            f"gh-{n}" if n % 4 == 0 else None,
            date(1990 + n % 30, 1 + n % 12, 1 + n % 28) if n % 7 == 0 else None,
        )
        for n in range(count)
    )
    with db.transaction(db.connection()) as cur:
        loader.load_people(cur, generated, "insert")


def stored_people() -> list[tuple]:
    """Every person's fields (not its version and timestamps), in id order."""
    with db.cursor() as cur:
        cur.execute(f"SELECT {people_store.COLUMNS} FROM people ORDER BY id")
        return [tuple(StoredPerson(*row).fields()) for row in cur.fetchall()]


def sqs_event(*bodies: str) -> dict:
    """What Lambda's SQS event source mapping hands the function, one record per message body."""
    event = load_event("export_people")
    template = event["Records"][0]
    event["Records"] = [template | {"messageId": str(uuid.uuid4()), "body": body} for body in bodies]
    return event


def deliver(export_id: int, sizes: s3_export.Sizes = SMALL, s3=None) -> dict:
    """One delivery of the export's message to the export function's code (its handler takes the default sizes)."""
    return s3_export.handle_event(
        sqs_event(json.dumps({"export_id": export_id})),
        db.connection(),
        s3 or s3_export.s3_client(),
        lambda: 900.0,
        read_settings(),
        sizes,
    )


def api(function: str, method: str, path: str, resource: str, **parts):
    return reply(invoke(function, rest_event(method, path, resource, **parts)))


def post_export():
    return api("create_export", "POST", "/exports", "/exports")


def get_export(export_id) -> dict:
    answer = api("get_export", "GET", f"/exports/{export_id}", "/exports/{id}", path_params={"id": str(export_id)})
    assert answer.status == 200, answer.body
    return answer.json


def exported_objects(s3) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=EXPORT_BUCKET).get("Contents", [])]


def download(url: str) -> bytes:
    """The file at a pre-signed URL, fetched as a plain HTTP client would (moto answers the mocked endpoint)."""
    import requests

    answer = requests.get(url, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.content


def test_an_export_imported_into_an_empty_table_gives_the_same_people(aws):
    s3, sqs, queue_url = aws
    # Given people with names at the CSV's edges, and thousands more over many pages and parts
    add_people(HOSTILE_PEOPLE)
    add_many(4000, first_id=1000)
    before = stored_people()

    # When an export is asked for and its message delivered
    posted = post_export()
    assert posted.status == 202 and posted.json["status"] == QUEUED
    (message,) = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    assert json.loads(message["Body"]) == {"export_id": posted.json["id"]}
    result = s3_export.handle_event(
        sqs_event(message["Body"]), db.connection(), s3_export.s3_client(), lambda: 900.0, read_settings(), SMALL
    )

    # Then the record says it succeeded with every person, and gives a URL to the file
    export_id = posted.json["id"]
    assert result == {str(export_id): SUCCEEDED}
    record = get_export(export_id)
    assert record["status"] == SUCCEEDED and record["progress"]["rows_written"] == len(before)
    data = download(record["download"]["url"])
    assert record["progress"]["bytes_written"] == len(data)
    (key,) = exported_objects(s3)
    assert key.startswith("exports/") and key.endswith(f"-export-{export_id}.csv")
    assert s3.head_object(Bucket=EXPORT_BUCKET, Key=key, PartNumber=1)["PartsCount"] > 3
    # And the file is the import's CSV: its header, UTF-8, one line per person in id order, dates as YYYY-MM-DD
    text = data.decode("utf-8")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == HEADER.split(",")
    assert [int(row[0]) for row in rows[1:]] == [person[0] for person in before]
    assert rows[4] == ["4", "Zoë 😀", "Ångström-李", "0", "", ""]
    assert rows[6] == ["6", "", "Only Last", "", "", "1999-06-25"]
    assert '1,"Dwayne ""The Rock""",Johnson,51,,\n' in text

    # When the file is imported into an empty table
    with db.cursor() as cur:
        cur.execute("TRUNCATE TABLE people")
    put = s3.put_object(Bucket=IMPORT_BUCKET, Key="export.csv", Body=data)
    obj = ObjectRef(IMPORT_BUCKET, "export.csv", put["ETag"].strip('"'), None, len(data))
    report = s3_import.import_object(db.connection(), s3, obj, read_settings(), float("inf"))

    # Then every row is taken, and the people are the same: ids and every field
    assert report["rows"] == counts(read=len(before), inserted=len(before))
    assert stored_people() == before

    # When the same file is imported again into the same people, as an upsert
    versions = stored_versions()
    put = s3.put_object(Bucket=IMPORT_BUCKET, Key="upsert/export.csv", Body=data)
    obj = ObjectRef(IMPORT_BUCKET, "upsert/export.csv", put["ETag"].strip('"'), None, len(data))
    report = s3_import.import_object(db.connection(), s3, obj, read_settings(), float("inf"))

    # Then it changes nothing: every row unchanged, no version or updated_at moved
    assert report["status"] == "succeeded" and report["mode"] == "upsert"
    assert report["rows"] == counts(read=len(before), unchanged=len(before))
    assert stored_people() == before and stored_versions() == versions


def counts(**given: int) -> dict[str, int]:
    """An import's row counts: those given, every other zero."""
    names = ("read", "inserted", "updated", "unchanged", "deleted", "conflict", "duplicate", "rejected")
    return {name: given.get(name, 0) for name in names}


def stored_versions() -> list[tuple]:
    with db.cursor() as cur:
        cur.execute("SELECT id, version, updated_at, change_id FROM people ORDER BY id")
        return cur.fetchall()


def test_an_empty_table_exports_a_header_alone(aws):
    s3, _, _ = aws
    export_id = post_export().json["id"]

    assert deliver(export_id, s3_export.Sizes()) == {str(export_id): SUCCEEDED}

    record = get_export(export_id)
    assert download(record["download"]["url"]) == (HEADER + "\n").encode()
    assert record["progress"]["rows_written"] == 0


def test_the_file_is_the_table_at_one_moment_whatever_is_written_meanwhile(aws, monkeypatch):
    # Given 3,000 people, and a write that lands after the export read its first page
    add_many(3000, first_id=1)
    read_page = exports_store.csv_lines
    pages = []

    def page_then_write(conn, after_id, count):
        answer = read_page(conn, after_id, count)
        if not pages:
            with db.cursor() as cur:  # another connection, committed at once
                cur.execute("DELETE FROM people WHERE id > 2500")
            add_people([{"id": 9000, "last_name": "Late"}])
        pages.append(answer[0])
        return answer

    monkeypatch.setattr(exports_store, "csv_lines", page_then_write)
    export_id = post_export().json["id"]

    deliver(export_id)

    # Then the file holds the 3,000 as they were when it began, not the late one
    data = download(get_export(export_id)["download"]["url"]).decode()
    ids = [int(line.split(",")[0]) for line in data.splitlines()[1:]]
    assert ids == list(range(1, 3001))


def test_a_duplicate_delivery_after_the_export_does_nothing(aws):
    s3, _, _ = aws
    add_people(HOSTILE_PEOPLE)
    export_id = post_export().json["id"]
    deliver(export_id)
    first = get_export(export_id)

    assert deliver(export_id) == {str(export_id): "already done"}

    (key,) = exported_objects(s3)
    assert first["download"]["url"].split("?")[0].endswith(key)
    again = get_export(export_id)
    assert (again["attempts"], again["timings"]) == (1, first["timings"])


def test_a_delivery_while_another_holds_the_export_does_nothing(aws):
    s3, _, _ = aws
    export_id = post_export().json["id"]
    # Given another delivery running the export (it holds the export's lock on its own connection)
    other = db.connect(database_settings())
    try:
        assert exports_store.lock(other, export_id)

        assert deliver(export_id) == {str(export_id): "running elsewhere"}

        assert get_export(export_id)["status"] == QUEUED and exported_objects(s3) == []
    finally:
        other.close()


def test_a_delivery_after_a_crash_runs_the_export_again_until_it_gives_up(aws):
    # Given an export a crashed invocation left running (its lock went with its connection)
    add_people(HOSTILE_PEOPLE)
    export_id = post_export().json["id"]
    exports_store.start(db.connection(), export_id)

    # When the message comes back: the export runs again, a second attempt
    assert deliver(export_id) == {str(export_id): SUCCEEDED}
    assert get_export(export_id)["attempts"] == 2

    # And one that crashed on every attempt fails instead of trying forever
    crashed = post_export().json["id"]
    for _ in range(s3_export.MAX_ATTEMPTS):
        exports_store.start(db.connection(), crashed)
    assert deliver(crashed) == {str(crashed): FAILED}
    record = get_export(crashed)
    assert record["status"] == FAILED and "gave up after 3 attempts" in record["message"]
    assert record["download"] is None


class FailingS3:
    """The S3 client, failing the upload of part `fail_at` (a network failure midway)."""

    def __init__(self, s3, fail_at: int):
        self._s3, self._fail_at, self.uploaded = s3, fail_at, []

    def upload_part(self, **arguments):
        if len(self.uploaded) + 1 == self._fail_at:
            raise ConnectionError("connection reset by peer")
        self.uploaded.append(len(arguments["Body"]))
        return self._s3.upload_part(**arguments)

    def __getattr__(self, name):
        return getattr(self._s3, name)


def test_a_failure_midway_leaves_no_file_and_says_failed(aws):
    s3, _, _ = aws
    add_many(3000, first_id=1)
    export_id = post_export().json["id"]
    failing = FailingS3(s3_export.s3_client(), fail_at=3)

    assert deliver(export_id, s3=failing) == {str(export_id): FAILED}

    # The record says failed and why, with how far it got; no file, not even a partial one; the upload aborted
    record = get_export(export_id)
    assert record["status"] == FAILED and record["message"] == "ConnectionError: connection reset by peer"
    assert record["download"] is None and record["progress"]["bytes_written"] == sum(failing.uploaded)
    assert len(failing.uploaded) == 2 and min(failing.uploaded) >= SMALL.part_bytes
    assert exported_objects(s3) == []
    assert s3.list_multipart_uploads(Bucket=EXPORT_BUCKET).get("Uploads", []) == []
    # And a later delivery of the same message does not try again: POST /exports starts a new one
    assert deliver(export_id) == {str(export_id): "already done"}


def test_a_database_lost_midway_fails_the_export_and_aborts_the_upload(aws, monkeypatch):
    s3, _, _ = aws
    add_many(3000, first_id=1)
    read_page = exports_store.csv_lines

    def page_then_killed(conn, after_id, count):
        if after_id > 1500:
            with db.cursor() as cur:
                cur.execute("KILL CONNECTION %s", (conn.thread_id(),))
        return read_page(conn, after_id, count)

    monkeypatch.setattr(exports_store, "csv_lines", page_then_killed)
    export_id = post_export().json["id"]

    assert deliver(export_id) == {str(export_id): FAILED}

    assert get_export(export_id)["status"] == FAILED
    assert exported_objects(s3) == [] and s3.list_multipart_uploads(Bucket=EXPORT_BUCKET).get("Uploads", []) == []


def test_a_queue_that_refuses_the_message_is_a_503_and_a_failed_record(aws, monkeypatch):
    monkeypatch.setenv("EXPORT_QUEUE_URL", "https://sqs.eu-west-1.amazonaws.com/123456789012/no-such-queue")

    answer = post_export()

    assert answer.status == 503 and answer.json == {"message": "the export could not be queued; try again shortly"}
    (record,) = exports_store.exports_newest_first(MAX_ID + 1, 10)
    assert record.status == FAILED and record.message == "the export could not be queued"


def test_messages_that_name_no_export_are_left_alone(aws):
    add_people(HOSTILE_PEOPLE)
    bodies = ["", "not json", "[]", '{"export_id": "1"}', '{"export_id": -1}', '{"export_id": 1.5}', '{"other": 1}']

    result = s3_export.handle_event(
        sqs_event(*bodies, json.dumps({"export_id": 987654})), db.connection(), None, lambda: 900.0, read_settings()
    )

    assert result == {"987654": "no such export"}


def test_the_export_records_answer_no_store_and_the_statuses_in_order(aws):
    add_people(HOSTILE_PEOPLE)
    posted = post_export()
    assert posted.headers["Cache-Control"] == "no-store"
    assert posted.headers["Location"].endswith(f"/exports/{posted.json['id']}")
    assert posted.json["download"] is None and posted.json["progress"]["rows_written"] == 0
    export_id = str(posted.json["id"])
    queued = api("get_export", "GET", f"/exports/{export_id}", "/exports/{id}", path_params={"id": export_id})
    assert queued.headers["Cache-Control"] == "no-store" and queued.json["status"] == QUEUED

    deliver(posted.json["id"])

    done = get_export(posted.json["id"])
    assert done["status"] == SUCCEEDED and done["message"] is None
    assert "X-Amz-Expires=900" in done["download"]["url"]
    # the region's own endpoint, never the global one that redirects for a new bucket
    assert done["download"]["url"].startswith(f"https://{EXPORT_BUCKET}.s3.{REGION}.amazonaws.com/exports/")
    assert done["timings"]["seconds"] >= 0 and done["download"]["expires_at"].endswith("Z")


def test_exports_are_listed_newest_first_a_page_at_a_time(aws):
    ids = [post_export().json["id"] for _ in range(5)]

    first = api("list_exports", "GET", "/exports", "/exports", query={"limit": "2"})
    assert first.headers["Cache-Control"] == "no-store"
    assert [e["id"] for e in first.json["exports"]] == ids[::-1][:2]
    assert "download" not in first.json["exports"][0]
    rest = api("list_exports", "GET", "/exports", "/exports", query={"cursor": first.json["next_cursor"]})
    assert [e["id"] for e in rest.json["exports"]] == ids[::-1][2:] and rest.json["next_cursor"] is None


IMPORTS_CURSOR = "WyJpbXBvcnRzIiwyXQ.eqwx61axbnIEiUQihLVByw"  # another listing's (README's session)


@pytest.mark.parametrize("cursor", ["", "x", IMPORTS_CURSOR, "a" * 201, "WyJleHBvcnRzIiwtMV0.AAAAAAAAAAAAAAAAAAAAAA"])
def test_a_made_up_cursor_is_refused(aws, cursor):
    answer = api("list_exports", "GET", "/exports", "/exports", query={"cursor": cursor})

    assert answer.status in (400, 422) and "cursor" in answer.body


@pytest.mark.parametrize("text", ["abc", "-1", "0", "01", "1.0", "+1", " 1", "99999999999999999999", str(MAX_ID + 1)])
def test_export_ids_that_cannot_exist_are_400(aws, text):
    answer = api("get_export", "GET", f"/exports/{text}", "/exports/{id}", path_params={"id": text})

    assert answer.status == 400 and answer.json["errors"][0]["field"] == "id"


def test_an_unknown_export_is_404(aws):
    answer = api("get_export", "GET", f"/exports/{MAX_ID}", "/exports/{id}", path_params={"id": str(MAX_ID)})

    assert answer.status == 404 and answer.json == {"message": f"no export has id {MAX_ID}"}


def test_the_export_never_writes_to_the_import_bucket(aws):
    s3, _, _ = aws
    add_people(HOSTILE_PEOPLE)
    deliver(post_export().json["id"])

    assert s3.list_objects_v2(Bucket=IMPORT_BUCKET).get("KeyCount") == 0
    assert read_settings().export_bucket == EXPORT_BUCKET


def test_the_export_routes_answer_as_their_models(aws):
    from test_answers_match_models import assert_matches, model_of

    add_people(HOSTILE_PEOPLE)
    posted = post_export()
    assert_matches(model_of("POST", "/exports", 202), posted.json)
    export_id = posted.json["id"]
    deliver(export_id)
    assert_matches(model_of("GET", "/exports/{id}", 200), get_export(export_id))
    failed = post_export().json["id"]
    deliver(failed, s3=FailingS3(s3_export.s3_client(), fail_at=1))
    assert_matches(model_of("GET", "/exports/{id}", 200), get_export(failed))
    listed = api("list_exports", "GET", "/exports", "/exports")
    assert_matches(model_of("GET", "/exports", 200), listed.json)
    for status, answer in ((400, api("get_export", "GET", "/exports/x", "/exports/{id}", path_params={"id": "x"})),):
        assert answer.status == status
        assert_matches(model_of("GET", "/exports/{id}", status), answer.json)


def test_export_records_are_purged_after_the_export_retention_by_the_daily_function(aws, monkeypatch):
    # Given exports finished 8 days ago and 6 days ago, and one running since a minute ago on an old record
    conn = db.connection()
    old, recent, running = (post_export().json["id"] for _ in range(3))
    for export_id in (old, recent):
        exports_store.start(conn, export_id)
        exports_store.finish(conn, export_id, SUCCEEDED, None, 7, 311, f"exports/{export_id}.csv")
    exports_store.start(conn, running)
    with conn.cursor() as cur:  # back-date them: the test's SQL, not the layer's
        for export_id, days in ((old, 8), (recent, 6), (running, 30)):
            cur.execute(
                "UPDATE exports SET created_at = UTC_TIMESTAMP(3) - INTERVAL %s DAY,"
                " finished_at = IF(finished_at IS NULL, NULL, UTC_TIMESTAMP(3) - INTERVAL %s DAY) WHERE id = %s",
                (days, days, export_id),
            )
    monkeypatch.setenv("EXPORT_RETENTION_DAYS", "7")

    # When the daily purge runs
    counts = invoke("purge_exports", load_event("purge_exports"))

    # Then only the old one is gone
    assert counts == {"finished": 1, "never_finished": 0, "batches": 2, "complete": True}
    assert [r.id for r in exports_store.exports_newest_first(MAX_ID + 1, 10)] == [running, recent]


def test_line_breaks_a_name_got_past_the_rules_with_are_quoted_so_the_file_stays_valid_csv(aws):
    # Given names the rules would refuse, written straight into the table (by hand, by an old version)
    add_people([{"id": 1, "last_name": "placeholder"}, {"id": 2, "last_name": "placeholder"}])
    with db.cursor() as cur:
        cur.execute("UPDATE people SET first_name = %s, last_name = %s WHERE id = 1", ("two\nlines", 'cr\r"q"'))
        cur.execute("UPDATE people SET first_name = %s WHERE id = 2", ("tab\there, no comma",))
    export_id = post_export().json["id"]

    deliver(export_id)

    # Then a CSV reader reads every value back as it is stored
    data = download(get_export(export_id)["download"]["url"]).decode()
    rows = list(csv.reader(io.StringIO(data, newline="")))
    assert rows[1][:3] == ["1", "two\nlines", 'cr\r"q"'] and rows[2][:3] == ["2", "tab\there, no comma", "placeholder"]


def test_an_export_that_would_outlive_its_invocation_stops_and_says_so(aws):
    s3, _, _ = aws
    add_people(HOSTILE_PEOPLE)
    export_id = post_export().json["id"]

    # When the invocation has less time left than the export's margin (20 s)
    result = s3_export.handle_event(
        sqs_event(json.dumps({"export_id": export_id})),
        db.connection(),
        s3_export.s3_client(),
        lambda: 10.0,
        read_settings(),
    )

    # Then it stops before reading, aborts its upload and records why; no file
    assert result == {str(export_id): FAILED}
    record = get_export(export_id)
    assert record["message"] == "TimeoutError: stopped after 0 people: the invocation is about to time out"
    assert exported_objects(s3) == [] and s3.list_multipart_uploads(Bucket=EXPORT_BUCKET).get("Uploads", []) == []
