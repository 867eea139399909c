"""Import modes (imports/mode.py): upsert, mirror and dry run, through the real handler, S3 from moto, MariaDB."""

from __future__ import annotations

import pytest
from test_import_csv import BUCKET, METHODS, bucket, generated_csv, import_event, only_report  # noqa: F401

from conftest import PEOPLE_CSV
from people_api import db
from people_api.config import database_settings
from people_api.imports import csv_reader
from people_api.people import store as people_store
from people_api.people.person import StoredPerson

HEADER = "ID,First,Last,Age,GithubAcct,Date of 3rd Grade Graduation"
# people.csv as its source later says: Rob May's age fixed (none: 41), Alex Robiner's first name in another case,
# Lawrence Robiner gone, Grace Hopper new (id 8); the others as they are.
CORRECTED = "\r\n".join(
    [
        HEADER,
        "1,Matt,Conway,22,wr0ngway,6/25/01",
        "2,David,Block,76,,6/24/40",
        "3,,Robiner,16,,6/25/07",
        "4,Rob,May,41,,6/25/88",
        "5,Jason,,30,haruska,",
        "6,ALEX,Robiner,25,a-rob,1/1/03",
        "8,Grace,Hopper,85,ghopper,",
    ]
)


@pytest.fixture(params=METHODS)
def method(request, monkeypatch):
    """Each way of staging the rows: LOAD DATA LOCAL INFILE, and INSERT IGNORE where it is off."""
    monkeypatch.setenv("IMPORT_LOAD_METHOD", request.param)
    return request.param


@pytest.fixture
def seven(bucket):  # noqa: F811
    """people.csv imported as ever (add), in the bucket of `bucket`."""
    assert only_report(bucket.put("people.csv", PEOPLE_CSV.read_bytes()))["status"] == "succeeded"
    return bucket


def rows(**counts: int) -> dict[str, int]:
    names = ("read", "inserted", "updated", "unchanged", "deleted", "conflict", "duplicate", "rejected")
    return dict.fromkeys(names, 0) | counts


def people_by_id() -> dict[int, StoredPerson]:
    with db.cursor() as cur:
        cur.execute(f"SELECT {people_store.COLUMNS} FROM people ORDER BY id")
        return {row[0]: StoredPerson(*row) for row in cur.fetchall()}


def feed_of_last_change() -> tuple[set[int], set[int]]:
    """(ids written, ids erased) by the change with the largest seq."""
    with db.cursor() as cur:
        cur.execute("SELECT id FROM changes WHERE seq = (SELECT MAX(seq) FROM changes)")
        (change_id,) = cur.fetchone()
        cur.execute("SELECT id FROM people WHERE change_id = %s", (change_id,))
        written = {person_id for (person_id,) in cur.fetchall()}
        cur.execute("SELECT person_id FROM erasures WHERE change_id = %s", (change_id,))
        return written, {person_id for (person_id,) in cur.fetchall()}


def last_seq() -> int:
    with db.cursor() as cur:
        cur.execute("SELECT last_seq FROM change_counter")
        return cur.fetchone()[0]


# Upsert


def test_an_upsert_updates_changed_rows_adds_new_ones_and_leaves_identical_ones_untouched(seven, method):
    before = people_by_id()

    report = only_report(seven.put("upsert/people.csv", CORRECTED))

    assert report["status"] == "succeeded" and report["mode"] == "upsert" and report["dry_run"] is False
    assert report["rows"] == rows(read=7, inserted=1, updated=2, unchanged=4)
    assert report["changes"] == [
        {"id": 4, "change": "updated", "fields": ["age"]},
        {"id": 6, "change": "updated", "fields": ["first_name"]},
    ]
    after = people_by_id()
    # The changed people: new values, a new version and ETag, a later updated_at, created_at kept
    assert (after[4].age, after[6].first_name) == (41, "ALEX")
    for person_id in (4, 6):
        assert after[person_id].version == before[person_id].version + 1
        assert after[person_id].etag != before[person_id].etag
        assert after[person_id].updated_at > before[person_id].updated_at
        assert after[person_id].created_at == before[person_id].created_at
    # The identical ones are as they were, ETag and updated_at included; Lawrence (7) is still there
    for person_id in (1, 2, 3, 5, 7):
        assert after[person_id] == before[person_id]
    assert after[8].fields() == (8, "Grace", "Hopper", 85, "ghopper", None) and after[8].version == 1
    # And the change feed shows the upserted people, not the unchanged ones
    assert feed_of_last_change() == ({4, 6, 8}, set())
    # A case correction is found by the last-name index too
    assert people_store.ids_with_last_name("robiner", 0, 10) == [3, 6, 7]


def test_an_upsert_changes_only_the_columns_the_file_has(seven, method):
    before = people_by_id()

    report = only_report(seven.put("upsert/ages.csv", "ID,Age\n1,23\n2,76\n5,\n"))

    assert report["rows"] == rows(read=3, updated=2, unchanged=1)
    after = people_by_id()
    assert after[1].fields() == before[1].fields()._replace(age=23)
    assert after[5].fields() == before[5].fields()._replace(age=None)  # an empty cell clears, as null in a PATCH
    assert after[2] == before[2]


def test_an_upsert_row_whose_person_would_have_no_name_is_rejected_with_its_line_and_field(seven, method):
    # Person 3 has a last name only, person 5 a first name only; the file has no Last column
    report = only_report(seven.put("upsert/first.csv", "ID,First\n3,\n5,\n9,\n1,Matthew\n"))

    assert report["rows"] == rows(read=4, updated=1, unchanged=1, rejected=2)
    needs = "a person needs a first_name or a last_name"
    assert report["errors"] == [
        {"line": 3, "field": "first_name", "message": needs},
        {"line": 4, "field": "first_name", "message": needs},
    ]
    after = people_by_id()
    assert (after[3].first_name, after[3].last_name) == (None, "Robiner")
    assert after[5].first_name == "Jason" and 9 not in after and after[1].first_name == "Matthew"


def test_an_upsert_without_an_age_column_refuses_a_two_digit_year(seven, method):
    report = only_report(seven.put("upsert/dates.csv", "ID,Date of 3rd Grade Graduation\n2,6/24/40\n1,6/25/2001\n"))

    assert report["rows"] == rows(read=2, unchanged=1, rejected=1)
    assert report["errors"][0]["line"] == 2 and report["errors"][0]["field"] == "third_grade_graduation"
    assert "four digits" in report["errors"][0]["message"]


def test_an_upsert_row_breaking_a_rule_is_rejected_and_its_person_left_as_it_was(seven, method):
    before = people_by_id()

    report = only_report(seven.put("upsert/bad.csv", "ID,Age\n1,151\n1,30\n2,77\n"))

    # Only valid rows are staged: the second row of id 1 is no duplicate of the rejected first
    assert report["rows"] == rows(read=3, updated=2, rejected=1)
    assert report["errors"] == [{"line": 2, "field": "age", "message": "must be a whole number from 0 to 150, not 151"}]
    after = people_by_id()
    assert (after[1].age, after[2].age) == (30, 77) and after[3] == before[3]


def test_a_second_row_of_an_id_in_an_upsert_is_a_duplicate_and_the_first_wins(seven, method):
    report = only_report(seven.put("upsert/twice.csv", "ID,Age\n1,30\n1,40\n"))

    assert report["rows"] == rows(read=2, updated=1, duplicate=1)
    assert people_by_id()[1].age == 30


def test_an_upsert_of_identical_rows_writes_nothing(seven, method):
    before, seq = people_by_id(), last_seq()

    report = only_report(seven.put("upsert/same.csv", PEOPLE_CSV.read_bytes()))

    assert report["rows"] == rows(read=7, unchanged=7) and report["changes"] == []
    assert people_by_id() == before
    written, erased = feed_of_last_change()
    assert last_seq() == seq + 1 and written == set() and erased == set()  # an empty change, no person in it


# Dry run


@pytest.mark.parametrize("mode", ["upsert", "mirror", "add"])
def test_a_dry_run_counts_exactly_what_the_real_import_then_does_and_writes_no_person(seven, method, mode, monkeypatch):
    monkeypatch.setenv("MIRROR_MAX_ERASE_PERCENT", "20")  # the mirror erases one of seven, 14%
    before, seq = people_by_id(), last_seq()

    dry = only_report(seven.put(f"dry-run/{mode}/people.csv", CORRECTED))

    assert dry["status"] == "succeeded" and dry["dry_run"] is True and dry["mode"] == mode
    assert people_by_id() == before and last_seq() == seq  # no person, no change in the feed
    real = only_report(seven.put(f"{mode}/people.csv", CORRECTED))
    assert real["dry_run"] is False
    assert dry["rows"] == real["rows"] and dry["changes"] == real["changes"]
    assert real["rows"]["inserted"] == 1
    assert people_by_id() != before


# Mirror


def test_a_mirror_upserts_and_erases_everyone_the_file_does_not_name_with_tombstones(seven, method, monkeypatch):
    monkeypatch.setenv("MIRROR_MAX_ERASE_PERCENT", "20")  # one of seven is 14%

    report = only_report(seven.put("mirror/people.csv", CORRECTED))

    assert report["mode"] == "mirror"
    assert report["rows"] == rows(read=7, inserted=1, updated=2, unchanged=4, deleted=1)
    assert report["changes"][-1] == {"id": 7, "change": "deleted", "fields": []}
    assert sorted(people_by_id()) == [1, 2, 3, 4, 5, 6, 8]
    assert feed_of_last_change() == ({4, 6, 8}, {7})


def test_a_mirror_that_would_erase_more_than_the_guard_allows_is_rejected_and_mirror_all_is_not(seven, method):
    before = people_by_id()
    half = "\n".join([HEADER, "1,Matt,Conway,22,wr0ngway,6/25/01", "2,David,Block,76,,6/24/40"])

    report = only_report(seven.put("mirror/half.csv", half))

    assert report["status"] == "rejected" and report["mode"] == "mirror"
    assert report["message"].startswith("this mirror would erase 5 of the 7 people, more than 10%")
    assert people_by_id() == before
    report = only_report(seven.put("mirror-all/half.csv", half))
    assert report["status"] == "succeeded" and report["mode"] == "mirror-all"
    assert report["rows"] == rows(read=2, unchanged=2, deleted=5)
    assert sorted(people_by_id()) == [1, 2]


def test_a_mirror_row_without_an_id_rejects_the_file_before_anything_is_written(seven, method):
    before = people_by_id()

    report = only_report(seven.put("mirror-all/noid.csv", "ID,First\n1,Matt\n,Nobody\n"))

    assert report["status"] == "rejected" and report["message"].startswith("line 3: a mirror needs a valid id")
    assert people_by_id() == before
    report = only_report(seven.put("mirror-all/noidcolumn.csv", "First\nMatt\n"))
    assert report["status"] == "rejected" and "needs the ID column" in report["message"]


def test_a_mirror_keeps_the_person_of_a_rejected_row(seven, method):
    report = only_report(seven.put("mirror-all/bad.csv", "ID,Age\n1,999\n2,76\n"))

    assert report["rows"] == rows(read=2, unchanged=1, rejected=1, deleted=5)
    assert sorted(people_by_id()) == [1, 2]


# How the mode is chosen


def test_the_object_metadata_names_the_mode_and_wins_over_the_key(seven):
    put = seven.s3.put_object(
        Bucket=BUCKET, Key="mirror/people.csv", Body=CORRECTED.encode(), Metadata={"import-mode": "Dry-Run  upsert"}
    )
    from test_import_csv import s3_event

    report = only_report(s3_event("mirror/people.csv", put["ETag"].strip('"'), put.get("VersionId"), len(CORRECTED)))

    assert (report["mode"], report["dry_run"]) == ("upsert", True)
    assert report["rows"] == rows(read=7, inserted=1, updated=2, unchanged=4)


def test_an_unknown_mode_in_the_metadata_rejects_the_file(seven):
    from test_import_csv import s3_event

    put = seven.s3.put_object(
        Bucket=BUCKET, Key="people2.csv", Body=b"ID,Age\n1,30\n", Metadata={"import-mode": "merge"}
    )

    report = only_report(s3_event("people2.csv", put["ETag"].strip('"'), put.get("VersionId"), 12))

    assert report["status"] == "rejected"
    assert report["message"].startswith("the object's metadata import-mode names the import mode 'merge'")
    assert people_by_id()[1].age == 22


def test_an_ordinary_folder_is_no_mode(seven):
    report = only_report(seven.put("team-a/people.csv", CORRECTED))

    assert report["mode"] == "add" and report["rows"]["duplicate"] == 6


# The same promises


def test_an_upsert_that_fails_midway_leaves_nothing_and_the_retry_imports(seven, method, monkeypatch):
    before = people_by_id()
    real_counts = people_store.staged_counts

    def failing(*args):
        raise RuntimeError("injected after every write")

    monkeypatch.setattr(people_store, "staged_counts", failing)
    event = seven.put("upsert/people.csv", CORRECTED)
    with pytest.raises(Exception, match="the event's objects failed"):
        import_event(event)
    assert people_by_id() == before

    monkeypatch.setattr(people_store, "staged_counts", real_counts)
    assert only_report(event)["rows"]["updated"] == 2
    # And delivered again, it is already imported
    assert only_report(event)["status"] == "already_imported"
    assert people_by_id()[4].version == before[4].version + 1


def test_a_person_the_api_changes_while_the_file_loads_is_a_conflict_and_keeps_the_api_s_write(
    seven, method, monkeypatch
):
    before = people_by_id()
    real_clean, patched = csv_reader.clean_person, []

    def clean_and_patch_meanwhile(*values, **options):
        if not patched:  # the first row: the import has started; the API's PATCH of person 4 commits now
            current = people_store.person_by_id(4)
            patched.append(people_store.update_if_current(current.fields()._replace(age=60), current))
        return real_clean(*values, **options)

    monkeypatch.setattr(csv_reader, "clean_person", clean_and_patch_meanwhile)

    report = only_report(seven.put("upsert/people.csv", CORRECTED))

    assert report["rows"] == rows(read=7, inserted=1, updated=1, unchanged=4, conflict=1)
    assert {"id": 4, "change": "conflict", "fields": ["age"]} in report["changes"]
    after = people_by_id()
    assert after[4].age == 60 and after[4].version == before[4].version + 1  # the API's write, not the file's
    assert after[6].first_name == "ALEX"


def test_the_import_record_carries_mode_counts_and_changes(seven, api):
    report = only_report(seven.put("upsert/people.csv", CORRECTED))

    record = api(
        "get_import",
        "GET",
        f"/imports/{report['import_id']}",
        "/imports/{id}",
        path_params={"id": str(report["import_id"])},
    )

    assert record.status == 200
    body = record.json
    assert (body["mode"], body["dry_run"]) == ("upsert", False)
    assert body["rows"] == report["rows"] and body["changes"] == report["changes"]


def test_the_api_writes_the_file_s_people_without_waiting_while_the_upsert_merges_and_its_write_wins(
    seven, method, monkeypatch
):
    real_merge, api_wrote = people_store.merge_part, []

    def api_writes_then_merge(cur, *args):
        if api_wrote:
            return real_merge(cur, *args)
        # The file is staged (its row of 1 the same as stored, 4 and 6 to update), not merged yet; the API
        # writes 1 and 4 now
        conn = db.connect(database_settings(), read_timeout=30)
        try:
            with conn.cursor() as api:
                api.execute("SET SESSION innodb_lock_wait_timeout = 2")
                for person_id, age in ((1, 23), (4, 60)):
                    api.execute(
                        "UPDATE people SET age = %s, version = version + 1, updated_at = UTC_TIMESTAMP(6)"
                        " WHERE id = %s",
                        (age, person_id),
                    )
                    api_wrote.append(person_id)
        finally:
            conn.close()
        return real_merge(cur, *args)

    monkeypatch.setattr(people_store, "merge_part", api_writes_then_merge)

    report = only_report(seven.put("upsert/people.csv", CORRECTED))

    assert api_wrote == [1, 4]
    # Person 1's row was the same as stored; the API's newer age wins over it too
    assert report["rows"] == rows(read=7, inserted=1, updated=1, unchanged=3, conflict=2)
    assert report["changes"] == [
        {"id": 1, "change": "conflict", "fields": ["age"]},
        {"id": 4, "change": "conflict", "fields": ["age"]},
        {"id": 6, "change": "updated", "fields": ["first_name"]},
    ]
    after = people_by_id()
    assert (after[1].age, after[4].age, after[6].first_name) == (23, 60, "ALEX")


def test_a_large_upsert_is_classified_part_by_part_with_the_same_counts(bucket, method):  # noqa: F811
    # 30,000 people, more than one staging statement of either method
    assert only_report(bucket.put("people.csv", generated_csv(30_000)))["rows"]["inserted"] == 30_000
    lines = ["ID,First,Age"]
    for i in range(1001, 31_001):
        first = "" if i == 25_001 else f"First{i}"  # a person with a stored last name: its first one cleared
        lines.append(f"{i},{first},{i % 90 + 10 + (i % 10 == 0)}")
    lines += ["40001,", "40002,Ada,36", "40003,,", "40004,Alan,41", "40005,,"]

    report = only_report(bucket.put("upsert/people.csv", "\n".join(lines)))

    assert report["rows"] == rows(read=30_005, inserted=2, updated=3001, unchanged=26_999, rejected=3)
    assert [e["line"] for e in report["errors"]] == [30_002, 30_004, 30_006]
    assert [c["id"] for c in report["changes"]][:3] == [1010, 1020, 1030] and len(report["changes"]) == 100
    stored = people_by_id()
    assert stored[25_001].first_name is None and stored[25_001].last_name == f"Last{25_001 % 97}"
    assert stored[31_000].age == 31_000 % 90 + 11 and stored[30_999].age == 30_999 % 90 + 10


def test_the_api_writes_the_people_an_upsert_read_but_did_not_change_without_waiting_for_it(seven, method, monkeypatch):
    real_counts, api_wrote = people_store.staged_counts, []

    def api_writes_then_count(cur, *args):
        # Every write of the import is done, its transaction still open: it read 1, 2, 3 and 5 and left them as
        # they were. The API writes them now, in a connection that gives up after 2 s if the import held them
        conn = db.connect(database_settings(), read_timeout=30)
        try:
            with conn.cursor() as api:
                api.execute("SET SESSION innodb_lock_wait_timeout = 2")
                for person_id in (1, 2, 3, 5):
                    api.execute("UPDATE people SET github_account = 'api-wrote' WHERE id = %s", (person_id,))
                    api_wrote.append(person_id)
        finally:
            conn.close()
        return real_counts(cur, *args)

    monkeypatch.setattr(people_store, "staged_counts", api_writes_then_count)

    report = only_report(seven.put("upsert/people.csv", CORRECTED))

    assert api_wrote == [1, 2, 3, 5] and report["status"] == "succeeded"
    assert report["rows"]["updated"] == 2
    assert {
        person_id: p.github_account for person_id, p in people_by_id().items() if person_id in api_wrote
    } == dict.fromkeys(api_wrote, "api-wrote")


def test_a_client_of_the_change_feed_sees_an_upsert_s_and_a_mirror_s_changes_and_nothing_else(seven, api, monkeypatch):
    def feed(**query):
        return api("people_changes", "GET", "/people/changes", "/people/changes", query=query or None).json

    since = feed(limit="1000")["next_since"]
    monkeypatch.setenv("MIRROR_MAX_ERASE_PERCENT", "20")

    only_report(seven.put("upsert/people.csv", CORRECTED))
    upserted = feed(since=since)
    only_report(seven.put("mirror/people.csv", CORRECTED.replace("6,ALEX", "6,Alex")))
    mirrored = feed(since=upserted["next_since"])

    assert [(c["op"], c["person"]["id"]) for c in upserted["changes"]] == [("put", 4), ("put", 6), ("put", 8)]
    assert upserted["changes"][0]["person"]["age"] == 41
    assert [(c["op"], c.get("id") or c["person"]["id"]) for c in mirrored["changes"]] == [("erase", 7), ("put", 6)]
