"""Every JSON body the API reads or answers, as pydantic models: the `components/schemas` of docs/openapi.yaml.

Only `make openapi` (tools/openapi.py) and the tests build them (`defer_build`): no function imports this module,
so a cold start pays nothing for it. The person rules stay in people/person.py (one implementation for POST,
PATCH and the CSV import); the limits below are its constants, so the document cannot drift from the rules.

Responses are open (no `additionalProperties: false`): clients must ignore members they do not know, and more may
come. Request bodies are strict: a member that is not a field of a person is refused (422).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from people_api.http.cursors import MAX_CURSOR_LENGTH, MAX_LIMIT
from people_api.imports.outcome import MAX_CHANGES_LISTED, MAX_ROW_ERRORS
from people_api.people.person import (
    CSV_HEADERS,
    EARLIEST_GRADUATION,
    GRADUATION_YEARS_AHEAD,
    MAX_AGE,
    MAX_CHOSEN_ID,
    MAX_ID,
    MAX_NAME_LENGTH,
)

OPEN = ConfigDict(defer_build=True)
STRICT = ConfigDict(defer_build=True, extra="forbid")
# Unicode's spaces that Python's str.strip() removes around a value (and JSON Schema's \s does not all match).
_SPACE = r"[ \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]*"


def _number_pattern(alternatives: str) -> str:
    """A whole number sent as a string (as the CSV does): digits, leading zeros and spaces allowed, or blank."""
    return f"^{_SPACE}(0*({alternatives}))?{_SPACE}$"


_ID_DIGITS = (
    "[1-9][0-9]{0,8}|1[0-9]{9}|20[0-9]{8}|21[0-3][0-9]{7}|214[0-6][0-9]{6}|2147[0-3][0-9]{5}|21474[0-7][0-9]{4}"
    "|214748[0-2][0-9]{3}|2147483[0-5][0-9]{2}|21474836[0-3][0-9]|214748364[0-7]"
)
assert MAX_CHOSEN_ID == 2147483647 and MAX_AGE == 150, "the patterns below spell these numbers out"

Id = Annotated[
    int, Field(ge=1, le=MAX_ID, description=f"Every id the API hands out, 1 to 2^53 - 1 ({MAX_ID}).", examples=[8])
]
NextCursor = Annotated[
    str | None,
    Field(
        max_length=MAX_CURSOR_LENGTH,
        pattern=r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$",
        description="Pass as `cursor` for the next page; `null` on the last page. Opaque: base64url of the "
        "position, a dot, and base64url of its 128-bit HMAC (the API's signature).",
    ),
]
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]


class IdInput(RootModel[int | str | None]):
    model_config = ConfigDict(
        defer_build=True,
        json_schema_extra={
            "description": f"The id to store the person under, 1 to {MAX_CHOSEN_ID} (409 if taken). Left out, the "
            f"database assigns one after the largest id so far (at most {MAX_ID}).",
            "minimum": 1,
            "maximum": MAX_CHOSEN_ID,
            "pattern": _number_pattern(_ID_DIGITS),
        },
    )


class NameInput(RootModel[str | None]):
    model_config = ConfigDict(
        defer_build=True,
        json_schema_extra={
            "description": f"Trimmed, then stored in Unicode NFC, where it may have at most {MAX_NAME_LENGTH} "
            "characters (code points: `e` followed by U+0301 is one, `é`; there is no `maxLength` here because the "
            "limit counts the name in NFC, not as sent). It must begin with a character a reader can see: a name of "
            "only invisible characters (format characters such as U+200B or U+FEFF, default-ignorable code points, "
            "fillers such as U+3164, combining marks with no letter before them) is a `422`. After the first visible "
            "character, marks are kept, and invisible characters only where they join visible text: ZWJ and ZWNJ "
            "before a visible character or after a virama, a variation selector right after a visible character, an "
            "emoji tag sequence (emoji sequences, Persian, the Indic scripts); any other format or default-ignorable "
            "character (`Smith` + U+200B) is a `422`, and so are private-use code points and noncharacters anywhere. "
            "Like every text field: no control characters (U+0000 to U+001F, U+007F to U+009F), no line "
            "or paragraph separators (U+2028, U+2029), no bidirectional controls (U+061C, U+200E, U+200F, U+202A to "
            "U+202E, U+2066 to U+2069) and no lone surrogates.",
            "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202e"
            "\\u2066-\\u2069]*$",
        },
    )


class AgeInput(RootModel[int | str | None]):
    model_config = ConfigDict(
        defer_build=True,
        json_schema_extra={
            "description": f"Age in years, 0 to {MAX_AGE}.",
            "minimum": 0,
            "maximum": MAX_AGE,
            "pattern": _number_pattern("150|1[0-4][0-9]|[1-9]?[0-9]"),
        },
    )


class GithubAccountInput(RootModel[str | None]):
    model_config = ConfigDict(
        defer_build=True,
        json_schema_extra={
            "description": "A GitHub username: 1 to 39 letters, digits and single hyphens, not starting or ending "
            "with a hyphen.",
            "pattern": f"^{_SPACE}([A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){{0,38}})?{_SPACE}$",
        },
    )


class GraduationInput(RootModel[str | None]):
    model_config = ConfigDict(
        defer_build=True,
        json_schema_extra={
            "description": "Date of 3rd grade graduation, as `M/D/YY`, `M/D/YYYY` or `YYYY-MM-DD`; a real date "
            f"from {EARLIEST_GRADUATION.isoformat()} to {GRADUATION_YEARS_AHEAD} years after today. A two-digit "
            "year is put in the century that brings the date nearest the year the person turned 9 when `age` is "
            "given, otherwise in the latest century that does not put it in the future (`6/24/40` is 1940 in 2026).",
            "pattern": f"^{_SPACE}([0-9]{{1,2}}/[0-9]{{1,2}}/([0-9]{{2}}|[0-9]{{4}})|[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}})?"
            f"{_SPACE}$",
        },
    )


def _csv_name(field: str) -> str:
    return next(header for header, name in CSV_HEADERS.items() if name == field)


class PersonInput(BaseModel):
    """A new person. Every field may be left out or `null`. Each field has a second name, the CSV file's column
    header (`ID`, `First`, `Last`, `Age`, `GithubAcct`, `Date of 3rd Grade Graduation`), which is accepted
    instead; giving a field under both names is an error. Any other member, `age_inferred` included, is an error.

    Strings are trimmed; a blank string counts as absent. The person needs a non-blank `first_name` or
    `last_name` (or `First`, `Last`). Whole numbers may also be given as strings of digits (as the CSV does) or as
    numbers with a zero fraction (`36.0`), but not as fractions or booleans.
    """

    model_config = STRICT

    id: IdInput = None
    first_name: NameInput = None
    last_name: NameInput = None
    age: AgeInput = None
    github_account: GithubAccountInput = None
    third_grade_graduation: GraduationInput = None
    csv_id: IdInput = Field(None, alias=_csv_name("id"))
    csv_first: NameInput = Field(None, alias=_csv_name("first_name"))
    csv_last: NameInput = Field(None, alias=_csv_name("last_name"))
    csv_age: AgeInput = Field(None, alias=_csv_name("age"))
    csv_github_account: GithubAccountInput = Field(None, alias=_csv_name("github_account"))
    csv_third_grade_graduation: GraduationInput = Field(None, alias=_csv_name("third_grade_graduation"))


CurrentId = Annotated[int | None, Field(ge=1, le=MAX_ID)]


class PersonPatch(BaseModel):
    """A JSON Merge Patch of a person (RFC 7396): the members of `PersonInput` (under either name), each set to a
    new value or to `null` to clear it. `id`, if given, must be the current id. `age_inferred`, `created_at` and
    `updated_at` are computed and cannot be set.
    """

    model_config = STRICT

    id: CurrentId = Field(None, description="The person's current id (any other value is a `422`).")
    first_name: NameInput = None
    last_name: NameInput = None
    age: AgeInput = None
    github_account: GithubAccountInput = None
    third_grade_graduation: GraduationInput = None
    csv_id: CurrentId = Field(None, alias=_csv_name("id"), description="The person's current id, under its CSV name.")
    csv_first: NameInput = Field(None, alias=_csv_name("first_name"))
    csv_last: NameInput = Field(None, alias=_csv_name("last_name"))
    csv_age: AgeInput = Field(None, alias=_csv_name("age"))
    csv_github_account: GithubAccountInput = Field(None, alias=_csv_name("github_account"))
    csv_third_grade_graduation: GraduationInput = Field(None, alias=_csv_name("third_grade_graduation"))


PERSON_EXAMPLE = {
    "id": 2,
    "first_name": "Grace",
    "last_name": None,
    "age": 35,
    "age_inferred": True,
    "github_account": None,
    "third_grade_graduation": "1999-06-25",
    "created_at": "2026-11-28T15:47:13.190512Z",
    "updated_at": "2026-11-29T08:02:40.004117Z",
}


class Person(BaseModel):
    """A stored person. Every person has a `first_name` or a `last_name` (or both)."""

    model_config = ConfigDict(defer_build=True, json_schema_extra={"example": PERSON_EXAMPLE})

    id: Id
    first_name: Annotated[str | None, Field(min_length=1, max_length=MAX_NAME_LENGTH)]
    last_name: Annotated[str | None, Field(min_length=1, max_length=MAX_NAME_LENGTH)]
    age: Annotated[
        int | None,
        Field(
            ge=0,
            description="The stated age; without one, the age inferred from `third_grade_graduation` (see "
            "`age_inferred`); `null` when there is neither.",
        ),
    ]
    age_inferred: bool = Field(
        description="`true` when `age` was not stated but inferred from `third_grade_graduation`: the full years "
        "from the graduation date to today (UTC), plus 9. A stated age always wins."
    )
    github_account: Annotated[str | None, Field(min_length=1, max_length=39, pattern="^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$")]
    third_grade_graduation: Annotated[
        str | None,
        Field(description="Date of 3rd grade graduation (`YYYY-MM-DD`).", json_schema_extra={"format": "date"}),
    ]
    created_at: Timestamp = Field(
        description="When the person was added (by `POST` or a CSV import), by the database's clock, in UTC."
    )
    updated_at: Timestamp = Field(
        description="When the person was last written (equal to `created_at` until a `PATCH`), in UTC."
    )


class PeoplePage(BaseModel):
    model_config = OPEN

    people: list[Person] = Field(max_length=MAX_LIMIT)
    next_cursor: NextCursor


class IdsPage(BaseModel):
    model_config = OPEN

    last_name: str = Field(description="The name looked up, percent-decoded and trimmed.")
    ids: list[Id] = Field(max_length=MAX_LIMIT)
    next_cursor: NextCursor


class PersonPut(BaseModel):
    """Store this person, replacing any copy of its id."""

    model_config = OPEN

    op: Literal["put"]
    person: Person


class PersonErase(BaseModel):
    """A tombstone: drop this id. It keeps no personal value, only the id and when it was erased."""

    model_config = OPEN

    op: Literal["erase"]
    id: Id
    erased_at: Timestamp


class ChangesPage(BaseModel):
    model_config = OPEN

    changes: list[Annotated[PersonPut | PersonErase, Field(discriminator="op")]] = Field(max_length=MAX_LIMIT)
    next_cursor: NextCursor
    next_since: str | None = Field(
        max_length=MAX_CURSOR_LENGTH,
        pattern=r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$",
        description="On the last page (`next_cursor` null), the `since` of the next sync; null before.",
    )


class CreatedPerson(BaseModel):
    model_config = OPEN

    person: Person
    people: list[Person] = Field(
        max_length=100,
        description="The first page of `GET /people` (100 people, ordered by id), after the insert.",
    )
    next_cursor: NextCursor = Field(
        description="The `next_cursor` of that page; pass it to `GET /people` for the rest."
    )


class ImportRows(BaseModel):
    model_config = OPEN

    read: int = Field(ge=0, description="Data rows read (blank lines not counted).")
    inserted: int = Field(
        ge=0,
        description="People inserted (0 unless `succeeded`). While `running`: stored so far, which the database "
        "commits only when the whole file is in (a failure leaves none of them).",
    )
    updated: int = Field(
        ge=0,
        description="`upsert`, `mirror`: people whose stored columns the file changed, each with a new version (and "
        "`ETag`); 0 in `add`.",
    )
    unchanged: int = Field(
        ge=0,
        description="`upsert`, `mirror`: rows identical, in every column the file has, to the person stored; nothing "
        "written (no new version, `ETag` or `updated_at`).",
    )
    deleted: int = Field(ge=0, description="`mirror`: people whose id the file does not name, erased.")
    conflict: int = Field(
        ge=0,
        description="`upsert`, `mirror`: people written through the API after the import started; the API's write "
        "wins: the row is not written (nor the person erased), and the person is listed in `changes`.",
    )
    duplicate: int = Field(
        ge=0,
        description="`add`: valid rows whose id was already taken, left out; `upsert`, `mirror`: rows whose id an "
        "earlier row of the file gave, left out (0 unless `succeeded`; so far while `running`).",
    )
    rejected: int = Field(
        ge=0, description="Rows left out for breaking the person rules (or having the wrong number of cells)."
    )


class ImportChange(BaseModel):
    model_config = ConfigDict(
        defer_build=True,
        json_schema_extra={"example": {"id": 4, "change": "updated", "fields": ["age"]}},
    )

    id: Id
    change: Literal["updated", "deleted", "conflict"] = Field(
        description="`updated`: the file changed this person; `deleted`: a mirror erased it; `conflict`: the API "
        "wrote it after the import started, and its write was kept."
    )
    fields: list[str] = Field(
        description="The names of the fields the file changes (or, in a conflict, would have); never their values."
    )


class ImportProgress(BaseModel):
    """How far the latest attempt got. While `running` it is updated about once a second (poll this record to
    follow a large file); afterwards it keeps the final figures (a `failed` attempt: how far it got before
    failing). `rows` counts as it goes too."""

    model_config = OPEN

    bytes_read: int = Field(ge=0, description="Bytes of the object read so far (all of them once `succeeded`).")
    percent: float | None = Field(
        ge=0, le=100, description="`bytes_read` as a share of `size_bytes`, 0 to 100; `null` for an empty object."
    )
    rows_per_second: int | None = Field(
        ge=0, description="Rows read per second since the attempt started; `null` until the first update."
    )
    seconds_left: float | None = Field(
        ge=0,
        description="While `running`, an estimate of the seconds until the file is read, from the rate so far; "
        "`null` otherwise.",
    )
    updated_at: Annotated[
        str | None,
        Field(
            description="When the figures were last written (UTC); `null` before the first update.",
            json_schema_extra={"format": "date-time"},
        ),
    ]


class ImportTimings(BaseModel):
    model_config = OPEN

    created_at: Timestamp = Field(description="When the first event for this content arrived (UTC).")
    started_at: Annotated[str | None, Field(json_schema_extra={"format": "date-time"})] = Field(
        description="When the latest attempt started (UTC); `null` while `pending`."
    )
    finished_at: Annotated[str | None, Field(json_schema_extra={"format": "date-time"})] = Field(
        description="When the latest attempt ended (UTC); `null` while `pending` or `running`."
    )
    seconds: float | None = Field(
        ge=0, description="`finished_at` - `started_at`, in seconds; `null` unless both are set."
    )


IMPORT_EXAMPLE = {
    "id": 3,
    "bucket": "people-api-import-123456789012-eu-west-1",
    "key": "uploads/people.csv",
    "etag": "9b2cf535f27731c974343645a3985328",
    "version_id": "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY",
    "size_bytes": 412,
    "status": "succeeded",
    "message": None,
    "mode": "upsert",
    "dry_run": False,
    "rows": {
        "read": 7,
        "inserted": 1,
        "updated": 2,
        "unchanged": 3,
        "deleted": 0,
        "conflict": 0,
        "duplicate": 0,
        "rejected": 1,
    },
    "progress": {
        "bytes_read": 412,
        "percent": 100,
        "rows_per_second": 41,
        "seconds_left": None,
        "updated_at": "2026-11-28T15:47:13.190Z",
    },
    "attempts": 1,
    "report_key": "reports/uploads/people.csv/20261128T154713.123456Z-import-3-succeeded.json",
    "timings": {
        "created_at": "2026-11-28T15:47:13.001Z",
        "started_at": "2026-11-28T15:47:13.020Z",
        "finished_at": "2026-11-28T15:47:13.190Z",
        "seconds": 0.17,
    },
}


class ImportSummary(BaseModel):
    """One CSV object dropped into the import bucket, imported once per content: a second event for the same
    bucket, key and ETag finds this record and changes nothing. A file is imported all or nothing: rows that break
    the person rules are left out and counted, the valid rows are all inserted in one transaction, or none are.
    `GET /imports` lists it so, without its row errors."""

    model_config = ConfigDict(defer_build=True, json_schema_extra={"example": IMPORT_EXAMPLE})

    id: Id
    bucket: str = Field(description="The S3 bucket.")
    key: str = Field(description="The object's key (decoded, as shown in the S3 console).")
    etag: str = Field(description="The object's ETag, without quotes.")
    version_id: str | None = Field(description="The object's version id; `null` in a bucket without versioning.")
    size_bytes: int = Field(ge=0, description="The object's size, as the event gave it.")
    status: Literal["pending", "running", "succeeded", "rejected", "failed"] = Field(
        description="- `pending`: recorded, not started yet.\n"
        "- `running`: an attempt is in progress (or was cut short and will be retried).\n"
        "- `succeeded`: imported; `rows` says how many rows were inserted, were duplicates of an existing id, or "
        "broke the rules.\n"
        "- `rejected`: the file as a whole cannot be imported (too big, empty, not UTF-8 text, not valid CSV, "
        "unknown or repeated columns, no rows...); `message` says why. Final: nothing was inserted, and the same "
        "content is not tried again.\n"
        "- `failed`: the last attempt failed unexpectedly (`message` has the error) and nothing was inserted; "
        "Lambda retries the event (up to 2 more times, then the event goes to the failure queue)."
    )
    mode: Literal["add", "upsert", "mirror", "mirror-all"] = Field(
        description="How the file's rows met the people stored, from the key's first folder (`upsert/people.csv`) "
        "or the object's metadata `import-mode` (docs/import.md): `add` inserts new ids only; `upsert` also updates "
        "the people whose id it gives, in the columns it has; `mirror` upserts, then erases everyone it does not "
        "name (refused past `MIRROR_MAX_ERASE_PERCENT` of the people); `mirror-all` without that guard."
    )
    dry_run: bool = Field(
        description="A dry run (`dry-run/` before the mode): every rule and count, and no person written; the "
        "record says exactly what the same file would do."
    )
    message: str | None = Field(
        max_length=1000,
        description="Why the import was rejected or failed; `null` otherwise. It names lines, bytes and a header's "
        "column names, never a row's cells; a failure's error is given without the values its text quotes.",
    )
    rows: ImportRows
    progress: ImportProgress
    attempts: int = Field(ge=0, description="How many attempts started this import.")
    report_key: str | None = Field(
        description="Key, in the same bucket, of the JSON report of the latest attempt "
        "(`reports/<object key>/<time>-import-<id>-<status>.json`); `null` until one finished."
    )
    timings: ImportTimings


class RowError(BaseModel):
    model_config = ConfigDict(
        defer_build=True,
        json_schema_extra={
            "example": {"line": 5, "field": "age", "message": "must be a whole number from 0 to 150, not 200"}
        },
    )

    line: int = Field(ge=2, description="Line of the file (the header is line 1).")
    field: str = Field(description="The field at fault (`first_name`, `age`...), or `row` for a wrong number of cells.")
    message: str


class Import(ImportSummary):
    """An import with its row errors and its first changes."""

    errors: list[RowError] = Field(
        max_length=MAX_ROW_ERRORS,
        description=f"The first {MAX_ROW_ERRORS} problems of the rows left out (a row can have several), in file "
        "order; empty when there were none.",
    )
    changes: list[ImportChange] = Field(
        max_length=MAX_CHANGES_LISTED,
        description=f"The first {MAX_CHANGES_LISTED} people updated or in conflict (in file order), then those a "
        "mirror erased (by id); empty in `add`. New people are counted in `rows.inserted`, not listed.",
    )


class ImportsPage(BaseModel):
    model_config = OPEN

    imports: list[ImportSummary] = Field(max_length=MAX_LIMIT)
    next_cursor: NextCursor


class ExportProgress(BaseModel):
    model_config = OPEN

    rows_written: int = Field(ge=0, description="People read into the file so far (all of them once `succeeded`).")
    bytes_written: int = Field(
        ge=0, description="Bytes of the file uploaded so far, in parts of 8 MiB; the file's size once `succeeded`."
    )
    updated_at: Annotated[str | None, Field(json_schema_extra={"format": "date-time"})] = Field(
        description="When a part was last uploaded, or the export ended (UTC); `null` before."
    )


class ExportDownload(BaseModel):
    model_config = OPEN

    url: str = Field(
        description="A pre-signed S3 GET URL of the file (CSV, UTF-8): fetch it with any HTTP client, no token. "
        "It works until `expires_at` (the stack parameter `ExportUrlSeconds`, 900 by default); ask for the export "
        "again for a new one. The file itself is kept `ExportRetentionDays` (7 by default)."
    )
    expires_at: Timestamp = Field(description="Until when the URL works (UTC).")


EXPORT_EXAMPLE = {
    "id": 4,
    "status": "succeeded",
    "message": None,
    "progress": {"rows_written": 7, "bytes_written": 311, "updated_at": "2026-12-02T18:44:06.075Z"},
    "attempts": 1,
    "timings": {
        "created_at": "2026-12-02T18:44:05.971Z",
        "started_at": "2026-12-02T18:44:05.990Z",
        "finished_at": "2026-12-02T18:44:06.075Z",
        "seconds": 0.085,
    },
    "download": {
        "url": "https://people-api-export-123456789012-eu-west-1.s3.amazonaws.com/exports/"
        "20261202T184405.990000Z-export-4.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=900&...",
        "expires_at": "2026-12-02T18:59:10.000Z",
    },
}


class ExportSummary(BaseModel):
    """An export of every person as one CSV file, in the import's own format (docs/export.md): the header
    `ID,First,Last,Age,GithubAcct,Date of 3rd Grade Graduation`, one line per person in id order, dates as
    `YYYY-MM-DD`, the stated age only (an inferred one is inferred again on import). The file is the table at one
    moment, whatever is written while it runs. `GET /exports` lists it so, without `download`."""

    model_config = ConfigDict(defer_build=True, json_schema_extra={"example": EXPORT_EXAMPLE | {"download": None}})

    id: Id
    status: Literal["queued", "running", "succeeded", "failed"] = Field(
        description="- `queued`: waiting for the export function.\n"
        "- `running`: the file is being written (`progress` says how far).\n"
        "- `succeeded`: the file is complete; `GET /exports/{id}` gives a URL to it.\n"
        "- `failed`: no file was left (a partial one is never visible); `message` says why. Final: `POST /exports` "
        "again."
    )
    message: str | None = Field(
        max_length=1000, description="Why the export failed; `null` otherwise. Never a person's values."
    )
    progress: ExportProgress
    attempts: int = Field(ge=0, description="How many deliveries of the export's message started it (at most 3).")
    timings: ImportTimings


class Export(ExportSummary):
    """An export, with the URL of its file once it succeeded."""

    model_config = ConfigDict(defer_build=True, json_schema_extra={"example": EXPORT_EXAMPLE})

    download: ExportDownload | None = Field(description="Where to fetch the file; `null` unless `succeeded`.")


class ExportsPage(BaseModel):
    model_config = OPEN

    exports: list[ExportSummary] = Field(max_length=MAX_LIMIT)
    next_cursor: NextCursor


class FieldError(BaseModel):
    model_config = OPEN

    field: str = Field(description="The field or parameter at fault, as the request named it.")
    message: str = Field(description="What the field must be, in the API's words.")


class Error(BaseModel):
    """Every error the functions answer (and API Gateway's own: 429, 502, a route that does not exist)."""

    model_config = OPEN

    message: str
    errors: list[FieldError] = Field(
        None, description="Each field or parameter at fault, where individual ones are (400 and 422)."
    )


class ValidationError(BaseModel):
    """An error that names each field or parameter at fault."""

    model_config = OPEN

    message: str
    errors: list[FieldError]


ALL = (Person, PersonInput, PersonPatch, PeoplePage, IdsPage, CreatedPerson, ImportsPage, ImportSummary, Import)
ALL += (PersonPut, PersonErase, ChangesPage)
ALL += (Export, ExportSummary, ExportsPage)
ALL += (RowError, Error, ValidationError, FieldError)
