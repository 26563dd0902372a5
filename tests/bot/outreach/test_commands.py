import csv

import pytest
from PIL import Image
from sqlalchemy import select

from bot.cli import main
from storage.db import Database
from storage.models import OutreachEvent
from tests.bot.outreach.scenario import record_scenario


@pytest.fixture
def environment(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("SAPALAPOR_DATABASE_URL", url)
    monkeypatch.setenv("SAPALAPOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TELEGRAM_BOT_USERNAME", "SapaLaporBot")
    monkeypatch.setenv("SAPALAPOR_SMS_NUMBER_DISPLAY", "0812-3456-7891")
    monkeypatch.setenv("TWILIO_WHATSAPP_FROM", "whatsapp:+6281234567890")
    monkeypatch.delenv("SAPALAPOR_WHATSAPP_NUMBER_DISPLAY", raising=False)
    return Database.shared(url), tmp_path


def test_event_create_prints_the_entry_points_and_writes_the_poster(environment, capsys):
    database, tmp_path = environment
    code = main(["event", "create", "--name", "Sosialisasi LAPOR!", "--place", "Kota Bandung", "--date", "2026-11-02",
                 "--target", "Tunanetra", "--out", str(tmp_path / "poster")])
    output = capsys.readouterr().out
    assert code == 0
    with database.session() as session:
        event = session.execute(select(OutreachEvent)).scalar_one()
    assert event.code.startswith("BAN") and event.target_group == "Tunanetra"
    assert f"https://t.me/SapaLaporBot?start={event.code}" in output
    assert f"https://wa.me/6281234567890?text=Halo%20SapaLapor%2C%20saya%20mau%20melapor.%20Kode%20acara%3A%20{event.code}" in output
    assert f'send "LAPOR {event.code}" to 0812-3456-7891' in output
    assert (tmp_path / "poster" / f"poster-{event.code}.pdf").exists()
    assert Image.open(tmp_path / "poster" / f"poster-{event.code}.png").size == (1240, 1754)


def test_event_create_names_the_missing_setting_and_still_writes_a_poster(environment, monkeypatch, capsys):
    _database, tmp_path = environment
    monkeypatch.delenv("TELEGRAM_BOT_USERNAME")
    code = main(["event", "create", "--name", "Acara", "--place", "Bandung", "--date", "2026-11-02",
                 "--target", "Umum", "--code", "ACR2026", "--out", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 0
    assert "Telegram link:     (not configured)" in captured.out
    assert "channels.telegram.bot_username (TELEGRAM_BOT_USERNAME)" in captured.err
    assert (tmp_path / "poster-ACR2026.png").exists()


def test_a_duplicate_code_is_refused_with_exit_code_2(environment, capsys):
    _database, tmp_path = environment
    arguments = ["event", "create", "--name", "A", "--place", "B", "--date", "2026-11-02", "--target", "C",
                 "--code", "SOSBDG01", "--out", str(tmp_path)]
    assert main(arguments) == 0
    assert main(arguments) == 2
    assert "already used" in capsys.readouterr().err


def scripted_event(environment):
    """The event SOSBDG01 created through the command, with the scripted outreach day recorded."""
    database, tmp_path = environment
    database.migrate()
    assert main(["event", "create", "--name", "Sosialisasi", "--place", "Bandung", "--date", "2026-11-02",
                 "--target", "Tuli", "--code", "SOSBDG01", "--out", str(tmp_path)]) == 0
    with database.session() as session:
        record_scenario(session, "SOSBDG01")
    return tmp_path


def test_outreach_report_prints_the_table_and_writes_csv_and_charts(environment, capsys):
    tmp_path = scripted_event(environment)
    capsys.readouterr()
    out = tmp_path / "report"
    code = main(["outreach-report", "--from", "2026-11-02", "--to", "2026-11-02", "--event", "sosbdg01",
                 "--out", str(out)])
    output = capsys.readouterr().out
    assert code == 0
    assert "Acara: Sosialisasi (SOSBDG01)" in output
    rows = {row[0]: row[2:] for row in csv.reader((out / "outreach-20261102-20261102-SOSBDG01.csv").open())}
    assert rows["started"] == ["14", "7", "< 5", "< 5"]
    assert rows["filed"] == ["7", "5", "< 5", "< 5"]
    assert len(list(out.glob("*.png"))) == 4


def test_outreach_report_refuses_an_unknown_event_and_a_reversed_period(environment, capsys):
    assert main(["outreach-report", "--from", "2026-11-02", "--to", "2026-11-02", "--event", "NOPE99"]) == 2
    assert main(["outreach-report", "--from", "2026-11-03", "--to", "2026-11-02"]) == 2
    err = capsys.readouterr().err
    assert "NOPE99" in err and "--to is before --from" in err


def test_outreach_report_as_of_a_moment_counts_quiet_conversations_as_they_stood_then(environment, capsys):
    tmp_path = scripted_event(environment)
    figures = {}
    for as_of in ("2026-11-02T06:00", "2026-11-03T06:00+00:00"):
        out = tmp_path / as_of.replace(":", "")
        assert main(["outreach-report", "--from", "2026-11-02", "--to", "2026-11-02", "--event", "SOSBDG01",
                     "--out", str(out), "--as-of", as_of]) == 0
        rows = {row[0]: row[2] for row in csv.reader((out / "outreach-20261102-20261102-SOSBDG01.csv").open())}
        figures[as_of[:10]] = (rows["abandoned"], rows["in_progress"])
    # One conversation was still within its 30 quiet minutes at 06:00; a day later it is abandoned.
    assert figures == {"2026-11-02": ("< 5", "< 5"), "2026-11-03": ("5", "< 5")}


def test_outreach_report_refuses_an_as_of_that_is_not_a_time(environment, capsys):
    with pytest.raises(SystemExit):
        main(["outreach-report", "--from", "2026-11-02", "--to", "2026-11-02", "--as-of", "kemarin"])
    assert "YYYY-MM-DDTHH:MM" in capsys.readouterr().err
