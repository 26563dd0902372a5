"""Leases: never two holders at once, a dead holder's job taken over, on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
import threading
import uuid

from storage import leases
from storage.models import utcnow


def _name() -> str:
    return f"job-{uuid.uuid4().hex[:8]}"


def test_a_free_lease_is_taken_and_then_refused_to_another_replica(session):
    name = _name()
    assert leases.take(session, name, "a", 30)
    assert not leases.take(session, name, "b", 30)
    assert leases.current_holder(session, name) == "a"


def test_the_holder_renews_its_own_lease(session):
    name = _name()
    now = utcnow()
    assert leases.take(session, name, "a", 30, now=now)
    assert leases.take(session, name, "a", 30, now=now + dt.timedelta(seconds=20))
    assert not leases.take(session, name, "b", 30, now=now + dt.timedelta(seconds=40))


def test_a_lapsed_lease_passes_to_the_next_replica_that_asks(session):
    name = _name()
    now = utcnow()
    assert leases.take(session, name, "crashed", 30, now=now)
    later = now + dt.timedelta(seconds=31)
    assert leases.current_holder(session, name, now=later) is None
    assert leases.take(session, name, "b", 30, now=later)
    assert not leases.take(session, name, "crashed", 30, now=later)


def test_a_released_lease_is_free_at_once(session):
    name = _name()
    assert leases.take(session, name, "a", 300)
    leases.release(session, name, "a")
    assert leases.take(session, name, "b", 300)


def test_releasing_someone_elses_lease_does_nothing(session):
    name = _name()
    assert leases.take(session, name, "a", 300)
    leases.release(session, name, "b")
    assert leases.current_holder(session, name) == "a"


def test_holder_ids_differ_for_two_processes_started_alike():
    assert leases.holder_id() != leases.holder_id()


def test_of_many_replicas_asking_at_once_exactly_one_holds_the_lease_each_round(database):
    """Real commits across connections: 8 threads, 20 rounds, each round a fresh job name."""
    for _ in range(20):
        name = _name()
        winners = []
        start = threading.Barrier(8)

        def replica(holder):
            start.wait()
            with database.session() as session:
                if leases.take(session, name, holder, 30):
                    winners.append(holder)

        threads = [threading.Thread(target=replica, args=(f"r{index}",)) for index in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert len(winners) == 1, winners
        with database.reading() as session:
            assert leases.current_holder(session, name) == winners[0]
