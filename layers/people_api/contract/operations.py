"""What docs/openapi.yaml says beyond the models: each operation's answers, parameters, headers and examples.

tools/openapi.py (`make openapi`) takes the routes from the functions' resolvers (Powertools' OpenAPIMerge) and
describes each with OPERATIONS[(method, path)]: a route without an entry here, or an entry without a route, stops
the generation. Schemas are named as the models in contract/models.py are; every limit is the layer's constant.
"""

from __future__ import annotations

from typing import Any

from people_api.http.cursors import DEFAULT_LIMIT, MAX_CURSOR_LENGTH, MAX_LIMIT, PAGE_BYTES
from people_api.http.requests import MAX_BODY_BYTES
from people_api.http.resolver import DATABASE_RETRY_AFTER_SECONDS
from people_api.imports.outcome import MAX_CHANGES_LISTED, MAX_ROW_ERRORS
from people_api.people.person import MAX_AGE, MAX_CHOSEN_ID, MAX_ID, MAX_NAME_LENGTH

JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
LOCAL_STACK = "http://127.0.0.1:3000"
PUBLIC_READ = [{}, {"bearerAuth": []}]  # public unless the stack's PeopleReadsAuthorizer is BearerToken
TOKEN = [{"bearerAuth": []}]
NO_TOKEN: list[dict[str, list[str]]] = []


def ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


def schema(name: str) -> dict[str, str]:
    return ref("schemas", name)


def answer(description: str, model: str | None = None, *, headers: dict | None = None, **media: Any) -> dict:
    """A response: `model` as JSON (with `example` or `examples` from `media`), and its headers."""
    response: dict[str, Any] = {"description": description}
    if headers:
        response["headers"] = headers
    if model is not None:
        response["content"] = {JSON: {"schema": schema(model), **media}}
    return response


def error(description: str, example: str | None = None, **examples: str) -> dict:
    """An error answer: `{"message": ...}`, with one example or several named ones."""
    if examples:
        return answer(description, "Error", examples={name: {"value": {"message": m}} for name, m in examples.items()})
    return answer(description, "Error", **({"example": {"message": example}} if example else {}))


def shared(*names: str) -> dict[str, dict]:
    """The answers every operation of a kind shares, by status: components/responses."""
    return {status: ref("responses", name) for status, name in (ANSWER_OF[name] for name in names)}


ANSWER_OF = {
    "BadCursor": ("400", "BadCursor"),
    "BadPersonId": ("400", "BadPersonId"),
    "Unauthorized": ("401", "Unauthorized"),
    "Forbidden": ("403", "Forbidden"),
    "PersonNotFound": ("404", "PersonNotFound"),
    "PreconditionFailed": ("412", "PreconditionFailed"),
    "InvalidQuery": ("422", "InvalidQuery"),
    "Throttled": ("429", "Throttled"),
    "FunctionFailed": ("502", "FunctionFailed"),
    "DatabaseUnavailable": ("503", "DatabaseUnavailable"),
}
GATEWAY = ("Throttled", "FunctionFailed")
READ = ("Unauthorized", *GATEWAY, "DatabaseUnavailable")
WRITE = ("Unauthorized", "Forbidden", *GATEWAY, "DatabaseUnavailable")
PAGE = [ref("parameters", "Limit"), ref("parameters", "Cursor")]
ETAG = {"ETag": ref("headers", "ETag")}
NO_STORE = {"Cache-Control": ref("headers", "NoStore")}
READ_CACHE = {"Cache-Control": ref("headers", "CacheControlRead")}
DOCS_HEADERS = {"ETag": ref("headers", "DocsETag"), "Cache-Control": ref("headers", "CacheControlDocs")}
BODY_LIMIT = f"At most 16 KiB ({MAX_BODY_BYTES} bytes)."
TOO_LARGE = f"The body is over 16 KiB ({MAX_BODY_BYTES} bytes)."


def path_id(whose: str) -> dict:
    return {"name": "id", "in": "path", "required": True, "description": f"The {whose} id.", "schema": schema("PathId")}


def people_page(description: str, **media: Any) -> dict:
    return answer(description, "PeoplePage", **media)


PEOPLE_EXAMPLE = {
    "people": [
        {
            "id": 1,
            "first_name": "Ada",
            "last_name": "Lovelace",
            "age": 36,
            "age_inferred": False,
            "github_account": "ada-l",
            "third_grade_graduation": "1999-06-25",
            "created_at": "2026-11-29T06:46:38.418894Z",
            "updated_at": "2026-11-29T06:46:38.418894Z",
        },
        {
            "id": 2,
            "first_name": "Grace",
            "last_name": None,
            "age": 35,
            "age_inferred": True,
            "github_account": None,
            "third_grade_graduation": "1999-06-25",
            "created_at": "2026-11-29T06:46:38.418894Z",
            "updated_at": "2026-11-29T06:47:00.941002Z",
        },
    ],
    "next_cursor": "WyJwZW9wbGUiLDJd.aMEJSIUdgW3VFaGVX_rmCA",
}
EXPORT_QUEUED_EXAMPLE = {
    "id": 4,
    "status": "queued",
    "message": None,
    "progress": {"rows_written": 0, "bytes_written": 0, "updated_at": None},
    "attempts": 0,
    "timings": {"created_at": "2026-12-02T18:44:05.971Z", "started_at": None, "finished_at": None, "seconds": None},
    "download": None,
}
NOT_MODIFIED = {"description": "The copy named by `If-None-Match` is current; no body."}
BODY_NOT_READ = (
    "The body is not UTF-8 text, not valid JSON (nested more than about 1000 levels deep counts as not valid, and so "
    "do `NaN`, `Infinity` and `-Infinity`), not a JSON object, names a key twice in one object, or holds a number "
    "of more than 100 digits or past 1.8e308."
)

OPERATIONS: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/ping"): {
        "operationId": "ping",
        "tags": ["health"],
        "security": NO_TOKEN,
        "summary": "The API is up",
        "description": "Does not touch the database.",
        "responses": {
            "200": {
                "description": "Always `pong`.",
                "content": {"text/plain": {"schema": {"type": "string", "const": "pong"}, "example": "pong"}},
            },
            **shared(*GATEWAY),
        },
    },
    ("GET", "/people"): {
        "operationId": "listPeople",
        "tags": ["people"],
        "security": PUBLIC_READ,
        "summary": "Everyone, ordered by id",
        "parameters": PAGE,
        "responses": {
            "200": people_page("A page of people, in ascending id order.", example=PEOPLE_EXAMPLE),
            **shared("BadCursor", "InvalidQuery", *READ),
        },
    },
    ("POST", "/people"): {
        "operationId": "createPerson",
        "tags": ["people"],
        "security": TOKEN,
        "summary": "Add a person",
        "description": "Validates the person with the same rules as the CSV import, stores it, and answers with the "
        f"stored person and the first page ({DEFAULT_LIMIT} people) of `GET /people`. `person` is the row as "
        "inserted, read inside the insert's transaction: a DELETE of its id a moment later does not change the "
        "answer (the first page is read after, and may no longer hold it).",
        "requestBody": {
            "required": True,
            "description": BODY_LIMIT,
            "content": {
                JSON: {
                    "schema": schema("PersonInput"),
                    "examples": {
                        "jsonNames": {
                            "summary": "The API's field names",
                            "value": {
                                "first_name": "Ada",
                                "last_name": "Lovelace",
                                "age": 36,
                                "github_account": "ada-l",
                                "third_grade_graduation": "1999-06-25",
                            },
                        },
                        "csvNames": {
                            "summary": "The CSV header names, with a chosen id",
                            "value": {
                                "ID": 8,
                                "First": "Grace",
                                "Last": "Hopper",
                                "GithubAcct": "ghopper",
                                "Date of 3rd Grade Graduation": "6/24/15",
                            },
                        },
                    },
                }
            },
        },
        "responses": {
            "201": {
                "description": "Created.",
                "headers": {
                    "Location": {
                        "description": "The new person's absolute path as the client addressed the API: with the "
                        "stage through API Gateway's default endpoint (`/v1/people/8`), `/people/8` under `make dev`.",
                        "required": True,
                        "schema": {"type": "string", "pattern": "^(/[^/]+)*/people/[1-9][0-9]*$"},
                        "example": "/v1/people/8",
                    },
                    **ETAG,
                    **NO_STORE,
                },
                "content": {JSON: {"schema": schema("CreatedPerson")}},
                "links": {
                    name: {"operationId": operation, "parameters": {"id": "$response.body#/person/id"}}
                    for name, operation in (
                        ("GetPerson", "getPerson"),
                        ("UpdatePerson", "updatePerson"),
                        ("DeletePerson", "deletePerson"),
                    )
                },
            },
            "400": error(
                BODY_NOT_READ,
                notJson="the body is not valid JSON",
                notAnObject="the body must be a JSON object",
                repeatedKey="the body names 'first_name' more than once",
            ),
            "409": error(
                "A person already has the id given; or, rarely, the insert lost three deadlocks in a row to other "
                "writes of the same id (nothing was added; trying again is safe).",
                idTaken="a person with id 8 already exists",
                raced="the person could not be added while other writes of its id raced it; nothing was added, "
                "try again",
            ),
            "413": error(TOO_LARGE, f"the body is 17017 bytes; the limit is {MAX_BODY_BYTES}"),
            "415": error(
                "The request has a `Content-Type` that is not `application/json` (or names a charset other than "
                "UTF-8). A request without `Content-Type` is read as JSON.",
                "the body must be application/json in UTF-8, not 'text/plain'",
            ),
            "422": answer(
                "The person breaks the rules. `errors` names every field at fault (the field as the request spelt "
                "it, so an unknown field is named as sent) and why.",
                "ValidationError",
                examples={
                    "severalFields": {
                        "value": {
                            "message": "the person is not valid",
                            "errors": [
                                {"field": "nickname", "message": "is not a field of a person"},
                                {"field": "age_inferred", "message": "is computed by the server and cannot be set"},
                                {"field": "age", "message": f"must be a whole number from 0 to {MAX_AGE}, not 200"},
                                {"field": "first_name", "message": "a person needs a first_name or a last_name"},
                            ],
                        }
                    },
                    "namesNoOneCanRead": {
                        "summary": 'Text a reader cannot see, or that reorders text ({"first_name": "\\u200b", '
                        '"Last": "\\u202eevil"})',
                        "value": {
                            "message": "the person is not valid",
                            "errors": [
                                {
                                    "field": "first_name",
                                    "message": "has no character a reader can see (U+200B is invisible)",
                                },
                                {
                                    "field": "Last",
                                    "message": "must not contain a bidirectional control character (U+202E)",
                                },
                            ],
                        },
                    },
                    "lengthAndFirstCharacter": {
                        "value": {
                            "message": "the person is not valid",
                            "errors": [
                                {
                                    "field": "last_name",
                                    "message": f"must be at most {MAX_NAME_LENGTH} characters (in NFC), not 101",
                                },
                                {
                                    "field": "first_name",
                                    "message": "must begin with a character a reader can see, not U+0301",
                                },
                            ],
                        }
                    },
                },
            ),
            **shared(*WRITE),
        },
    },
    ("GET", "/people/changes"): {
        "operationId": "listPeopleChanges",
        "tags": ["people"],
        "security": PUBLIC_READ,
        "summary": "What changed since a sync, to keep a copy of the directory",
        "description": "The people written (created, corrected, imported) and the ids erased since `since`, in the "
        "order the writes committed (each write's transaction is one change, numbered when it commits), a person "
        "changed several times only at its latest change. Apply the items in order: `put` stores the person "
        "(replacing any copy of its id), `erase` drops the id. Follow `next_cursor` while it is not null; the last "
        "page has `next_since` instead, to pass as `since` next time. A page may hold fewer items than `limit`, "
        "even none, and still have a `next_cursor`: it reads at most 10,000 changes (old changes emptied by later "
        "ones hold nothing). Without `since`, the feed starts from the beginning: everyone, as changes. A client "
        "that applies every page ends with exactly the directory as it was when its last page was read, whatever "
        "writes committed meanwhile (README, Caching; docs/changes.md).",
        "parameters": [
            {
                "name": "since",
                "in": "query",
                "required": False,
                "description": "The `next_since` of the last page of the previous sync; omit it to start from the "
                "beginning. Ignored with `cursor`, which carries the position. Signed like a cursor (400 for any "
                "other string).",
                "schema": {"type": "string", "maxLength": MAX_CURSOR_LENGTH},
            },
            *PAGE,
        ],
        "responses": {
            "200": answer("A page of changes.", "ChangesPage", headers=NO_STORE),
            "410": {
                "description": "Tombstones this client may still need are gone (they are kept `ChangeRetentionDays`, "
                "30 by default), or the token is from another database: the copy may hold people erased since. "
                "Start over: empty the copy and sync without `since`.",
                "headers": NO_STORE,
                "content": {
                    JSON: {
                        "schema": schema("Error"),
                        "example": {
                            "message": "the changes since this token are no longer all kept (erasures are kept 30 "
                            "days): start over with an empty copy and GET /people/changes without since"
                        },
                    }
                },
            },
            **shared("BadCursor", "InvalidQuery", *READ),
        },
    },
    ("GET", "/people/age"): {
        "operationId": "listPeopleByAge",
        "tags": ["people"],
        "security": PUBLIC_READ,
        "summary": "Everyone, youngest first",
        "description": "Ordered by age ascending, the stated `age` or, without one, the age inferred from "
        "`third_grade_graduation` as of today (UTC); people with the same age by id. People with neither an age nor "
        "a graduation date come last, by id.",
        "parameters": PAGE,
        "responses": {
            "200": people_page("A page of people, youngest first."),
            **shared("BadCursor", "InvalidQuery", *READ),
        },
    },
    ("GET", "/people/{id}"): {
        "operationId": "getPerson",
        "tags": ["people"],
        "security": PUBLIC_READ,
        "summary": "One person",
        "parameters": [
            path_id("person's"),
            {
                "name": "If-None-Match",
                "in": "header",
                "required": False,
                "description": "The `ETag` of a copy the client has (or a list of them, or `*`); `304` when it is "
                "still current (weak comparison). A value that is not `*` or a list of entity tags matches nothing.",
                "schema": {"type": "string"},
            },
        ],
        "responses": {
            "200": answer("The person.", "Person", headers={**ETAG, **READ_CACHE}),
            "304": NOT_MODIFIED | {"headers": {**ETAG, **READ_CACHE}},
            **shared("BadPersonId", "PersonNotFound", *READ),
        },
    },
    ("PATCH", "/people/{id}"): {
        "operationId": "updatePerson",
        "tags": ["people"],
        "security": TOKEN,
        "summary": "Correct a person (JSON Merge Patch)",
        "description": "A JSON Merge Patch (RFC 7396): members present are set, `null` clears a field, members left "
        "out stay as they are. The field names and value rules are those of `POST /people` (the CSV header names "
        "are accepted too), and the person that results must pass the same rules as a new one: clearing both names "
        "is a `422`. `id` cannot be changed (giving the current id is allowed and changes nothing). A patch that "
        "changes nothing writes nothing and keeps the `ETag`. Send it as `application/merge-patch+json` "
        "(`application/json` is read the same way).",
        "parameters": [path_id("person's"), ref("parameters", "IfMatch")],
        "requestBody": {
            "required": True,
            "description": BODY_LIMIT,
            "content": {
                MERGE_PATCH: {
                    "schema": schema("PersonPatch"),
                    "example": {"last_name": "Nakamura", "github_account": None},
                }
            },
        },
        "responses": {
            "200": answer("The person as corrected.", "Person", headers={**ETAG, **NO_STORE}),
            "400": error(
                f"`id` is not a whole number from 1 to {MAX_ID} in decimal digits without a leading zero, or the "
                "body is not UTF-8 JSON text holding an object (`NaN` and `Infinity` are not JSON), names a key "
                "twice in one object, or holds a number of more than 100 digits or past 1.8e308."
            ),
            "409": error("Without `If-Match`, the person kept changing under concurrent writes; try again."),
            "413": error(TOO_LARGE),
            "415": error("The Content-Type is not `application/merge-patch+json` or `application/json`."),
            "422": answer(
                "The corrected person breaks the rules, a member is not a field of a person, or the patch changes "
                "`id`. `errors` names every field at fault.",
                "ValidationError",
                example={
                    "message": "the person is not valid",
                    "errors": [
                        {"field": "id", "message": "cannot be changed (it is 4)"},
                        {"field": "first_name", "message": "a person needs a first_name or a last_name"},
                    ],
                },
            ),
            **shared("PersonNotFound", "PreconditionFailed", *WRITE),
        },
    },
    ("DELETE", "/people/{id}"): {
        "operationId": "deletePerson",
        "tags": ["people"],
        "security": TOKEN,
        "summary": "Erase a person",
        "description": "The person is gone from every listing and lookup at once (caches may keep a read for up to "
        "`max-age` seconds). Its id may be used again by a later `POST` or CSV import.",
        "parameters": [path_id("person's"), ref("parameters", "IfMatch")],
        "responses": {
            "204": {"description": "Erased; no body.", "headers": NO_STORE},
            **shared("BadPersonId", "PersonNotFound", "PreconditionFailed", *WRITE),
        },
    },
    ("GET", "/ids/lastname/{lastname}"): {
        "operationId": "idsByLastName",
        "tags": ["people"],
        "security": PUBLIC_READ,
        "summary": "Ids of the people with a last name",
        "description": "Matches the whole last name, ignoring case (Unicode case folding) but nothing else: accents "
        "and inner spaces count. Leading and trailing spaces of the name are ignored. Ordered by id. A name nobody "
        "has is not an error: the answer is an empty `ids` list.",
        "parameters": [
            {
                "name": "lastname",
                "in": "path",
                "required": True,
                "description": "The last name, percent-encoded as a path segment (`O%27Neil`, `van%20Dyke`).",
                "schema": {"type": "string", "minLength": 1},
                "example": "O'Neil",
            },
            *PAGE,
        ],
        "responses": {
            "200": answer(
                "A page of ids.", "IdsPage", example={"last_name": "O'Neil", "ids": [3, 17], "next_cursor": None}
            ),
            "400": error(
                "`cursor` is not one this API handed out for this listing, or `lastname` does not percent-decode to "
                "UTF-8 text (`Jos%E9`).",
                "lastname is not percent-encoded UTF-8 text",
            ),
            **shared("InvalidQuery", *READ),
        },
    },
    ("GET", "/imports"): {
        "operationId": "listImports",
        "tags": ["imports"],
        "security": TOKEN,
        "summary": "The CSV imports, newest first",
        "description": "Newest first (by id, descending). The list leaves out each import's row errors.",
        "parameters": PAGE,
        "responses": {
            "200": answer("A page of imports, newest first.", "ImportsPage"),
            **shared("BadCursor", "InvalidQuery", *WRITE),
        },
    },
    ("GET", "/imports/{id}"): {
        "operationId": "getImport",
        "tags": ["imports"],
        "security": TOKEN,
        "summary": "One CSV import",
        "description": f"The import, with the first {MAX_ROW_ERRORS} row errors and, for an upsert or a mirror "
        f"(`mode`; a dry run says what it would do), the first {MAX_CHANGES_LISTED} people it changed, erased or "
        "left to a newer write of the API (`changes`: ids and field names, never values).",
        "parameters": [path_id("import's")],
        "responses": {
            "200": answer("The import.", "Import"),
            "400": answer(
                f"`id` is not a whole number from 1 to {MAX_ID} in decimal digits without a leading zero (`1.0`, "
                "`+1`, `%201` are refused). The `errors` entry names the parameter `id`.",
                "ValidationError",
            ),
            "404": error("No import has this id.", "no import has id 42"),
            **shared(*WRITE),
        },
    },
    ("POST", "/exports"): {
        "operationId": "createExport",
        "tags": ["exports"],
        "security": TOKEN,
        "summary": "Start an export of every person as one CSV file",
        "description": "Needs `people:export`. The export runs in the background (a queue, then the export "
        "function): poll `GET /exports/{id}` (the `Location`) until it is `succeeded`, then fetch its "
        "`download.url`. The file is the import's own CSV format, so it can be imported back (docs/export.md). "
        "No body is read.",
        "responses": {
            "202": answer(
                "Queued.",
                "Export",
                headers={"Location": ref("headers", "ExportLocation"), **NO_STORE},
                example=EXPORT_QUEUED_EXAMPLE,
            ),
            **shared("Unauthorized", "Forbidden", *GATEWAY),
            "503": error(
                "The database, or the export queue, cannot be reached now; retry after `Retry-After` seconds. An "
                "export that could not be queued is recorded as `failed`.",
                database="the database is unavailable; try again shortly",
                queue="the export could not be queued; try again shortly",
            )
            | {"headers": {"Retry-After": ref("headers", "RetryAfter")}},
        },
    },
    ("GET", "/exports"): {
        "operationId": "listExports",
        "tags": ["exports"],
        "security": TOKEN,
        "summary": "The exports, newest first",
        "description": "Needs `people:export`. Newest first (by id, descending), without the download URLs "
        "(`GET /exports/{id}` signs one). Never cached: a status changes while an export runs.",
        "parameters": PAGE,
        "responses": {
            "200": answer("A page of exports, newest first.", "ExportsPage", headers=NO_STORE),
            **shared("BadCursor", "InvalidQuery", *WRITE),
        },
    },
    ("GET", "/exports/{id}"): {
        "operationId": "getExport",
        "tags": ["exports"],
        "security": TOKEN,
        "summary": "One export, and the URL of its file once it succeeded",
        "description": "Needs `people:export`. `download` is a pre-signed S3 URL, valid `ExportUrlSeconds` (900 by "
        "default) from this answer: a credential, so the answer is never cached. Each call signs a new one.",
        "parameters": [path_id("export's")],
        "responses": {
            "200": answer("The export.", "Export", headers=NO_STORE),
            "400": answer(
                f"`id` is not a whole number from 1 to {MAX_ID} in decimal digits without a leading zero (`1.0`, "
                "`+1`, `%201` are refused). The `errors` entry names the parameter `id`.",
                "ValidationError",
            ),
            "404": error("No export has this id (or its record was purged).", "no export has id 42"),
            **shared(*WRITE),
        },
    },
    ("GET", "/docs"): {
        "operationId": "docsPage",
        "tags": ["docs"],
        "security": NO_TOKEN,
        "summary": "This document as a page where the operations can be read and tried",
        "description": "Swagger UI, served by the API itself: the page loads its script, its style and this "
        'document from `/docs/{file}` and nothing from elsewhere, and "Try it out" calls the API that served the '
        "page (its stage included). Public whatever the stack's authorizers.",
        "parameters": [ref("parameters", "IfNoneMatchCopy")],
        "responses": {
            "200": {
                "description": "The page (HTML).",
                "headers": DOCS_HEADERS,
                "content": {"text/html": {"schema": {"type": "string"}}},
            },
            "304": NOT_MODIFIED | {"headers": DOCS_HEADERS},
            **shared(*GATEWAY),
        },
    },
    ("GET", "/docs/{file}"): {
        "operationId": "docsFile",
        "tags": ["docs"],
        "security": NO_TOKEN,
        "summary": "This document as JSON, or one of the docs page's files",
        "description": "`openapi.json` is this document, with `servers` naming the API that served it (the stage "
        "in AWS, the root under `make dev`); the others are the page's script and style (Swagger UI as "
        "aws-lambda-powertools ships it, and the page's own `docs.js`).",
        "parameters": [
            {
                "name": "file",
                "in": "path",
                "required": True,
                "schema": {
                    "type": "string",
                    "enum": ["openapi.json", "docs.js", "swagger-ui-bundle.min.js", "swagger-ui.min.css"],
                },
            },
            ref("parameters", "IfNoneMatchCopy"),
        ],
        "responses": {
            "200": {
                "description": "The file.",
                "headers": DOCS_HEADERS,
                "content": {
                    JSON: {"schema": {"type": "object", "required": ["openapi", "info", "paths", "servers"]}},
                    "text/javascript": {"schema": {"type": "string"}},
                    "text/css": {"schema": {"type": "string"}},
                },
            },
            "304": NOT_MODIFIED | {"headers": DOCS_HEADERS},
            "404": error("No such file under `/docs`.", "no such file under /docs") | {"headers": NO_STORE},
            **shared(*GATEWAY),
        },
    },
}

PARAMETERS = {
    "Limit": {
        "name": "limit",
        "in": "query",
        "required": False,
        "description": "The most items a page holds. A page holds fewer when the next item would take its items "
        f"past {PAGE_BYTES // 2**20} MiB of the answer; `next_cursor` says whether more follow.",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
    },
    "Cursor": {
        "name": "cursor",
        "in": "query",
        "required": False,
        "description": "The `next_cursor` of the previous page of the same listing; omit it for the first page. "
        "Opaque and signed: any string this API did not hand out for this listing (another listing's cursor, an "
        "edited one, a made-up one, one spelt in other base64: padded, with `+` or `/`) "
        "is refused with 400, whatever it decodes to; one longer than "
        f"{MAX_CURSOR_LENGTH} characters with 422. No schema can tell a signed cursor from a forged one, so the "
        "schema below admits strings the API refuses.",
        "schema": {"type": "string", "maxLength": MAX_CURSOR_LENGTH},
    },
    "IfNoneMatchCopy": {
        "name": "If-None-Match",
        "in": "header",
        "required": False,
        "description": "The `ETag` of a copy the client has; `304` when it is still current.",
        "schema": {"type": "string"},
    },
    "IfMatch": {
        "name": "If-Match",
        "in": "header",
        "required": False,
        "description": "Write only if the person is still this version: an `ETag` this API gave (or a list of them, "
        "or `*`). Compared strongly, in the same statement as the write: `412` and nothing changes otherwise. Two "
        "requests with the same `If-Match` cannot both succeed. A value that is not `*` or a list of entity tags "
        "matches nothing (`412`).",
        "schema": {"type": "string"},
    },
}

HEADERS = {
    "ETag": {
        "description": "The person's current version, a strong entity tag; send it in `If-Match` or `If-None-Match`.",
        "required": True,
        "schema": {"type": "string", "pattern": '^"[A-Za-z0-9_-]+"$'},
        "example": '"3q2-7wAAAAABAAAA"',
    },
    "DocsETag": {
        "description": "The file's version, a strong entity tag (a hash of its content).",
        "required": True,
        "schema": {"type": "string", "pattern": '^"[0-9a-f]{32}"$'},
    },
    "CacheControlDocs": {
        "description": "`public, max-age=300` for the page and this document, a day for the page's script and style.",
        "required": True,
        "schema": {"type": "string", "pattern": "^public, max-age=(300|86400)$"},
    },
    "CacheControlRead": {
        "description": "`public, max-age=N` (`private, max-age=N` when the reads need a token): N is the stack "
        "parameter `ReadCacheSeconds` (3 by default).",
        "required": True,
        "schema": {"type": "string", "pattern": "^(public|private), max-age=[0-9]+$"},
    },
    "NoStore": {
        "description": "Writes and errors are never cached.",
        "required": True,
        "schema": {"type": "string", "const": "no-store"},
    },
    "ExportLocation": {
        "description": "The export's path, `GET /exports/{id}` (with the stage: `/v1/exports/4`).",
        "required": True,
        "schema": {"type": "string"},
    },
    "RetryAfter": {
        "description": "Seconds to wait before retrying.",
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
        "example": str(DATABASE_RETRY_AFTER_SECONDS),
    },
}

SECURITY_SCHEMES = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An access token (JWT) of the stack's issuer: its Cognito user pool, or the OpenID Connect "
        "issuer its AuthIssuerUrl names. Users get `people:write` from the Cognito group `people-writers` and "
        "`imports:read` from `import-readers`, `people:export` from `people-exporters`; machine clients from the "
        "scopes `people-api/people.write`, `people-api/imports.read` and `people-api/people.export`. "
        "Any valid token may read people. Under `make dev`, `make token` prints one.",
    }
}

_BAD_ID = f"must be a whole number from 1 to {MAX_ID} in digits, no leading zero"
RESPONSES = {
    "Unauthorized": {
        "description": "No token, or one that is not valid (signature, issuer, audience, expiry...).",
        "headers": {
            "WWW-Authenticate": {"description": "The scheme to use.", "schema": {"type": "string", "const": "Bearer"}}
        },
        "content": {JSON: {"schema": schema("Error"), "example": {"message": "a valid bearer token is required"}}},
    },
    "Forbidden": error(
        "A valid token without the permission this operation needs.", "this token does not allow this request"
    ),
    "PersonNotFound": error("No person has this id.", "no person has id 42") | {"headers": NO_STORE},
    "BadPersonId": answer(
        f"`id` is not a whole number from 1 to {MAX_ID} in decimal digits without a leading zero (`1.0`, `+1`, "
        "`%201` are refused). The `errors` entry names the parameter `id`.",
        "ValidationError",
        headers=NO_STORE,
        example={"message": "the request's parameters are not valid", "errors": [{"field": "id", "message": _BAD_ID}]},
    ),
    "PreconditionFailed": error(
        "`If-Match` names no current version of the person: nothing was changed.",
        "If-Match names no current version of this resource; nothing was changed",
    )
    | {"headers": NO_STORE},
    "BadCursor": error(
        "`cursor` is not one this API handed out for this listing.", "cursor is not one this API handed out"
    ),
    "InvalidQuery": answer(
        f"A query parameter is not valid: `limit` not a whole number from 1 to {MAX_LIMIT}, or `cursor` longer than "
        f"{MAX_CURSOR_LENGTH} characters. `errors` names each parameter.",
        "ValidationError",
        example={
            "message": "the request's parameters are not valid",
            "errors": [{"field": "limit", "message": f"must be a whole number from 1 to {MAX_LIMIT} in digits"}],
        },
    ),
    "DatabaseUnavailable": error(
        "The database cannot be reached now; retry after `Retry-After` seconds.",
        "the database is unavailable; try again shortly",
    )
    | {"headers": {"Retry-After": ref("headers", "RetryAfter")}},
    "Throttled": error(
        "Throttled by API Gateway (more requests than the stage's rate and burst limits allow).", "Too Many Requests"
    ),
    "FunctionFailed": error(
        "The function failed unexpectedly or timed out; API Gateway answers.", "Internal server error"
    ),
}

# Path parameters are strings: an id is 1 to MAX_ID in decimal digits, no sign, fraction, space or leading zero.
_ID_PATTERN = (
    "^([1-9][0-9]{0,14}|[1-8][0-9]{15}|900[0-6][0-9]{12}|90070[0-9]{11}|90071[0-8][0-9]{10}|900719[0-8][0-9]{9}"
    "|9007199[0-1][0-9]{8}|90071992[0-4][0-9]{7}|900719925[0-3][0-9]{6}|9007199254[0-6][0-9]{5}"
    "|90071992547[0-3][0-9]{4}|9007199254740[0-8][0-9]{2}|90071992547409[0-8][0-9]{1}|9007199254740990"
    "|9007199254740991)$"
)
assert MAX_ID == 9007199254740991, "_ID_PATTERN spells this number out"
PATH_ID = {
    "description": f"An id in a path: 1 to {MAX_ID} in decimal digits, without a sign, a fraction, spaces or leading "
    "zeros (400 otherwise).",
    "type": "string",
    "pattern": _ID_PATTERN,
}

SERVERS = [
    {"url": LOCAL_STACK, "description": "`make dev` on this machine (API_PORT, 3000 by default)"},
    {
        "url": "https://{apiId}.execute-api.{region}.amazonaws.com/{stage}",
        "description": "A deployed stack: its output `ApiUrl`",
        "variables": {
            "apiId": {"default": "abcdef1234", "description": "The REST API's id (stack output `ApiUrl`)."},
            "region": {"default": "eu-west-1"},
            "stage": {"default": "v1"},
        },
    },
]

TAGS = [
    {"name": "health"},
    {"name": "docs", "description": "This document, as a page (`GET /docs`) and as JSON."},
    {"name": "people"},
    {"name": "imports", "description": "The CSV files dropped into the import bucket, and what became of them."},
    {"name": "exports", "description": "Every person as one CSV file in the import's format, to fetch by URL."},
]

DESCRIPTION = f"""\
People kept in MySQL, served by API Gateway (one Lambda function per route), and the
record of the CSV files imported into it from the stack's S3 bucket.

**Base URL.** The stack output `ApiUrl`: `https://{{api-id}}.execute-api.{{region}}.amazonaws.com/{{stage}}`
(stage `v1` unless deployed otherwise), or `{LOCAL_STACK}` under `make dev`. Every path below is relative to it.

**Errors.** Every error the functions answer is JSON: `{{"message": string}}`, plus an
`errors` array of `{{"field", "message"}}` when individual fields or parameters are at fault; each
field's message says what the field must be, in the same words wherever the rule applies (a path,
a query, a JSON body or a CSV row). API Gateway's own errors (429, 502, and 404 for a method and
path with no route) carry `{{"message": string}}` too.

- `400` a path parameter that is not valid, a cursor this API did not hand out, a body that is
  not a JSON object.
- `422` a query parameter that is not valid (`limit`, an over-long `cursor`), a person that
  breaks the rules.
- `503` the database cannot be reached; retry after `Retry-After` seconds.
- `429` API Gateway throttling (steady rate and burst are stack parameters, 50 and 100 by default).
- `502` the function failed unexpectedly (or timed out).

**Authentication.** Writes (`POST /people`, `PATCH` and `DELETE /people/{{id}}`) and the import records need an
access token, `Authorization: Bearer <JWT>`, whose permissions include the operation's (`bearerAuth`); the
people reads are public unless the stack makes them need any valid token. No token or a bad
one: `401` with `WWW-Authenticate: Bearer`; a valid token without the permission: `403`. When
the issuer's keys cannot be fetched, `503`. See docs/auth.md.

**Paging.** Listings return at most `limit` items and a `next_cursor`. Pass it back as `cursor`
to get the next page; it is `null` on the last page (a page is never empty unless the whole
listing is). A page may hold fewer than `limit` items although more follow: it stops before its
items would take more than {PAGE_BYTES // 2**20} MiB ({PAGE_BYTES:,} bytes) of the answer, which keeps every answer
under Lambda's 6 MB response limit whatever the records hold (long, escaped names, S3 keys and
messages); `next_cursor` goes on from the last item it holds. Read on until `next_cursor` is
`null`, never until a page is short. Cursors are opaque, signed by the API (an HMAC under the stack's key) and
belong to one listing: a cursor of `/people` is refused (400) by `/people/age`, and so is any string
the API did not hand out, whatever it decodes to.

**Ids.** Every id the API hands out is an integer from 1 to {MAX_ID} (2^53 - 1), which
JSON clients read exactly. An id a client chooses (`POST /people`, a CSV's `ID`) is at most
{MAX_CHOSEN_ID}; ids left out are assigned after the largest id so far.

**Dates.** "Today", for inferred ages and the latest graduation date accepted, is the current
date in UTC.

**Versions and conditional requests.** Every person has a version that changes on each write.
`GET /people/{{id}}`, `POST /people` and `PATCH /people/{{id}}` answer with its `ETag` (a strong,
opaque entity tag). `If-None-Match` on `GET /people/{{id}}` answers `304` when the person is
unchanged; `If-Match` on `PATCH` and `DELETE` makes the write happen only if the person is still
that version (`412` otherwise, and nothing changes), so that two clients cannot overwrite each
other's corrections. New fields may be added to the JSON objects this API answers: clients
should ignore members they do not know.

**Caching.** Successful `GET` answers carry `Cache-Control: public, max-age=N` (the stack
parameter `ReadCacheSeconds`, 3 by default): a client or a CDN may reuse them that long, so a
change can take up to N seconds to be seen through a cache. Reads that need a token are
`private, max-age=N` instead. Errors and writes are `no-store`.

**CORS.** Browser scripts of the origins in the stack parameter `CorsAllowedOrigins` (none by
default) may call the API: API Gateway answers their preflights (`OPTIONS` on every path, not
listed here), and the answers name an allowed `Origin` in `Access-Control-Allow-Origin`, with
`ETag`, `Location` and `Retry-After` exposed. See the README, CORS.

**This document as a page.** `GET /docs` shows it with Swagger UI, served by the API itself.

**Generated.** `make openapi` writes this document from the functions' routes and the layer's
models (layers/people_api/contract/); CI fails when the committed copy differs.
"""
