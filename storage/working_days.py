"""Working days for LAPOR!'s service standards (verification in 3, agency response in 5).

Why not plain ``timedelta``: a report filed on a Friday before Idulfitri is not late on the
following Monday. Saturdays, Sundays, libur nasional and cuti bersama are days off, as for
government offices; the calendar is ``lokal.holidays`` (the yearly SKB 3 Menteri).

``lokal-id`` carries official data only for the years it lists (``HOLIDAY_YEARS``) and raises
for others. A deadline must still be computed, so for a year without data only weekends are
skipped and a warning is logged once per year: the deadline may then come a day or two early,
never late. Update lokal-id when the next SKB is published.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Set

from lokal import holidays as _holidays

log = logging.getLogger(__name__)
_warned_years: Set[int] = set()


def _as_date(value) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def is_working_day(day: dt.date) -> bool:
    day = _as_date(day)
    if day.weekday() >= 5:
        return False
    if day.year not in _holidays.HOLIDAY_YEARS:
        if day.year not in _warned_years:
            _warned_years.add(day.year)
            log.warning("no holiday data for %s in lokal-id; counting only weekends as days off", day.year)
        return True
    return _holidays.is_working_day(day, cuti_bersama=True)


def add_working_days(start: dt.date, days: int) -> dt.date:
    """The date ``days`` working days after ``start`` (``start`` itself is not counted)."""
    day = _as_date(start)
    step = dt.timedelta(days=1 if days >= 0 else -1)
    left = abs(days)
    while left:
        day += step
        if is_working_day(day):
            left -= 1
    return day


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days after ``start`` up to and including ``end``; 0 when ``end`` is not later."""
    day, last = _as_date(start), _as_date(end)
    count = 0
    while day < last:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            count += 1
    return count
