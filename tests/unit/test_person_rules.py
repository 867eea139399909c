"""The person rules, as POST /people and the CSV import both apply them (no I/O)."""

import inspect
from datetime import date, datetime

import pytest

from people_api.people.person import (
    FIELDS,
    PersonInvalid,
    StoredPerson,
    clean_person,
    inferred_age,
    last_name_key,
    person_from_json,
)

TODAY = date(2026, 11, 28)


def errors_of(body: dict) -> dict[str, str]:
    with pytest.raises(PersonInvalid) as invalid:
        person_from_json(body, TODAY)
    return {e.field: e.message for e in invalid.value.errors}


def test_json_names_give_a_clean_person():
    person = person_from_json(
        {
            "id": 12,
            "first_name": "  Ada ",
            "last_name": "Lovelace",
            "age": 36,
            "github_account": "ada-l",
            "third_grade_graduation": "1999-06-25",
        },
        TODAY,
    )
    assert person == (12, "Ada", "Lovelace", 36, "ada-l", date(1999, 6, 25))


def test_csv_header_names_are_aliases():
    person = person_from_json(
        {
            "ID": "4",
            "First": "Rob",
            "Last": "May",
            "Age": "",
            "GithubAcct": "",
            "Date of 3rd Grade Graduation": "6/25/88",
        },
        TODAY,
    )
    assert person == (4, "Rob", "May", None, None, date(1988, 6, 25))


def test_unknown_output_only_and_repeated_fields_are_rejected_by_name():
    errors = errors_of({"first_name": "Ada", "admin": True, "age_inferred": False, "First": "Ada"})
    assert set(errors) == {"admin", "age_inferred", "First"}


def test_absent_id_is_left_to_the_database():
    assert person_from_json({"last_name": "Robiner"}, TODAY).id is None


@pytest.mark.parametrize("value", [0, -1, 2**31, "abc", "1.5", 1.5, 0.0, 1e300, True, "١٢"])
def test_id_must_be_a_positive_32_bit_integer(value):
    assert "id" in errors_of({"id": value, "first_name": "A"})


def test_names_are_trimmed_and_empty_means_null():
    person = person_from_json({"first_name": "   ", "last_name": " O'Neil "}, TODAY)
    assert (person.first_name, person.last_name) == (None, "O'Neil")


def test_a_person_needs_a_first_or_last_name():
    assert set(errors_of({"first_name": " ", "age": 3})) == {"first_name"}


def test_names_are_at_most_100_characters():
    assert person_from_json({"first_name": "é" * 100}, TODAY).first_name == "é" * 100
    assert "last_name" in errors_of({"first_name": "A", "last_name": "x" * 101})


def test_names_must_be_strings():
    assert "first_name" in errors_of({"first_name": 42})


@pytest.mark.parametrize("age", [0, 150, "7"])
def test_ages_from_0_to_150(age):
    assert person_from_json({"first_name": "A", "age": age}, TODAY).age == int(age)


@pytest.mark.parametrize("age", [-1, 151, "twelve", 3.5])
def test_other_ages_are_rejected(age):
    assert "age" in errors_of({"first_name": "A", "age": age})


@pytest.mark.parametrize("account", ["a", "a-rob", "wr0ngway", "A1-b2-c3", "x" * 39])
def test_github_usernames(account):
    assert person_from_json({"first_name": "A", "github_account": account}, TODAY).github_account == account


@pytest.mark.parametrize("account", ["-a", "a-", "a--b", "a_b", "a b", "x" * 40, "é"])
def test_not_github_usernames(account):
    assert "github_account" in errors_of({"first_name": "A", "github_account": account})


@pytest.mark.parametrize(
    ("text", "age", "expected"),
    [
        ("6/24/40", 76, date(1940, 6, 24)),  # %y would say 2040
        ("6/25/01", 22, date(2001, 6, 25)),
        ("6/25/07", 16, date(2007, 6, 25)),
        ("3/26/70", 50, date(1970, 3, 26)),
        ("6/25/88", None, date(1988, 6, 25)),  # 2088 is in the future
        ("6/25/20", None, date(2020, 6, 25)),  # latest date not in the future
        ("12/31/26", None, date(1926, 12, 31)),  # later this year is still the future
        ("6/1/30", 5, date(2030, 6, 1)),  # a 5-year-old turns 9 in 2030
        ("2/29/00", None, date(2000, 2, 29)),
        ("6/25/1988", None, date(1988, 6, 25)),
        ("1988-06-25", None, date(1988, 6, 25)),
    ],
)
def test_graduation_dates_and_two_digit_years(text, age, expected):
    person = person_from_json({"first_name": "A", "age": age, "third_grade_graduation": text}, TODAY)
    assert person.third_grade_graduation == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2/30/01", "not a real date"),
        ("13/1/2001", "not a real date"),
        ("1899-12-31", "between"),
        ("2036-11-29", "between"),
        ("June 25 1988", "not a date"),
        ("25.06.1988", "not a date"),
        ("1988-6-25", "not a date"),
    ],
)
def test_impossible_or_out_of_range_dates_name_the_field(text, reason):
    errors = errors_of({"first_name": "A", "third_grade_graduation": text})
    assert reason in errors["third_grade_graduation"]


def test_ten_years_ahead_is_the_limit():
    person = person_from_json({"first_name": "A", "third_grade_graduation": "2036-11-28"}, TODAY)
    assert person.third_grade_graduation == date(2036, 11, 28)


def test_every_bad_field_is_reported_at_once():
    errors = errors_of({"id": "x", "first_name": "A", "age": 200, "github_account": "-", "third_grade_graduation": "?"})
    assert set(errors) == {"id", "age", "github_account", "third_grade_graduation"}


def test_clean_person_takes_csv_strings_positionally():
    assert clean_person("7", "Lawrence", "Robiner", "50", "", "3/26/70", TODAY) == (
        7,
        "Lawrence",
        "Robiner",
        50,
        None,
        date(1970, 3, 26),
    )


def test_the_person_fields_are_clean_persons_parameters_in_order():
    # The CSV import hands clean_person a row's values by position, in FIELDS order.
    assert tuple(inspect.signature(clean_person).parameters) == (*FIELDS, "today")
    assert StoredPerson._fields == (*FIELDS, "version", "created_at", "updated_at")


@pytest.mark.parametrize(
    ("graduation", "today", "age"),
    [
        (date(1988, 6, 25), date(2026, 11, 28), 47),
        (date(1988, 6, 25), date(2026, 6, 24), 46),
        (date(1988, 6, 25), date(2026, 6, 25), 47),
        (date(2000, 2, 29), date(2027, 2, 28), 35),
        (date(2000, 2, 29), date(2027, 3, 1), 36),
        (date(2030, 6, 1), date(2026, 11, 28), 5),
        (date(2036, 11, 28), date(2026, 11, 28), 0),
    ],
)
def test_inferred_age_is_full_years_since_graduation_plus_nine(graduation, today, age):
    assert inferred_age(graduation, today) == age


WRITTEN = datetime(2026, 11, 28, 9, 30, 0, 123456)


def test_inferred_age_is_computed_on_the_day_it_is_read():
    rob = StoredPerson(4, "Rob", "May", None, None, date(1988, 6, 25), 1, WRITTEN, WRITTEN)
    assert rob.as_json(date(2026, 11, 28))["age"] == 47
    assert rob.as_json(date(2027, 6, 25)) | {"age": None} == rob.as_json(TODAY) | {"age": None}
    assert rob.as_json(date(2027, 6, 25))["age"] == 48
    assert rob.as_json(TODAY)["age_inferred"] is True


def test_stated_age_is_not_inferred():
    matt = StoredPerson(1, "Matt", "Conway", 22, "wr0ngway", date(2001, 6, 25), 1, WRITTEN, WRITTEN).as_json(TODAY)
    assert (matt["age"], matt["age_inferred"], matt["third_grade_graduation"]) == (22, False, "2001-06-25")


def test_last_name_key_ignores_case_but_not_accents():
    assert last_name_key("NÚÑEZ") == last_name_key("núñez") == last_name_key("nu\u0301n\u0303ez")
    assert last_name_key("Nunez") != last_name_key("Núñez")
