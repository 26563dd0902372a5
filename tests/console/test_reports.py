from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from console.deadlines import deadline_view
from console.report_queue import parse_filters
from storage.lifecycle import pending_notifications
from storage.models import Report, RoutingCorrection, StatusChange
from tests.console.support import Staff, file_report


def notified_statuses(database, number):
    with database.session() as session:
        return [item.status for item in pending_notifications(session, "telegram")
                if item.tracking_number == number]


def test_a_verifier_takes_a_report_from_diterima_to_selesai_and_each_step_is_queued_for_the_citizen(console):
    database = console["database"]
    number = file_report(database, "Jembatan kayu di desa kami patah, anak sekolah harus memutar jauh.",
                         chat_id="4400001")
    staff = Staff(console["url"])
    staff.login("ani")
    steps = [("diverifikasi", {}), ("diteruskan", {"agency": "Dinas PUPR Kabupaten Bandung"}),
             ("ditindaklanjuti", {}), ("selesai", {"note": "Jembatan sudah diperbaiki."})]
    for status, extra in steps:
        staff.get(f"/laporan/{number}")
        answer, headers, _ = staff.post(f"/laporan/{number}/status", {"status": status, **extra})
        assert answer == 303 and "Pelapor+akan+diberi+tahu" in headers["Location"]
    page = staff.get(f"/laporan/{number}")[2]
    assert "Selesai" in page and "Jembatan sudah diperbaiki." in page
    assert notified_statuses(database, number) == ["diverifikasi", "diteruskan", "ditindaklanjuti", "selesai"]
    with database.session() as session:
        report = session.execute(select(Report).where(Report.tracking_number == number)).scalar_one()
        assert report.status == "selesai" and report.agency == "Dinas PUPR Kabupaten Bandung"
        assert {change.changed_by for change in report.history if change.status != "diterima"} == {"ani"}


def test_a_step_the_lifecycle_does_not_allow_is_refused_and_changes_nothing(console):
    database = console["database"]
    number = file_report(database, "Air PDAM tidak mengalir tiga hari di RT 02 RW 05.")
    staff = Staff(console["url"])
    staff.login("ani")
    staff.get(f"/laporan/{number}")
    assert staff.post(f"/laporan/{number}/status", {"status": "selesai"})[0] == 403
    with database.session() as session:
        assert session.execute(select(StatusChange.status).join(Report).where(
            Report.tracking_number == number)).scalars().all() == ["diterima"]


def test_an_agency_officer_moves_only_along_the_agencys_part_of_the_lifecycle(console):
    database = console["database"]
    number = file_report(database, "Trotoar rusak di depan sekolah dasar, anak-anak berjalan di jalan raya.",
                         agency="Dinas PUPR Kabupaten Bandung")
    operator, officer = Staff(console["url"]), Staff(console["url"])
    operator.login("ani")
    officer.login("budi")
    officer.get(f"/laporan/{number}")
    assert officer.post(f"/laporan/{number}/status", {"status": "diverifikasi"})[0] == 403
    for status in ("diverifikasi", "diteruskan"):
        operator.get(f"/laporan/{number}")
        operator.post(f"/laporan/{number}/status", {"status": status})
    page = officer.get(f"/laporan/{number}")[2]
    assert "Tandai sedang ditindaklanjuti" in page and "Arsipkan" not in page
    assert officer.post(f"/laporan/{number}/status", {"status": "ditindaklanjuti"})[0] == 303
    officer.get(f"/laporan/{number}")
    assert officer.post(f"/laporan/{number}/rute", {"category": "kesehatan"})[0] == 403


def test_changing_category_and_agency_is_stored_as_a_correction_to_learn_from(console):
    database = console["database"]
    number = file_report(database, "Lampu penerangan jalan umum mati sepanjang jalan desa.",
                         agency="Dinas PUPR Kabupaten Bandung")
    staff = Staff(console["url"])
    staff.login("ani")
    staff.get(f"/laporan/{number}")
    status, headers, _ = staff.post(f"/laporan/{number}/rute",
                                    {"category": "perhubungan", "agency": "Dinas Perhubungan Kabupaten Bandung"})
    assert status == 303 and "koreksi" in headers["Location"]
    with database.session() as session:
        correction = session.execute(select(RoutingCorrection).join(Report, Report.id == RoutingCorrection.report_id)
                                     .where(Report.tracking_number == number)).scalar_one()
        assert (correction.new_category, correction.old_agency, correction.new_agency, correction.corrected_by) == (
            "perhubungan", "Dinas PUPR Kabupaten Bandung", "Dinas Perhubungan Kabupaten Bandung", "ani")


def test_the_queue_filters_by_status_region_event_and_search(console):
    database = console["database"]
    mine = file_report(database, "Genangan air setinggi lutut di pasar Cicalengka setiap hujan deras.",
                       region_code="32.04.19", event_code="SOSBDG01")
    elsewhere = file_report(database, "Genangan di terminal kota, saluran tidak pernah dibersihkan.",
                            region_code="32.73.01")
    staff = Staff(console["url"])
    staff.login("ani")
    page = staff.get("/laporan?wilayah=32.04")[2]
    assert mine in page and elsewhere not in page
    page = staff.get("/laporan?kegiatan=sosbdg01")[2]
    assert mine in page and elsewhere not in page
    page = staff.get("/laporan?cari=terminal+kota")[2]
    assert elsewhere in page and mine not in page
    page = staff.get(f"/laporan?cari={elsewhere.replace('-', '')}")[2]
    assert elsewhere in page and mine not in page
    assert mine not in staff.get("/laporan?status=selesai")[2]


def test_filters_that_make_no_sense_are_dropped_not_trusted():
    filters = parse_filters({"status": "hapus", "wilayah": "32'; drop", "dari": "kemarin", "halaman": "-3",
                             "kategori": "kesehatan"})
    assert (filters.status, filters.region, filters.since, filters.page, filters.category) == (
        None, None, None, 1, "kesehatan")


def test_deadlines_are_coloured_by_how_close_they_are():
    def report(filed: dt.datetime) -> Report:
        made = Report(status="diterima", created_at=filed)
        made.history = [StatusChange(status="diterima", changed_at=filed)]
        return made
    monday = dt.datetime(2026, 11, 30, 3)  # Monday 10.00 WIB; due Thursday 3 December
    assert deadline_view(report(monday), dt.date(2026, 11, 30)).level == "aman"
    assert deadline_view(report(monday), dt.date(2026, 12, 2)).level == "segera"
    assert deadline_view(report(monday), dt.date(2026, 12, 4)).level == "lewat"
    closed = report(monday)
    closed.status = "selesai"
    assert deadline_view(closed, dt.date(2026, 12, 4)) is None


def test_an_attachment_is_downloaded_by_those_who_see_the_report_and_by_no_one_else(console, tmp_path):
    photo = b"\xff\xd8\xff\xe0 not really a jpeg, but bytes all the same"
    number = file_report(console["database"], "Jalan berlubang di depan balai desa, foto terlampir.",
                         agency="Dinas PUPR Kabupaten Bandung", photo=(photo, tmp_path))
    operator = Staff(console["url"])
    operator.login("ani")
    page = operator.get(f"/laporan/{number}")[2]
    link = page.split(f'href="/laporan/{number}/lampiran/')[1].split('"')[0]
    status, headers, _ = operator.get(f"/laporan/{number}/lampiran/{link}")
    assert status == 200 and headers["Content-Type"] == "image/jpeg"
    assert 'filename="jalan.jpg"' in headers["Content-Disposition"]
    other_agency = Staff(console["url"])
    other_agency.login("citra")
    assert other_agency.get(f"/laporan/{number}/lampiran/{link}")[0] == 404
