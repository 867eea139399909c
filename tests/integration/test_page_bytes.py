"""No answer over Lambda's 6 MB: every listing stops its page before its items pass the page's byte budget.

A synchronous Lambda response is at most 6 MB (6 x 1024 x 1024 bytes: Lambda quotas), counted on the
proxy response as the Python runtime serializes it: a JSON document whose `body` is itself the JSON the
resolver wrote, so every quote and backslash of the body is escaped again. Records here are at their
largest and escape to the most bytes: 100-character names of astral emoji (12 bytes each in the body,
`\\ud83d\\ude00`, 14 in the response), S3 keys of 1024 control characters (7 bytes each in the response),
1000-character messages.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from conftest import invoke, rest_event
from people_api import db
from people_api.http import cursors
from people_api.people.person import MAX_NAME_LENGTH

LAMBDA_RESPONSE_BYTES = 6 * 1024 * 1024  # "6 MB (synchronous)"; Lambda's MB is 1,024 KB
# What an answer carries besides its page's items: status, headers, the wrapper, a cursor, POST's person
ANSWER_OVERHEAD_BYTES = 16 * 1024
EMOJI = "\U0001f600"
LARGEST_NAME = EMOJI * MAX_NAME_LENGTH
PEOPLE = 1001
IMPORTS = 160


def response_bytes(response: dict) -> int:
    """The proxy response's size as the Lambda Python runtime sends it: escaped (up to python3.11) or not (3.12+)."""
    return max(len(json.dumps(response, ensure_ascii=ascii).encode()) for ascii in (True, False))


def call(function: str, path: str, resource: str, query: dict[str, str] | None = None, **parts) -> dict:
    return invoke(function, rest_event("GET", path, resource, query=query, **parts))


def every_page(function: str, path: str, resource: str, limit: int, **parts) -> list[dict]:
    """Each page of a listing, from the first to the one without next_cursor: (its response, its body)."""
    pages, cursor = [], None
    while True:
        query = {"limit": str(limit)} | ({"cursor": cursor} if cursor else {})
        response = call(function, path, resource, query, **parts)
        assert response["statusCode"] == 200, response["body"][:300]
        pages.append(response)
        cursor = json.loads(response["body"])["next_cursor"]
        if cursor is None:
            return pages


@pytest.fixture
def largest_people(empty_db):
    """1001 people with the largest names, the same last name, and every id both in /people/age groups."""
    with db.cursor() as cur:
        cur.executemany(
            "INSERT INTO people (id, first_name, last_name, last_name_key, age, github_account, change_id)"
            " VALUES (%s, %s, %s, %s, %s, %s, 1)",
            [
                (n, LARGEST_NAME, LARGEST_NAME, LARGEST_NAME, n % 151 if n % 3 else None, "a" * 39)
                for n in range(1, PEOPLE + 1)
            ],
        )
    return list(range(1, PEOPLE + 1))


@pytest.fixture
def largest_imports(empty_db):
    """Import records with every text at its column's largest, in the characters that escape to the most bytes."""
    control_key = "\x01" * 1024  # S3 keys are at most 1024 bytes; control characters are allowed in them
    with db.cursor() as cur:
        cur.executemany(
            "INSERT INTO imports (bucket, object_key, object_key_hash, etag, version_id, size_bytes, status,"
            " message, report_key, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, UTC_TIMESTAMP(3))",
            [
                (
                    "b" * 63,
                    control_key,
                    f"{n:064x}",
                    '"' * 64,
                    control_key,
                    2**40,
                    "rejected",
                    EMOJI * 1000,
                    EMOJI * 1100,
                )
                for n in range(IMPORTS)
            ],
        )
        cur.execute("SELECT id FROM imports ORDER BY id DESC")
        return [import_id for (import_id,) in cur.fetchall()]


LISTINGS = {
    "/people": ("list_people", "/people", "/people", {}, "people", lambda item: item["id"]),
    "/people/age": ("people_by_age", "/people/age", "/people/age", {}, "people", lambda item: item["id"]),
    "/ids/lastname": (
        "ids_by_last_name",
        f"/ids/lastname/{quote(LARGEST_NAME)}",  # API Gateway passes the path percent-encoded (docs/dev.md, Paths)
        "/ids/lastname/{lastname}",
        {"path_params": {"lastname": quote(LARGEST_NAME)}},
        "ids",
        lambda item: item,
    ),
}


@pytest.mark.parametrize(("function", "path", "resource", "parts", "member", "id_of"), LISTINGS.values(), ids=LISTINGS)
def test_a_people_listing_of_the_largest_people_stays_under_the_budget_and_reaches_everyone_once(
    largest_people, function, path, resource, parts, member, id_of
):
    pages = every_page(function, path, resource, 1000, **parts)

    assert max(response_bytes(page) for page in pages) <= cursors.PAGE_BYTES + ANSWER_OVERHEAD_BYTES
    listed = [id_of(item) for page in pages for item in json.loads(page["body"])[member]]
    assert sorted(listed) == largest_people


def test_imports_of_the_largest_records_come_in_pages_under_the_budget_each_record_once(largest_imports):
    # Each record takes about 45 KB in the answer: 1000 of them would be 45 MB
    pages = every_page("list_imports", "/imports", "/imports", 1000)

    assert max(response_bytes(page) for page in pages) <= cursors.PAGE_BYTES + ANSWER_OVERHEAD_BYTES
    assert len(pages) > 1
    assert response_bytes(pages[0]) > cursors.PAGE_BYTES - 64 * 1024  # the page is cut when full, not before
    listed = [record["id"] for page in pages for record in json.loads(page["body"])["imports"]]
    assert listed == largest_imports  # newest first, each once


@pytest.mark.parametrize(("function", "path", "resource", "parts", "member", "id_of"), LISTINGS.values(), ids=LISTINGS)
def test_a_people_listing_cut_by_its_budget_goes_on_from_the_last_item_it_holds(
    largest_people, monkeypatch, function, path, resource, parts, member, id_of
):
    # Given a budget that holds fewer items than the limit asks for (ids are small: a budget of their size)
    budget = 1000 if member == "ids" else 300_000
    monkeypatch.setattr(cursors, "PAGE_BYTES", budget)

    pages = every_page(function, path, resource, 1000, **parts)

    assert len(pages) > 3
    assert all(response_bytes(page) <= budget + ANSWER_OVERHEAD_BYTES for page in pages)
    listed = [id_of(item) for page in pages for item in json.loads(page["body"])[member]]
    assert sorted(listed) == largest_people and len(set(listed)) == len(listed)


def test_post_s_first_page_of_people_keeps_to_the_budget_and_its_cursor_goes_on(largest_people, monkeypatch):
    monkeypatch.setattr(cursors, "PAGE_BYTES", 100_000)
    body = json.dumps({"first_name": LARGEST_NAME, "last_name": LARGEST_NAME})

    response = invoke("create_person", rest_event("POST", "/people", "/people", body=body))

    assert response["statusCode"] == 201
    answer = json.loads(response["body"])
    assert 0 < len(answer["people"]) < 100
    assert response_bytes(response) <= 100_000 + ANSWER_OVERHEAD_BYTES
    listed, cursor = [p["id"] for p in answer["people"]], answer["next_cursor"]
    while cursor:
        page = json.loads(call("list_people", "/people", "/people", {"limit": "1000", "cursor": cursor})["body"])
        listed, cursor = listed + [p["id"] for p in page["people"]], page["next_cursor"]
    assert listed == [*largest_people, answer["person"]["id"]]
