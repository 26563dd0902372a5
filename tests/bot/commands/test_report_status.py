from __future__ import annotations

from bot.cli import main
from storage import lifecycle
from storage.db import Database
from storage.repositories import ReportDraft, ReportRepository


def file(database, key: str, privacy: str) -> str:
    with database.session() as session:
        return ReportRepository(session).file(ReportDraft(
            submission_key=key, report_type="pengaduan", description=f"Lampu jalan mati {key}",
            location_text="Kota Bandung", incident_date=None, privacy=privacy, channel="whatsapp",
            identity_hash=None if privacy == "anonim" else "c" * 64,
            address=None if privacy == "anonim" else "whatsapp:+6281299990000",
            pin="7766" if privacy == "anonim" else None)).tracking_number


def test_report_status_shows_what_each_status_update_came_to(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'status.db'}"
    monkeypatch.setenv("SAPALAPOR_DATABASE_URL", url)
    database = Database.shared(url)
    database.migrate()
    number = file(database, "status-1", "biasa")
    assert main(["report-status", number, "diverifikasi"]) == 0
    assert main(["report-status", number, "diteruskan", "--agency", "Dinas Perhubungan Kota Bandung"]) == 0
    with database.session() as session:
        verified, forwarded = [n for n in lifecycle.pending_notifications(session, "whatsapp")]
        lifecycle.mark_notified(session, verified.change_id, "sent_template")
        lifecycle.mark_notified(session, forwarded.change_id, "needs_template")
    capsys.readouterr()

    assert main(["report-status", number, "--show"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Status updates to the reporter:"
    assert lines[1].startswith("  diterima (") and "told in the conversation" in lines[1]
    assert lines[2].startswith("  diverifikasi (") and ": sent_template at " in lines[2]
    assert lines[3].startswith("  diteruskan (") and lines[3].endswith(": pending (needs_template)")


def test_an_anonymous_report_says_nobody_is_told(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'anon.db'}"
    monkeypatch.setenv("SAPALAPOR_DATABASE_URL", url)
    database = Database.shared(url)
    database.migrate()
    number = file(database, "status-anon", "anonim")
    assert main(["report-status", number, "--show"]) == 0
    assert "none are sent (anonim" in capsys.readouterr().out
