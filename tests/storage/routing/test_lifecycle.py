import datetime as dt

import pytest

from storage import lifecycle
from accessibility import status_updates
from storage.lifecycle import LifecycleError, change_status, deadline_text, deadlines, mark_notified, pending_notifications
from storage.models import Report, Reporter, StatusChange

FILED = dt.datetime(2026, 11, 27, 2, 0)  # Friday, 09:00 WIB


def test_the_main_path_is_allowed_and_recorded_in_order(session, file_report):
    report = file_report()
    number = report.tracking_number
    change_status(session, number, "diverifikasi", note="lengkap", changed_by="verifikator-1")
    change_status(session, number, "diteruskan", agency="Dinas PUPR Kabupaten Bandung")
    change_status(session, number, "ditindaklanjuti")
    last = change_status(session, number, "selesai", note="jalan sudah diaspal")
    assert report.status == "selesai"
    assert report.agency == "Dinas PUPR Kabupaten Bandung"
    assert [c.status for c in report.history] == ["diterima", "diverifikasi", "diteruskan", "ditindaklanjuti", "selesai"]
    assert report.history[1].changed_by == "verifikator-1"
    assert report.history[2].agency == "Dinas PUPR Kabupaten Bandung"
    assert last.note == "jalan sudah diaspal"


@pytest.mark.parametrize("path, refused", [
    ([], "diteruskan"),
    ([], "selesai"),
    ([], "ditindaklanjuti"),
    (["diverifikasi"], "selesai"),
    (["diarsipkan"], "diverifikasi"),
    (["diverifikasi", "diteruskan", "ditindaklanjuti", "selesai"], "diteruskan"),
    (["bukan_wewenang"], "selesai"),
])
def test_a_jump_the_lifecycle_does_not_allow_is_refused(session, file_report, path, refused):
    report = file_report()
    for status in path:
        change_status(session, report.tracking_number, status, agency="Dinas X")
    before = report.status
    with pytest.raises(LifecycleError, match=f"cannot become {refused}"):
        change_status(session, report.tracking_number, refused, agency="Dinas X")
    assert report.status == before


def test_postponed_and_not_our_authority_can_resume(session, file_report):
    report = file_report()
    change_status(session, report.tracking_number, "ditunda", note="menunggu foto")
    change_status(session, report.tracking_number, "diverifikasi")
    change_status(session, report.tracking_number, "diteruskan", agency="Dinas A")
    change_status(session, report.tracking_number, "bukan_wewenang", note="bukan urusan kami")
    change_status(session, report.tracking_number, "diteruskan", agency="Dinas B")
    assert (report.status, report.agency) == ("diteruskan", "Dinas B")


def test_forwarding_needs_an_agency_unless_the_report_has_one(session, file_report):
    report = file_report()
    change_status(session, report.tracking_number, "diverifikasi")
    report.agency = None
    with pytest.raises(LifecycleError, match="needs the agency"):
        change_status(session, report.tracking_number, "diteruskan")
    report.agency = "Dinas Sosial Kota Bandung"
    change = change_status(session, report.tracking_number, "diteruskan")
    assert change.agency == "Dinas Sosial Kota Bandung"


def test_unknown_reports_and_statuses_are_refused(session, file_report):
    with pytest.raises(LifecycleError, match="no report"):
        change_status(session, "1234-5678", "diverifikasi")
    report = file_report()
    with pytest.raises(LifecycleError, match="unknown status"):
        change_status(session, report.tracking_number, "dibatalkan")


def report_with(history, status, created_at=FILED):
    report = Report(tracking_number="4821-7730", status=status, created_at=created_at, privacy="biasa")
    report.history = [StatusChange(id=i + 1, status=s, changed_at=at, agency=None) for i, (s, at) in enumerate(history)]
    return report


def test_verification_is_due_three_working_days_after_filing_across_a_weekend():
    report = report_with([("diterima", FILED)], "diterima")
    due = deadlines(report, today=dt.date(2026, 12, 1))
    assert due.verification_due == dt.date(2026, 12, 2)
    assert not due.verification_overdue
    assert deadlines(report, today=dt.date(2026, 12, 3)).verification_overdue
    assert deadline_text(report, today=dt.date(2026, 12, 1)) == "Laporan akan diverifikasi paling lambat 2 Desember 2026."


def test_the_filing_day_is_the_date_in_jakarta_not_in_utc():
    thursday_evening_utc = dt.datetime(2026, 11, 26, 18, 0)  # already Friday 01:00 WIB
    report = report_with([("diterima", thursday_evening_utc)], "diterima", created_at=thursday_evening_utc)
    assert deadlines(report, today=dt.date(2026, 11, 27)).verification_due == dt.date(2026, 12, 2)


def test_the_agency_response_is_due_five_working_days_after_forwarding_across_a_holiday():
    forwarded = dt.datetime(2026, 8, 14, 3, 0)  # Friday; Monday the 17th is Proklamasi
    report = report_with([("diterima", dt.datetime(2026, 8, 12, 3, 0)), ("diverifikasi", dt.datetime(2026, 8, 13, 3, 0)),
                          ("diteruskan", forwarded)], "diteruskan", created_at=dt.datetime(2026, 8, 12, 3, 0))
    due = deadlines(report, today=dt.date(2026, 8, 24))
    assert (due.verified_on, due.forwarded_on, due.response_due) == (
        dt.date(2026, 8, 13), dt.date(2026, 8, 14), dt.date(2026, 8, 24))
    assert not due.verification_overdue and not due.response_overdue
    assert deadlines(report, today=dt.date(2026, 8, 25)).response_overdue
    assert "24 Agustus 2026" in deadline_text(report, today=dt.date(2026, 8, 20))


def test_a_response_in_time_stops_the_clock():
    report = report_with([("diterima", FILED), ("diverifikasi", FILED), ("diteruskan", FILED),
                          ("ditindaklanjuti", dt.datetime(2026, 12, 1, 3, 0))], "ditindaklanjuti")
    due = deadlines(report, today=dt.date(2027, 1, 30))
    assert due.responded_on == dt.date(2026, 12, 1)
    assert not due.response_overdue


def test_a_late_verification_stays_overdue():
    report = report_with([("diterima", FILED), ("diverifikasi", dt.datetime(2026, 12, 4, 3, 0))], "diverifikasi")
    due = deadlines(report, today=dt.date(2026, 12, 4))
    assert due.verification_overdue


def test_a_status_change_is_offered_once_to_a_reachable_named_reporter(session, file_report):
    report = file_report(channel="telegram", address="555001", identity_hash="d" * 64)
    change_status(session, report.tracking_number, "diverifikasi")
    change_status(session, report.tracking_number, "diteruskan", agency="Dinas Pekerjaan Umum dan Penataan Ruang Kabupaten Bandung")
    pending = [n for n in pending_notifications(session, "telegram") if n.tracking_number == report.tracking_number]
    assert [n.status for n in pending] == ["diverifikasi", "diteruskan"]
    forwarded = pending[1]
    assert forwarded.address == "555001" and forwarded.identity_hash == "d" * 64
    assert status_updates.text_of(forwarded).startswith(f"Laporan {report.tracking_number} sudah diteruskan ke "
                                     "Dinas Pekerjaan Umum dan Penataan Ruang Kabupaten Bandung.")
    assert "paling lambat" in status_updates.text_of(forwarded)
    assert mark_notified(session, pending[0].change_id, "sent")
    assert mark_notified(session, forwarded.change_id, "sent")
    assert not [n for n in pending_notifications(session, "telegram") if n.tracking_number == report.tracking_number]


def test_nobody_is_notified_for_anonymous_unreachable_or_other_channel_reports(session, file_report):
    anonymous = file_report(privacy="anonim")
    unreachable = file_report(identity_hash="e" * 64, address="555002")
    whatsapp = file_report(channel="whatsapp", identity_hash="f" * 64, address="whatsapp:+6281200000000")
    session.get(Reporter, unreachable.reporter_id).unreachable_at = dt.datetime(2026, 11, 1)
    for report in (anonymous, unreachable, whatsapp):
        change_status(session, report.tracking_number, "diverifikasi")
    numbers = {n.tracking_number for n in pending_notifications(session, "telegram")}
    assert anonymous.tracking_number not in numbers
    assert unreachable.tracking_number not in numbers
    assert whatsapp.tracking_number not in numbers
    assert whatsapp.tracking_number in {n.tracking_number for n in pending_notifications(session, "whatsapp")}


def test_the_filing_itself_is_not_notified_again(session, file_report):
    report = file_report(identity_hash="9" * 64)
    assert report.tracking_number not in {n.tracking_number for n in pending_notifications(session, "telegram")}


def test_outside_the_whatsapp_window_the_notification_waits(session, file_report):
    report = file_report(channel="whatsapp", identity_hash="8" * 64, address="whatsapp:+6281300000000")
    change = change_status(session, report.tracking_number, "ditunda", note="mohon kirim foto jalan")
    assert not mark_notified(session, change.id, "needs_template")
    pending = {n.change_id: n for n in pending_notifications(session, "whatsapp")}
    assert change.id in pending
    assert status_updates.text_of(pending[change.id]) == (f"Laporan {report.tracking_number} ditunda sementara. "
                                       "Catatan petugas: mohon kirim foto jalan")
    with pytest.raises(ValueError):
        mark_notified(session, change.id, "maybe")


def test_every_status_has_a_message_and_only_archived_is_final():
    for status, allowed in lifecycle.TRANSITIONS.items():
        assert status_updates.status_update_text("4821-7730", status, "Dinas X", None).startswith("Laporan 4821-7730")
        assert bool(allowed) == (status != "diarsipkan")
