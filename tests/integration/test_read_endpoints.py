"""GET endpoints, driven through the real handlers with their events/ samples, against MariaDB."""

import json
from datetime import date
from unittest.mock import ANY
from urllib.parse import quote

import pytest

from conftest import invoke, load_event, reply
from people_api.people import store as people_store
from people_api.people.person import inferred_age, person_from_json, utc_today


def test_ping_answers_pong_as_text(database):
    r = reply(invoke("ping", load_event("ping")))
    assert (r.status, r.body, r.headers["Content-Type"]) == (200, "pong", "text/plain")


def test_people_sample_event_gives_the_first_two_by_id(people_db):
    r = reply(invoke("list_people", load_event("list_people")))
    assert r.status == 200
    assert [p["id"] for p in r.json["people"]] == [1, 2]
    assert r.json["people"][1] == {
        "id": 2,
        "first_name": "David",
        "last_name": "Block",
        "age": 76,
        "age_inferred": False,
        "github_account": None,
        "third_grade_graduation": "1940-06-24",
        "created_at": ANY,
        "updated_at": ANY,
    }
    assert r.json["next_cursor"]


def test_paging_through_people_reaches_the_end_once(people_db, api):
    seen, cursor = [], None
    while True:
        query = {"limit": "3"} | ({"cursor": cursor} if cursor else {})
        page = api("list_people", "GET", "/people", "/people", query=query).json
        seen += [p["id"] for p in page["people"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [1, 2, 3, 4, 5, 6, 7]


def test_default_page_holds_everyone_here(people_db, api):
    page = api("list_people", "GET", "/people", "/people").json
    assert len(page["people"]) == 7 and page["next_cursor"] is None


@pytest.mark.parametrize("limit", ["0", "1001", "-5", "ten", "1.5"])
def test_a_bad_limit_is_422_naming_it(people_db, api, limit):
    r = api("list_people", "GET", "/people", "/people", query={"limit": limit})
    assert r.status == 422
    assert r.json["errors"] == [{"field": "limit", "message": "must be a whole number from 1 to 1000 in digits"}]
    assert r.json["message"] == "the request's parameters are not valid"


@pytest.mark.parametrize("cursor", ["garbage!", "WyJhZ2UiLDEsMl0", "e30", "WyJwZW9wbGUiLCIxIl0"])
def test_a_cursor_not_handed_out_for_this_listing_is_400(people_db, api, cursor):
    r = api("list_people", "GET", "/people", "/people", query={"cursor": cursor})
    assert r.status == 400
    assert "cursor" in r.json["message"]


def test_people_by_age_youngest_first_with_rob_mays_age_inferred(people_db, api):
    people = api("people_by_age", "GET", "/people/age", "/people/age").json["people"]
    assert [p["id"] for p in people] == [3, 1, 6, 5, 4, 7, 2]
    rob = people[4]
    assert rob["age_inferred"] is True
    assert rob["age"] == inferred_age(date(1988, 6, 25), utc_today())  # 47 on 2026-11-28


def test_people_by_age_sample_event_pages_by_three(people_db, api):
    first = reply(invoke("people_by_age", load_event("people_by_age"))).json
    assert [p["id"] for p in first["people"]] == [3, 1, 6]
    second = api(
        "people_by_age", "GET", "/people/age", "/people/age", query={"limit": "3", "cursor": first["next_cursor"]}
    ).json
    assert [p["id"] for p in second["people"]] == [5, 4, 7]


def test_people_without_age_or_date_come_last_by_id(people_db, api):
    for body in (
        {"id": 20, "first_name": "Nobody"},
        {"id": 9, "last_name": "Unknown"},
        {"id": 8, "first_name": "Kid", "age": 0},
    ):
        people_store.add_person(person_from_json(body, utc_today()))
    ids = [p["id"] for p in api("people_by_age", "GET", "/people/age", "/people/age").json["people"]]
    assert ids == [8, 3, 1, 6, 5, 4, 7, 2, 9, 20]


def test_get_person_sample_event_is_rob_may(people_db):
    r = reply(invoke("get_person", load_event("get_person")))
    assert r.status == 200
    assert (r.json["first_name"], r.json["last_name"], r.json["age_inferred"]) == ("Rob", "May", True)


def test_an_unknown_person_is_404_with_a_message(people_db, api):
    r = api("get_person", "GET", "/people/999", "/people/{id}", path_params={"id": "999"})
    assert r.status == 404
    assert r.json == {"message": "no person has id 999"}


@pytest.mark.parametrize("person_id", ["abc", "0", "-1", "1.5", "9007199254740992", "4%20OR%201=1"])
def test_an_id_that_is_not_a_positive_integer_is_400(people_db, api, person_id):
    r = api("get_person", "GET", f"/people/{person_id}", "/people/{id}", path_params={"id": person_id})
    assert r.status == 400
    assert r.json["message"]


def test_ids_by_last_name_sample_event_ignores_case(people_db):
    r = reply(invoke("ids_by_last_name", load_event("ids_by_last_name")))
    assert r.status == 200
    assert r.json == {"last_name": "robiner", "ids": [3, 6, 7], "next_cursor": None}


@pytest.mark.parametrize(
    "name", ["O'Neil", "Núñez", "Robert'); DROP TABLE people;--", "100%_sure", "李", "back\\slash"]
)
def test_last_names_with_quotes_unicode_and_sql_metacharacters(people_db, api, name):
    created = people_store.add_person(person_from_json({"last_name": name}, utc_today()))
    path = "/ids/lastname/" + quote(name, safe="")
    r = api("ids_by_last_name", "GET", path, "/ids/lastname/{lastname}", path_params={"lastname": quote(name, safe="")})
    assert r.status == 200
    assert r.json == {"last_name": name, "ids": [created.id], "next_cursor": None}
    assert len(api("list_people", "GET", "/people", "/people").json["people"]) == 8


def test_accents_count_in_a_last_name_match(people_db, api):
    people_store.add_person(person_from_json({"last_name": "Núñez"}, utc_today()))
    r = api(
        "ids_by_last_name", "GET", "/ids/lastname/Nunez", "/ids/lastname/{lastname}", path_params={"lastname": "Nunez"}
    )
    assert r.json["ids"] == []


def test_an_unknown_last_name_is_an_empty_list(people_db, api):
    r = api(
        "ids_by_last_name", "GET", "/ids/lastname/Smith", "/ids/lastname/{lastname}", path_params={"lastname": "Smith"}
    )
    assert (r.status, r.json["ids"], r.json["next_cursor"]) == (200, [], None)


def test_ids_by_last_name_page(people_db, api):
    path = "/ids/lastname/ROBINER"
    first = api("ids_by_last_name", "GET", path, "/ids/lastname/{lastname}", query={"limit": "2"}).json
    assert first["ids"] == [3, 6]
    rest = api(
        "ids_by_last_name",
        "GET",
        path,
        "/ids/lastname/{lastname}",
        query={"limit": "2", "cursor": first["next_cursor"]},
    ).json
    assert (rest["ids"], rest["next_cursor"]) == ([7], None)


def test_unknown_route_is_a_json_404(database, api):
    r = api("list_people", "GET", "/nope", "/nope")
    assert r.status == 404 and json.loads(r.body)["message"]
