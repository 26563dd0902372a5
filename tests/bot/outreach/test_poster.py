import datetime as dt
import re

import pytest
from PIL import Image

from bot.outreach.entry_points import EntryPoints
from bot.outreach.poster import (
    PAGE_HEIGHT,
    PAGE_WIDTH,
    EventDetails,
    QrCode,
    Text,
    check_fits,
    indonesian_date,
    layout,
    qr_modules,
    write_poster,
)
from storage.event_codes import sms_keyword, telegram_deep_link, whatsapp_click_to_chat, whatsapp_prefilled_text

CODE = "BAN7K3MQ"
DETAILS = EventDetails(
    "Sosialisasi LAPOR! untuk Penyandang Disabilitas Netra", "Aula Kecamatan Coblong, Kota Bandung",
    dt.date(2026, 12, 3), CODE,
)


def full_entry():
    return EntryPoints(
        code=CODE,
        telegram_link=telegram_deep_link("SapaLaporBot", CODE),
        telegram_username="SapaLaporBot",
        whatsapp_link=whatsapp_click_to_chat("0812-3456-7890", CODE),
        whatsapp_number="0812-3456-7890",
        whatsapp_text=whatsapp_prefilled_text(CODE),
        sms_number="0812-3456-7891",
        sms_text=sms_keyword(CODE),
    )


def texts(items):
    return [item for item in items if isinstance(item, Text)]


def test_poster_text_is_large_and_the_title_much_larger():
    items = texts(layout(DETAILS, full_entry()))
    assert min(item.size for item in items) >= 18
    title = items[0]
    assert title.text == "Sampaikan laporan Anda" and title.size >= 1.7 * 20


def test_poster_says_voice_notes_are_welcome_reports_can_be_anonymous_and_how_to_sms():
    lines = [item.text for item in texts(layout(DETAILS, full_entry()))]
    assert "Boleh kirim pesan suara." in lines
    assert "Boleh melapor tanpa nama (anonim)." in lines
    assert "SMS ke 0812-3456-7891" in lines and "Ketik: LAPOR BAN7K3MQ" in lines
    assert "3 Desember 2026" in lines and f"Kode acara: {CODE}" in lines


def test_every_link_gets_its_own_qr_code():
    entry = full_entry()
    codes = [item.modules for item in layout(DETAILS, entry) if isinstance(item, QrCode)]
    assert codes == [qr_modules(entry.telegram_link), qr_modules(entry.whatsapp_link), qr_modules(entry.sms_qr_payload)]
    assert entry.sms_qr_payload == "SMSTO:081234567891:LAPOR BAN7K3MQ"


def test_a_channel_without_a_configured_address_is_left_off_the_poster():
    entry = EntryPoints(code=CODE, sms_number="1708", sms_text=sms_keyword(CODE))
    items = layout(DETAILS, entry)
    assert len([item for item in items if isinstance(item, QrCode)]) == 1
    assert not any("Telegram" in item.text or "WhatsApp" in item.text for item in texts(items))


def test_text_running_off_the_page_is_refused():
    with pytest.raises(ValueError):
        check_fits([Text(40, 100, "x" * 200, 20)])


def test_the_png_is_a4_at_150_dpi_and_its_qr_codes_match_the_links(tmp_path):
    entry = full_entry()
    pdf, png = write_poster(DETAILS, entry, tmp_path)
    image = Image.open(png).convert("L")
    assert image.size == (round(PAGE_WIDTH * 150 / 72), round(PAGE_HEIGHT * 150 / 72))
    scale = 150 / 72
    for item in (item for item in layout(DETAILS, entry) if isinstance(item, QrCode)):
        count = len(item.modules)
        cell = item.size * scale / count
        for row in range(count):
            for column in range(count):
                x = round(item.x * scale + (column + 0.5) * cell)
                y = round(item.top * scale + (row + 0.5) * cell)
                assert (image.getpixel((x, y)) < 128) == item.modules[row][column]
    header = image.getpixel((5, 5))
    assert header < 80  # the dark blue title band


def test_the_pdf_is_one_a4_page_with_the_event_as_title(tmp_path):
    pdf, _png = write_poster(DETAILS, full_entry(), tmp_path)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and pdf.stat().st_size > 20_000
    assert re.findall(rb"/Count (\d+)", data) == [b"1"]
    assert b"/MediaBox [ 0 0 595 842 ]" in data
    assert b"Sosialisasi LAPOR!" in data
    assert pdf.name == f"poster-{CODE}.pdf"


def test_dates_are_written_the_indonesian_way():
    assert indonesian_date(dt.date(2026, 8, 17)) == "17 Agustus 2026"
