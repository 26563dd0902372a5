import dataclasses
import datetime as dt
import random

import pytest
from sqlalchemy import func, select, text

from storage import tracking_numbers
from storage.models import Report, Reporter, StatusChange
from storage.repositories import AttachmentRepository, ReportDraft, ReportRepository, new_pin
from storage.repositories.reports import make_title

OWNER = "a" * 64
STRANGER = "b" * 64


def draft(**changes) -> ReportDraft:
    values = dict(
        submission_key="conv-1:1",
        report_type="pengaduan",
        description="Jalan di depan SD Negeri 3 berlubang besar. Sudah dua bulan tidak diperbaiki.",
        location_text="Jl. Merdeka, Kota Bandung",
        incident_date=dt.date(2026, 11, 20),
        privacy="biasa",
        channel="telegram",
        identity_hash=OWNER,
        address="123456789",
    )
    values.update(changes)
    return ReportDraft(**values)


def count(session, model) -> int:
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_filing_stores_every_field_and_a_first_status(session):
    report = ReportRepository(session).file(draft(event_code="SOSBDG01", latitude=-6.9, longitude=107.6))
    session.commit()
    stored = session.get(Report, report.id)
    assert tracking_numbers.is_valid(stored.tracking_number)
    assert (stored.report_type, stored.privacy, stored.channel, stored.status) == (
        "pengaduan", "biasa", "telegram", "diterima"
    )
    assert stored.title == "Jalan di depan SD Negeri 3 berlubang besar."
    assert stored.location_text == "Jl. Merdeka, Kota Bandung"
    assert stored.incident_date == dt.date(2026, 11, 20)
    assert (stored.event_code, stored.latitude, stored.longitude) == ("SOSBDG01", -6.9, 107.6)
    assert stored.pin_hash is None
    reporter = session.get(Reporter, stored.reporter_id)
    assert (reporter.channel, reporter.identity_hash, reporter.address) == ("telegram", OWNER, "123456789")
    assert [change.status for change in ReportRepository(session).history(stored)] == ["diterima"]


def test_replayed_submission_files_one_report(session):
    repository = ReportRepository(session)
    first = repository.file(draft())
    again = repository.file(draft(description="Something else entirely."))
    assert again.id == first.id
    assert again.tracking_number == first.tracking_number
    assert count(session, Report) == 1
    assert count(session, StatusChange) == 1


def test_anonymous_report_stores_no_identity_and_no_pin(session):
    pin = "4821"
    report = ReportRepository(session).file(
        draft(privacy="anonim", identity_hash=OWNER, address="+6281234567890", pin=pin)
    )
    session.commit()
    row = session.execute(text("SELECT * FROM reports WHERE id = :id"), {"id": report.id}).mappings().one()
    assert row["reporter_id"] is None
    assert row["pin_hash"] and pin not in row["pin_hash"]
    flattened = " ".join(str(value) for value in row.values())
    assert OWNER not in flattened and "6281234567890" not in flattened
    assert count(session, Reporter) == 0


def test_anonymous_report_is_found_only_with_its_pin(session):
    repository = ReportRepository(session)
    report = repository.file(draft(privacy="anonim", identity_hash=None, address=None, pin="0042"))
    number = report.tracking_number
    assert repository.anonymous(number, "0042").id == report.id
    assert repository.anonymous(number.replace("-", " "), "0042").id == report.id
    assert repository.anonymous(number, "0043") is None
    assert repository.anonymous(number, "") is None
    assert repository.for_reporter(number, "telegram", OWNER) is None


def test_pin_lookup_does_not_open_a_named_report(session):
    repository = ReportRepository(session)
    report = repository.file(draft())
    assert repository.anonymous(report.tracking_number, "0000") is None


def test_someone_elses_report_is_not_returned(session):
    repository = ReportRepository(session)
    report = repository.file(draft())
    number = report.tracking_number
    assert repository.for_reporter(number, "telegram", OWNER).id == report.id
    assert repository.for_reporter(number, "telegram", STRANGER) is None
    assert repository.for_reporter(number, "whatsapp", OWNER) is None


def test_mistyped_tracking_number_finds_nothing(session):
    repository = ReportRepository(session)
    report = repository.file(draft())
    digits = report.tracking_number.replace("-", "")
    typo = digits[:-1] + str((int(digits[-1]) + 1) % 10)
    assert repository.by_tracking_number(typo) is None
    assert repository.for_reporter(typo, "telegram", OWNER) is None
    assert repository.by_tracking_number(digits).id == report.id


def test_tracking_number_collision_draws_again(session):
    first = ReportRepository(session, rng=random.Random(3)).file(draft())
    second = ReportRepository(session, rng=random.Random(3)).file(draft(submission_key="conv-2:1"))
    assert second.tracking_number != first.tracking_number
    assert tracking_numbers.is_valid(second.tracking_number)


def test_status_changes_are_kept_in_order_with_notes(session):
    repository = ReportRepository(session)
    report = repository.file(draft())
    repository.change_status(report, "diverifikasi", note="Lengkap", changed_by="verifikator")
    repository.change_status(report, "diteruskan", agency="Dinas PUPR Kota Bandung")
    session.commit()
    stored = session.get(Report, report.id)
    assert (stored.status, stored.agency) == ("diteruskan", "Dinas PUPR Kota Bandung")
    history = repository.history(stored)
    assert [(c.status, c.note, c.changed_by) for c in history] == [
        ("diterima", None, "system"),
        ("diverifikasi", "Lengkap", "verifikator"),
        ("diteruskan", None, "system"),
    ]
    assert repository.latest_change(stored).status == "diteruskan"


def test_unknown_status_is_refused(session):
    repository = ReportRepository(session)
    report = repository.file(draft())
    with pytest.raises(ValueError):
        repository.change_status(report, "hilang")


def test_status_change_on_a_report_from_an_earlier_session_updates_the_row(database):
    with database.session() as first:
        report = ReportRepository(first).file(draft(submission_key=f"detached-{random.random()}"))
    with database.session() as second:
        ReportRepository(second).change_status(report, "selesai")
    assert report.status == "selesai"
    with database.session() as third:
        assert third.get(Report, report.id).status == "selesai"
        third.delete(third.get(Report, report.id))


@pytest.mark.parametrize(
    "changes",
    [
        {"report_type": "keluhan"},
        {"privacy": "publik"},
        {"description": "   "},
        {"privacy": "anonim", "pin": None},
        {"privacy": "rahasia", "identity_hash": None},
        {"submission_key": ""},
    ],
)
def test_invalid_drafts_are_refused(session, changes):
    with pytest.raises(ValueError):
        ReportRepository(session).file(draft(**changes))
    assert count(session, Report) == 0


def test_pending_attachments_of_the_conversation_are_linked(session, tmp_path):
    attachments = AttachmentRepository(session)
    mine = attachments.save("conv-9", "photo", "image/jpeg", "lubang.jpg", b"jpeg-bytes", tmp_path)
    other = attachments.save("conv-10", "photo", "image/jpeg", "x.jpg", b"other", tmp_path)
    report = ReportRepository(session).file(draft(sender_ref="conv-9"))
    assert mine.report_id == report.id
    assert other.report_id is None
    assert attachments.count_pending("conv-9") == 0
    assert attachments.count_pending("conv-10") == 1


def test_list_filters_by_status_agency_region_and_time(session):
    repository = ReportRepository(session)
    a = repository.file(draft(submission_key="a"))
    b = repository.file(draft(submission_key="b"))
    c = repository.file(draft(submission_key="c"))
    a.region_code, b.region_code, c.region_code = "32.73.01", "32.04", "31.71"
    a.created_at = dt.datetime(2026, 11, 1)
    b.created_at = dt.datetime(2026, 11, 2)
    c.created_at = dt.datetime(2026, 11, 3)
    repository.change_status(b, "diteruskan", agency="Dinas PUPR")
    session.flush()
    assert [r.id for r in repository.list()] == [a.id, b.id, c.id]
    assert [r.id for r in repository.list(status="diteruskan")] == [b.id]
    assert [r.id for r in repository.list(agency="Dinas PUPR")] == [b.id]
    assert [r.id for r in repository.list(region_code="32")] == [a.id, b.id]
    assert [r.id for r in repository.list(region_code="32.7")] == []
    assert [r.id for r in repository.list(since=dt.datetime(2026, 11, 2), until=dt.datetime(2026, 11, 3))] == [b.id]
    assert [r.id for r in repository.list(limit=1)] == [a.id]


@pytest.mark.parametrize(
    "description, title",
    [
        ("Lampu jalan mati. Gelap sekali.", "Lampu jalan mati."),
        ("Sampah menumpuk\ndi pasar", "Sampah menumpuk"),
        ("kata " * 40, ("kata " * 16).strip() + "…"),
        ("a" * 100, "a" * 79 + "…"),
    ],
)
def test_title_is_the_first_sentence_cut_between_words(description, title):
    assert make_title(description) == title
    assert len(make_title(description)) <= 80


def test_new_pin_is_four_digits():
    pins = {new_pin() for _ in range(200)}
    assert all(len(pin) == 4 and pin.isdigit() for pin in pins)
    assert len(pins) > 100


def test_draft_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        draft().privacy = "anonim"


def test_two_concurrent_submits_of_one_conversation_file_one_report(database):
    import threading
    import uuid

    key = uuid.uuid4().hex
    barrier = threading.Barrier(2)
    numbers, errors = [], []

    def submit() -> None:
        try:
            barrier.wait()
            with database.session() as session:
                numbers.append(ReportRepository(session).file(draft(submission_key=key)).tracking_number)
        except Exception as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(numbers) == 2 and numbers[0] == numbers[1]
    with database.session() as session:
        stored = session.execute(select(Report).where(Report.submission_key == key)).scalars().all()
        assert len(stored) == 1
        assert len(stored[0].history) == 1
        session.delete(stored[0])
