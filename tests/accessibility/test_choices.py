from __future__ import annotations

import pytest

from accessibility.choices import choice_number, payload_of, select

BUTTONS = [
    {"title": "Pengaduan", "payload": "/file_complaint"},
    {"title": "Aspirasi", "payload": "/file_aspiration"},
    {"title": "Permintaan informasi", "payload": "/request_information"},
]


@pytest.mark.parametrize("answer, index", [
    ("1", 0), ("satu", 0), ("pertama", 0), ("yang pertama", 0), ("dua", 1), ("yang kedua", 1), ("ke-2", 1),
    ("nomor 3", 2), ("Nomor tiga.", 2), ("pilihan ketiga", 2), ("tiga aja", 2), ("opsi 2 ya", 1),
    ("Pengaduan", 0), ("aspirasih", 1), ("PERMINTAAN INFORMASI", 2),
])
def test_an_answer_selects_the_button(answer, index):
    assert select(answer, BUTTONS) is BUTTONS[index]


@pytest.mark.parametrize("answer", ["4", "empat", "nol", "dua orang terluka", "jalan rusak", "ulangi", "", "satu dua"])
def test_other_answers_select_nothing(answer):
    assert select(answer, BUTTONS) is None


@pytest.mark.parametrize("answer", ["tidak", "Tida.", "bukan", "nggak", "tidak tiga", "ya"])
def test_a_spoken_or_typed_no_never_selects_a_numbered_option(answer):
    assert select(answer, BUTTONS) is None


def test_nothing_is_selected_without_buttons():
    assert select("1", []) is None


def test_numbers_up_to_twelve_are_understood():
    assert choice_number("sebelas") == 11
    assert choice_number("dua belas") == 12
    assert choice_number("yang kedua belas") == 12


def test_a_button_without_payload_sends_its_title():
    assert payload_of({"title": "Ya"}) == "Ya"
    assert payload_of(BUTTONS[0]) == "/file_complaint"
