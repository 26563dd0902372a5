import csv

import pytest
from PIL import Image

from bot.outreach.charts import write_charts
from bot.outreach.report import file_stem, format_table, write_csv
from storage.outreach import create_event, outreach_figures
from tests.bot.outreach.scenario import DAY, NOW, open_session, record_scenario


@pytest.fixture(scope="module")
def figures(tmp_path_factory):
    with open_session(tmp_path_factory.mktemp("report")) as session:
        create_event(session, "Sosialisasi LAPOR! Tunanetra", "Kota Bandung", DAY, "Tunanetra", code="SOSBDG01")
        record_scenario(session, "SOSBDG01")
        return outreach_figures(session, start=DAY, end=DAY, event_code="SOSBDG01", now=NOW)


@pytest.fixture(scope="module")
def charts(figures, tmp_path_factory):
    return write_charts(figures, tmp_path_factory.mktemp("charts"), file_stem(figures))


def test_csv_has_one_row_per_measure_and_one_column_per_channel_with_small_groups_hidden(figures, tmp_path):
    path = write_csv(figures, tmp_path / f"{file_stem(figures)}.csv")
    assert path.name == "outreach-20261102-20261102-SOSBDG01.csv"
    rows = list(csv.reader(path.open(encoding="utf-8")))
    assert rows[0] == ["ukuran", "keterangan", "semua", "telegram", "whatsapp", "sms"]
    by_key = {row[0]: row[1:] for row in rows[1:]}
    assert by_key["started"] == ["Percakapan dimulai", "14", "7", "< 5", "< 5"]
    assert by_key["filed"] == ["Laporan terkirim", "7", "5", "< 5", "< 5"]
    assert by_key["completion_rate"] == ["Tingkat penyelesaian", "50%", "71%", "-", "-"]
    assert by_key["voice_share"] == ["Memakai pesan suara (%)", "36%", "-", "-", "-"]
    assert by_key["simple_language"] == ["Memakai bahasa sederhana", "< 5", "< 5", "< 5", "< 5"]
    assert by_key["median_minutes_to_file"][1:] == ["14.0", "14.0", "-", "-"]
    assert by_key["reached:slot:description"][1:] == ["12", "6", "< 5", "< 5"]
    assert by_key["satisfaction_after_filing_mean"][1:] == ["4.0", "4.2", "-", "-"]
    assert by_key["satisfaction_after_filing_score_5"][1:] == ["< 5"] * 4
    assert len(rows) == 1 + len(figures.rows())


def test_the_printed_table_names_the_event_and_explains_the_hidden_cells(figures):
    table = format_table(figures)
    assert "Acara: Sosialisasi LAPOR! Tunanetra (SOSBDG01)" in table
    assert "tidak ada langkah selama 30 menit" in table
    assert "< 5: kelompok kurang dari 5 orang" in table
    started = next(line for line in table.splitlines() if line.startswith("Percakapan dimulai"))
    assert started.split()[2:] == ["14", "7", "<", "5", "<", "5"]


def test_charts_are_slide_sized_pngs_with_content(charts):
    paths = charts
    assert [path.name.rsplit("-", 1)[1] for path in paths] == ["corong.png", "saluran.png", "aksesibilitas.png", "kepuasan.png"]
    for path in paths:
        image = Image.open(path)
        assert (image.format, image.size) == ("PNG", (1920, 1080))
        assert path.stat().st_size > 30_000
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
        assert len(colours) > 50


def test_the_funnel_chart_draws_the_disclosed_bars_in_dark_blue(charts):
    pixels = Image.open(charts[0]).convert("RGB").getdata()
    dark_blue = sum(1 for pixel in pixels if pixel == (11, 42, 91))
    assert dark_blue > 100_000
