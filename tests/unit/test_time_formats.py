"""The API writes every time with a fixed width, a fraction of zero included: clients parse them by one pattern."""

from datetime import datetime

import pytest

from people_api.imports.record import iso_json
from people_api.people.person import utc_iso


@pytest.mark.parametrize(
    ("moment", "person_time", "record_time"),
    [
        (datetime(2026, 12, 3, 9, 5, 7, 123456), "2026-12-03T09:05:07.123456Z", "2026-12-03T09:05:07.123Z"),
        (datetime(2026, 12, 3, 9, 5, 7), "2026-12-03T09:05:07.000000Z", "2026-12-03T09:05:07.000Z"),
        (datetime(2026, 12, 3, 9, 5, 7, 999), "2026-12-03T09:05:07.000999Z", "2026-12-03T09:05:07.000Z"),
        (datetime(2026, 12, 3, 9, 5, 7, 999999), "2026-12-03T09:05:07.999999Z", "2026-12-03T09:05:07.999Z"),
        (datetime(1, 1, 1), "0001-01-01T00:00:00.000000Z", "0001-01-01T00:00:00.000Z"),
    ],
)
def test_a_time_has_its_fraction_whatever_its_value(moment, person_time, record_time):
    assert utc_iso(moment) == person_time  # a person's created_at and updated_at: to the microsecond
    assert iso_json(moment) == record_time  # an import's or an export's times: to the millisecond, cut not rounded


def test_a_record_time_not_yet_reached_is_null():
    assert iso_json(None) is None
