import datetime as dt
import uuid

from sqlalchemy import update

from storage.db import Database
from storage.models import InboundDelivery, utcnow
from storage.repositories import InboundLog

PAYLOAD = {"message": {"chat": {"id": 123456789, "first_name": "Sari"}, "text": "Jalan rusak"}}


def received(session, days_ago: float, state: str) -> int:
    log = InboundLog(session)
    delivery_id, _ = log.record("telegram", uuid.uuid4().hex, "h" * 64, PAYLOAD)
    if state == "failed":
        log.mark_failed(delivery_id, "RelayError: Rasa answered 500")
    if state == "postponed":
        log.postpone(delivery_id, "postponed: RelayError")
    session.execute(update(InboundDelivery).where(InboundDelivery.id == delivery_id)
                    .values(received_at=utcnow() - dt.timedelta(days=days_ago)))
    return delivery_id


def test_failed_deliveries_lose_their_payload_after_the_retention_and_nothing_else_does(session):
    old_failed = received(session, 1.5, "failed")
    new_failed = received(session, 0.1, "failed")
    old_waiting = received(session, 1.5, "postponed")

    erased = InboundLog(session).scrub_failed(dt.timedelta(hours=24))

    session.expire_all()
    assert erased == 1
    assert session.get(InboundDelivery, old_failed).payload is None
    assert session.get(InboundDelivery, old_failed).state == "failed"  # the dedupe key stays
    assert session.get(InboundDelivery, new_failed).payload == PAYLOAD
    assert session.get(InboundDelivery, old_waiting).payload == PAYLOAD
    assert session.get(InboundDelivery, old_waiting).state == "received"


def test_a_checkpoint_after_scrubbing_leaves_no_old_payload_in_sqlites_log(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'scrub.db'}")
    database.migrate()
    marker = "Nama-Saya-Sari-0812-rahasia"
    with database.session() as session:
        delivery_id, _ = InboundLog(session).record("telegram", "1", "h" * 64, {"text": marker})
        InboundLog(session).mark_failed(delivery_id, "gave up")
    with database.session() as session:
        session.execute(update(InboundDelivery).values(received_at=utcnow() - dt.timedelta(days=2)))
        InboundLog(session).scrub_failed(dt.timedelta(hours=24))
    wal = tmp_path / "scrub.db-wal"
    assert marker.encode() in wal.read_bytes()

    database.checkpoint()

    assert wal.stat().st_size == 0
    database.dispose()


def test_a_checkpoint_on_postgresql_is_nothing_to_do(database):
    database.checkpoint()


def test_a_scrubbed_payload_is_not_left_in_the_database_file_either(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'scrub.db'}")
    database.migrate()
    marker = "Nama-Saya-Sari-0812-rahasia"
    with database.session() as session:
        delivery_id, _ = InboundLog(session).record("telegram", "1", "h" * 64, {"text": marker})
    database.checkpoint()
    with database.session() as session:
        InboundLog(session).mark_handled(delivery_id)
    database.checkpoint()

    assert marker.encode() not in (tmp_path / "scrub.db").read_bytes()
    database.dispose()
