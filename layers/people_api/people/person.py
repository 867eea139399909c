"""The person: its fields, the rules every entry point applies, and age inference.

`clean_person` is the one implementation of the rules. `POST /people` reaches it
through `person_from_json`, `PATCH /people/{id}` through `person_from_patch`, and
the CSV import calls it once per row.
"""

from __future__ import annotations

import base64
import hashlib
import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import cache, lru_cache
from typing import Any, NamedTuple


class NewPerson(NamedTuple):
    """A person that passed the rules, ready to be stored (`id` None: assigned by the database).

    The one list of a person's fields: `FIELDS`, `StoredPerson`, the table's columns
    (`people/store.py`) and `clean_person`'s parameters follow it.
    """

    id: int | None
    first_name: str | None
    last_name: str | None
    age: int | None
    github_account: str | None
    third_grade_graduation: date | None


FIELDS = NewPerson._fields
CSV_HEADERS = {
    "ID": "id",
    "First": "first_name",
    "Last": "last_name",
    "Age": "age",
    "GithubAcct": "github_account",
    "Date of 3rd Grade Graduation": "third_grade_graduation",
}
OUTPUT_ONLY_FIELDS = ("age_inferred", "created_at", "updated_at")

# Ids (README, Ids): every id is a whole number from 1 to MAX_ID, which JSON clients read exactly (2^53 - 1).
# An id a client or a file chooses is at most MAX_CHOSEN_ID; the database assigns the others after the
# largest id so far, so no request can push assigned ids anywhere near MAX_ID (2^53 - 2^31 of them remain).
MAX_ID = 2**53 - 1
MAX_CHOSEN_ID = 2**31 - 1
MAX_NAME_LENGTH = 100
MAX_AGE = 150
THIRD_GRADE_AGE = 9
EARLIEST_GRADUATION = date(1900, 1, 1)
GRADUATION_YEARS_AHEAD = 10


def _pattern(expression: str) -> Callable[[], re.Pattern[str]]:
    """A rule's regular expression, compiled by the first check that needs it: the functions that only read people
    check no rule, and compiling these at import cost each of their cold starts about 1 ms (issue 20). The two that
    every imported row meets, _REFUSED_IN_TEXT and _GITHUB_ACCOUNT, are compiled at import: no call in the way."""
    return cache(lambda: re.compile(expression))


# Text rules, for every text field: no C0 or C1 control characters (NUL, tab, line breaks, DEL...), no
# Unicode line or paragraph separators, no lone surrogates (half a UTF-16 pair, which UTF-8 and so MySQL
# cannot store), and no bidirectional controls: Unicode's Bidi_Control property (PropList.txt), the
# embeddings, overrides and isolates that reorder the text after them ("Trojan Source", CVE-2021-42574) and
# the marks LRM, RLM and ALM. The marks are refused too: invisible, they make two names that look the same
# differ, and an application showing a name in right-to-left text isolates it as it shows it (<bdi>).
_BIDI_CONTROLS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_REFUSED_IN_TEXT = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029{_BIDI_CONTROLS}\ud800-\udfff]")
_REFUSED_KINDS = {"\u2028": "a line separator", "\u2029": "a paragraph separator"}
# What renders as nothing (README, The person and its rules): format characters (Cf, among them most of
# Unicode's Default_Ignorable_Code_Point), spaces, combining marks (the variation selectors among them) and
# the rest of Default_Ignorable_Code_Point, which Python's unicodedata does not name: the Hangul fillers and
# the ranges reserved for it (PropList.txt, Other_Default_Ignorable_Code_Point); and U+2800 BRAILLE PATTERN
# BLANK, a symbol drawn as blank space. Unassigned code points count as seen: a newer Unicode may give them
# letters that this Python's tables do not know yet.
_UNSEEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zs", "Zl", "Zp", "Mn", "Mc", "Me"})
_unseen = _pattern("[\u115f\u1160\u2065\u2800\u3164\uffa0\ufff0-\ufff8\U000e0000-\U000e0fff]")
# Inside a name (README, The person and its rules), after its first visible character: no format character
# (Cf) nor other default-ignorable code point (the Hangul fillers, CGJ, the Khmer inherent vowels, the
# reserved ones) except where it joins visible text: ZWJ and ZWNJ after a virama or before a visible
# character (emoji ZWJ sequences, Persian, the Indic scripts); a variation selector right after a visible
# character; tag characters as an emoji tag sequence (a visible base, tags, CANCEL TAG: the flags of
# Scotland or Wales). Nowhere in a name: private-use code points (Co) and noncharacters, which mean
# nothing outside the one program that gave them a meaning.
_JOINERS = "\u200c\u200d"
_VIRAMA = 9  # the canonical combining class of the viramas, after which a joiner picks a conjunct's form
_variation_selectors = _pattern("[\u180b-\u180d\u180f\ufe00-\ufe0f\U000e0100-\U000e01ef]")
_emoji_tags = _pattern("[\U000e0020-\U000e007e]+\U000e007f")
_ignorable = _pattern("[\u034f\u115f\u1160\u17b4\u17b5\u2065\u3164\uffa0\ufff0-\ufff8\U000e0000-\U000e0fff]")
# Characters met in names that no branch of `_hidden_in_name` concerns, whatever stands beside them; capped, so
# that a file of every code point cannot grow it without end (a full set only means the walk is not skipped).
_PLAIN_IN_NAME: set[str] = set()
_PLAIN_IN_NAME_MAX = 10_000
_GITHUB_ACCOUNT = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*")
NAME_NEEDED = "a person needs a first_name or a last_name"
_us_date = _pattern(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4}|[0-9]{2})")
_iso_date = _pattern(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")


class FieldError(NamedTuple):
    """One field that breaks a rule, and which rule."""

    field: str
    message: str


class PersonInvalid(ValueError):
    """One or more fields break the rules; `errors` names each field and why."""

    def __init__(self, errors: list[FieldError]):
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


def utc_today() -> date:
    return datetime.now(UTC).date()


def clean_person(
    id: Any,  # the parameters are FIELDS in order: the CSV import passes them by position
    first_name: Any,
    last_name: Any,
    age: Any,
    github_account: Any,
    third_grade_graduation: Any,
    today: date,
    *,
    name_required: bool = True,
) -> NewPerson:
    """Apply every person rule to raw values (JSON values or CSV strings); raise PersonInvalid.

    `name_required` False leaves the one rule across two fields that a stored person can satisfy (NAME_NEEDED)
    to the caller: an upsert whose file lacks a name column checks it on the person as it will be stored.
    """
    errors: list[FieldError] = []
    person_id = _whole_number(id, "id", 1, MAX_CHOSEN_ID, errors)
    first = _name(first_name, "first_name", errors)
    last = _name(last_name, "last_name", errors)
    known_age = _whole_number(age, "age", 0, MAX_AGE, errors)
    github = _github_account(github_account, errors)
    graduation = _graduation(third_grade_graduation, known_age, today, errors)
    if name_required and first is None and last is None and not _names_have_errors(errors):
        errors.append(FieldError("first_name", NAME_NEEDED))
    if errors:
        raise PersonInvalid(errors)
    return NewPerson(person_id, first, last, known_age, github, graduation)


def person_from_json(body: dict[str, Any], today: date) -> NewPerson:
    """Validate a POST body: the JSON names or the CSV header names, and nothing else."""
    values, sent_as, errors = _named_fields(body)
    return _clean_with(values, sent_as, errors, today)


def person_from_patch(current: StoredPerson, patch: dict[str, Any], today: date) -> NewPerson:
    """The person a JSON Merge Patch (RFC 7396) makes of `current`, under the same rules as a new one.

    Fields present are set, null clears one, absent fields stay; `id` cannot change (and is not
    checked again: the database may have assigned one above MAX_CHOSEN_ID).
    """
    values, sent_as, errors = _named_fields(patch)
    if "id" in values and values.pop("id") != current.id:
        errors.append(FieldError(sent_as["id"], f"cannot be changed (it is {current.id})"))
    graduation = current.third_grade_graduation
    merged = current.fields()._asdict() | {"id": None, "third_grade_graduation": graduation and graduation.isoformat()}
    return _clean_with(merged | values, sent_as, errors, today)._replace(id=current.id)


def _named_fields(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str], list[FieldError]]:
    """A body's values by field (JSON names or CSV header names), the name each was sent as, and errors."""
    values: dict[str, Any] = {}
    sent_as: dict[str, str] = {}  # errors name a field as the request spelt it
    errors: list[FieldError] = []
    for key, value in body.items():
        field = key if key in FIELDS else CSV_HEADERS.get(key)
        if key in OUTPUT_ONLY_FIELDS:
            errors.append(FieldError(key, "is computed by the server and cannot be set"))
        elif field is None:
            errors.append(FieldError(key, "is not a field of a person"))
        elif field in values:
            errors.append(FieldError(key, f"gives {field} a second time"))
        else:
            values[field] = value
            sent_as[field] = key
    return values, sent_as, errors


def _clean_with(values: dict[str, Any], sent_as: dict[str, str], errors: list[FieldError], today: date) -> NewPerson:
    try:
        person = clean_person(**dict.fromkeys(FIELDS) | values, today=today)
    except PersonInvalid as invalid:
        named = [FieldError(sent_as.get(e.field, e.field), e.message) for e in invalid.errors]
        raise PersonInvalid(errors + named) from None
    if errors:
        raise PersonInvalid(errors)
    return person


def chosen_id(value: Any) -> int | None:
    """The id a raw value chooses under the id rule, or None when it chooses none or breaks the rule."""
    return _whole_number(value, "id", 1, MAX_CHOSEN_ID, [])


def has_two_digit_year(value: Any) -> bool:
    """Whether a raw graduation date gives its year in two digits: its century then depends on the age."""
    parts = _date_parts(value.strip()) if isinstance(value, str) else None
    return parts is not None and parts[3]


def inferred_age(graduation: date, today: date) -> int:
    """Full years since 3rd grade graduation, plus the age a child usually finishes it."""
    years = today.year - graduation.year - ((today.month, today.day) < (graduation.month, graduation.day))
    return max(0, years + THIRD_GRADE_AGE)


def latest_graduation_for_age(age: int, today: date) -> date:
    """The latest graduation date whose inferred age is at least `age` (for index range scans)."""
    return anniversary(today, age - THIRD_GRADE_AGE)


def anniversary(day: date, years_back: int) -> date:
    year = day.year - years_back
    try:
        return day.replace(year=year)
    except ValueError:  # 29 February in a year that has none
        return date(year, 2, 28)


def last_name_key(last_name: str | None) -> str | None:
    """What `/ids/lastname` matches on: case-insensitive, but exact otherwise (accents count)."""
    return None if last_name is None else unicodedata.normalize("NFC", last_name).casefold()


def _names_have_errors(errors: list[FieldError]) -> bool:
    return any(e.field in ("first_name", "last_name") for e in errors)


def _text(value: Any, field: str, errors: list[FieldError]) -> str | None:
    """Trimmed text, or None when blank; text a database cannot store, or that reorders text, is refused (untrimmed)."""
    if value is None:
        return None
    if not isinstance(value, str):
        errors.append(FieldError(field, "must be a string"))
        return None
    refused = _REFUSED_IN_TEXT.search(value)
    if refused:
        errors.append(
            FieldError(field, f"must not contain {_refused_kind(refused.group())} (U+{ord(refused.group()):04X})")
        )
        return None
    return value.strip() or None


def _refused_kind(character: str) -> str:
    if "\ud800" <= character <= "\udfff":
        return "a lone surrogate"
    if re.fullmatch(f"[{_BIDI_CONTROLS}]", character):
        return "a bidirectional control character"
    return _REFUSED_KINDS.get(character, "a control character")


def _is_seen(character: str) -> bool:
    """Whether a reader sees this character where it stands alone (a combining mark needs a letter before it)."""
    return unicodedata.category(character) not in _UNSEEN_CATEGORIES and not _unseen().match(character)


def _whole_number(value: Any, field: str, low: int, high: int, errors: list[FieldError]) -> int | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON Schema's integer: 36.0 is 36
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        errors.append(FieldError(field, f"must be a whole number from {low} to {high}"))
        return None
    if isinstance(value, str):
        text = _text(value, field, errors)
        if text is None:
            return None
        digits = text.lstrip("0") or "0"
        if not (digits.isascii() and digits.isdigit() and len(digits) <= 12):
            errors.append(FieldError(field, f"must be a whole number from {low} to {high}, not {text[:20]!r}"))
            return None
        value = int(digits)
    if not low <= value <= high:
        errors.append(FieldError(field, f"must be a whole number from {low} to {high}, not {value}"))
        return None
    return value


def _name(value: Any, field: str, errors: list[FieldError]) -> str | None:
    """A name as stored: trimmed, in NFC, at most MAX_NAME_LENGTH code points, beginning with a character a
    reader can see, and no invisible character after it but the marks and those that join visible text
    (`_hidden_in_name`): emoji sequences, Persian and the Indic scripts need them."""
    name = _text(value, field, errors)
    if name is None or name.isascii():  # trimmed ASCII without controls: visible, and already NFC
        return _within_length(name, field, errors)
    name = unicodedata.normalize("NFC", name)
    if not _is_seen(name[0]):
        if any(map(_is_seen, name)):
            errors.append(FieldError(field, f"must begin with a character a reader can see, not U+{ord(name[0]):04X}"))
        else:
            errors.append(FieldError(field, f"has no character a reader can see (U+{ord(name[0]):04X} is invisible)"))
        return None
    hidden = _hidden_in_name(name)
    if hidden:
        errors.append(FieldError(field, hidden))
        return None
    return _within_length(name, field, errors)


def _hidden_in_name(name: str) -> str | None:
    """What makes a name that begins with a visible character unfit (the rule above `_JOINERS`), or None.
    A name made only of characters met before that no branch below concerns is fit without the walk: the walk
    costs about ten lookups a character, the most of an import's time on a file of non-ASCII names."""
    if _PLAIN_IN_NAME.issuperset(name):
        return None
    i = 0
    while i < len(name):
        character, code = name[i], f"U+{ord(name[i]):04X}"
        if character in _JOINERS:
            if not (unicodedata.combining(name[i - 1]) == _VIRAMA or (i + 1 < len(name) and _is_seen(name[i + 1]))):
                return f"must not contain {code}, a joiner, except after a virama or before a visible character"
        elif _variation_selectors().match(character):
            if not _is_seen(name[i - 1]):
                return f"must not contain {code}, a variation selector, except right after a visible character"
        elif (tags := _emoji_tags().match(name, i)) and _is_seen(name[i - 1]):
            i = tags.end()
            continue
        elif unicodedata.category(character) == "Cf" or _ignorable().match(character):
            return f"must not contain {code}, an invisible character"
        elif unicodedata.category(character) == "Co":
            return f"must not contain {code}, a private-use character"
        elif 0xFDD0 <= ord(character) <= 0xFDEF or ord(character) & 0xFFFE == 0xFFFE:
            return f"must not contain {code}, a noncharacter"
        elif len(_PLAIN_IN_NAME) < _PLAIN_IN_NAME_MAX:
            _PLAIN_IN_NAME.add(character)
        i += 1
    return None


def _within_length(name: str | None, field: str, errors: list[FieldError]) -> str | None:
    if name is not None and len(name) > MAX_NAME_LENGTH:
        errors.append(FieldError(field, f"must be at most {MAX_NAME_LENGTH} characters (in NFC), not {len(name)}"))
        return None
    return name


def _github_account(value: Any, errors: list[FieldError]) -> str | None:
    account = _text(value, "github_account", errors)
    if account is not None and (len(account) > 39 or not _GITHUB_ACCOUNT.fullmatch(account)):
        errors.append(
            FieldError(
                "github_account",
                f"{account[:50]!r} is not a GitHub username (1 to 39 letters, digits and single "
                "hyphens, not starting or ending with a hyphen)",
            )
        )
        return None
    return account


def _graduation(value: Any, age: int | None, today: date, errors: list[FieldError]) -> date | None:
    text = _text(value, "third_grade_graduation", errors)
    if text is None:
        return None
    parts = _date_parts(text)
    if parts is None:
        errors.append(
            FieldError("third_grade_graduation", f"{text[:30]!r} is not a date (M/D/YY, M/D/YYYY or YYYY-MM-DD)")
        )
        return None
    year, month, day, two_digit_year = parts
    if two_digit_year:
        year = _century_for(year, month, day, age, today)
    try:
        graduation = date(year, month, day)
    except ValueError:
        errors.append(FieldError("third_grade_graduation", f"{text!r} is not a real date"))
        return None
    latest = anniversary(today, -GRADUATION_YEARS_AHEAD)
    if not EARLIEST_GRADUATION <= graduation <= latest:
        errors.append(
            FieldError(
                "third_grade_graduation",
                f"{graduation.isoformat()} must be between {EARLIEST_GRADUATION.isoformat()} and {latest.isoformat()}",
            )
        )
        return None
    return graduation


@lru_cache(maxsize=65536)
def _date_parts(text: str) -> tuple[int, int, int, bool] | None:
    """(year, month, day, two_digit_year) of a date's text; cached, since files repeat dates."""
    match = _us_date().fullmatch(text)
    if match:
        month, day, year = match.groups()
        return int(year), int(month), int(day), len(year) == 2
    match = _iso_date().fullmatch(text)
    if match:
        year, month, day = match.groups()
        return int(year), int(month), int(day), False
    return None


def _century_for(two_digit_year: int, month: int, day: int, age: int | None, today: date) -> int:
    """Resolve a two-digit year (Python's %y would put 6/24/40 in 2040).

    With a known age: the century that puts the date nearest the year the person
    turned 9. Without: the latest date that is not in the future.
    """
    this_century = today.year // 100 * 100
    later, earlier = this_century + two_digit_year, this_century - 100 + two_digit_year
    if age is not None:
        turned_nine = today.year - age + THIRD_GRADE_AGE
        return later if abs(later - turned_nine) < abs(earlier - turned_nine) else earlier
    return later if (later, month, day) <= (today.year, today.month, today.day) else earlier


class StoredPerson(
    NamedTuple(
        "PersonRow",
        [*NewPerson.__annotations__.items(), ("version", int), ("created_at", datetime), ("updated_at", datetime)],
    )
):
    """A row of the people table (`people/store.py`, COLUMNS): a person's fields, then its version and times.

    `version` grows by one on every write; `created_at` and `updated_at` are the
    database's UTC clock.
    """

    __slots__ = ()

    def effective_age(self, today: date) -> int | None:
        if self.age is not None:
            return self.age
        if self.third_grade_graduation is not None:
            return inferred_age(self.third_grade_graduation, today)
        return None

    @property
    def etag(self) -> str:
        """A strong entity tag of this version of this person.

        `created_at` is part of it: an id can be used again after a DELETE, and the new
        person's version 1 must not match a tag of the erased one.
        """
        identity = f"{self.id}/{self.created_at.isoformat()}/{self.version}".encode()
        digest = hashlib.blake2b(identity, digest_size=12).digest()
        return f'"{base64.urlsafe_b64encode(digest).decode()}"'

    def fields(self) -> NewPerson:
        return NewPerson(*self[: len(FIELDS)])

    def as_json(self, today: date) -> dict[str, Any]:
        graduation = self.third_grade_graduation
        return {
            "id": self.id,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "age": self.effective_age(today),
            "age_inferred": self.age is None and graduation is not None,
            "github_account": self.github_account,
            "third_grade_graduation": graduation.isoformat() if graduation else None,
            "created_at": utc_iso(self.created_at),
            "updated_at": utc_iso(self.updated_at),
        }


def utc_iso(moment: datetime) -> str:
    """A naive UTC datetime from the database as ISO 8601 (2026-11-29T05:40:12.345678Z)."""
    # isoformat() leaves the fraction out only when it is zero; timespec= would parse a keyword on every call:
    # two times a person, 200 a page (README, Speed).
    return moment.isoformat() + "Z" if moment.microsecond else moment.isoformat() + ".000000Z"
