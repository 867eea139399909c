"""Requests an attacker would try, each class at its limits, through the real handlers with AWS-shaped events."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws

from conftest import invoke, reply, rest_event
from people_api.http import cursors as paging

MAX_ID = 2**53 - 1
MAX_CHOSEN_ID = 2**31 - 1
LISTINGS = [
    ("list_people", "/people"),
    ("people_by_age", "/people/age"),
    ("list_imports", "/imports"),
]


def create(api, body: dict):
    return api("create_person", "POST", "/people", "/people", body=json.dumps(body))


# Ids: no request exhausts the ids the database assigns.


@pytest.mark.parametrize("chosen", [MAX_CHOSEN_ID, MAX_CHOSEN_ID - 1, 2**31 - 1000])
def test_a_chosen_id_at_the_top_of_its_range_leaves_assigned_ids_room(empty_db, api, chosen):
    assert create(api, {"id": chosen, "first_name": "Top"}).status == 201

    assigned = [create(api, {"first_name": f"Next{i}"}) for i in range(3)]

    assert [r.status for r in assigned] == [201, 201, 201]
    ids = [r.json["person"]["id"] for r in assigned]
    assert chosen < ids[0] < ids[1] < ids[2] <= MAX_ID
    read = api("get_person", "GET", f"/people/{ids[2]}", "/people/{id}", path_params={"id": str(ids[2])})
    assert (read.status, read.json["first_name"]) == (200, "Next2")


@pytest.mark.parametrize("chosen", [MAX_CHOSEN_ID + 1, 2**32, MAX_ID, 2**63, 10**30])
def test_an_id_past_the_chosen_range_is_422_naming_id(empty_db, api, chosen):
    r = create(api, {"id": chosen, "first_name": "Far"})

    assert r.status == 422
    assert [e["field"] for e in r.json["errors"]] == ["id"]
    assert create(api, {"first_name": "Still fine"}).status == 201


def test_pages_go_on_past_the_chosen_range(empty_db, api):
    create(api, {"id": MAX_CHOSEN_ID, "first_name": "Top"})
    for i in range(3):
        create(api, {"first_name": f"After{i}"})

    first = api("list_people", "GET", "/people", "/people", query={"limit": "2"}).json
    rest = api("list_people", "GET", "/people", "/people", query={"limit": "2", "cursor": first["next_cursor"]}).json

    assert [p["first_name"] for p in first["people"] + rest["people"]] == ["Top", "After0", "After1", "After2"]


# Path ids: digits only, 1 to 2^53 - 1; anything else is a 400 naming `id`.


@pytest.mark.parametrize("function,resource", [("get_person", "/people/{id}"), ("get_import", "/imports/{id}")])
@pytest.mark.parametrize(
    "raw_id",
    ["1.0", "+1", "%201", " 1", "1 ", "01", "1e3", "0x1", "1_0", "\u0661", "0", "-1", str(MAX_ID + 1), "9" * 5000],
)
def test_a_path_id_that_is_not_decimal_digits_in_range_is_400(empty_db, api, function, resource, raw_id):
    path = resource.replace("{id}", raw_id)

    r = api(function, "GET", path, resource, path_params={"id": raw_id})

    assert r.status == 400
    assert [e["field"] for e in r.json["errors"]] == ["id"]


# Cursors: only the API's own, for the same listing.


def unsigned(*value) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(value)).encode()).decode().rstrip("=")


FORGED = [
    unsigned("age", 2034, 0),
    unsigned("age", 100000, 0),
    unsigned("age", 2147483647, 0),
    unsigned("people", 1),
    unsigned("imports", 1),
    "0" * 200,
    "garbage!",
    "é" * 10,
    ".",
    "a.b",
    "\x00",
]


@pytest.mark.parametrize("function,path", LISTINGS)
@pytest.mark.parametrize("cursor", FORGED)
def test_a_cursor_the_api_did_not_hand_out_is_400(people_db, api, function, path, cursor):
    r = api(function, "GET", path, path, query={"cursor": cursor})

    assert r.status == 400
    assert "cursor" in r.json["message"]


@pytest.mark.parametrize("function,path", LISTINGS)
def test_a_cursor_signed_with_another_key_or_edited_is_400(people_db, api, monkeypatch, function, path):
    genuine = {"list_people": ("people", 1), "people_by_age": ("age", 20, 1), "list_imports": ("imports", 5)}[function]
    with monkeypatch.context() as other:
        other.setenv("CURSOR_KEY", "another-deployment-key-0123456789-abcdef")
        foreign = paging.encode_cursor(*genuine)
    payload, tag = paging.encode_cursor(*genuine).split(".")
    edited = f"{unsigned(genuine[0], *[v + 1 for v in genuine[1:]])}.{tag}"

    for cursor in (foreign, edited, payload, f"{payload}.{tag[:-2]}"):
        r = api(function, "GET", path, path, query={"cursor": cursor})
        assert r.status == 400, cursor


def respelled(cursor: str) -> list[str]:
    """Other spellings of a cursor's bytes that a lenient base64 decoder reads as the same cursor."""
    payload, tag = cursor.split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    # A 16-byte tag's last character carries 4 bits and 2 unused ones: setting one spells the same bytes
    unused_bit = alphabet[alphabet.index(tag[-1]) ^ 1]
    return [
        f"{payload}=.{tag}",
        f"{payload}.{tag}==",
        f"{payload}.{tag}=",
        f"{payload}.{tag[:-1]}{unused_bit}",
        f"{payload}.{tag[:5]}!{tag[5:]}",  # a character outside the alphabet, which the decoder skips
        f"{payload}.{tag.replace('-', '+').replace('_', '/')}" if set(tag) & set("-_") else f"{payload}.+{tag[1:]}",
    ]


@pytest.mark.parametrize("function,path", LISTINGS)
def test_a_cursor_respelled_in_other_base64_is_400(people_db, api, function, path):
    # Given a cursor the API handed out for this listing, which reads its next page
    genuine = {"list_people": ("people", 1), "people_by_age": ("age", 20, 1), "list_imports": ("imports", 5)}[function]
    cursor = paging.encode_cursor(*genuine)
    assert api(function, "GET", path, path, query={"cursor": cursor}).status == 200

    # When its bytes are spelt another way (padding, unused bits set, skipped characters, + and /)
    for other in respelled(cursor):
        r = api(function, "GET", path, path, query={"cursor": other})
        # Then it is refused like any cursor the API did not hand out
        assert (r.status, "cursor" in r.json["message"]) == (400, True), other


def test_a_cursor_of_one_listing_is_400_in_another(people_db, api):
    people_cursor = api("list_people", "GET", "/people", "/people", query={"limit": "2"}).json["next_cursor"]

    r = api("people_by_age", "GET", "/people/age", "/people/age", query={"cursor": people_cursor})

    assert r.status == 400


def test_in_aws_the_cursor_key_comes_from_the_stack_secret(monkeypatch):
    # Given no CURSOR_KEY, only the ARN of a secret holding the key (as template.yaml sets it)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("CURSOR_KEY")
    with mock_aws():
        secrets = boto3.client("secretsmanager")
        arn = secrets.create_secret(Name="cursor-key", SecretString="k" * 64)["ARN"]
        monkeypatch.setenv("CURSOR_KEY_SECRET_ARN", arn)
        parameters.clear_caches()

        # Then cursors are signed and checked with it, and one signed with another key is refused
        cursor = paging.encode_cursor("people", 7)
        assert paging.decode_cursor(cursor, "people", 1) == [7]
        monkeypatch.setenv("CURSOR_KEY", "another-deployment-key-0123456789-abcdef")
        with pytest.raises(paging.InvalidCursor):
            paging.decode_cursor(cursor, "people", 1)
    parameters.clear_caches()


# Bodies: whatever the bytes, a 4xx.


def post(body: str | bytes, content_type: str | None = "application/json"):
    """A POST /people event: bytes as API Gateway passes a binary body (base64), text as it is."""
    event = rest_event("POST", "/people", "/people")
    if isinstance(body, bytes):
        event.update(body=base64.b64encode(body).decode(), isBase64Encoded=True)
    else:
        event["body"] = body
    if content_type is not None:
        event["headers"]["Content-Type"] = content_type
        event["multiValueHeaders"]["Content-Type"] = [content_type]
    return reply(invoke("create_person", event))


@pytest.mark.parametrize("depth", [1100, 5000, 8000])
@pytest.mark.parametrize("opening,closing", [("[", "]"), ('{"a":', "}")])
def test_a_deeply_nested_body_under_the_size_limit_is_400(empty_db, depth, opening, closing):
    r = post(opening * depth + "1" + closing * depth)

    assert r.status in (400, 413)
    assert r.status == 400 or len(opening * depth) > 16 * 1024


@pytest.mark.parametrize(
    "body", [b'\xff\xfe{"first_name": "Ada"}', b'{"first_name": "Ad\xe9"}', b'{"first_name": "\xed\xa0\x80"}', b"\xc3"]
)
def test_a_body_that_is_not_utf8_is_400(empty_db, body):
    r = post(body)

    assert (r.status, r.json["message"].startswith("the body is not UTF-8")) == (400, True)


def test_a_text_body_with_a_lone_surrogate_is_400(empty_db):
    assert post('{"first_name": "Ad\ud800"}').status == 400


@pytest.mark.parametrize(
    "body,key",
    [
        ('{"first_name": "Ada", "first_name": "Eve"}', "first_name"),
        ('{"first_name": "Ada", "age": 1, "age": 2}', "age"),
        ('{"first_name": "Ada", "x": {"k": 1, "k": 1}}', "k"),
    ],
)
def test_a_body_naming_a_key_twice_is_400_naming_it_and_stores_nothing(empty_db, api, body, key):
    r = post(body)

    assert (r.status, r.json["message"]) == (400, f"the body names {key!r} more than once")
    assert api("list_people", "GET", "/people", "/people").json["people"] == []


def test_a_patch_naming_a_key_twice_is_400_and_changes_nothing(empty_db, api):
    created = create(api, {"first_name": "Ada"})
    person = created.json["person"]
    path = f"/people/{person['id']}"

    r = api(
        "update_person",
        "PATCH",
        path,
        "/people/{id}",
        path_params={"id": str(person["id"])},
        body='{"first_name": "Eve", "first_name": "Ada"}',
        headers={"Content-Type": "application/merge-patch+json"},
    )

    assert (r.status, r.json["message"]) == (400, "the body names 'first_name' more than once")
    read = api("get_person", "GET", path, "/people/{id}", path_params={"id": str(person["id"])})
    assert (read.json["first_name"], read.headers["ETag"]) == ("Ada", created.headers["ETag"])


# Text the database cannot store, or a reader cannot see: 422 naming the field, nothing stored.

TEXT_FIELDS = ["first_name", "last_name", "github_account", "third_grade_graduation", "First", "Last"]
FORBIDDEN = ["\\ud800", "\\udfff", "\\u0000", "\\u0001", "\\u001f", "\\u007f", "\\u0085", "\\u009f", "\\t", "\\n"]
FORBIDDEN += ["\\u2028", "\\u2029", "\\u202e", "\\u202a", "\\u2066", "\\u2069", "\\u200e", "\\u200f", "\\u061c"]


@pytest.mark.parametrize("field", TEXT_FIELDS)
@pytest.mark.parametrize("escape", FORBIDDEN)
def test_text_with_a_lone_surrogate_control_or_bidi_character_is_422_naming_the_field(empty_db, api, field, escape):
    other = "last_name" if field in ("first_name", "First") else "first_name"
    body = f'{{"{field}": "a{escape}b", "{other}": "Valid"}}'  # the JSON escape, as a client sends it

    r = post(body)

    assert r.status == 422, r.body
    assert [e["field"] for e in r.json["errors"]] == [field]
    assert api("list_people", "GET", "/people", "/people").json["people"] == []


INVISIBLE_NAMES = ["\\u200b", "\\u200d", "\\ufeff", "\\u3164", "\\u115f", "\\u1160", "\\uffa0", "\\u0301", " \\u200c "]


@pytest.mark.parametrize("field", ["first_name", "last_name", "First", "Last"])
@pytest.mark.parametrize("escape", INVISIBLE_NAMES)
def test_a_name_a_reader_cannot_see_is_422_naming_the_field_and_stores_nothing(empty_db, api, field, escape):
    other = "last_name" if field in ("first_name", "First") else "first_name"

    r = post(f'{{"{field}": "{escape}", "{other}": "Valid"}}')

    assert r.status == 422, r.body
    assert [(e["field"], e["message"].split(" (")[0]) for e in r.json["errors"]] == [
        (field, "has no character a reader can see")
    ]
    assert api("list_people", "GET", "/people", "/people").json["people"] == []


def test_a_bidi_override_in_a_name_is_422_and_stores_nothing(empty_db, api):
    r = post('{"first_name": "\\u202eevil", "last_name": "Valid"}')

    assert (r.status, r.json["errors"]) == (
        422,
        [{"field": "first_name", "message": "must not contain a bidirectional control character (U+202E)"}],
    )
    assert api("list_people", "GET", "/people", "/people").json["people"] == []


def test_a_patch_to_an_invisible_or_reordering_name_is_422_and_changes_nothing(empty_db, api):
    created = create(api, {"first_name": "Ada", "last_name": "Lovelace"}).json["person"]
    path = f"/people/{created['id']}"

    def patch(body: str):
        headers = {"Content-Type": "application/merge-patch+json"}
        return api(
            "update_person",
            "PATCH",
            path,
            "/people/{id}",
            path_params={"id": str(created["id"])},
            body=body,
            headers=headers,
        )

    invisible = patch('{"last_name": "\\u3164"}')
    reordering = patch('{"Last": "Love\\u2067lace"}')

    assert (invisible.status, [e["field"] for e in invisible.json["errors"]]) == (422, ["last_name"])
    assert (reordering.status, [e["field"] for e in reordering.json["errors"]]) == (422, ["Last"])
    read = api("get_person", "GET", path, "/people/{id}", path_params={"id": str(created["id"])})
    assert read.json == created
    # And a name with visible characters and a zero-width joiner stays valid
    joined = patch('{"first_name": "\\ud83d\\udc69\\u200d\\ud83d\\udd2c Ada"}')
    assert (joined.status, joined.json["first_name"]) == (200, "👩\u200d🔬 Ada")


def test_a_100_letter_name_in_nfd_is_stored_in_nfc_and_found_either_way(empty_db, api):
    nfd, nfc = "e\u0301" * 100, "\u00e9" * 100  # 200 code points; 100 in NFC

    created = create(api, {"first_name": "Ada", "last_name": nfd})

    assert created.status == 201, created.body
    assert created.json["person"]["last_name"] == nfc
    for sent in (nfd, nfc):
        segment = encoded(sent)
        found = api(
            "ids_by_last_name",
            "GET",
            f"/ids/lastname/{segment}",
            "/ids/lastname/{lastname}",
            path_params={"lastname": segment},
        )
        assert found.json["ids"] == [created.json["person"]["id"]]
    too_long = create(api, {"first_name": "Ada", "last_name": "e\u0301" * 101})
    assert (too_long.status, too_long.json["errors"]) == (
        422,
        [{"field": "last_name", "message": "must be at most 100 characters (in NFC), not 101"}],
    )


# Content-Type: JSON or nothing.


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/json; charset=latin-1",
        "application/jsonx",
        "application/merge-patch+json",
        "",
    ],
)
def test_a_post_whose_content_type_is_not_json_is_415(empty_db, api, content_type):
    r = post('{"first_name": "Ada"}', content_type)

    assert r.status == 415
    assert "application/json" in r.json["message"]
    assert api("list_people", "GET", "/people", "/people").json["people"] == []


@pytest.mark.parametrize(
    "content_type", [None, "application/json", "Application/JSON; charset=UTF-8", 'application/json;charset="utf-8"']
)
def test_a_post_with_json_or_no_content_type_is_accepted(empty_db, content_type):
    assert post('{"first_name": "Ada"}', content_type).status == 201


# Names: every last name POST accepts is found again through its URL-encoded lookup.

NAMES = [
    "O'Neil",
    "van Dyke",
    "Zoë",
    "Zoe\u0301",  # decomposed: e + combining acute
    "😀",
    "100%",
    "a%41b",  # stored as written; the lookup must decode once, not twice
    "a%2541b",
    "hash#tag",
    "what?",
    'say "hi"',
    "back\\slash",
    "a/b",
    "+plus",
    "semi;colon",
    "日本",
    "~tilde.dot-dash_",
]


def encoded(name: str) -> str:
    """The name as a path segment: what a client sends, and what API Gateway passes on (docs/dev.md, Paths)."""
    return quote(name, safe="")


@pytest.mark.parametrize("name", NAMES)
def test_every_last_name_post_accepts_is_found_by_its_url_encoded_lookup(empty_db, api, name):
    created = create(api, {"first_name": "Someone", "last_name": name})
    assert created.status == 201, created.body

    segment = encoded(name)
    r = api(
        "ids_by_last_name",
        "GET",
        f"/ids/lastname/{segment}",
        "/ids/lastname/{lastname}",
        path_params={"lastname": segment},
    )

    assert r.status == 200, r.body
    assert r.json["ids"] == [created.json["person"]["id"]]
    assert r.json["last_name"] == name


def test_a_lookup_that_is_not_percent_encoded_utf8_is_400(empty_db, api):
    r = api(
        "ids_by_last_name",
        "GET",
        "/ids/lastname/Jos%E9",
        "/ids/lastname/{lastname}",
        path_params={"lastname": "Jos%E9"},
    )

    assert r.status == 400
    assert "lastname" in r.json["message"]
