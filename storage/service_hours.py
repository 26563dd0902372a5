"""When people answer: the ``handover.service_hours`` text of config.yml, understood.

Why parse the text operators already write ("Senin-Jumat, 08.00-16.00 WIB") instead of adding
settings: it is what the citizen is told, so the rule and the words cannot drift apart. Days
off on the government calendar (``storage.working_days``) are closed too when the hours are
given for working days. A text this module does not understand yields None: then nobody is
promised a time.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Optional

from storage.working_days import is_working_day

DAYS = ("senin", "selasa", "rabu", "kamis", "jumat", "sabtu", "minggu")
DAY_NAMES = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
ZONES = {"WIB": 7, "WITA": 8, "WIT": 9}
_PATTERN = re.compile(
    r"^\s*(?P<first>[a-z']+)\s*(?:-|s\.?d\.?|sampai)\s*(?P<last>[a-z']+)\s*,?\s*"
    r"(?P<open>\d{1,2})[.:](?P<open_m>\d{2})\s*-\s*(?P<close>\d{1,2})[.:](?P<close_m>\d{2})\s*(?P<zone>WIB|WITA|WIT)\s*$",
    re.IGNORECASE)


@dataclass(frozen=True)
class ServiceHours:
    first_day: int  # 0 = Senin
    last_day: int
    opens: dt.time
    closes: dt.time
    zone: str

    @property
    def offset(self) -> dt.timedelta:
        return dt.timedelta(hours=ZONES[self.zone])

    def _open_on(self, day: dt.date) -> bool:
        if not self.first_day <= day.weekday() <= self.last_day:
            return False
        # Hours for working days (ending by Friday) close on national holidays too.
        return is_working_day(day) if self.last_day <= 4 else True

    def is_open(self, moment_utc: dt.datetime) -> bool:
        local = moment_utc + self.offset
        return self._open_on(local.date()) and self.opens <= local.time() < self.closes

    def next_opening(self, moment_utc: dt.datetime) -> Optional[dt.datetime]:
        """The local time people answer again, or None when they answer now."""
        if self.is_open(moment_utc):
            return None
        local = moment_utc + self.offset
        day = local.date()
        if local.time() >= self.opens:
            day += dt.timedelta(days=1)
        for _ in range(30):
            if self._open_on(day):
                return dt.datetime.combine(day, self.opens)
            day += dt.timedelta(days=1)
        return None


def parse_service_hours(text: Optional[str]) -> Optional[ServiceHours]:
    match = _PATTERN.match((text or "").replace("'", ""))
    if not match:
        return None
    first, last = match.group("first").lower(), match.group("last").lower()
    if first not in DAYS or last not in DAYS or DAYS.index(first) > DAYS.index(last):
        return None
    try:
        opens = dt.time(int(match.group("open")), int(match.group("open_m")))
        closes = dt.time(int(match.group("close")), int(match.group("close_m")))
    except ValueError:
        return None
    if closes <= opens:
        return None
    return ServiceHours(DAYS.index(first), DAYS.index(last), opens, closes, match.group("zone").upper())
