"""GET /people/changes against the real database: a client that applies every page keeps an exact copy, whatever
writes commit meanwhile; erasures appear; tokens are signed; a token past the tombstones' horizon is 410."""

from __future__ import annotations

import random
import threading
import time
from datetime import date

import pytest

from conftest import invoke, load_event
from people_api import db
from people_api.config import database_settings
from people_api.errors import Gone
from people_api.http import feed
from people_api.http.cursors import InvalidCursor
from people_api.imports import loader
from people_api.people import changes
from people_api.people import store as people_store
from people_api.people.person import NewPerson, utc_today

RETENTION_DAYS = 30
PLENTY_OF_TIME = lambda: 900.0  # noqa: E731  (seconds left, as the Lambda context would say)


def person(first: str, last: str = "Tester", age: int | None = 30, person_id: int | None = None) -> NewPerson:
    return NewPerson(person_id, first, last, age, None, None)


class Copy:
    """What a client keeps: the people by id, as the feed handed them over, and the `since` of its next sync."""

    def __init__(self):
        self.people: dict[int, dict] = {}
        self.since: str | None = None
        self.pages = 0

    def sync(self, limit: int = 1000, today: date | None = None) -> list[dict]:
        """Apply every page up to the last; the items applied."""
        applied, cursor = [], None
        while True:
            page = feed.changes_page(self.since, cursor, limit, today or utc_today(), RETENTION_DAYS)
            self.pages += 1
            for item in page["changes"]:
                if item["op"] == "put":
                    self.people[item["person"]["id"]] = item["person"]
                else:
                    self.people.pop(item["id"], None)
            applied += page["changes"]
            if page["next_cursor"] is None:
                assert page["next_since"] is not None
                self.since = page["next_since"]
                return applied
            assert page["next_since"] is None
            cursor = page["next_cursor"]


def table(today: date | None = None) -> dict[int, dict]:
    people = people_store.people_in_id_order(0, 10**9)
    return {p.id: p.as_json(today or utc_today()) for p in people}


def test_from_the_beginning_the_feed_is_everyone_and_then_nothing_until_a_write(people_db):
    copy = Copy()

    first = copy.sync(limit=3)

    assert copy.people == table() and len(first) == 7 and copy.pages == 3
    assert copy.sync() == []  # nothing changed: an empty page, and the same place to start next time
    added = people_store.add_person(person("Ada"))
    assert copy.sync() == [{"op": "put", "person": added.as_json(utc_today())}]


def test_writes_appear_in_commit_order_once_each_and_erasures_as_tombstones(people_db):
    # Given a copy in sync
    copy = Copy()
    copy.sync()

    # When a person is added and corrected twice, another deleted, and a third corrected
    ada = people_store.add_person(person("Ada"))
    ada_v2 = people_store.update_if_current(person("Ada", "Lovelace"), ada)
    ada_v3 = people_store.update_if_current(person("Ada", "King"), ada_v2)
    assert people_store.erase_person(2)
    three = people_store.person_by_id(3)
    three_v2 = people_store.update_if_current(three.fields()._replace(first_name="Trois"), three)

    # Then the next sync has Ada once, at her latest change, the tombstone, and person 3, in that order
    applied = copy.sync()
    assert [(item["op"], item.get("id") or item["person"]["id"]) for item in applied] == [
        ("put", ada.id),
        ("erase", 2),
        ("put", 3),
    ]
    assert applied[0]["person"] == ada_v3.as_json(utc_today())
    assert applied[2]["person"] == three_v2.as_json(utc_today())
    assert set(applied[1]) == {"op", "id", "erased_at"}  # a tombstone keeps no personal value
    assert copy.people == table()


def test_an_id_erased_and_used_again_ends_as_the_new_person(people_db):
    copy = Copy()
    copy.sync()
    assert people_store.erase_person(4)
    again = people_store.add_person(person("Again", person_id=4))
    assert people_store.erase_person(5)

    applied = copy.sync()

    assert [(i["op"], i.get("id") or i["person"]["id"]) for i in applied] == [("erase", 4), ("put", 4), ("erase", 5)]
    assert copy.people[4] == again.as_json(utc_today()) and 5 not in copy.people
    assert copy.people == table()


def test_a_write_that_changes_nothing_is_no_change(people_db):
    copy = Copy()
    copy.sync()
    one = people_store.person_by_id(1)
    stale = one._replace(version=one.version + 1)

    assert people_store.update_if_current(person("Nobody"), stale) is None
    assert not people_store.erase_person(999)

    assert copy.sync() == []
    with db.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM changes WHERE seq IS NULL")
        assert cur.fetchone() == (0,)  # the no-op writes left no change behind


@pytest.mark.parametrize("method", [loader.LOAD_DATA, loader.INSERT])
def test_an_import_is_one_change_paged_inside_it(empty_db, method):
    # Given a copy in sync and 2,500 people imported by one file
    copy = Copy()
    copy.sync()
    conn = db.connect(database_settings(), local_infile=True)
    try:
        with db.transaction(conn) as cur:
            loaded = loader.load_people(cur, (person(f"P{i}", person_id=i) for i in range(1, 2501)), method)
    finally:
        conn.close()
    assert loaded.inserted == 2500

    # Then the import's change comes in pages of 1,000 with cursors inside it, by id
    applied = copy.sync(limit=1000)
    assert [item["person"]["id"] for item in applied] == list(range(1, 2501))
    assert copy.pages == 1 + 3
    assert copy.people == table()


def test_a_change_that_commits_late_is_never_skipped(empty_db):
    # Given a copy in sync, and a slow write that began before a quick one
    copy = Copy()
    copy.sync()
    slow = db.connect(database_settings())
    with changes.writing(slow) as (cur, change):
        cur.execute(
            f"INSERT INTO people ({people_store.INSERT_COLUMNS}) VALUES {people_store.INSERT_PLACEHOLDERS}",
            people_store.insert_row(person("Slow", person_id=1), change.id),
        )
        change.rows += 1
        quick = people_store.add_person(person("Quick", person_id=2))

        # When the copy syncs while the slow write has not committed
        assert [i["person"]["id"] for i in copy.sync()] == [quick.id]
    slow.close()

    # Then the slow write, which began first, comes in the next sync, after the quick one
    assert [i["person"]["id"] for i in copy.sync()] == [1]
    assert copy.people == table()


def test_a_seq_taken_but_not_committed_holds_back_the_next_one(empty_db):
    # Given a write that took its seq (the counter's row lock) and has not committed yet
    copy = Copy()
    copy.sync()
    slow = db.connect(database_settings())
    slow.begin()
    with slow.cursor() as cur:
        change = changes.Change(changes.begin(cur))
        cur.execute(
            f"INSERT INTO people ({people_store.INSERT_COLUMNS}) VALUES {people_store.INSERT_PLACEHOLDERS}",
            people_store.insert_row(person("Slow", person_id=1), change.id),
        )
        change.rows = 1
        changes.stamp(cur, change)
    # When another write commits meanwhile (in a thread: it waits for the counter)
    quick = threading.Thread(target=people_store.add_person, args=(person("Quick", person_id=2),))
    quick.start()
    time.sleep(0.5)

    # Then a sync sees neither: the quick one's seq comes after the slow one's, which is not visible yet
    assert copy.sync() == []
    slow.commit()
    quick.join()
    slow.close()
    assert [i["person"]["id"] for i in copy.sync()] == [1, 2]


def test_a_client_paging_while_writers_write_ends_equal_to_the_table(people_db):
    # Given writers (threads, each with its own connection) that add, correct and delete people for a while
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        try:
            while not stop.is_set():
                ids = [p.id for p in people_store.people_in_id_order(0, 200)]
                action = rng.random()
                if action < 0.4 or not ids:
                    people_store.add_person(person(f"W{seed}", age=rng.randint(0, 99)))
                elif action < 0.8:
                    current = people_store.person_by_id(rng.choice(ids))
                    people_store.update_if_current(current.fields()._replace(age=rng.randint(0, 99)), current)
                else:
                    people_store.erase_person(rng.choice(ids))
        except LookupError:
            pass  # a person another writer deleted meanwhile
        except BaseException as error:  # noqa: BLE001  (reported by the test)
            errors.append(error)
        finally:
            db.close()

    def keep_writing(seed: int) -> None:
        while not stop.is_set():
            writer(seed)
            seed += 100

    threads = [threading.Thread(target=keep_writing, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()

    # When a client syncs in small pages again and again while they write
    copy = Copy()
    try:
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            copy.sync(limit=7)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert not errors

    # Then, once they stop, one more sync makes the copy exactly the table
    copy.sync(limit=7)
    assert copy.pages > 10
    assert copy.people == table()


def test_empty_old_changes_end_a_page_early_with_a_cursor(people_db, monkeypatch):
    # Given 25 corrections of one person: 24 changes left with no row pointing at them
    monkeypatch.setattr(feed, "MAX_CHANGES_PER_PAGE", 10)
    copy = Copy()
    copy.sync()
    for age in range(25):
        current = people_store.person_by_id(1)
        people_store.update_if_current(current.fields()._replace(age=age), current)

    # When the copy syncs, reading at most 10 changes a page
    applied = copy.sync(limit=100)

    # Then it takes several pages, most of them empty, and ends with the person's latest version only
    assert [i["person"]["age"] for i in applied] == [24]
    assert copy.pages == 1 + 3
    assert copy.people == table()


def test_tokens_are_signed_and_of_their_own_kind(people_db):
    copy = Copy()
    copy.sync()
    page = feed.changes_page(None, None, 2, utc_today(), RETENTION_DAYS)
    cursor, since = page["next_cursor"], copy.since
    payload, _, tag = cursor.partition(".")

    for bad_since, bad_cursor in [
        (("X" if since[0] != "X" else "Y") + since[1:], None),
        ("not-a-token", None),
        (None, payload + "." + tag[::-1]),
        (None, since),  # a since token is no cursor
        (cursor, None),  # and a cursor no since token
    ]:
        with pytest.raises(InvalidCursor):
            feed.changes_page(bad_since, bad_cursor, 2, utc_today(), RETENTION_DAYS)


def backdate_changes(days: float) -> None:
    """Every committed change as if it had committed `days` ago (the test's SQL, not the layer's)."""
    with db.cursor() as cur:
        cur.execute(
            "UPDATE changes SET committed_at = UTC_TIMESTAMP(6) - INTERVAL %s SECOND WHERE seq IS NOT NULL",
            (round(days * 86400),),
        )


def test_the_purge_forgets_old_tombstones_and_a_client_that_needed_them_starts_over(people_db):
    # Given a copy that synced, then an erasure and a correction, both older than the retention
    behind = Copy()
    behind.sync()
    from_scratch_before = Copy()
    assert people_store.erase_person(2)
    one = people_store.person_by_id(1)
    people_store.update_if_current(one.fields()._replace(age=77), one)
    caught_up = Copy()
    caught_up.sync()
    backdate_changes(RETENTION_DAYS + 1)
    recent = people_store.add_person(person("Recent"))

    # When the daily purge runs
    purged = changes.purge_expired(db.connection(), RETENTION_DAYS, PLENTY_OF_TIME)

    # Then the tombstone and the emptied changes are gone
    assert purged.tombstones == 1 and purged.complete
    with db.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM erasures")
        assert cur.fetchone() == (0,)
        cur.execute("SELECT COUNT(*) FROM changes")
        remaining = cur.fetchone()[0]
    assert remaining == 7  # the 6 people's insertions still named by their rows, and the new person's
    # And the copy that synced before the erasure must start over; the one after it goes on
    with pytest.raises(Gone, match="start over"):
        behind.sync()
    assert [i["person"]["id"] for i in caught_up.sync()] == [recent.id]
    # And a sync from the beginning needs no tombstone: it never had the erased person
    from_scratch_before.sync(limit=2)
    assert from_scratch_before.people == table()


def test_the_purge_keeps_recent_tombstones(people_db):
    behind = Copy()
    behind.sync()
    assert people_store.erase_person(2)

    purged = changes.purge_expired(db.connection(), RETENTION_DAYS, PLENTY_OF_TIME)

    assert purged.tombstones == 0
    assert [i["op"] for i in behind.sync()] == ["erase"]


def test_a_token_of_another_database_is_gone(people_db):
    copy = Copy()
    copy.sync()
    people_store.add_person(person("Later"))
    copy.sync()
    with db.cursor() as cur:  # as if the database were restored from a backup taken before
        cur.execute("UPDATE change_counter SET last_seq = 2")

    with pytest.raises(Gone):
        copy.sync()


def test_a_page_reads_about_as_many_index_entries_as_it_has_items(empty_db):
    # Given 20,000 people of the genesis change, and 300 recent changes of one person each
    rows = [people_store.insert_row(person(f"G{i}", person_id=i), changes.GENESIS) for i in range(1, 20_001)]
    with db.transaction(db.connection()) as cur:
        cur.executemany(
            f"INSERT INTO people ({people_store.INSERT_COLUMNS}) VALUES {people_store.INSERT_PLACEHOLDERS}", rows
        )
    copy = Copy()
    copy.sync(limit=1000)
    for i in range(300):
        current = people_store.person_by_id(1 + i * 50)
        people_store.update_if_current(current.fields()._replace(age=i % 100), current)

    # When the copy reads the next 100 changes
    with db.cursor() as cur:
        cur.execute("FLUSH STATUS")
    page = feed.changes_page(copy.since, None, 100, utc_today(), RETENTION_DAYS)
    with db.cursor() as cur:
        cur.execute("SHOW SESSION STATUS LIKE 'Handler_read%%'")
        status = {name: int(value) for name, value in cur.fetchall()}

    # Then the server read a few index entries per item, nothing like the table
    assert len(page["changes"]) == 100
    reads = sum(status.values())
    assert reads < 600, status


# Through the handler, as API Gateway calls it


def get_changes(api, **query):
    return api("people_changes", "GET", "/people/changes", "/people/changes", query=query or None)


def test_the_answer_is_never_cached_and_pages_with_cursors(people_db, api):
    first = get_changes(api, limit="5")
    second = get_changes(api, limit="5", cursor=first.json["next_cursor"])

    assert first.status == 200 and first.headers["Cache-Control"] == "no-store"
    assert len(first.json["changes"]) == 5 and first.json["next_since"] is None
    assert len(second.json["changes"]) == 2 and second.json["next_cursor"] is None
    assert get_changes(api, since=second.json["next_since"]).json == {
        "changes": [],
        "next_cursor": None,
        "next_since": second.json["next_since"],
    }


def test_bad_tokens_are_400_and_bad_limits_422(people_db, api):
    since = get_changes(api).json["next_since"]

    assert get_changes(api, since=since[:-3] + "abc").status == 400
    assert get_changes(api, cursor=since).json == {"message": "cursor is not one this API handed out for this listing"}
    assert get_changes(api, since="x" * 201).status == 422
    assert get_changes(api, limit="1001").status == 422


def test_a_token_past_the_horizon_is_410_telling_the_client_to_start_over(people_db, api, monkeypatch):
    monkeypatch.setenv("CHANGE_RETENTION_DAYS", "7")
    since = get_changes(api).json["next_since"]
    assert people_store.erase_person(1)
    backdate_changes(8)
    changes.purge_expired(db.connection(), 7, PLENTY_OF_TIME)

    gone = get_changes(api, since=since)

    assert (gone.status, gone.headers["Cache-Control"]) == (410, "no-store")
    assert gone.json["message"] == (
        "the changes since this token are no longer all kept (erasures are kept 7 days):"
        " start over with an empty copy and GET /people/changes without since"
    )
    assert get_changes(api).status == 200  # starting over works


def test_the_scheduled_purge_uses_the_stacks_retention_and_logs_counts_only(people_db, monkeypatch, caplog):
    # Given the stack's retention of 7 days and a person erased 8 days ago
    monkeypatch.setenv("CHANGE_RETENTION_DAYS", "7")
    assert people_store.erase_person(3)
    backdate_changes(8)

    # When EventBridge's daily rule invokes the function with its Scheduled Event
    answer = invoke("purge_changes", load_event("purge_changes"))

    # Then the tombstone is gone and the log says how many, not which
    # (and the changes no row names any more: the empty genesis, person 3's insertion, the erasure itself)
    assert answer == {"tombstones": 1, "changes": 3, "complete": True}
    [line] = [record for record in caplog.records if record.getMessage() == "expired tombstones deleted"]
    assert (line.tombstones, line.retention_days) == (1, 7)
