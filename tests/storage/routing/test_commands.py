import csv
import json

import pytest

from bot.cli import main
from storage.db import Database
from storage.models import Report
from storage.repositories import ReportDraft, ReportRepository


@pytest.fixture
def cli_database(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("SAPALAPOR_DATABASE_URL", url)
    database = Database.shared(url)
    database.migrate()
    with database.session() as session:
        repository = ReportRepository(session)
        numbers = {}
        for key, privacy in (("cli-1", "biasa"), ("cli-2", "rahasia")):
            report = repository.file(ReportDraft(
                submission_key=key, report_type="pengaduan", description=f"Lampu jalan mati {key}",
                location_text="Kota Bandung", incident_date=None, privacy=privacy, channel="sms",
                identity_hash="b" * 64, address="+6281299990000"))
            numbers[privacy] = report.tracking_number
    return database, numbers


def test_report_status_moves_a_report_and_refuses_a_jump(cli_database, capsys):
    database, numbers = cli_database
    number = numbers["biasa"]
    assert main(["report-status", number, "diverifikasi", "--note", "lengkap"]) == 0
    assert f"Report {number} is now diverifikasi." in capsys.readouterr().out
    assert main(["report-status", number, "selesai"]) == 1
    assert "cannot become selesai" in capsys.readouterr().err
    assert main(["report-status", number, "diteruskan", "--agency", "Dinas Perhubungan Kota Bandung"]) == 0
    assert "Instansi diharapkan menanggapi paling lambat" in capsys.readouterr().out
    with database.session() as session:
        stored = session.query(Report).filter_by(tracking_number=number).one()
        assert [c.status for c in stored.history] == ["diterima", "diverifikasi", "diteruskan"]


def test_export_command_writes_csv_without_rahasia_or_contact(cli_database, tmp_path):
    _, numbers = cli_database
    out = tmp_path / "laporan.csv"
    assert main(["export", "--format", "csv", "--status", "diterima", "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [row["nomor_pelacakan"] for row in rows] == [numbers["biasa"]]
    assert "+6281299990000" not in out.read_text(encoding="utf-8")
    assert main(["export", "--format", "csv", "--contact", "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert rows[0]["kontak"] == "sms:+6281299990000"


def test_export_command_refuses_an_unknown_status(cli_database, capsys):
    assert main(["export", "--status", "hilang"]) == 2


def test_route_command_routes_json_lines(tmp_path):
    source = tmp_path / "lines.jsonl"
    source.write_text(
        json.dumps({"id": 1, "text": "jalan rusak parah di kab bandung dekat pasar", "location": "kab bandung"}) + "\n"
        + json.dumps({"id": 2, "text": "token listrik tidak masuk ke meteran", "location": "Bandung"}) + "\n",
        encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert main(["route", "--in", str(source), "--out", str(out)]) == 0
    first, second = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert first["id"] == 1
    assert first["category"]["code"] == "pekerjaan_umum" and 0 < first["category"]["confidence"] <= 1
    assert (first["region"]["status"], first["region"]["code"]) == ("unique", "32.04")
    assert first["agency"]["name"] == "Dinas Pekerjaan Umum dan Penataan Ruang Kabupaten Bandung"
    assert second["category"]["code"] == "energi"
    assert second["region"]["status"] == "ambiguous"
    assert {c["code"] for c in second["region"]["candidates"]} == {"32.04", "32.73"}
    assert second["agency"]["name"] == "PT PLN (Persero)"


def test_route_command_names_a_bad_line(tmp_path, capsys):
    source = tmp_path / "bad.jsonl"
    source.write_text('{"text": "a", "location": "b"}\nnot json\n', encoding="utf-8")
    assert main(["route", "--in", str(source), "--out", str(tmp_path / "out.jsonl")]) == 1
    assert "line 2" in capsys.readouterr().err


def test_route_command_rejects_a_bad_routing_table(tmp_path, capsys):
    table = tmp_path / "agencies.yml"
    table.write_text("routes:\n  - category: jalan\n    kota: X\n", encoding="utf-8")
    source = tmp_path / "lines.jsonl"
    source.write_text('{"text": "a", "location": "b"}\n', encoding="utf-8")
    assert main(["route", "--in", str(source), "--agencies", str(table)]) == 2
    assert "line 2" in capsys.readouterr().err


def test_forward_command_without_an_endpoint_says_so(cli_database, monkeypatch, capsys):
    monkeypatch.setenv("SAPALAPOR_FORWARD_URL", "")
    assert main(["forward"]) == 2
    assert "forwarding.endpoint is empty" in capsys.readouterr().err


def test_forward_command_sends_every_new_report_once(cli_database, monkeypatch, capsys):
    from tests.storage.routing.test_forwarding import Receiver

    with Receiver([]) as receiver:
        monkeypatch.setenv("SAPALAPOR_FORWARD_URL", receiver.url)
        monkeypatch.setenv("SAPALAPOR_FORWARD_TOKEN", "tok")
        assert main(["forward"]) == 0
        assert main(["forward"]) == 0
    assert "sent 2, will retry 0, failed 0" in capsys.readouterr().out
    assert len(receiver.requests) == 2
    assert {request["body"]["rahasia"] for request in receiver.requests} == {False, True}


def test_route_command_prints_the_top_three_with_confidences(tmp_path):
    source = tmp_path / "lines.jsonl"
    source.write_text(json.dumps({"text": "jalan di desa sukamaju kec cibeber kab cianjur rusak parah sejak 2 minggu lalu",
                                  "location": ""}) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert main(["route", "--in", str(source), "--out", str(out)]) == 0
    line = json.loads(out.read_text(encoding="utf-8"))
    top3 = line["category"]["top3"]
    assert len(top3) == 3 and top3[0]["code"] == line["category"]["code"] == "pekerjaan_umum"
    assert [c["confidence"] for c in top3] == sorted((c["confidence"] for c in top3), reverse=True)
    assert line["region"]["status"] == "unique" and line["region"]["code"].startswith("32.03.03")


def test_report_status_records_a_category_and_agency_correction_without_a_status_change(cli_database, capsys):
    from storage.models import RoutingCorrection

    database, numbers = cli_database
    number = numbers["biasa"]
    assert main(["report-status", number, "--category", "perhubungan",
                 "--agency", "Dinas Perhubungan Kota Bandung", "--by", "verifikator-1"]) == 0
    assert "Correction recorded" in capsys.readouterr().out
    with database.session() as session:
        report = session.query(Report).filter_by(tracking_number=number).one()
        assert (report.status, report.category_code, report.agency) == (
            "diterima", "perhubungan", "Dinas Perhubungan Kota Bandung")
        correction = session.query(RoutingCorrection).filter_by(report_id=report.id).one()
        assert (correction.new_category, correction.corrected_by) == ("perhubungan", "verifikator-1")
        assert correction.text == report.description
    assert main(["report-status", number]) == 2
    with pytest.raises(SystemExit):
        main(["report-status", number, "--category", "jalan"])


def test_retrain_command_prints_figures_before_and_after_and_swaps(cli_database, tmp_path, monkeypatch, capsys):
    from tests.storage.routing.test_retrain import CORRECTED, NEW_TEXT, project_dir

    from storage.routing import categories

    monkeypatch.setenv("SAPALAPOR_MODEL_CACHE", str(tmp_path / "cache"))
    database, _ = cli_database
    numbers = []
    with database.session() as session:
        repository = ReportRepository(session)
        for i, text in enumerate(CORRECTED):
            report = repository.file(ReportDraft(
                submission_key=f"retrain-{i}", report_type="pengaduan", description=text,
                location_text="Kota Bandung", incident_date=None, privacy="biasa", channel="sms",
                identity_hash="b" * 64, address="+6281299990000"))
            report.category_code = "energi"
            numbers.append(report.tracking_number)
    for number in numbers:
        assert main(["report-status", number, "--category", "lingkungan"]) == 0
    root = project_dir(tmp_path)
    assert main(["retrain-categories", "--data-dir", str(root)]) == 0
    out = capsys.readouterr().out
    assert "12 category correction(s)" in out
    assert "realistic held-out" in out and "before:" in out and "after:" in out
    assert "Swapped" in out
    assert categories.get_model(root, tmp_path / "cache").scores(NEW_TEXT)[0].code == "lingkungan"
