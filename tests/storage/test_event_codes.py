from urllib.parse import parse_qs, urlparse

import pytest

from storage.event_codes import (
    parse_event_code,
    sms_keyword,
    telegram_deep_link,
    whatsapp_click_to_chat,
    whatsapp_prefilled_text,
)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("LAPOR SOSBDG01", ("SOSBDG01", "LAPOR")),
        ("lapor sosbdg01", ("SOSBDG01", "lapor")),
        ("  Lapor SOSBDG01 jalan di depan sekolah rusak", ("SOSBDG01", "Lapor jalan di depan sekolah rusak")),
        ("Halo SapaLapor, kode acara SOSBDG01", ("SOSBDG01", "Halo SapaLapor")),
        ("Halo SapaLapor, saya mau melapor. Kode acara: SOSBDG01", ("SOSBDG01", "Halo SapaLapor, saya mau melapor.")),
        ("kode: bdg7k3mq tolong bantu", ("BDG7K3MQ", "tolong bantu")),
        ("/start SOSBDG01", ("SOSBDG01", "/start")),
        ("/start@SapaLaporBot AB12", ("AB12", "/start@SapaLaporBot")),
    ],
)
def test_codes_are_found_in_every_entry_form(text, expected):
    assert parse_event_code(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "LAPOR jalan rusak",
        "lapor 2 hari lalu banjir",
        "kode pos 40123",
        "Saya mau lapor kode SOSBDG01xyz_long_token",
        "/start",
        "",
        "SOSBDG01 tanpa kata kunci",
    ],
)
def test_text_without_a_code_comes_back_unchanged(text):
    assert parse_event_code(text) == (None, text.strip())


def test_none_text_is_no_code():
    assert parse_event_code(None) == (None, "")


def test_a_candidate_rejected_by_is_known_is_not_a_code():
    assert parse_event_code("LAPOR RT05 jalan rusak", is_known=lambda code: False) == (None, "LAPOR RT05 jalan rusak")
    assert parse_event_code("LAPOR RT05 kode SOS9", is_known=lambda code: code == "SOS9") == ("SOS9", "LAPOR RT05")


def test_configured_sms_keywords_are_used():
    assert parse_event_code("ADUAN XY12", keywords=("ADUAN",)) == ("XY12", "ADUAN")
    assert parse_event_code("ADUAN XY12") == (None, "ADUAN XY12")


def test_telegram_deep_link_carries_the_code_as_start_payload():
    assert telegram_deep_link("@SapaLaporBot", "SOSBDG01") == "https://t.me/SapaLaporBot?start=SOSBDG01"
    with pytest.raises(ValueError):
        telegram_deep_link("SapaLaporBot", "SOS BDG")
    with pytest.raises(ValueError):
        telegram_deep_link("x y", "SOSBDG01")


@pytest.mark.parametrize("number", ["+62 812-3456-7890", "0812 3456 7890", "whatsapp:+6281234567890", "006281234567890"])
def test_whatsapp_link_uses_international_digits_and_a_prefilled_text_the_parser_accepts(number):
    link = urlparse(whatsapp_click_to_chat(number, "SOSBDG01"))
    assert (link.scheme, link.netloc, link.path) == ("https", "wa.me", "/6281234567890")
    text = parse_qs(link.query)["text"][0]
    assert text == whatsapp_prefilled_text("SOSBDG01")
    assert parse_event_code(text)[0] == "SOSBDG01"


def test_whatsapp_link_rejects_a_number_that_is_too_short():
    with pytest.raises(ValueError):
        whatsapp_click_to_chat("1708", "SOSBDG01")


def test_sms_keyword_round_trips_through_the_parser():
    assert sms_keyword("SOSBDG01") == "LAPOR SOSBDG01"
    assert parse_event_code(sms_keyword("SOSBDG01", keyword="aduan"), keywords=("ADUAN",))[0] == "SOSBDG01"
