"""Indonesian incident dates as people type or say them, turned into calendar dates.

Why a pure module: the report form must accept "kemarin", "3 hari lalu", "12 Oktober" or
"akhir bulan lalu" (typos included) and store one ISO date, and the rules are easier to trust
when a table of examples pins them down (tests/bot/test_dates.py). ``today`` is a parameter, so
nothing here reads the clock.

Decisions the caller relies on:

* A day and month without a year ("12 Oktober") is the most recent such day that is not in
  the future: people report what already happened.
* Explicit future dates ("besok", "12/12/2030") are returned as they are; the form rejects
  them with a kind message (so it can say *why*, instead of "not understood").
* "minggu lalu" is seven days ago and "bulan lalu" the same day last month: a report needs a
  day, and an estimate close to what the person meant is better than asking again.
* "lupa", "tidak tahu" and similar are not dates: :func:`says_unknown` recognises them so
  the form can accept an unknown date after asking once for an estimate. An estimate given in
  the same breath wins: "lupa, kira-kira seminggu yang lalu" is seven days ago.
* Estimates ("kira-kira", "sekitar", "beberapa hari lalu", "awal bulan lalu", "Oktober") are
  dates too; :func:`is_approximate` says so, and the report stores that flag with the date.
* ``strict=True`` is for finding a date inside a whole story ("... rusak sejak 2 minggu lalu"):
  only expressions that clearly name when something happened count, not a "sekarang" or a
  "hari Minggu" in passing, and never an RT/RW or house number.
"""
from __future__ import annotations

import calendar
import datetime as dt
import re
from typing import Callable, List, Optional, Pattern, Tuple

MONTHS = {
    "januari": 1, "jan": 1,
    "februari": 2, "pebruari": 2, "feb": 2, "peb": 2,
    "maret": 3, "mar": 3,
    "april": 4, "apr": 4,
    "mei": 5,
    "juni": 6, "jun": 6,
    "juli": 7, "jul": 7,
    "agustus": 8, "agu": 8, "agt": 8, "ags": 8, "agus": 8, "aug": 8,
    "september": 9, "sept": 9, "sep": 9,
    "oktober": 10, "okt": 10, "oct": 10,
    "november": 11, "nov": 11, "nop": 11,
    "desember": 12, "des": 12, "dec": 12,
}

NUMBER_WORDS = {
    "satu": 1, "se": 1, "dua": 2, "tiga": 3, "empat": 4, "lima": 5, "enam": 6, "tujuh": 7,
    "delapan": 8, "sembilan": 9, "sepuluh": 10, "sebelas": 11, "dua belas": 12,
}

WEEKDAYS = {
    "senin": 0, "selasa": 1, "rabu": 2, "kamis": 3, "jumat": 4, "jum'at": 4, "jumaat": 4,
    "sabtu": 5, "minggu": 6, "ahad": 6,
}

# Common misspellings and chat abbreviations, replaced word by word before matching.
_ALIASES = {
    "kmrn": "kemarin", "kmarin": "kemarin", "kemaren": "kemarin", "kemarn": "kemarin",
    "kmaren": "kemarin", "kmrin": "kemarin", "kemrin": "kemarin", "kmren": "kemarin",
    "kamarin": "kemarin",  # how Whisper base often writes a spoken "kemarin"
    "yg": "yang", "lalu2": "lalu", "lallu": "lalu", "lau": "lalu",
    "hr": "hari", "hri": "hari", "mgg": "minggu", "mg": "minggu", "bln": "bulan", "thn": "tahun",
    "td": "tadi", "tdi": "tadi", "pagii": "pagi", "hariini": "hari ini", "ini hari": "hari ini",
    "jumat": "jumat", "jum'at": "jumat", "minggu2": "minggu",
    "smg": "seminggu", "sminggu": "seminggu", "sebulan": "sebulan",
    "tgl": "tanggal", "tanggl": "tanggal", "tangal": "tanggal", "bbrp": "beberapa", "brp": "beberapa",
    "kira2": "kira-kira", "kurleb": "kurang lebih", "kmaren2": "kemarin", "mingguan": "minggu",
    "harian": "hari", "bulanan": "bulan", "seminggun": "seminggu", "semingguan": "seminggu", "sebulanan": "sebulan",
}

_UNKNOWN = re.compile(
    r"\b(lupa|tidak tahu|tdk tahu|tidak tau|gak tau|ga tau|nggak tau|ngga tau|gatau|gak tahu|"
    r"ga tahu|nggak tahu|enggak tahu|tak tahu|entah|tidak ingat|gak ingat|ga ingat|nggak ingat|"
    r"tidak yakin|kurang tahu|ndak tahu|ndak tau|mboten ngertos|ra ngerti|embuh)\b"
)

_APPROXIMATE = re.compile(
    r"\b(kira|kira-kira|kiranya|sekitar|sekitaran|kurang lebih|kayaknya|kayanya|sepertinya|mungkin|perkiraan|"
    r"kalau tidak salah|kalo gak salah|kalau gak salah|kalo ga salah|kurang tahu|lupa|tidak ingat|gak ingat|ga ingat|"
    r"beberapa|awal|pertengahan|tengah|akhir|ujung|an)\b"
)
_MONTH_ONLY = re.compile(r"\b(?:bulan\s+)?(januari|februari|pebruari|maret|april|mei|juni|juli|agustus|september|oktober|november|nopember|desember)\b(?:\s+(?:lalu|kemarin|kemaren|tahun\s+lalu|(\d{4})))?")

_AGO = r"(?:yang\s+)?(?:lalu|lewat|kemarin|sebelumnya|silam|kebelakang|ke\s+belakang)"
_NUMBER = r"(\d{1,3}|satu|dua|tiga|empat|lima|enam|tujuh|delapan|sembilan|sepuluh|sebelas)"


def _clean(text: str) -> str:
    lowered = text.lower().replace("\u2019", "'")
    lowered = re.sub(r"[,;!?()\"]", " ", lowered)
    # A clock time ("jam 9.05") is not a day and month.
    lowered = re.sub(r"\b(jam|pukul|pkl)\s*\d{1,2}[.:]\d{2}\b", r"\1", lowered)
    # rstrip("."): speech-to-text ends a one-word answer with a full stop ("kamarin.").
    words = [_ALIASES.get(word.rstrip("."), word) for word in lowered.split()]
    return " ".join(words)


def _count(word: str) -> int:
    return int(word) if word.isdigit() else NUMBER_WORDS[word]


def _minus_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` earlier, clamped to the month's length (31 Maret -> 28/29 Feb)."""
    index = day.year * 12 + (day.month - 1) - months
    year, month = divmod(index, 12)
    month += 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _month_start(day: dt.date, months_back: int) -> dt.date:
    return _minus_months(day.replace(day=1), months_back)


def _month_end(day: dt.date, months_back: int) -> dt.date:
    start = _month_start(day, months_back)
    return start.replace(day=calendar.monthrange(start.year, start.month)[1])


def _full_year(year: int) -> int:
    return 2000 + year if year < 100 else year


def _safe_date(year: int, month: int, day: int) -> Optional[dt.date]:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _day_month(day: int, month: int, year: Optional[int], today: dt.date) -> Optional[dt.date]:
    if year is not None:
        return _safe_date(_full_year(year), month, day)
    candidate = _safe_date(today.year, month, day)
    if candidate is None or candidate > today:
        candidate = _safe_date(today.year - 1, month, day)
    return candidate


def _weekday_before(today: dt.date, weekday: int, strictly: bool) -> dt.date:
    back = (today.weekday() - weekday) % 7
    if back == 0 and strictly:
        back = 7
    return today - dt.timedelta(days=back)


Rule = Tuple[Pattern[str], Callable[[re.Match, dt.date], Optional[dt.date]]]

_PERIOD_DAYS = {"hari": 1, "minggu": 7, "pekan": 7}


def _ago(match: re.Match, today: dt.date) -> Optional[dt.date]:
    amount, unit = _count(match.group(1)), match.group(2)
    if unit in _PERIOD_DAYS:
        return today - dt.timedelta(days=amount * _PERIOD_DAYS[unit])
    if unit == "bulan":
        return _minus_months(today, amount)
    return _minus_months(today, 12 * amount)


def _se_ago(match: re.Match, today: dt.date) -> Optional[dt.date]:
    unit = match.group(1)
    if unit in _PERIOD_DAYS:
        return today - dt.timedelta(days=_PERIOD_DAYS[unit])
    return _minus_months(today, 1 if unit == "bulan" else 12)


def _numeric(match: re.Match, today: dt.date) -> Optional[dt.date]:
    day, month, year = int(match.group(1)), int(match.group(2)), match.group(3)
    return _day_month(day, month, int(year) if year else None, today)


def _iso(match: re.Match, today: dt.date) -> Optional[dt.date]:
    return _safe_date(int(match.group(1)), int(match.group(2)), int(match.group(3)))


def _named_month(match: re.Match, today: dt.date) -> Optional[dt.date]:
    day, month, year = int(match.group(1)), MONTHS[match.group(2)], match.group(3)
    return _day_month(day, month, int(year) if year else None, today)


def _part_of_month(match: re.Match, today: dt.date) -> Optional[dt.date]:
    part, which = match.group(1), match.group(2)
    back = 0 if which == "ini" else 1
    if part == "awal":
        return _month_start(today, back)
    if part in ("tengah", "pertengahan"):
        return _month_start(today, back).replace(day=15)
    return _month_end(today, back)


def _weekday_last_week(match: re.Match, today: dt.date) -> Optional[dt.date]:
    """ "rabu minggu lalu": that weekday in the week before this one (Monday to Sunday)."""
    monday_this_week = today - dt.timedelta(days=today.weekday())
    return monday_this_week - dt.timedelta(days=7) + dt.timedelta(days=WEEKDAYS[match.group(1)])


def _weekday(match: re.Match, today: dt.date) -> Optional[dt.date]:
    strictly = bool(match.group(2))
    return _weekday_before(today, WEEKDAYS[match.group(1)], strictly)


def _several_ago(match: re.Match, today: dt.date) -> Optional[dt.date]:
    """ "beberapa hari lalu": about three of them (flagged approximate by the caller)."""
    unit = match.group(1)
    if unit == "hari":
        return today - dt.timedelta(days=3)
    if unit in ("minggu", "pekan"):
        return today - dt.timedelta(days=14)
    return _minus_months(today, 2 if unit == "bulan" else 24)


def _day_of_month(match: re.Match, today: dt.date) -> Optional[dt.date]:
    """ "tgl 5": the fifth of this month, or of last month when that is still to come."""
    day = int(match.group(1))
    found = _safe_date(today.year, today.month, day)
    if found is None or found > today:
        previous = _month_start(today, 1)
        found = _safe_date(previous.year, previous.month, day)
    return found


def _month_only(match: re.Match, today: dt.date) -> Optional[dt.date]:
    """ "bulan Oktober": the middle of the most recent October (an estimate)."""
    month = MONTHS.get(match.group(1), MONTHS.get(match.group(1)[:3]))
    if month is None:
        return None
    year = int(match.group(2)) if match.group(2) else today.year
    found = _safe_date(year, month, 15)
    if match.group(2) is None and (found is None or found > today):
        found = _safe_date(year - 1, month, 15)
    if found is not None and found > today and found.month == today.month and found.year == today.year:
        found = today
    return found


_MONTH_NAMES = "|".join(sorted(MONTHS, key=len, reverse=True))
_WEEKDAY_NAMES = "senin|selasa|rabu|kamis|jumat|sabtu|ahad"

# Most specific first: "kemarin lusa" before "kemarin", "senin kemarin" before "kemarin",
# "minggu lalu" (last week) only after the weekday rule has had "hari minggu".
_RULES: List[Rule] = [
    (re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b"), _iso),
    # Not after "RT", "RW", "No." or "blok": "RT 03/05" is an address, not 3 May.
    (re.compile(r"(?<!rt )(?<!rw )(?<!no )(?<!no\. )(?<!nomor )(?<!blok )(?<!gg )\b(\d{1,2})\s*[/.\-]\s*(\d{1,2})(?:\s*[/.\-]\s*(\d{2}|\d{4}))?\b"), _numeric),
    (re.compile(rf"\b(\d{{1,2}})\s*(?:-\s*)?({_MONTH_NAMES})\.?(?:\s*-?\s*(\d{{4}}))?\b"), _named_month),
    (re.compile(r"\b(awal|tengah|pertengahan|akhir|ujung)\s+bulan\s+(ini|lalu|kemarin|kemaren)\b"), _part_of_month),
    (re.compile(r"\b(?:kemarin|kemaren)\s+lusa\b|\b(?:dua|2)\s+hari\s+(?:yang\s+)?lalu\b"),
     lambda match, today: today - dt.timedelta(days=2)),
    (re.compile(rf"\b{_NUMBER}\s*(hari|minggu|pekan|bulan|tahun)(?:an)?\s+{_AGO}\b"), _ago),
    (re.compile(rf"\b(?:sejak|dari|udah|sudah|sdh|selama)\s+{_NUMBER}\s*(hari|minggu|pekan|bulan|tahun)(?:an)?\b"), _ago),
    (re.compile(rf"\bbeberapa\s+(hari|minggu|pekan|bulan|tahun)\s+{_AGO}\b"), _several_ago),
    (re.compile(r"\btanggal\s+(\d{1,2})\b(?!\s*[/.\-]\s*\d)"), _day_of_month),
    (re.compile(rf"\bse(hari|minggu|pekan|bulan|tahun)\s+{_AGO}\b"), _se_ago),
    (re.compile(rf"\b(?:hari\s+)?({_WEEKDAY_NAMES}|minggu)\s+(?:minggu|pekan)\s+(?:lalu|kemarin|kemaren)\b"), _weekday_last_week),
    (re.compile(rf"\b(?:hari\s+)?({_WEEKDAY_NAMES})\s*({_AGO})?\b"), _weekday),
    (re.compile(rf"\bhari\s+(minggu)\s*({_AGO})?\b"), _weekday),
    (re.compile(rf"\b(?:minggu|pekan)\s+{_AGO}\b"), lambda match, today: today - dt.timedelta(days=7)),
    (re.compile(rf"\bbulan\s+{_AGO}\b"), lambda match, today: _minus_months(today, 1)),
    (re.compile(rf"\btahun\s+{_AGO}\b"), lambda match, today: _minus_months(today, 12)),
    (_MONTH_ONLY, _month_only),
    (re.compile(r"\b(?:semalam|tadi\s+malam|malam\s+tadi|kemarin\s+malam)\b"), lambda match, today: today - dt.timedelta(days=1)),
    (re.compile(r"\blusa\b"), lambda match, today: today + dt.timedelta(days=2)),
    (re.compile(r"\bkemarin\b"), lambda match, today: today - dt.timedelta(days=1)),
    (re.compile(r"\b(?:besok|esok)\b"), lambda match, today: today + dt.timedelta(days=1)),
    (re.compile(r"\b(?:tadi\s+(?:pagi|siang|sore|subuh)|barusan|pagi\s+ini|siang\s+ini|sore\s+ini)\b"),
     lambda match, today: today),
    (re.compile(r"\b(?:hari\s+ini|tadi|baru\s+saja|sekarang|malam\s+ini)\b"),
     lambda match, today: today),
]


# In a whole story these name no incident date: "sampai sekarang", "besok", "lusa".
_LOOSE_ONLY = {
    pattern.pattern for pattern, _ in _RULES
    if any(word in pattern.pattern for word in ("sekarang", "besok", "lusa"))
}


def parse_indonesian_date(text: Optional[str], today: dt.date, strict: bool = False) -> Optional[dt.date]:
    """The date ``text`` refers to, relative to ``today``; None when it names no date.

    A future date is returned as it is (the caller rejects it and can say why). ``strict``
    (for a date inside a longer story) ignores "hari ini", "sekarang", "besok", "lusa", and
    weekdays without "lalu"/"kemarin".
    """
    if not text:
        return None
    cleaned = _clean(text)
    for pattern, build in _RULES:
        if strict and pattern.pattern in _LOOSE_ONLY:
            continue
        if strict and build is _weekday:
            # "hari Minggu" in passing is no date; "Senin kemarin" is.
            match = pattern.search(cleaned)
            if match is None or not match.group(2):
                continue
        match = pattern.search(cleaned)
        if match:
            found = build(match, today)
            if found is not None:
                return found
    return None


def is_approximate(text: Optional[str]) -> bool:
    """Whether a date answer is an estimate ("kira-kira", "sekitar", "beberapa hari", "Oktober")."""
    if not text:
        return False
    cleaned = _clean(text)
    if _APPROXIMATE.search(cleaned):
        return True
    match = _MONTH_ONLY.search(cleaned)
    return bool(match) and not re.search(rf"\d{{1,2}}\s*-?\s*{match.group(1)}", cleaned)


def says_unknown(text: Optional[str]) -> bool:
    """True for "lupa", "tidak tahu", "gak inget"... : the person does not know the date."""
    if not text:
        return False
    cleaned = _clean(text).replace("inget", "ingat")
    return bool(_UNKNOWN.search(cleaned))


INDONESIAN_MONTHS = (
    "Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
    "Oktober", "November", "Desember",
)


def format_indonesian_date(day: dt.date) -> str:
    """ "12 Oktober 2026": how a read-back says a date (never "2026-10-12" aloud)."""
    return f"{day.day} {INDONESIAN_MONTHS[day.month - 1]} {day.year}"
