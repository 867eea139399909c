"""Every operation of the API through the client openapi-python-client generated from docs/openapi.yaml.

Run by tests/e2e/test_generated_client.py with the client's own environment (.venv-client: httpx, attrs), the
generated package on its path: `python session.py <api url> <token> <import key>`. Each answer is parsed by the
client into the model the document names for its status; an assertion that fails exits non-zero, naming it.
"""

from __future__ import annotations

import sys
import time
import uuid

from people_client import AuthenticatedClient, Client
from people_client.api.exports import create_export, get_export, list_exports
from people_client.api.imports import get_import, list_imports
from people_client.api.people import (
    create_person,
    delete_person,
    get_person,
    ids_by_last_name,
    list_people,
    list_people_by_age,
    update_person,
)
from people_client.models import (
    CreatedPerson,
    Error,
    Export,
    ExportsPage,
    Import,
    ImportsPage,
    ImportSummaryStatus,
    PeoplePage,
    Person,
    PersonInput,
    PersonPatch,
    ValidationError,
)

IMPORT_SECONDS = 30
EXPORT_SECONDS = 30


def main(url: str, token: str, import_key: str) -> None:
    writer = AuthenticatedClient(base_url=url, token=token, raise_on_unexpected_status=True)
    anonymous = Client(base_url=url, raise_on_unexpected_status=True)
    family = f"Client{uuid.uuid4().hex[:8]}"

    # create, with the API's field names and with the CSV's
    created = create_person.sync_detailed(
        client=writer, body=PersonInput(first_name="Ada", last_name=family, age=40, github_account="ada-l")
    )
    assert created.status_code == 201 and isinstance(created.parsed, CreatedPerson), created
    ada = created.parsed.person
    assert created.headers["Location"].endswith(f"/people/{ada.id}") and created.headers["ETag"], created.headers
    grace = create_person.sync(client=writer, body=PersonInput(first="Grace", last=family, age="30")).person
    alan = create_person.sync(
        client=writer, body=PersonInput(first_name="Alan", last_name=family, third_grade_graduation="2000-06-25")
    ).person
    assert (grace.first_name, grace.age, alan.age_inferred) == ("Grace", 30, True)

    # lookups and paging: a public read needs no token
    ids = ids_by_last_name.sync(family.lower(), client=anonymous, limit=2)
    rest = ids_by_last_name.sync(family, client=anonymous, limit=2, cursor=ids.next_cursor)
    assert ids.ids + rest.ids == [ada.id, grace.id, alan.id] and rest.next_cursor is None, (ids, rest)
    seen, cursor = [], None
    while True:
        page = list_people.sync(client=anonymous, limit=2, **({"cursor": cursor} if cursor else {}))
        assert isinstance(page, PeoplePage) and len(page.people) <= 2, page
        seen += [person.id for person in page.people]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == sorted(seen) and {ada.id, grace.id, alan.id} <= set(seen), seen
    by_age = [p for p in _all_by_age(anonymous) if p.last_name == family]
    assert [p.id for p in by_age] == sorted(
        [ada.id, grace.id, alan.id], key={ada.id: 40, grace.id: 30, alan.id: alan.age}.get
    )

    # a read with its ETag, then 304; a merge patch under If-Match; a stale If-Match is 412
    read = get_person.sync_detailed(str(ada.id), client=anonymous)
    assert isinstance(read.parsed, Person) and read.parsed.id == ada.id, read
    etag = read.headers["ETag"]
    assert get_person.sync_detailed(str(ada.id), client=anonymous, if_none_match=etag).status_code == 304
    patched = update_person.sync_detailed(
        str(ada.id), client=writer, body=PersonPatch(github_account=None, last_name=f"{family}x"), if_match=etag
    )
    assert isinstance(patched.parsed, Person) and patched.parsed.github_account is None, patched
    assert patched.headers["ETag"] != etag
    stale = update_person.sync_detailed(str(ada.id), client=writer, body=PersonPatch(age=41), if_match=etag)
    assert stale.status_code == 412 and isinstance(stale.parsed, Error), stale

    # delete under the current ETag; then 404
    gone = delete_person.sync_detailed(str(ada.id), client=writer, if_match=patched.headers["ETag"])
    assert gone.status_code == 204, gone
    missing = get_person.sync_detailed(str(ada.id), client=anonymous)
    assert missing.status_code == 404 and isinstance(missing.parsed, Error), missing
    assert missing.parsed.message == f"no person has id {ada.id}"

    # 401 without a token; 422 naming the field
    refused = create_person.sync_detailed(client=anonymous, body=PersonInput(first_name="Eve"))
    assert refused.status_code == 401 and isinstance(refused.parsed, Error), refused
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    invalid = create_person.sync_detailed(client=writer, body=PersonInput(first_name="Eve", age=200))
    assert invalid.status_code == 422 and isinstance(invalid.parsed, ValidationError), invalid
    assert [(e.field, e.message) for e in invalid.parsed.errors] == [
        ("age", "must be a whole number from 0 to 150, not 200")
    ]

    # the import records: the test uploaded `import_key`; its record, listed and alone
    record = _import_of(writer, import_key)
    assert record.status == ImportSummaryStatus.SUCCEEDED and record.rows.inserted == 2, record
    full = get_import.sync(str(record.id), client=writer)
    assert isinstance(full, Import) and full.key == import_key and full.errors == [], full
    for person in (grace, alan):
        assert delete_person.sync_detailed(str(person.id), client=writer).status_code == 204

    # an export: queued (202), then its record with a download URL, and listed
    queued = create_export.sync_detailed(client=writer)
    assert queued.status_code == 202 and isinstance(queued.parsed, Export), queued
    done = _finished_export(writer, queued.parsed.id)
    assert done.status.value == "succeeded" and done.download.url.startswith("http"), done
    listed = list_exports.sync(client=writer, limit=5)
    assert isinstance(listed, ExportsPage) and listed.exports[0].id == done.id, listed


def _all_by_age(client):
    cursor = None
    while True:
        page = list_people_by_age.sync(client=client, limit=1000, **({"cursor": cursor} if cursor else {}))
        yield from page.people
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def _finished_export(client, export_id: int):
    deadline = time.monotonic() + EXPORT_SECONDS
    while True:
        record = get_export.sync(str(export_id), client=client)
        assert isinstance(record, Export), record
        if record.status.value in ("succeeded", "failed"):
            return record
        assert time.monotonic() < deadline, f"export {export_id} did not finish"
        time.sleep(0.5)


def _import_of(client, key: str):
    deadline = time.monotonic() + IMPORT_SECONDS
    while True:
        page = list_imports.sync(client=client, limit=10)
        assert isinstance(page, ImportsPage), page
        record = next((r for r in page.imports if r.key == key), None)
        if record is not None and record.status.value in ("succeeded", "rejected", "failed"):
            return record
        assert time.monotonic() < deadline, f"no finished import of {key}"
        time.sleep(0.5)


if __name__ == "__main__":
    main(*sys.argv[1:])
    print("every operation answered as the document says")
