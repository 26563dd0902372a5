from __future__ import annotations

import datetime as dt

import pytest

from storage.service_hours import parse_service_hours

HOURS = parse_service_hours("Senin-Jumat, 08.00-16.00 WIB")

CASES = [
    # UTC moment, when people answer next (local time; None: now)
    (dt.datetime(2026, 12, 2, 3, 0), None),                          # Wednesday 10.00 WIB
    (dt.datetime(2026, 12, 1, 23, 30), dt.datetime(2026, 12, 2, 8)),  # Wednesday 06.30 WIB
    (dt.datetime(2026, 12, 2, 9, 0), dt.datetime(2026, 12, 3, 8)),    # Wednesday 16.00 WIB: closed
    (dt.datetime(2026, 12, 4, 10, 0), dt.datetime(2026, 12, 7, 8)),   # Friday 17.00 WIB: Monday
    (dt.datetime(2026, 12, 24, 10, 0), dt.datetime(2026, 12, 28, 8)),  # before Christmas and cuti bersama
]


@pytest.mark.parametrize("moment, opens", CASES)
def test_the_next_time_a_person_answers_follows_the_configured_hours_and_holidays(moment, opens):
    assert HOURS.next_opening(moment) == opens


@pytest.mark.parametrize("text", ["setiap saat", "Senin-Jumat", "Jumat-Senin, 08.00-16.00 WIB",
                                  "Senin-Jumat, 16.00-08.00 WIB", ""])
def test_hours_that_cannot_be_understood_promise_nothing(text):
    assert parse_service_hours(text) is None


def test_other_zones_and_weekend_hours_are_understood():
    hours = parse_service_hours("Senin-Sabtu, 07.30-12.00 WITA")
    assert (hours.first_day, hours.last_day, hours.opens, hours.zone) == (0, 5, dt.time(7, 30), "WITA")
    assert hours.next_opening(dt.datetime(2026, 12, 5, 1, 0)) is None  # Saturday 09.00 WITA
