import datetime as dt

import pytest

from tests.conversations.expectations import date_is_right, date_range, region_is_right

TODAY = dt.date(2026, 12, 2)  # a Wednesday


@pytest.mark.parametrize("expect, lowest, highest", [
    ({"days_ago": 1}, dt.date(2026, 12, 1), dt.date(2026, 12, 1)),
    ({"days_ago": 7, "tolerance": 3}, dt.date(2026, 11, 22), dt.date(2026, 11, 28)),
    ({"weekday": 0}, dt.date(2026, 11, 30), dt.date(2026, 11, 30)),
    ({"weekday": 2}, dt.date(2026, 11, 25), dt.date(2026, 11, 25)),
    ({"day": 5}, dt.date(2026, 11, 5), dt.date(2026, 11, 5)),
    ({"day": 1}, dt.date(2026, 12, 1), dt.date(2026, 12, 1)),
    ({"day": 15, "month": 11}, dt.date(2026, 11, 15), dt.date(2026, 11, 15)),
    ({"day": 20, "month": 12}, dt.date(2025, 12, 20), dt.date(2025, 12, 20)),
    ({"months_ago": 1, "month_part": "early"}, dt.date(2026, 11, 1), dt.date(2026, 11, 10)),
    ({"months_ago": 1, "month_part": "late"}, dt.date(2026, 11, 21), dt.date(2026, 11, 30)),
    ({"months_ago": 0, "month_part": "early"}, dt.date(2026, 12, 1), dt.date(2026, 12, 2)),
])
def test_a_date_phrase_means_a_range_of_days(expect, lowest, highest):
    assert date_range(expect, TODAY) == (lowest, highest)


def test_an_unknown_date_is_right_only_when_nothing_is_stored():
    assert date_is_right(None, {"unknown": True}, TODAY)
    assert not date_is_right(TODAY, {"unknown": True}, TODAY)
    assert not date_is_right(None, {"days_ago": 1}, TODAY)


def test_a_region_inside_the_expected_kabupaten_is_right():
    assert region_is_right("32.73.07", "32.73")
    assert region_is_right("32.73", "32.73")
    assert not region_is_right("32.04", "32.73")
    assert not region_is_right("32.730", "32.73")
    assert not region_is_right(None, "32.73")
    assert region_is_right(None, None)
