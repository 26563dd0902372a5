"""What a stored report must say, given the persona that filed it.

Dates are ranges: people say "minggu lalu" or "awal bulan lalu", and any date inside what they
meant is right. The range is computed from the day the conversation ran, in Asia/Jakarta (the
dialogue's own clock: bot.actions.report_form.local_today), so a run near midnight UTC is fine.
"""
from __future__ import annotations

import calendar
import datetime as dt
from typing import Any, Dict, Optional, Tuple
from zoneinfo import ZoneInfo

JAKARTA = ZoneInfo("Asia/Jakarta")
MONTH_PARTS = {"early": (1, 10), "mid": (11, 20), "late": (21, 31), "any": (1, 31)}


def today_in_jakarta() -> dt.date:
    return dt.datetime.now(JAKARTA).date()


def _months_back(today: dt.date, months: int) -> Tuple[int, int]:
    index = today.year * 12 + today.month - 1 - months
    return index // 12, index % 12 + 1


def _latest_past(today: dt.date, day: int, month: Optional[int], year: Optional[int]) -> dt.date:
    if year and month:
        return dt.date(year, month, day)
    if month:
        candidate = dt.date(today.year, month, day)
        return candidate if candidate <= today else dt.date(today.year - 1, month, day)
    year_, month_ = today.year, today.month
    for _ in range(13):
        if day <= calendar.monthrange(year_, month_)[1]:
            candidate = dt.date(year_, month_, day)
            if candidate <= today:
                return candidate
        year_, month_ = _months_back(dt.date(year_, month_, 1), 1)
    raise ValueError(f"no past date with day {day}")


def date_range(expect: Dict[str, Any], today: Optional[dt.date] = None) -> Optional[Tuple[dt.date, dt.date]]:
    """The dates that count as right for one dates.yml item; None when no date may be stored."""
    today = today or today_in_jakarta()
    if expect.get("unknown"):
        return None
    tolerance = int(expect.get("tolerance", 0))
    if "days_ago" in expect:
        centre = today - dt.timedelta(days=int(expect["days_ago"]))
        return centre - dt.timedelta(days=tolerance), min(today, centre + dt.timedelta(days=tolerance))
    if "weekday" in expect:
        back = (today.weekday() - int(expect["weekday"])) % 7 or 7
        latest = today - dt.timedelta(days=back)
        return latest - dt.timedelta(days=tolerance), latest
    if "day" in expect:
        exact = _latest_past(today, int(expect["day"]), expect.get("month"), expect.get("year"))
        return exact - dt.timedelta(days=tolerance), exact + dt.timedelta(days=tolerance)
    if "months_ago" in expect:
        year, month = _months_back(today, int(expect["months_ago"]))
        first, last = MONTH_PARTS[expect.get("month_part", "any")]
        last = min(last, calendar.monthrange(year, month)[1])
        return dt.date(year, month, first), min(today, dt.date(year, month, last))
    raise ValueError(f"date item without an expectation: {expect!r}")


def date_is_right(stored: Optional[dt.date], expect: Dict[str, Any], today: Optional[dt.date] = None) -> bool:
    wanted = date_range(expect, today)
    if wanted is None:
        return stored is None
    return stored is not None and wanted[0] <= stored <= wanted[1]


def region_is_right(stored_code: Optional[str], expected_code: Optional[str]) -> bool:
    """A stored code is right when it is the expected kabupaten/kota or lies inside it."""
    if not expected_code:
        return True
    return bool(stored_code) and (stored_code == expected_code or stored_code.startswith(expected_code + "."))
