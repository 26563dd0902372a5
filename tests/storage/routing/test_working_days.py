import datetime as dt

import pytest

from storage.working_days import add_working_days, is_working_day, working_days_between


@pytest.mark.parametrize("start, days, expected", [
    (dt.date(2026, 11, 23), 3, dt.date(2026, 11, 26)),   # Monday: same week
    (dt.date(2026, 11, 27), 3, dt.date(2026, 12, 2)),    # Friday: skips the weekend
    (dt.date(2026, 11, 28), 3, dt.date(2026, 12, 2)),    # filed on a Saturday
    (dt.date(2026, 12, 23), 3, dt.date(2026, 12, 30)),   # cuti bersama 24th, Natal 25th, weekend
    (dt.date(2026, 8, 14), 5, dt.date(2026, 8, 24)),     # Proklamasi on Monday the 17th
    (dt.date(2026, 3, 18), 3, dt.date(2026, 3, 27)),     # Nyepi and the Idulfitri days
])
def test_deadlines_skip_weekends_and_national_holidays(start, days, expected):
    assert add_working_days(start, days) == expected


def test_holidays_and_cuti_bersama_are_days_off():
    assert not is_working_day(dt.date(2026, 8, 17))
    assert not is_working_day(dt.date(2026, 12, 24))
    assert not is_working_day(dt.date(2026, 11, 28))
    assert is_working_day(dt.date(2026, 11, 27))


def test_a_year_without_holiday_data_still_skips_weekends():
    assert add_working_days(dt.date(2031, 1, 3), 1) == dt.date(2031, 1, 6)


def test_working_days_between_counts_after_start_up_to_end():
    assert working_days_between(dt.date(2026, 11, 27), dt.date(2026, 12, 2)) == 3
    assert working_days_between(dt.date(2026, 12, 2), dt.date(2026, 11, 27)) == 0
