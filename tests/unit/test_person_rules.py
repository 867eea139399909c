"""The person rules, as POST /people and the CSV import both apply them (no I/O)."""

import functools
import inspect
import unicodedata
from datetime import date, datetime

import pytest
import regex

from people_api.people import person as person_rules
from people_api.people.person import (
    FIELDS,
    PersonInvalid,
    StoredPerson,
    clean_person,
    inferred_age,
    last_name_key,
    person_from_json,
    person_from_patch,
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
    assert tuple(inspect.signature(clean_person).parameters) == (*FIELDS, "today", "name_required")
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


# A name a reader can see; no bidirectional controls in any text (README, The person and its rules)

BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
INVISIBLE_ALONE = {
    "zero-width space": "\u200b",
    "zero-width non-joiner": "\u200c",
    "zero-width joiner": "\u200d",
    "byte order mark": "\ufeff",
    "word joiner": "\u2060",
    "soft hyphen": "\u00ad",
    "Mongolian vowel separator": "\u180e",
    "combining grapheme joiner": "\u034f",
    "variation selector 16": "\ufe0f",
    "variation selector 256": "\U000e01ef",
    "Mongolian free variation selector": "\u180b",
    "language tag": "\U000e0001",
    "tag letter a": "\U000e0061",
    "cancel tag": "\U000e007f",
    "reserved default-ignorable U+2065": "\u2065",
    "reserved default-ignorable U+FFF0": "\ufff0",
    "reserved default-ignorable U+E0FFF": "\U000e0fff",
    "Hangul choseong filler": "\u115f",
    "Hangul jungseong filler": "\u1160",
    "Hangul filler": "\u3164",
    "halfwidth Hangul filler": "\uffa0",
    "Braille pattern blank": "\u2800",
    "combining acute accent": "\u0301",
    "combining enclosing circle": "\u20dd",
    "Devanagari vowel sign aa (a spacing mark)": "\u093e",
    "Arabic number sign (prepended mark)": "\u0600",
    "several of them, with spaces": " \u200b\u200d \u3164\u0301 ",
    "interlinear annotation anchor": "\ufff9",
    "musical symbol begin beam": "\U0001d173",
}


def name_errors(name: str, field: str = "last_name") -> dict[str, str]:
    return errors_of({"first_name" if field == "last_name" else "last_name": "Valid", field: name})


@pytest.mark.parametrize("field", ["first_name", "last_name"])
@pytest.mark.parametrize("name", INVISIBLE_ALONE.values(), ids=INVISIBLE_ALONE.keys())
def test_a_name_of_only_invisible_characters_is_not_a_name(field, name):
    errors = name_errors(name, field)

    assert list(errors) == [field]
    assert errors[field].startswith("has no character a reader can see")


@pytest.mark.parametrize("name", INVISIBLE_ALONE.values(), ids=INVISIBLE_ALONE.keys())
def test_invisible_characters_alone_do_not_make_a_person_named(name):
    assert errors_of({"last_name": name, "age": 30})["last_name"].startswith("has no character a reader can see")


@pytest.mark.parametrize(
    "name",
    ["\u0301Ada", "\u200bAda", "\ufeffAda", "\u200dAda", "\ufe0fAda", "\u3164Ada", "\u2800 Ada", " \u0301 Ada"],
)
def test_a_name_must_begin_with_a_character_a_reader_can_see(name):
    first_invisible = f"U+{ord(name.strip()[0]):04X}"

    assert name_errors(name) == {"last_name": f"must begin with a character a reader can see, not {first_invisible}"}


VISIBLE_NAMES = {
    "emoji ZWJ sequence": "Zoë 👩‍🔬",
    "emoji with variation selector 16 at the end": "Ada ❤️",
    "flag tag sequence (Scotland)": "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
    "Persian with ZWNJ": "نوش\u200cآفرین",
    "Malayalam with ZWJ": "അന്\u200dവര്\u200d",
    "Devanagari with ZWJ and ZWNJ": "क्\u200dष क्\u200cष",
    "Korean": "김민준",
    "Chinese": "李小龍",
    "a letter after a space and a mark on the space": "Ada \u0301Lovelace",
    "Mongolian with a free variation selector": "\u1820\u180b\u1821",
    "Hebrew": "נועה",
    "Arabic": "محمد",
    "Sinhala with ZWJ (a conjunct)": "ශ්\u200dරී",
    "Malayalam chillu written with a final ZWJ after the virama": "അന്\u200d",
    "CJK with an ideographic variation selector": "葛\U000e0100城",
    "emoji keycap (variation selector, then an enclosing mark)": "#\ufe0f\u20e3",
    "rainbow flag (variation selector before a ZWJ)": "🏳\ufe0f\u200d🌈",
}


@pytest.mark.parametrize("name", VISIBLE_NAMES.values(), ids=VISIBLE_NAMES.keys())
def test_names_that_a_reader_can_see_stay_valid_with_their_joiners_and_selectors(name):
    person = person_from_json({"first_name": name, "last_name": name}, TODAY)

    assert (person.first_name, person.last_name) == (name, name)


HIDDEN_INSIDE = {
    "zero-width space at the end": ("Smith\u200b", "U+200B, an invisible character"),
    "zero-width space between words": ("สมชาย\u200bใจดี", "U+200B, an invisible character"),
    "byte order mark inside": ("Lo\ufeffvelace", "U+FEFF, an invisible character"),
    "soft hyphen": ("Love\u00adlace", "U+00AD, an invisible character"),
    "word joiner": ("Ada\u2060", "U+2060, an invisible character"),
    "Hangul filler after a letter": ("김\u3164", "U+3164, an invisible character"),
    "combining grapheme joiner": ("Ada\u034f", "U+034F, an invisible character"),
    "reserved default-ignorable": ("Ada\ufff0", "U+FFF0, an invisible character"),
    "tag letters without a cancel tag": ("🏴\U000e0067\U000e0062", "U+E0067, an invisible character"),
    "cancel tag alone": ("Ada\U000e007f", "U+E007F, an invisible character"),
    "ZWJ at the end": ("Smith\u200d", "U+200D, a joiner, except after a virama or before a visible character"),
    "ZWNJ before a space": ("Ada\u200c Lovelace", "U+200C, a joiner, except after a virama or before"),
    "two ZWJ": ("👩\u200d\u200d🔬", "U+200D, a joiner, except after a virama or before"),
    "variation selector after a space": ("Ada \ufe0f", "U+FE0F, a variation selector, except right after a visible"),
    "two variation selectors": ("❤\ufe0f\ufe0f", "U+FE0F, a variation selector, except right after a"),
    "private use": ("\ue000", "U+E000, a private-use character"),
    "private use after a letter": ("Ada\U000f0000", "U+F0000, a private-use character"),
    "noncharacter U+FFFE": ("\ufffe", "U+FFFE, a noncharacter"),
    "noncharacter U+FFFF after a letter": ("Ada\uffff", "U+FFFF, a noncharacter"),
    "noncharacter U+FDD0": ("Ada\ufdd0", "U+FDD0, a noncharacter"),
    "noncharacter U+10FFFF": ("Ada\U0010ffff", "U+10FFFF, a noncharacter"),
}


@pytest.mark.parametrize("field", ["first_name", "last_name"])
@pytest.mark.parametrize(("name", "message"), HIDDEN_INSIDE.values(), ids=HIDDEN_INSIDE.keys())
def test_an_invisible_character_that_joins_nothing_is_refused_anywhere_in_a_name(field, name, message):
    # "Smith\u200b" would be stored, and then not found as smith
    errors = name_errors(name, field)

    assert list(errors) == [field]
    assert errors[field].startswith(f"must not contain {message}"), errors


def answers_for(names: list[str]) -> list[tuple[str | None, dict[str, str]]]:
    answers = []
    for name in names:
        try:
            answers.append((person_from_json({"last_name": name}, TODAY).last_name, {}))
        except PersonInvalid as invalid:
            answers.append((None, {e.field: e.message for e in invalid.errors}))
    return answers


def test_names_seen_before_change_no_later_answer(monkeypatch):
    # the rules remember characters that need no walk (person._PLAIN_IN_NAME): what a name's characters met
    # earlier, beside other characters, must not change whether a later name is refused, nor why
    names = [*VISIBLE_NAMES.values(), *(name for name, _ in HIDDEN_INSIDE.values())]
    names += [a + b for a in names for b in names[:8]]
    monkeypatch.setattr(person_rules, "_PLAIN_IN_NAME", set())
    cold = answers_for(names)

    assert answers_for(names) == cold
    assert answers_for(list(reversed(names))) == list(reversed(cold))


def test_a_file_of_every_code_point_does_not_grow_what_the_rules_remember(monkeypatch):
    monkeypatch.setattr(person_rules, "_PLAIN_IN_NAME", set())
    letters = [chr(c) for c in range(0x4E00, 0x4E00 + 3 * person_rules._PLAIN_IN_NAME_MAX)]

    answers = answers_for(["李" + letter for letter in letters])

    assert all(stored is not None for stored, _ in answers)
    assert len(person_rules._PLAIN_IN_NAME) == person_rules._PLAIN_IN_NAME_MAX


def test_the_csv_import_and_a_patch_refuse_a_hidden_character_by_the_same_rule():
    current = StoredPerson(4, "Rob", "May", None, None, None, 1, WRITTEN, WRITTEN)

    with pytest.raises(PersonInvalid) as by_csv:
        clean_person("7", "Ada", "Smith\u200b", "", "", "", TODAY)
    with pytest.raises(PersonInvalid) as by_patch:
        person_from_patch(current, {"last_name": "Smith\u200b"}, TODAY)

    expected = [("last_name", "must not contain U+200B, an invisible character")]
    assert [(e.field, e.message) for e in by_csv.value.errors] == expected
    assert [(e.field, e.message) for e in by_patch.value.errors] == expected


@pytest.mark.parametrize("control", BIDI_CONTROLS)
@pytest.mark.parametrize("field", [*FIELDS, "First", "Last", "GithubAcct"])
def test_a_bidirectional_control_is_refused_in_every_text_field_naming_it(field, control):
    other_name = "last_name" if field in ("first_name", "First") else "first_name"
    body = {other_name: "Ada", field: f"1{control}2"}

    errors = errors_of(body)

    assert errors == {field: f"must not contain a bidirectional control character (U+{ord(control):04X})"}


@pytest.mark.parametrize("text", ["\u202eevil", "evil\u202e", "Ada\u2066Lovelace\u2069", "\u200f"])
def test_a_bidi_override_or_mark_anywhere_in_a_name_is_refused(text):
    assert "bidirectional control character" in name_errors(text)["last_name"]


@pytest.mark.parametrize(("separator", "kind"), [("\u2028", "line separator"), ("\u2029", "paragraph separator")])
@pytest.mark.parametrize("field", ["first_name", "github_account", "third_grade_graduation"])
def test_unicode_line_and_paragraph_separators_are_line_breaks_refused_like_the_others(field, separator, kind):
    body = {"first_name": "Ada"} | {field: f"a{separator}b"}

    assert errors_of(body) == {field: f"must not contain a {kind} (U+{ord(separator):04X})"}


def test_names_are_stored_in_nfc_so_the_limit_counts_what_is_stored():
    nfd, nfc = "e\u0301" * 100, "\u00e9" * 100

    stored = person_from_json({"first_name": nfd, "last_name": "Nu\u0301n\u0303ez"}, TODAY)

    assert (stored.first_name, stored.last_name) == (nfc, "Núñez")
    assert len(stored.first_name) == 100
    assert name_errors("e\u0301" * 101) == {"last_name": "must be at most 100 characters (in NFC), not 101"}


def test_a_name_that_nfc_lengthens_past_the_limit_is_refused():
    # U+0958 DEVANAGARI LETTER QA is excluded from composition: its NFC is two code points, as the column holds it
    assert len(unicodedata.normalize("NFC", "\u0958")) == 2

    assert person_from_json({"last_name": "\u0958" * 50}, TODAY).last_name == "\u0915\u093c" * 50
    assert name_errors("\u0958" * 51) == {"last_name": "must be at most 100 characters (in NFC), not 102"}


def test_a_patch_stores_nfc_and_applies_the_same_rules():
    current = StoredPerson(4, "Rob", "May", None, None, None, 1, WRITTEN, WRITTEN)

    assert person_from_patch(current, {"last_name": "Ma\u0308y"}, TODAY).last_name == "Mäy"
    with pytest.raises(PersonInvalid) as invalid:
        person_from_patch(current, {"first_name": "\u200b", "Last": "\u202eyaM"}, TODAY)
    assert {e.field: e.message.split(" (")[0] for e in invalid.value.errors} == {
        "first_name": "has no character a reader can see",
        "Last": "must not contain a bidirectional control character",
    }


def test_the_csv_import_runs_the_same_rule_through_clean_person():
    with pytest.raises(PersonInvalid) as invalid:
        clean_person("7", "\u3164", "\u202eRobiner", "50", "", "", TODAY)

    assert [e.field for e in invalid.value.errors] == ["first_name", "last_name"]
    assert clean_person("7", "Zoe\u0308", "Robiner", "", "", "", TODAY).first_name == "Zoë"


# Against Unicode's own properties (the `regex` module's tables): every default-ignorable code point, every
# combining mark and every bidi control is refused as a name of its own, and is kept after a visible letter.


def _code_points(pattern: str) -> list[str]:
    return regex.findall(pattern, _every_code_point())


@functools.cache
def _every_code_point() -> str:
    return "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)


def test_every_default_ignorable_code_point_and_combining_mark_alone_is_not_a_name():
    invisible = _code_points(r"(?V1)[\p{Default_Ignorable_Code_Point}\p{M}--\p{White_Space}]")
    # Marks Unicode assigned after this Python's tables (unicodedata) are unknown to it: it counts them visible
    known = [c for c in invisible if unicodedata.category(c) != "Cn" or regex.match(r"\p{DI}", c)]
    assert len(known) > 6000

    seen = [c for c in known if c not in BIDI_CONTROLS and _accepted(c)]

    assert seen == []


def test_every_combining_mark_after_a_letter_is_kept():
    marks = _code_points(r"(?V1)[\p{M}--\p{Default_Ignorable_Code_Point}]")

    kept = [c for c in marks if person_from_json({"last_name": f"A{c}"}, TODAY).last_name == f"A{c}"]

    assert len(kept) > 0.98 * len(marks)  # the rest are composed by NFC (A + U+0301 is Á)
    assert all(unicodedata.normalize("NFC", f"A{c}") != f"A{c}" for c in set(marks) - set(kept))


def test_every_default_ignorable_code_point_between_letters_is_refused_but_joiners_and_selectors():
    ignorable = _code_points(r"(?V1)[\p{Default_Ignorable_Code_Point}--\p{White_Space}--\p{Bidi_Control}]")
    selectors = _code_points(r"\p{Variation_Selector}")
    assert len(ignorable) > 4000 and len(selectors) > 250

    kept = [c for c in ignorable if _accepted(f"A{c}B")]

    assert sorted(kept) == sorted(["\u200c", "\u200d", *selectors])


def test_every_private_use_code_point_and_noncharacter_is_refused_alone_and_after_a_letter():
    refused = _code_points(r"[\p{Co}\p{Noncharacter_Code_Point}]")
    assert len(refused) == 137_468 + 66

    assert [c for c in refused if _accepted(c) or _accepted(f"A{c}")] == []


def test_the_bidi_controls_are_unicode_s_bidi_control_property():
    assert "".join(_code_points(r"\p{Bidi_Control}")) == "".join(sorted(BIDI_CONTROLS))


def test_every_letter_this_python_knows_is_a_name_but_the_fillers():
    letters = _code_points(r"\p{L}")

    refused = [c for c in letters if unicodedata.category(c) != "Cn" and not _accepted(c)]

    assert refused == ["\u115f", "\u1160", "\u3164", "\uffa0"]


def _accepted(name: str) -> bool:
    try:
        return clean_person(None, None, name, None, None, None, TODAY).last_name is not None
    except PersonInvalid:
        return False
