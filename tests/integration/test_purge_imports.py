"""Import records do not outlive ImportRetentionDays: the purge, through the layer and the scheduled handler."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from conftest import invoke, load_event
from people_api import db
from people_api.imports import store as imports_store
from people_api.imports.record import FAILED, REJECTED, SUCCEEDED, ObjectRef

RETENTION_DAYS = 30
PLENTY_OF_TIME = lambda: 900.0  # noqa: E731  (seconds left, as the Lambda context would say)


@pytest.fixture
def conn(empty_db):
    return db.connection()


def make_record(conn, *, key: str | None = None, created=0.0, started=None, finished=None, status=SUCCEEDED) -> int:
    """An import record created, started and finished the given number of days ago (None: never), as the import
    leaves it: claimed, started, then finished with a row error that quotes a value."""
    obj = ObjectRef("people-import", key or f"uploads/{uuid.uuid4().hex}.csv", uuid.uuid4().hex, None, 100)
    import_id = imports_store.claim(conn, obj)
    if started is not None:
        record = imports_store.start(conn, import_id)
        if finished is not None:
            errors = [{"line": 2, "field": "Last", "message": "too long: 'Lovelace-Byron-King…'"}]
            imports_store.finish(conn, dataclasses.replace(record, status=status, errors=errors))
    with conn.cursor() as cur:  # back-date it: the test's SQL, not the layer's
        cur.execute(
            "UPDATE imports SET created_at = UTC_TIMESTAMP(3) - INTERVAL %s SECOND,"
            " started_at = UTC_TIMESTAMP(3) - INTERVAL %s SECOND, finished_at = UTC_TIMESTAMP(3) - INTERVAL %s SECOND"
            " WHERE id = %s",
            (*(None if days is None else round(days * 86400) for days in (created, started, finished)), import_id),
        )
    return import_id


def remaining_ids(conn) -> set[int]:
    with conn.cursor() as cur:
        cur.execute("SELECT id FROM imports")
        return {import_id for (import_id,) in cur.fetchall()}


def test_finished_records_go_after_the_retention_and_recent_ones_stay(conn):
    # Given records that finished (succeeded, rejected, failed) a day past the retention, and one a day within it
    old = {
        make_record(conn, created=40, started=40, finished=31, status=status)
        for status in (SUCCEEDED, REJECTED, FAILED)
    }
    recent = make_record(conn, created=40, started=29.9, finished=29)

    # When the purge runs
    purged = imports_store.purge_expired(conn, RETENTION_DAYS, PLENTY_OF_TIME)

    # Then only the old ones are gone, counted as finished
    assert remaining_ids(conn) == {recent}
    assert (purged.finished, purged.never_finished, purged.complete) == (3, 0, True)
    assert all(imports_store.import_by_id(import_id, conn) is None for import_id in old)


def test_the_retention_is_measured_in_days_from_when_it_finished(conn):
    # Given records finished just past and just within 7 days
    just_past = make_record(conn, created=8, started=7.01, finished=7.01)
    just_within = make_record(conn, created=8, started=6.99, finished=6.99)

    imports_store.purge_expired(conn, 7, PLENTY_OF_TIME)

    assert remaining_ids(conn) == {just_within}
    assert just_past not in remaining_ids(conn)


def test_a_running_import_stays_however_old_its_record(conn):
    # Given an import started a minute ago on a record created long ago (the same content uploaded again),
    # and one pending since just now
    running = make_record(conn, created=90, started=0.001)
    pending = make_record(conn, created=0)

    purged = imports_store.purge_expired(conn, RETENTION_DAYS, PLENTY_OF_TIME)

    assert remaining_ids(conn) == {running, pending}
    assert (purged.finished, purged.never_finished) == (0, 0)


def test_records_a_crash_left_unfinished_go_after_the_retention_from_their_start_or_creation(conn):
    # Given a run that crashed 31 days ago, a record never started since 31 days, and a crashed run of 29 days ago
    crashed = make_record(conn, created=31, started=31)
    never_started = make_record(conn, created=31)
    crashed_recently = make_record(conn, created=40, started=29)

    purged = imports_store.purge_expired(conn, RETENTION_DAYS, PLENTY_OF_TIME)

    assert remaining_ids(conn) == {crashed_recently}
    assert {crashed, never_started}.isdisjoint(remaining_ids(conn))
    assert (purged.finished, purged.never_finished) == (0, 2)


def test_the_purge_deletes_in_batches_until_none_is_left(conn):
    # Given 7 old finished records, 4 old unfinished ones and 2 recent ones
    for _ in range(7):
        make_record(conn, created=50, started=50, finished=45)
    for _ in range(4):
        make_record(conn, created=50)
    kept = {make_record(conn, created=1, started=1, finished=1), make_record(conn, created=1)}

    # When the purge deletes 3 at a time
    purged = imports_store.purge_expired(conn, RETENTION_DAYS, PLENTY_OF_TIME, batch_rows=3)

    # Then every old one is gone, in batches of 3, 3, 1 (finished) and 3, 1 (unfinished)
    assert remaining_ids(conn) == kept
    assert purged._asdict() == {"finished": 7, "never_finished": 4, "batches": 5, "complete": True}


def test_the_purge_stops_before_the_functions_time_runs_out_and_the_next_run_goes_on(conn):
    for _ in range(5):
        make_record(conn, created=50, started=50, finished=45)
    seconds = iter([60.0, 60.0, 5.0])  # two batches' worth of time, then too little for another

    first = imports_store.purge_expired(conn, RETENTION_DAYS, lambda: next(seconds), batch_rows=2)
    assert (first.finished, first.batches, first.complete) == (4, 2, False)
    assert len(remaining_ids(conn)) == 1

    second = imports_store.purge_expired(conn, RETENTION_DAYS, PLENTY_OF_TIME, batch_rows=2)
    assert (second.finished, second.complete) == (1, True)
    assert remaining_ids(conn) == set()


def test_the_scheduled_handler_purges_with_the_stacks_retention_and_logs_counts_only(conn, monkeypatch, caplog):
    # Given the stack's retention of 7 days, an old record whose key is a person's name, and a recent one
    monkeypatch.setenv("IMPORT_RETENTION_DAYS", "7")
    make_record(conn, key="uploads/Ada Lovelace's family.csv", created=9, started=9, finished=8)
    recent = make_record(conn, created=9, started=6, finished=6)

    # When EventBridge's daily rule invokes the function with its Scheduled Event
    event = load_event("purge_imports")
    assert (event["source"], event["detail-type"]) == ("aws.events", "Scheduled Event")
    answer = invoke("purge_imports", event)

    # Then the old record is gone, and the log says how many, not which
    assert remaining_ids(conn) == {recent}
    assert answer == {"finished": 1, "never_finished": 0, "batches": 2, "complete": True}
    [line] = [record for record in caplog.records if record.getMessage() == "expired import records deleted"]
    assert (line.finished, line.never_finished, line.retention_days) == (1, 0, 7)
    logged = " ".join(str(vars(record)) for record in caplog.records)
    assert "Lovelace" not in logged and "uploads/" not in logged


def test_a_record_of_the_purge_is_an_import_record_no_longer_listed(conn, api):
    # Given an old import listed by GET /imports
    old = make_record(conn, created=40, started=40, finished=35)
    assert [i["id"] for i in api("list_imports", "GET", "/imports", "/imports").json["imports"]] == [old]

    imports_store.purge_expired(conn, RETENTION_DAYS, PLENTY_OF_TIME)

    # Then it is gone from the listing and its own URL
    assert api("list_imports", "GET", "/imports", "/imports").json["imports"] == []
    missing = api("get_import", "GET", f"/imports/{old}", "/imports/{id}", path_params={"id": str(old)})
    assert missing.status == 404


def test_the_purge_does_not_wait_for_an_import_finishing_meanwhile(conn, database):
    # Given old records, and an import whose load transaction has recorded its end but not yet committed
    old = {make_record(conn, created=40, started=40, finished=35) for _ in range(3)}
    running = make_record(conn, created=0, started=0)
    import_conn = db.connect(database)
    import_conn.begin()
    with import_conn.cursor() as cur:
        cur.execute(
            "UPDATE imports SET status = %s, finished_at = UTC_TIMESTAMP(3) WHERE id = %s", (SUCCEEDED, running)
        )
    try:
        # When the purge runs then, on a connection that would give up on a row lock after 1 s
        with conn.cursor() as cur:
            cur.execute("SET SESSION innodb_lock_wait_timeout = 1")
        purged = imports_store.purge_expired(conn, RETENTION_DAYS, PLENTY_OF_TIME)
        import_conn.commit()
    finally:
        import_conn.close()
        with conn.cursor() as cur:
            cur.execute("SET SESSION innodb_lock_wait_timeout = DEFAULT")

    # Then it deleted the old records without touching the import's, which committed in turn
    assert purged.finished == 3
    assert old.isdisjoint(remaining_ids(conn)) and running in remaining_ids(conn)
    assert imports_store.import_by_id(running, conn).status == SUCCEEDED


def test_the_purge_reads_only_the_expired_records_not_the_whole_table(conn):
    # Given 2,000 recent records and 3 old ones
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO imports (bucket, object_key, object_key_hash, etag, size_bytes, status, created_at,"
            " started_at, finished_at) VALUES ('people-import', %s, %s, 'e', 1, %s, UTC_TIMESTAMP(3),"
            " UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))",
            [(f"uploads/{i}.csv", uuid.uuid4().hex, SUCCEEDED) for i in range(2000)],
        )
    for _ in range(3):
        make_record(conn, created=40, started=40, finished=35)

    # When the purge runs, counting the rows the server reads on its connection
    before = handler_reads(conn)
    purged = imports_store.purge_expired(conn, RETENTION_DAYS, PLENTY_OF_TIME)
    reads = handler_reads(conn) - before

    # Then it deleted the 3 and read a few rows, not 2,000 (the index on finished_at, migration 6)
    assert purged.finished == 3 and len(remaining_ids(conn)) == 2000
    assert reads < 50, reads


def handler_reads(conn) -> int:
    """Rows (and index entries) the server has read for this connection's session."""
    with conn.cursor() as cur:
        cur.execute("SHOW SESSION STATUS LIKE 'Handler_read%%'")
        return sum(int(value) for _name, value in cur.fetchall())
