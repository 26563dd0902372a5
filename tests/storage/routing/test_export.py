import csv
import datetime as dt
import io
import json

import pytest

from storage.export import ExportFilter, export_rows, parse_bound, render, report_row
from storage.models import Attachment


def numbers(rows):
    return {row["nomor_pelacakan"] for row in rows}


def test_rahasia_reports_never_appear_in_an_export(session, file_report):
    public = file_report()
    secret = file_report(privacy="rahasia")
    rows = export_rows(session, include_contact=True)
    assert public.tracking_number in numbers(rows)
    assert secret.tracking_number not in numbers(rows)
    with pytest.raises(ValueError):
        report_row(secret)


def test_contact_only_when_asked_and_never_for_anonim(session, file_report):
    named = file_report(address="777123456")
    anonymous = file_report(privacy="anonim")
    plain = {row["nomor_pelacakan"]: row for row in export_rows(session)}
    assert "kontak" not in plain[named.tracking_number]
    assert "777123456" not in json.dumps(list(plain.values()))
    asked = {row["nomor_pelacakan"]: row for row in export_rows(session, include_contact=True)}
    assert asked[named.tracking_number]["kontak"] == "telegram:777123456"
    assert asked[anonymous.tracking_number]["kontak"] is None
    assert asked[anonymous.tracking_number]["anonim"] is True


def test_phone_numbers_in_the_text_are_masked_and_names_too_for_anonim(session, file_report):
    named = file_report(description="Jalan rusak. Hubungi saya di 081234567890, nama saya Budi Santoso.")
    anonymous = file_report(privacy="anonim", description="Pungli di kelurahan. Saya Budi Santoso, 081234567890.")
    rows = {row["nomor_pelacakan"]: row for row in export_rows(session)}
    assert "081234567890" not in rows[named.tracking_number]["isi"]
    assert "Budi Santoso" in rows[named.tracking_number]["isi"]
    assert "081234567890" not in rows[anonymous.tracking_number]["isi"]
    assert "Budi Santoso" not in rows[anonymous.tracking_number]["isi"]


def test_a_row_uses_lapor_field_names(session, file_report):
    report = file_report(description="Air PDAM mati tiga hari di perumahan kami.", location="kab bandung")
    report.category_code, report.agency, report.region_code = "pekerjaan_umum", "Dinas PUPR", "32.04"
    report.region_name = "Kabupaten Bandung, Jawa Barat"
    session.add(Attachment(report_id=report.id, sender_ref="x", kind="photo", media_type="image/jpeg",
                           file_name="jalan.jpg", size_bytes=10, sha256="ab" * 32, storage_path="/secret/path.jpg"))
    session.flush()
    session.expire(report, ["attachments"])
    row = report_row(report)
    assert row["judul"] == "Air PDAM mati tiga hari di perumahan kami."
    assert (row["kategori"], row["instansi_tujuan"], row["kode_wilayah"], row["lokasi"]) == (
        "Pekerjaan Umum dan Penataan Ruang", "Dinas PUPR", "32.04", "Kabupaten Bandung, Jawa Barat")
    assert row["tanggal_kejadian"] == "2026-11-20"
    assert row["lampiran"] == [{"jenis": "photo", "tipe": "image/jpeg", "nama": "jalan.jpg", "sha256": "ab" * 32}]
    assert "/secret/path.jpg" not in json.dumps(row)
    assert (row["anonim"], row["rahasia"], row["status"]) == (False, False, "diterima")


def test_filters_by_status_agency_region_and_date(session, file_report):
    old = file_report(created_at=dt.datetime(2026, 1, 10, 3, 0))
    new = file_report()
    new.status, new.agency, new.region_code = "diteruskan", "Dinas Sosial Kota Bandung", "32.73.02"
    session.flush()
    assert new.tracking_number in numbers(export_rows(session, ExportFilter(status="diteruskan")))
    assert old.tracking_number not in numbers(export_rows(session, ExportFilter(status="diteruskan")))
    assert numbers(export_rows(session, ExportFilter(agency="Dinas Sosial Kota Bandung"))) == {new.tracking_number}
    assert new.tracking_number in numbers(export_rows(session, ExportFilter(region_code="32.73")))
    january = ExportFilter(since=parse_bound("2026-01-10"), until=parse_bound("2026-01-10", end=True))
    assert old.tracking_number in numbers(export_rows(session, january))
    assert new.tracking_number not in numbers(export_rows(session, january))


def test_csv_and_json_lines_carry_the_same_rows(session, file_report):
    file_report(description='Jalan rusak, "parah" sekali\nbaris kedua')
    rows = export_rows(session)
    lines = render(rows, "jsonl").splitlines()
    assert [json.loads(line)["nomor_pelacakan"] for line in lines] == [row["nomor_pelacakan"] for row in rows]
    table = list(csv.DictReader(io.StringIO(render(rows, "csv"))))
    assert [line["nomor_pelacakan"] for line in table] == [row["nomor_pelacakan"] for row in rows]
    assert table[-1]["isi"] == 'Jalan rusak, "parah" sekali\nbaris kedua'
    assert table[-1]["anonim"] == "tidak"
    assert "kontak" not in table[-1]


def test_a_bad_date_bound_is_refused():
    with pytest.raises(ValueError, match="not a date"):
        parse_bound("kemarin")
