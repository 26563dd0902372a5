import datetime as dt
import threading
import uuid

import pytest
from sqlalchemy import text

from storage.models import InboundDelivery
from storage.repositories import InboundLog

PAYLOAD = {"message": {"chat": {"id": 123456789}, "text": "Jalan rusak"}}


def test_replayed_delivery_is_recorded_once(session):
    log = InboundLog(session)
    first_id, first_new = log.record("telegram", 1001, "h" * 64, PAYLOAD)
    again_id, again_new = log.record("telegram", "1001", "h" * 64, PAYLOAD)
    other_id, other_new = log.record("sms", 1001, "h" * 64, PAYLOAD)
    assert (first_new, again_new, other_new) == (True, False, True)
    assert again_id == first_id != other_id


def test_a_failed_insert_does_not_spoil_the_callers_transaction(session):
    log = InboundLog(session)
    log.record("telegram", 7, None, PAYLOAD)
    log.record("telegram", 7, None, PAYLOAD)
    delivery_id, is_new = log.record("telegram", 8, None, PAYLOAD)
    session.commit()
    assert is_new and session.get(InboundDelivery, delivery_id).provider_id == "8"


def test_two_concurrent_records_of_one_delivery_yield_one_new(database):
    provider_id = uuid.uuid4().hex
    barrier = threading.Barrier(2)
    results, errors = [], []

    def deliver() -> None:
        try:
            barrier.wait()
            with database.session() as session:
                results.append(InboundLog(session).record("whatsapp", provider_id, None, PAYLOAD))
        except Exception as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(is_new for _id, is_new in results) == [False, True]
    assert results[0][0] == results[1][0]
    with database.session() as session:
        stored = session.execute(
            text("SELECT count(*) FROM inbound_deliveries WHERE provider_id = :p"), {"p": provider_id}
        ).scalar_one()
        assert stored == 1
        session.execute(text("DELETE FROM inbound_deliveries WHERE provider_id = :p"), {"p": provider_id})


def test_handled_delivery_loses_its_payload(session):
    log = InboundLog(session)
    delivery_id, _ = log.record("sms", "SM123", "h" * 64, {"From": "+6281234567890", "Body": "halo"})
    log.mark_handled(delivery_id)
    session.commit()
    row = session.execute(
        text("SELECT payload, state, handled_at FROM inbound_deliveries WHERE id = :id"), {"id": delivery_id}
    ).one()
    assert row.payload is None
    assert row.state == "handled" and row.handled_at is not None


def test_claim_counts_attempts_and_refuses_finished_deliveries(session):
    log = InboundLog(session)
    delivery_id, _ = log.record("telegram", 55, None, PAYLOAD)
    assert log.claim(delivery_id).payload == PAYLOAD
    assert log.claim(delivery_id).attempts == 2
    log.mark_failed(delivery_id, "RuntimeError: rasa unreachable")
    assert log.claim(delivery_id) is None
    assert log.get(delivery_id).error == "RuntimeError: rasa unreachable"
    assert log.get(delivery_id).payload == PAYLOAD


def test_purge_forgets_old_finished_deliveries_only(session):
    log = InboundLog(session)
    old_done, _ = log.record("telegram", 1, None, PAYLOAD)
    old_waiting, _ = log.record("telegram", 2, None, PAYLOAD)
    new_done, _ = log.record("telegram", 3, None, PAYLOAD)
    log.mark_handled(old_done)
    log.mark_handled(new_done)
    log.get(old_done).received_at = dt.datetime(2020, 1, 1)
    log.get(old_waiting).received_at = dt.datetime(2020, 1, 1)
    session.flush()
    assert log.purge(dt.timedelta(days=2)) == 1
    session.expire_all()
    assert log.get(old_done) is None
    assert log.get(old_waiting) is not None and log.get(new_done) is not None


def test_a_delivery_recorded_as_claimed_counts_its_first_attempt_and_a_replay_counts_none(session):
    log = InboundLog(session)
    delivery_id, is_new = log.record("telegram", 4242, "h" * 64, PAYLOAD, claimed=True)
    again_id, again_new = log.record("telegram", 4242, "h" * 64, PAYLOAD, claimed=True)

    assert (is_new, again_new, again_id) == (True, False, delivery_id)
    assert log.get(delivery_id).attempts == 1
    assert log.claim(delivery_id).attempts == 2


def test_marking_an_unknown_delivery_handled_is_an_error(session):
    with pytest.raises(LookupError):
        InboundLog(session).mark_handled(987654321)
