import datetime as dt

import pytest

from bot.dates import format_indonesian_date, is_approximate, parse_indonesian_date, says_unknown

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


TODAY_FOR_ESTIMATES = dt.date(2026, 12, 1)


@pytest.mark.parametrize(
    "text, expected, approximate",
    [
        ("lupa, kira-kira seminggu yang lalu", dt.date(2026, 11, 24), True),
        ("sekitar awal bulan lalu", dt.date(2026, 11, 1), True),
        ("pertengahan bulan lalu", dt.date(2026, 11, 15), True),
        ("akhir bulan lalu", dt.date(2026, 11, 30), True),
        ("senin kemarin", dt.date(2026, 11, 30), False),
        ("tgl 5", dt.date(2026, 11, 5), False),
        ("tanggal 1", dt.date(2026, 12, 1), False),
        ("15/11", dt.date(2026, 11, 15), False),
        ("beberapa hari yang lalu", dt.date(2026, 11, 28), True),
        ("bulan oktober", dt.date(2026, 10, 15), True),
        ("semalam", dt.date(2026, 11, 30), False),
        ("sudah 2 minggu", dt.date(2026, 11, 17), False),
    ],
)
def test_estimates_and_forgotten_dates_become_dates_flagged_as_estimates(text, expected, approximate):
    assert parse_indonesian_date(text, TODAY_FOR_ESTIMATES) == expected
    assert is_approximate(text) is approximate


@pytest.mark.parametrize(
    "text, expected",
    [
        ("jalan di desa sukamaju kec cibeber kab cianjur rusak parah sejak 2 minggu lalu", dt.date(2026, 11, 17)),
        ("sampai sekarang belum diperbaiki padahal tiap hari minggu ramai", None),
        ("rumah saya di RT 03/05 kebanjiran terus", None),
        ("besok saya mau ke kantor kelurahan", None),
        ("kemarin sore ada kecelakaan di perempatan", dt.date(2026, 11, 30)),
    ],
)
def test_inside_a_whole_story_only_a_clear_date_counts(text, expected):
    assert parse_indonesian_date(text, TODAY_FOR_ESTIMATES, strict=True) == expected
