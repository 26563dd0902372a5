"""Leases: one replica at a time runs a background job, and another takes over when it dies.

Why: with several gateways or several ``bot forward --loop`` processes, each would recover the
same deliveries, send the same status update or forward the same report. A lease is a row per
job (``leases``) that a replica takes with one conditional UPDATE: it succeeds only when the
row is free, lapsed, or already this holder's. That one statement is atomic on SQLite (the
database's write lock) and on PostgreSQL (row lock, re-checked condition under READ COMMITTED),
so two replicas can never both hold a lease, whatever their timing.

A holder renews by taking the lease again before it lapses (every round of its loop). A
replica killed with ``kill -9`` stops renewing; after ``seconds`` another replica takes the job.
Work done under a lease must still be idempotent (the Idempotency-Key on forwarding, the
inbound log's unique key): a stalled holder may resume after its lease passed to another.
"""
from __future__ import annotations

import datetime as dt
import os
import socket
import uuid
from typing import Optional

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import Lease


def holder_id() -> str:
    """This process, as an operator reads it in the table: host, pid and a random part.

    The random part keeps a restarted process (same host, a reused pid) from inheriting the
    lease of the one that died.
    """
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def take(session: Session, name: str, holder: str, seconds: float,
         now: Optional[dt.datetime] = None) -> bool:
    """Take or renew lease ``name`` for ``seconds``; True when ``holder`` holds it afterwards.

    Commits nothing itself: the caller's transaction decides (``Database.session`` commits),
    so a lease and the first write under it can be one transaction.
    """
    now = now or dt.datetime.utcnow()  # to the microsecond: leases of seconds
    until = now + dt.timedelta(seconds=seconds)
    taken = session.execute(
        update(Lease)
        .where(Lease.name == name, or_(Lease.holder == holder, Lease.expires_at <= now))
        .values(holder=holder, expires_at=until)
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken:
        return True
    if session.get(Lease, name) is not None:
        return False
    try:
        with session.begin_nested():
            session.execute(insert(Lease).values(name=name, holder=holder, expires_at=until))
    except IntegrityError:
        return False  # another replica created it first: theirs
    return True


def release(session: Session, name: str, holder: str) -> None:
    """Give the lease up at a clean stop, so another replica need not wait for it to lapse."""
    session.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder))


def current_holder(session: Session, name: str, now: Optional[dt.datetime] = None) -> Optional[str]:
    """Who holds ``name`` now (None when free or lapsed): for operators and tests."""
    row = session.execute(select(Lease.holder, Lease.expires_at).where(Lease.name == name)).first()
    if row is None or row.expires_at <= (now or dt.datetime.utcnow()):
        return None
    return row.holder


class JobLease:
    """One background job's lease as its loop uses it: "may I run this round (or item)?".

    ``held_now`` takes or renews the lease in its own transaction; the loop asks before a
    round and before each item it sends, so a holder that stalled past its lease stops at its
    next item instead of sending what its successor now sends.
    """

    def __init__(self, database, name: str, holder: str, seconds: float) -> None:
        self.database = database
        self.name = name
        self.holder = holder
        self.seconds = seconds

    def held_now(self) -> bool:
        with self.database.session() as session:
            return take(session, self.name, self.holder, self.seconds)

    def release(self) -> None:
        with self.database.session() as session:
            release(session, self.name, self.holder)
