import datetime as dt
import hashlib

import pytest
from sqlalchemy import select

from storage.models import DeliveryStatusEvent, Reporter
from storage.repositories import (
    AttachmentRepository,
    HandoverRepository,
    MediaLinkRepository,
    OutboundLog,
    RatingRepository,
    ReportDraft,
    ReporterRepository,
    ReportRepository,
)

HASH = "e" * 64
NOW = dt.datetime(2026, 11, 28, 10, 0)


def a_report(session):
    return ReportRepository(session).file(
        ReportDraft("k-small", "aspirasi", "Tambah lampu taman.", "Taman Kota", None, "biasa", "sms", HASH, "+628123")
    )


def test_media_link_resolves_until_it_expires(session):
    links = MediaLinkRepository(session)
    token = links.create("/data/voice/a.ogg", "audio/ogg", ttl_seconds=600, now=NOW)
    assert len(token) >= 43
    assert links.resolve(token, now=NOW + dt.timedelta(seconds=599)).path == "/data/voice/a.ogg"
    assert links.resolve(token, now=NOW + dt.timedelta(seconds=600)) is None
    assert links.resolve("not-a-token", now=NOW) is None
    assert links.purge_expired(now=NOW + dt.timedelta(hours=1)) == 1
    assert links.resolve(token, now=NOW) is None


def test_media_tokens_are_unique(session):
    links = MediaLinkRepository(session)
    assert len({links.create("/f", "image/png", 60) for _ in range(20)}) == 20


def test_rerating_the_same_stage_replaces_the_score(session):
    report = a_report(session)
    ratings = RatingRepository(session)
    first = ratings.record(report.id, 2)
    again = ratings.record(report.id, 5)
    closed = ratings.record(report.id, 4, stage="after_closed")
    assert again.id == first.id and again.score == 5
    assert closed.id != first.id


@pytest.mark.parametrize("score, stage", [(0, "after_filing"), (6, "after_filing"), ("5", "after_filing"),
                                          (True, "after_filing"), (3, "later")])
def test_invalid_ratings_are_refused(session, score, stage):
    report = a_report(session)
    with pytest.raises(ValueError):
        RatingRepository(session).record(report.id, score, stage)


def test_handover_request_is_recorded_once_per_open_conversation(session):
    handovers = HandoverRepository(session)
    first = handovers.request("telegram", "telegram-" + HASH, report_in_progress=True, reason="ingin bicara")
    again = handovers.request("telegram", "telegram-" + HASH)
    assert again.id == first.id and again.report_in_progress is True and again.reason == "ingin bicara"
    handovers.close(first.id)
    assert handovers.open_requests() == []
    assert handovers.request("telegram", "telegram-" + HASH).id != first.id


def test_reporter_address_follows_the_latest_contact(session):
    reporters = ReporterRepository(session)
    first = reporters.get_or_create("whatsapp", HASH, "whatsapp:+62811")
    same = reporters.get_or_create("whatsapp", HASH)
    moved = reporters.get_or_create("whatsapp", HASH, "whatsapp:+62822")
    assert first.id == same.id == moved.id
    assert session.get(Reporter, first.id).address == "whatsapp:+62822"


def test_unreachable_reporter_becomes_reachable_when_writing_again(session):
    reporters = ReporterRepository(session)
    assert reporters.mark_unreachable("telegram", HASH) is False
    reporters.get_or_create("telegram", HASH, "42")
    assert reporters.mark_unreachable("telegram", HASH, at=NOW) is True
    assert reporters.get("telegram", HASH).unreachable_at == NOW
    reporters.touch_inbound("telegram", HASH, at=NOW + dt.timedelta(minutes=1))
    reporter = reporters.get("telegram", HASH)
    assert reporter.unreachable_at is None
    assert reporter.last_inbound_at == NOW + dt.timedelta(minutes=1)


def test_delivery_callbacks_move_the_state_forward_only(session):
    outbound = OutboundLog(session)
    message = outbound.record("whatsapp", HASH, "text", "Laporan diterima", "sent", provider_message_id="SM1")
    outbound.record_status_event("whatsapp", "SM1", "delivered")
    outbound.record_status_event("whatsapp", "SM1", "sent")
    assert message.state == "delivered"
    outbound.record_status_event("whatsapp", "SM1", "read")
    assert message.state == "read"
    events = session.execute(select(DeliveryStatusEvent.status).order_by(DeliveryStatusEvent.id)).scalars().all()
    assert events == ["delivered", "sent", "read"]


def test_failure_callback_keeps_its_error_code(session):
    outbound = OutboundLog(session)
    message = outbound.record("whatsapp", HASH, "text", "Halo", "queued", provider_message_id="SM2")
    assert outbound.set_state_by_provider_id("SM2", "undelivered", error_code="63016") == 1
    assert (message.state, message.error_code) == ("undelivered", "63016")
    assert outbound.set_state_by_provider_id("SM-unknown", "sent") == 0
    with pytest.raises(ValueError):
        outbound.record("sms", HASH, "text", "x", "lost")


def test_same_file_is_stored_once_under_its_hash(session, tmp_path):
    attachments = AttachmentRepository(session)
    data = b"\x89PNG fake image bytes"
    first = attachments.save("conv-1", "photo", "image/png", "../../etc/foto.PNG", data, tmp_path)
    second = attachments.save("conv-1", "photo", "image/png", None, data, tmp_path)
    digest = hashlib.sha256(data).hexdigest()
    assert first.sha256 == digest and first.size_bytes == len(data)
    assert first.storage_path == str(tmp_path / digest[:2] / f"{digest}.png")
    assert first.file_name == "foto.PNG"
    assert second.storage_path == first.storage_path
    assert (tmp_path / digest[:2] / f"{digest}.png").read_bytes() == data
    assert [a.id for a in attachments.pending("conv-1")] == [first.id, second.id]
    assert attachments.count_pending("conv-1") == 2
    with pytest.raises(ValueError):
        attachments.save("conv-1", "sticker", "image/webp", None, b"x", tmp_path)
