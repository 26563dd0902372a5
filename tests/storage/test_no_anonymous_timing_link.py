import datetime as dt

from sqlalchemy import select

from storage.models import InboundDelivery, Reporter
from storage.repositories import InboundLog, ReporterRepository

HASH = "a" * 64
NOW = dt.datetime(2026, 12, 2, 1, 23, 45)


def stored(session, model, row_id):
    session.expire_all()
    return session.get(model, row_id)


def test_a_handled_delivery_keeps_neither_payload_nor_sender_hash(session):
    log = InboundLog(session)
    delivery_id, _ = log.record("sms", "SM" + "1" * 32, HASH, {"from": "+6281234567890", "body": "ya"})

    log.mark_handled(delivery_id, at=NOW)

    delivery = stored(session, InboundDelivery, delivery_id)
    assert (delivery.state, delivery.sender_hash, delivery.payload) == ("handled", None, None)


def test_a_waiting_delivery_keeps_its_sender_hash_for_its_place_in_line(session):
    log = InboundLog(session)
    delivery_id, _ = log.record("sms", "SM" + "2" * 32, HASH, {"from": "+6281234567890", "body": "ya"})

    assert stored(session, InboundDelivery, delivery_id).sender_hash == HASH


def test_a_failed_delivery_loses_its_sender_hash_with_its_payload(session):
    log = InboundLog(session)
    delivery_id, _ = log.record("sms", "SM" + "3" * 32, HASH, {"from": "+6281234567890", "body": "ya"})
    log.mark_failed(delivery_id, "gave up")

    assert log.scrub_failed(dt.datetime.utcnow() + dt.timedelta(seconds=1)) == 1

    delivery = stored(session, InboundDelivery, delivery_id)
    assert (delivery.state, delivery.sender_hash, delivery.payload) == ("failed", None, None)


def test_the_time_of_the_last_message_is_kept_only_for_a_reply_window_and_only_to_the_hour(session):
    reporters = ReporterRepository(session)
    reporters.wrote_in("telegram", HASH, "5512345678", at=NOW)
    reporters.wrote_in("sms", HASH, "+6281234567890", at=NOW)
    reporters.wrote_in("whatsapp", HASH, "whatsapp:+6281234567890", at=NOW, window=True)
    session.expire_all()

    kept = dict(session.execute(select(Reporter.channel, Reporter.last_inbound_at)).all())
    assert kept == {"telegram": None, "sms": None, "whatsapp": dt.datetime(2026, 12, 2, 1, 0, 0)}


def test_a_second_message_moves_the_kept_hour_on(session):
    reporters = ReporterRepository(session)
    reporters.wrote_in("whatsapp", HASH, "whatsapp:+6281234567890", at=NOW, window=True)
    reporters.wrote_in("whatsapp", HASH, "whatsapp:+6281234567890", at=NOW + dt.timedelta(hours=2), window=True)
    session.expire_all()

    assert reporters.get("whatsapp", HASH).last_inbound_at == dt.datetime(2026, 12, 2, 3, 0, 0)
