"""Concurrent requests through `make dev` that would cross if two execution environments shared a process.

Powertools keeps per-request state process-wide (the resolver's current event, the logger's keys); Lambda
never runs two requests in one process, and neither does devstack. Every answer, stored row, cache
header and log line is checked against its own request. One stack for the file, in file order: the
PATCHes come first, on functions not yet called (their environments cold).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pymysql
import pytest

from devstack.subprocess_stack import running_stack
from people_api.config import database_settings

pytestmark = pytest.mark.e2e

PEOPLE = 32  # FUNCTION_CONCURRENCY's default: every PATCH in an environment of its own
SLOW = 120  # seconds: 32 cold starts at once on a small machine


@pytest.fixture(scope="module")
def stack():
    with running_stack() as running:
        yield running


@pytest.fixture(scope="module")
def writer(stack):
    return {"Authorization": f"Bearer {stack.token()}"}


def at_once(calls):
    with ThreadPoolExecutor(len(calls)) as clients:
        return list(clients.map(lambda call: call(), calls))


def stored_first_names(stack, ids: list[int]) -> dict[int, str]:
    settings = database_settings()
    conn = pymysql.connect(
        host=settings.host, port=settings.port, user=settings.user, password=settings.password, database=stack.database
    )
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT id, first_name FROM people WHERE id IN ({','.join(['%s'] * len(ids))})", ids)
            return dict(cur.fetchall())
    finally:
        conn.close()


def log_entries(stack, function: str, message: str) -> list[dict]:
    prefix = f"{function} "
    entries = []
    for line in stack.lines:
        if line.startswith(prefix) and f'"message":"{message}"' in line:
            entries.append(json.loads(line.split("| ", 1)[1]))
    return entries


def test_32_distinct_patches_from_a_cold_start_each_change_their_own_person(stack, writer):
    # Given 32 new people, each with a first name of its own
    ids = []
    for n in range(PEOPLE):
        created = stack.request("POST", "/people", {"first_name": f"Before{n}", "last_name": f"Isolated{n}"}, writer)
        assert created.status == 201, created.body
        ids.append(created.json["person"]["id"])

    # When each gets its own PATCH, all at once, on a function that has served nothing yet
    def patch(n: int, person_id: int):
        return lambda: stack.request("PATCH", f"/people/{person_id}", {"first_name": f"After{n}"}, writer, SLOW)

    answers = at_once([patch(n, person_id) for n, person_id in enumerate(ids)])

    # Then every answer is its own person with its own new name, and so is every stored row
    assert [(a.status, a.json.get("id"), a.json.get("first_name")) for a in answers] == [
        (200, person_id, f"After{n}") for n, person_id in enumerate(ids)
    ], [a.body for a in answers]
    assert stored_first_names(stack, ids) == {person_id: f"After{n}" for n, person_id in enumerate(ids)}


def test_each_patch_logs_its_own_request_and_the_authorizer_logs_none_of_theirs(stack):
    # Given the PATCHes above (one "person updated" line each)
    updated = log_entries(stack, "UpdatePersonFunction", "person updated")

    # Then each line names its own person and request: 32 people, 32 correlation ids, 32 invocations
    assert len(updated) == PEOPLE
    assert len({entry["person_id"] for entry in updated}) == PEOPLE
    assert len({entry["correlation_id"] for entry in updated}) == PEOPLE
    assert len({entry["function_request_id"] for entry in updated}) == PEOPLE
    assert {entry["function_name"] for entry in updated} == {"UpdatePersonFunction"}
    # And the authorizer's lines carry its own context, never another function's correlation id
    accepted = log_entries(stack, "AuthorizerFunction", "token accepted")
    assert len(accepted) >= PEOPLE
    assert {entry["function_name"] for entry in accepted} == {"AuthorizerFunction"}
    assert not [entry for entry in accepted if "correlation_id" in entry]


def test_concurrent_public_and_private_reads_each_get_their_own_cache_header(stack, writer):
    # Given anonymous reads of /people/age (shared caches may keep them) and token-bearing reads of /imports
    # (only the caller's), sent mixed and at once, twice: on cold environments, then on warm ones
    def public():
        return stack.request("GET", "/people/age?limit=5", timeout=SLOW)

    def private():
        return stack.request("GET", "/imports?limit=5", headers=writer, timeout=SLOW)

    for _ in range(2):
        answers = at_once([public, private] * 12)

        # Then every anonymous answer is public and every token-bearing one private
        assert [(a.status, a.headers["Cache-Control"].split(",")[0]) for a in answers] == [
            (200, "public"),
            (200, "private"),
        ] * 12
