"""Claims on inbound deliveries: one gateway replica at a time works on a delivery, on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
import threading
import uuid

from storage.models import InboundDelivery, utcnow
from storage.repositories import InboundLog


def _channel() -> str:
    return f"t{uuid.uuid4().hex[:8]}"


def _record(session, channel: str, provider_id: str, holder=None, seconds: float = 120.0, sender: str = "s1"):
    delivery_id, _ = InboundLog(session).record(channel, provider_id, sender, {"text": provider_id},
                                                claimed=holder is not None, holder=holder, claim_seconds=seconds)
    return delivery_id


def test_a_delivery_another_live_replica_works_on_is_not_recovered(session):
    channel = _channel()
    _record(session, channel, "1", holder="gateway-a")
    assert InboundLog(session).claim_for_recovery(channel, "gateway-b", 120) == []


def test_a_dead_replicas_delivery_is_recovered_by_one_other_once_its_claim_lapsed(session):
    channel = _channel()
    delivery_id = _record(session, channel, "1", holder="gateway-a", seconds=30)
    later = utcnow() + dt.timedelta(seconds=31)
    taken = InboundLog(session).claim_for_recovery(channel, "gateway-b", 120, now=later)
    assert [row.id for row in taken] == [delivery_id]
    assert InboundLog(session).claim_for_recovery(channel, "gateway-c", 120, now=later) == []
    # The replica that came back late may no longer claim it for a handling of its own.
    assert InboundLog(session).claim(delivery_id, "gateway-a", 120, now=later) is None
    assert InboundLog(session).claim(delivery_id, "gateway-b", 120, now=later) is not None


def test_a_restarted_replica_takes_its_own_deliveries_back_at_once(session):
    channel = _channel()
    delivery_id = _record(session, channel, "1", holder="host:5005")
    assert [row.id for row in InboundLog(session).claim_for_recovery(channel, "host:5005", 120)] == [delivery_id]


def test_recovery_takes_free_deliveries_oldest_first(session):
    channel = _channel()
    ids = [_record(session, channel, str(number)) for number in range(3)]
    assert [row.id for row in InboundLog(session).claim_for_recovery(channel, "gateway-b", 120)] == ids


def test_a_renewed_claim_outlives_its_first_term_and_a_released_one_is_free_at_once(session):
    channel = _channel()
    first = _record(session, channel, "1", holder="gateway-a", seconds=30)
    second = _record(session, channel, "2", holder="gateway-a", seconds=30)
    now = utcnow()
    assert InboundLog(session).renew([first, second], "gateway-a", 120, now=now + dt.timedelta(seconds=20)) == 2
    assert InboundLog(session).renew([first], "gateway-z", 120) == 0  # not its claim
    assert InboundLog(session).claim_for_recovery(channel, "gateway-b", 120, now=now + dt.timedelta(seconds=60)) == []
    InboundLog(session).release(second, "gateway-a")
    assert [row.id for row in InboundLog(session).claim_for_recovery(channel, "gateway-b", 120)] == [second]


def test_a_postponed_delivery_stays_with_its_replica_until_its_retry_is_due(session):
    channel = _channel()
    delivery_id = _record(session, channel, "1", holder="gateway-a", seconds=30)
    InboundLog(session).postpone(delivery_id, "postponed: rasa down", "gateway-a", utcnow() + dt.timedelta(seconds=600))
    later = utcnow() + dt.timedelta(seconds=300)
    assert InboundLog(session).claim_for_recovery(channel, "gateway-b", 120, now=later) == []


def test_an_earlier_message_of_the_sender_still_waiting_is_seen_and_a_handled_one_is_not(session):
    channel = _channel()
    first = _record(session, channel, "1", holder="gateway-a", sender="citizen")
    second = _record(session, channel, "2", holder="gateway-b", sender="citizen")
    other = _record(session, channel, "3", holder="gateway-b", sender="someone-else")
    log = InboundLog(session)
    assert log.earlier_waiting(channel, "citizen", second)
    assert not log.earlier_waiting(channel, "citizen", first)
    assert not log.earlier_waiting(channel, "someone-else", other)
    log.mark_handled(first)
    assert not log.earlier_waiting(channel, "citizen", second)


def test_replies_of_a_handled_delivery_stay_with_the_replica_sending_them(session):
    channel = _channel()
    delivery_id = _record(session, channel, "1", holder="gateway-a", seconds=30)
    InboundLog(session).mark_handled(delivery_id)
    log = InboundLog(session)
    assert log.claim_handled([delivery_id], "gateway-b", 120) == []
    later = utcnow() + dt.timedelta(seconds=31)
    assert log.claim_handled([delivery_id], "gateway-b", 120, now=later) == [delivery_id]
    assert log.claim_handled([delivery_id], "gateway-a", 120, now=later) == []
    assert log.claim_handled([987654321], "gateway-b", 120) == [987654321]  # purged since: free


def test_two_replicas_recovering_at_the_same_moment_never_take_the_same_delivery(database):
    channel = _channel()
    with database.session() as session:
        ids = [_record(session, channel, str(number), sender=f"s{number}") for number in range(40)]
    taken = {}
    barrier = threading.Barrier(2)

    def recover(holder: str) -> None:
        barrier.wait()
        with database.session() as session:
            taken[holder] = [row.id for row in InboundLog(session).claim_for_recovery(channel, holder, 120, limit=40)]

    threads = [threading.Thread(target=recover, args=(holder,)) for holder in ("gateway-a", "gateway-b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not set(taken["gateway-a"]) & set(taken["gateway-b"])
    assert sorted(taken["gateway-a"] + taken["gateway-b"]) == ids
    with database.reading() as session:
        holders = {row.id: row.claimed_by for row in session.query(InboundDelivery).filter(InboundDelivery.id.in_(ids))}
    assert all(holders[i] == "gateway-a" for i in taken["gateway-a"])
