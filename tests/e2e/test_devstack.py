"""`python -m devstack` end to end: real HTTP, real S3 calls, a throwaway database, then Ctrl-C.

The tests share one stack and run in file order: the seeded people are checked before
others are added, and the last test stops the stack.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pymysql
import pytest
from pymysql.constants import ER

from devstack.settings import ROOT
from devstack.subprocess_stack import is_listening, running_stack
from people_api.config import database_settings
from people_api.http import cursors

STOP_TIMEOUT_SECONDS = 15

pytestmark = pytest.mark.e2e


def eventually(check, timeout: float = 20, what: str = "the condition"):
    """check()'s first truthy result, polled."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {timeout} s")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def stack():
    with running_stack() as running:
        yield running


def test_ping(stack):
    reply = stack.request("GET", "/ping")

    assert (reply.status, reply.body) == (200, "pong")


def test_a_method_and_path_with_no_route_is_a_json_404(stack):
    reply = stack.request("GET", "/nowhere")

    assert (reply.status, reply.json) == (404, {"message": "no route for this method and path"})


def test_the_seeded_people(stack):
    reply = stack.request("GET", "/people")

    assert reply.status == 200
    assert [p["id"] for p in reply.json["people"]] == [1, 2, 3, 4, 5, 6, 7]


def test_people_by_age(stack):
    reply = stack.request("GET", "/people/age")

    assert reply.status == 200
    assert [p["id"] for p in reply.json["people"]] == [3, 1, 6, 5, 4, 7, 2]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def banner_command(stack, label: str) -> str:
    """The command the banner suggests on its `label` line (what a user copies), without the note after it."""
    [line] = [line for line in stack.lines if f"|   {label:<10}" in line]
    return line.split(f"{label:<10}", 1)[1].split("   (")[0].strip()


def test_the_banners_commands_work_as_printed_on_other_ports(stack):
    """The stack runs on ports other than the defaults; a command copied from its banner must still find it."""
    shell = {name: value for name, value in os.environ.items() if name not in ("API_PORT", "S3_PORT", "BUCKET")}

    def run(command: str) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", "-c", command], cwd=ROOT, env=shell, capture_output=True, text=True)

    token = run(banner_command(stack, "token").replace("make token", "make -s token"))
    written = run(banner_command(stack, "write") + " -s -o /dev/null -w '%{http_code}'")

    assert f"S3_PORT={stack.s3_port} " in banner_command(stack, "token")
    assert stack.request("GET", "/imports", headers=bearer(token.stdout.strip())).status == 200
    assert written.stdout == "201", written.stderr


def test_a_write_without_a_token_is_401_with_a_bearer_challenge(stack):
    refused = stack.request("POST", "/people", {"first_name": "Ada", "last_name": "Lovelace", "age": 36})

    assert (refused.status, refused.json) == (401, {"message": "a valid bearer token is required"})
    assert refused.headers["WWW-Authenticate"] == "Bearer"


def test_a_token_with_another_signature_is_401(stack):
    header, payload, _ = stack.token().split(".")

    refused = stack.request("POST", "/people", {"first_name": "A", "last_name": "B"}, bearer(f"{header}.{payload}.AA"))

    assert refused.status == 401


def test_a_new_person_can_be_read_back(stack):
    created = stack.request(
        "POST", "/people", {"first_name": "Ada", "last_name": "Lovelace", "age": 36}, bearer(stack.token())
    )

    assert created.status == 201, created.body
    person_id = created.json["person"]["id"]
    read = stack.request("GET", f"/people/{person_id}")
    assert read.status == 200
    assert (read.json["first_name"], read.json["last_name"]) == ("Ada", "Lovelace")


def test_a_person_is_corrected_conditionally_and_erased_over_http(stack):
    writer = bearer(stack.token())
    # Given a new person, with its ETag
    created = stack.request("POST", "/people", {"first_name": "Grace", "last_name": "Hoper", "age": 85}, writer)
    assert (created.status, created.headers["Cache-Control"]) == (201, "no-store")
    person_id, tag = created.json["person"]["id"], created.headers["ETag"]
    path = f"/people/{person_id}"
    read = stack.request("GET", path)
    assert (read.headers["ETag"], read.headers["Cache-Control"]) == (tag, "public, max-age=3")
    assert stack.request("GET", path, headers={"If-None-Match": tag}).status == 304

    # When the typo in the last name is corrected with a merge patch, If-Match the version read
    merge_patch = writer | {"Content-Type": "application/merge-patch+json"}
    fixed = stack.request("PATCH", path, {"last_name": "Hopper", "age": None}, merge_patch | {"If-Match": tag})

    # Then the person is corrected, under a new ETag; the stale one no longer writes
    assert fixed.status == 200, fixed.body
    assert (fixed.json["last_name"], fixed.json["age"], fixed.json["first_name"]) == ("Hopper", None, "Grace")
    assert fixed.headers["ETag"] != tag and fixed.headers["Cache-Control"] == "no-store"
    assert stack.request("GET", "/ids/lastname/hopper").json["ids"] == [person_id]
    assert stack.request("GET", "/ids/lastname/hoper").json["ids"] == []
    stale = stack.request("PATCH", path, {"last_name": "Wrong"}, merge_patch | {"If-Match": tag})
    assert (stale.status, stale.headers["Cache-Control"]) == (412, "no-store")
    assert stack.request("DELETE", path, headers=writer | {"If-Match": tag}).status == 412
    assert stack.request("GET", path, headers={"If-None-Match": tag}).json["last_name"] == "Hopper"
    assert stack.request("PATCH", path, {"age": 1}, writer | {"Content-Type": "text/plain"}).status == 415
    assert stack.request("DELETE", path).status == 401  # the write permission, as for POST

    # And erasing it leaves nothing to read; a second DELETE is a 404
    erased = stack.request("DELETE", path, headers=writer | {"If-Match": fixed.headers["ETag"]})
    assert (erased.status, erased.body) == (204, "")
    assert stack.request("GET", path).status == 404
    assert person_id not in [p["id"] for p in stack.request("GET", "/people?limit=1000").json["people"]]
    assert stack.request("GET", "/ids/lastname/hopper").json["ids"] == []
    assert stack.request("DELETE", path, headers=writer).status == 404


def test_a_post_racing_a_delete_of_its_id_answers_201_with_the_person_it_inserted(stack):
    # Given another client deleting person 7000 again and again (SQL, on a connection of its own)
    stop = threading.Event()

    def delete_again_and_again() -> None:
        conn = pymysql.connect(**_connection_options(stack.database))
        try:
            with conn.cursor() as cur:
                while not stop.is_set():
                    try:
                        cur.execute("DELETE FROM people WHERE id = 7000")
                    except pymysql.err.OperationalError as error:
                        if error.args[0] != ER.LOCK_DEADLOCK:  # InnoDB's answer to racing an INSERT: retry
                            raise
        finally:
            conn.close()

    deleter = threading.Thread(target=delete_again_and_again)
    deleter.start()
    writer = bearer(stack.token())
    # When POSTs over HTTP create person 7000 meanwhile
    try:
        answers = [
            (n, stack.request("POST", "/people", {"id": 7000, "first_name": f"Racer {n}"}, writer)) for n in range(100)
        ]
    finally:
        stop.set()
        deleter.join()

    # Then each POST that inserted answers 201 with that person; the others found the id taken (409)
    assert {r.status for _, r in answers} <= {201, 409}, sorted({(r.status, r.body[:80]) for _, r in answers})
    created = [(n, r) for n, r in answers if r.status == 201]
    assert created
    assert all(r.json["person"]["first_name"] == f"Racer {n}" for n, r in created)


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"last_name": "\u200b"}, "last_name", "has no character a reader can see (U+200B is invisible)"),
        ({"first_name": "Ada", "Last": "\u3164"}, "Last", "has no character a reader can see (U+3164 is invisible)"),
        ({"last_name": "\u0301"}, "last_name", "has no character a reader can see (U+0301 is invisible)"),
        ({"first_name": "\u202eevil"}, "first_name", "must not contain a bidirectional control character (U+202E)"),
        (
            {"first_name": "Ada", "github_account": "ada\u2066"},
            "github_account",
            "must not contain a bidirectional control character (U+2066)",
        ),
    ],
)
def test_a_name_no_reader_can_see_or_text_that_reorders_is_422_over_http(stack, body, field, message):
    reply = stack.request("POST", "/people", body, bearer(stack.token()))

    assert (reply.status, reply.json["errors"]) == (422, [{"field": field, "message": message}])


def test_a_100_letter_name_sent_decomposed_is_stored_composed_over_http(stack):
    reply = stack.request("POST", "/people", {"last_name": "e\u0301" * 100}, bearer(stack.token()))

    assert reply.status == 201, reply.body
    assert reply.json["person"]["last_name"] == "\u00e9" * 100


def test_a_csv_put_into_the_bucket_is_imported(stack):
    # Given a CSV of two new people, under a key with a space (S3 events carry it URL-encoded)
    key = f"drops/e2e {uuid.uuid4().hex[:8]}.csv"
    csv = "ID,First,Last,Age,GithubAcct,Date of 3rd Grade Graduation\n1001,Grace,Hopper,85,,\n1002,Alan,Turing,41,,\n"

    # When it is put into the bucket
    stack.s3().put_object(Bucket=stack.bucket, Key=key, Body=csv.encode())

    # Then its people show up in /people, its import in /imports, with its report in the bucket
    def last_names():
        return {p["last_name"] for p in stack.request("GET", "/people?limit=100").json["people"]}

    eventually(lambda: {"Hopper", "Turing"} <= last_names(), what="the CSV's people appearing in /people")
    assert stack.request("GET", "/imports").status == 401
    imports = stack.request("GET", "/imports", headers=bearer(stack.token()))
    assert imports.status == 200
    [record] = [i for i in imports.json["imports"] if i["key"] == key]
    assert (record["status"], record["rows"]["inserted"]) == ("succeeded", 2)
    stack.s3().head_object(Bucket=stack.bucket, Key=record["report_key"])


def test_an_upper_case_csv_is_imported_and_a_txt_leaves_a_rejected_import(stack):
    stack.s3().put_object(Bucket=stack.bucket, Key="notes.txt", Body=b"not a csv")
    stack.s3().put_object(Bucket=stack.bucket, Key="UPPER.CSV", Body=b"ID,Last\r\n9001,Upper\r\n")

    def imports_by_key():
        listing = stack.request("GET", "/imports", headers=bearer(stack.token())).json["imports"]
        return {i["key"]: i for i in listing if i["key"] in ("notes.txt", "UPPER.CSV") and i["status"] != "running"}

    imports = eventually(lambda: len(imports_by_key()) == 2 and imports_by_key(), what="both imports recorded")
    assert (imports["UPPER.CSV"]["status"], imports["UPPER.CSV"]["rows"]["inserted"]) == ("succeeded", 1)
    assert imports["notes.txt"]["status"] == "rejected" and ".csv" in imports["notes.txt"]["message"]
    stack.s3().head_object(Bucket=stack.bucket, Key=imports["notes.txt"]["report_key"])


def test_an_import_s_own_report_is_ignored_quietly(stack):
    # Given the imports above wrote their reports into the bucket, whose events the import ignores
    stack.wait_for_line('ImportCsvFunction returned {"reports": []}', timeout=20)

    # Then the terminal shows no warning about the metrics such an invocation has not
    assert not [line for line in stack.lines if "UserWarning" in line or "No application metrics" in line]


def test_a_handler_exception_is_a_502_and_the_server_keeps_serving(stack):
    # Given the people table gone for a moment (an SQL error, not a lost connection)
    conn = pymysql.connect(**_connection_options(stack.database))
    try:
        with conn.cursor() as cur:
            cur.execute("RENAME TABLE people TO people_away")
        try:
            # When /people is asked for
            failed = stack.request("GET", "/people")
        finally:
            with conn.cursor() as cur:
                cur.execute("RENAME TABLE people_away TO people")
    finally:
        conn.close()

    # Then API Gateway's 502, with the trace in the terminal under the function's name
    assert failed.status == 502
    assert failed.json == {"message": "Internal server error"}
    assert any(line.startswith("ListPeopleFunction") and "ProgrammingError: (1146" in line for line in stack.lines)
    # And the next request is served
    assert stack.request("GET", "/people").status == 200


def _connection_options(database: str) -> dict:
    settings = database_settings()
    return dict(
        host=settings.host,
        port=settings.port,
        user=settings.user,
        password=settings.password,
        database=database,
        autocommit=True,
    )


def test_every_function_logs_under_its_name(stack):
    assert any(line.startswith("ImportCsvFunction") for line in stack.lines)
    assert any(line.startswith("api") and "GET /people/age -> 200" in line for line in stack.lines)


def test_the_scheduled_purge_of_import_records_ran_at_start(stack):
    # Given the stack is ready (its banner printed), the daily function has run once, with the seed's record kept
    assert any(line.startswith("schedule") and "-> PurgeImportsFunction" in line for line in stack.lines)
    [purged] = [line for line in stack.lines if "expired import records deleted" in line]
    assert purged.startswith("PurgeImportsFunction") and '"finished":0' in purged and '"complete":true' in purged
    # And its line carries its own Lambda context, though the seed's import ran at the same time
    assert '"function_name":"PurgeImportsFunction"' in purged


def test_imports_with_the_largest_records_come_in_pages_under_the_byte_budget(stack):
    # Given 160 import records at their largest (about 45 KB each in an answer: 7 MB for all of them)
    key = "\x01" * 1024  # S3 keys are at most 1024 bytes; control characters are allowed in them
    emoji = "\U0001f600"
    conn = pymysql.connect(**_connection_options(stack.database))
    try:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO imports (bucket, object_key, object_key_hash, etag, version_id, size_bytes, status,"
                " message, report_key) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    ("b" * 63, key, f"{n:064x}", '"' * 64, key, 1, "rejected", emoji * 1000, emoji * 1100)
                    for n in range(160)
                ],
            )
            cur.execute("SELECT COUNT(*) FROM imports")
            (count,) = cur.fetchone()
    finally:
        conn.close()

    # When /imports is read with the largest limit, page after page
    token, pages, cursor = bearer(stack.token()), [], ""
    while cursor is not None:
        page = stack.request("GET", f"/imports?limit=1000{cursor and f'&cursor={cursor}'}", headers=token)
        assert page.status == 200, page.body[:200]
        pages.append(page)
        cursor = page.json["next_cursor"]

    # Then no page passes the budget as Lambda would carry it (the body escaped again inside the proxy
    # response), and every record comes once
    carried = [len(page.body) + page.body.count('"') + page.body.count("\\") for page in pages]
    assert max(carried) <= cursors.PAGE_BYTES + 16 * 1024
    assert len(pages) > 1
    ids = [record["id"] for page in pages for record in page.json["imports"]]
    assert len(ids) == len(set(ids)) == count


def descendants(pid: int) -> set[int]:
    """Every process below `pid` (Linux's /proc), whatever process group it is in."""
    children: dict[int, set[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        children.setdefault(int(fields[1]), set()).add(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            found.add(child)
            todo.append(child)
    return found


def listening_ports(pids: set[int]) -> set[int]:
    """The TCP ports these processes listen on (their sockets' inodes in /proc/net/tcp)."""
    inodes = set()
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").glob("*"):
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    ports = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
            ports.add(int(fields[1].split(":")[1], 16))
    return ports


def test_ctrl_c_stops_everything(stack):
    # Given the stack's processes: its execution environments (each an emulator and its runtime) among them
    processes = descendants(stack.process.pid)
    ports = listening_ports(processes | {stack.process.pid})
    assert len(processes) >= 4 and {stack.api_port, stack.s3_port} < ports

    # When the stack gets Ctrl-C
    os.killpg(stack.process.pid, signal.SIGINT)

    # Then it exits cleanly, its process group is empty, none of its processes is left (an environment's runtime
    # has a process group of its own) and nothing listens on any of its ports
    assert stack.process.wait(STOP_TIMEOUT_SECONDS) == 0
    with pytest.raises(ProcessLookupError):
        os.killpg(stack.process.pid, 0)
    assert not [pid for pid in processes if Path(f"/proc/{pid}").exists()]
    assert not [port for port in ports if is_listening(port)]
