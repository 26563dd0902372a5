import datetime as dt

import pytest

from bot.dates import format_indonesian_date, parse_indonesian_date, says_unknown

TODAY = dt.date(2026, 11, 28)  # a Saturday

CASES = [
    ("kemarin", dt.date(2026, 11, 27)),
    ("kmrn sore", dt.date(2026, 11, 27)),
    ("kemaren", dt.date(2026, 11, 27)),
    ("kamarin.", dt.date(2026, 11, 27)),
    ("kemarin lusa", dt.date(2026, 11, 26)),
    ("tadi pagi", TODAY),
    ("td pagi jam 9.05", TODAY),
    ("hari ini", TODAY),
    ("barusan", TODAY),
    ("3 hari lalu", dt.date(2026, 11, 25)),
    ("3 hari yang lalu", dt.date(2026, 11, 25)),
    ("tiga hari yg lalu", dt.date(2026, 11, 25)),
    ("seminggu yang lalu", dt.date(2026, 11, 21)),
    ("minggu lalu", dt.date(2026, 11, 21)),
    ("2 minggu lalu", dt.date(2026, 11, 14)),
    ("bulan lalu", dt.date(2026, 10, 28)),
    ("sebulan yang lalu", dt.date(2026, 10, 28)),
    ("2 bulan lalu", dt.date(2026, 9, 28)),
    ("tahun lalu", dt.date(2025, 11, 28)),
    ("12 Oktober", dt.date(2026, 10, 12)),
    ("tgl 12 okt", dt.date(2026, 10, 12)),
    ("12 Desember", dt.date(2025, 12, 12)),
    ("12 Oktober 2025", dt.date(2025, 10, 12)),
    ("12/10/2026", dt.date(2026, 10, 12)),
    ("12-10-26", dt.date(2026, 10, 12)),
    ("12.10.2026", dt.date(2026, 10, 12)),
    ("2026-10-12", dt.date(2026, 10, 12)),
    ("awal bulan ini", dt.date(2026, 11, 1)),
    ("pertengahan bulan lalu", dt.date(2026, 10, 15)),
    ("akhir bulan lalu", dt.date(2026, 10, 31)),
    ("awal bulan lalu", dt.date(2026, 10, 1)),
    ("senin kemarin", dt.date(2026, 11, 23)),
    ("hari jumat", dt.date(2026, 11, 27)),
    ("sabtu lalu", dt.date(2026, 11, 21)),
    ("hari minggu kemarin", dt.date(2026, 11, 22)),
    ("kejadiannya kemarin malam pak", dt.date(2026, 11, 27)),
    ("besok", dt.date(2026, 11, 29)),
    ("12/12/2030", dt.date(2030, 12, 12)),
    ("31/02/2026", None),
    ("jalan rusak", None),
    ("", None),
    ("lupa", None),
]


@pytest.mark.parametrize("text, expected", CASES)
def test_indonesian_date_is_parsed_relative_to_today(text, expected):
    assert parse_indonesian_date(text, TODAY) == expected


def test_a_month_end_is_clamped_when_going_back_a_month():
    assert parse_indonesian_date("bulan lalu", dt.date(2026, 3, 31)) == dt.date(2026, 2, 28)


@pytest.mark.parametrize("text", ["lupa", "tidak tahu", "gak tau kak", "nggak inget", "saya lupa tanggalnya"])
def test_not_knowing_the_date_is_recognised(text):
    assert says_unknown(text)


@pytest.mark.parametrize("text", ["kemarin", "12 Oktober", "tahu bulat"])
def test_a_date_is_not_mistaken_for_not_knowing(text):
    assert not says_unknown(text)


def test_a_date_is_read_back_with_the_indonesian_month_name():
    assert format_indonesian_date(dt.date(2026, 10, 12)) == "12 Oktober 2026"
