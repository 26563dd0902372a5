"""The exactly-once intake log: every webhook delivery is recorded before it is handled.

Why: providers re-send a delivery that got no quick answer (Telegram for about a minute,
Twilio falls back after 15 s). The (channel, provider_id) unique constraint decides which call
is the first, so a replay is answered without being handled twice. Payloads hold phone numbers
and message text, so they are scrubbed as soon as the delivery is handled, and so is the
sender's hash (a handled row keeps only channel, provider id, state and times).

Several gateway replicas share the log (issue 19). A replica *claims* a delivery before it
works on it (``claimed_by``, ``claimed_until``): at record time for a webhook it received, and
by :meth:`claim_for_recovery` for deliveries whose claim lapsed (their replica died). Every
claim is a conditional UPDATE (free, lapsed, or already the caller's), and recovery selects
with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two replicas never work on one delivery at
once. The claim stays on a handled row while its replies are sent (the reply outbox resumes
only deliveries whose claim lapsed) and goes with the row after the dedupe horizon.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Iterable, List, Optional, Tuple, Union

from sqlalchemy import bindparam, delete, null, or_, select, update
from sqlalchemy.orm import Session

from storage.models import InboundDelivery, utcnow
from storage.repositories._common import upsert

_ERROR_MAX = 2000
# Built once: it closes every channel turn. Objects already in the session are not refreshed.
_MARK_HANDLED = (
    update(InboundDelivery)
    .where(InboundDelivery.id == bindparam("delivery_id"))
    .values(state="handled", handled_at=bindparam("at"), payload=None, error=None, sender_hash=None)
    .execution_options(synchronize_session=False)
)

# Built once: it runs in the transaction that records every delivery.
_EARLIER_WAITING = (
    select(InboundDelivery.id)
    .where(InboundDelivery.channel == bindparam("channel"), InboundDelivery.sender_hash == bindparam("sender_hash"),
           InboundDelivery.state == "received", InboundDelivery.id < bindparam("delivery_id"))
    .limit(1)
)


class InboundLog:
    def __init__(self, session: Session) -> None:
        self.session = session

    def record(self, channel: str, provider_id: Any, sender_hash: Optional[str], payload: Any,
               *, claimed: bool = False, holder: Optional[str] = None,
               claim_seconds: float = 0.0) -> Tuple[int, bool]:
        """``(delivery_id, is_new)``; ``is_new`` is False for a replay of a recorded delivery.

        Commit the session before answering the provider: a racing replay waits on (PostgreSQL)
        or behind (SQLite) this transaction and then sees the row. ``claimed``: the caller will
        handle a new delivery itself, so its first attempt is counted here (as :meth:`claim`
        would, one transaction earlier); a replay is never claimed. ``holder``: the replica that
        claims it, for ``claim_seconds``.
        """
        key = str(provider_id)
        now = utcnow()
        until = _claim_clock() + dt.timedelta(seconds=claim_seconds) if claimed and holder else None
        # One statement decides (the unique constraint, not a read first): a new delivery costs
        # a single INSERT; only a replay reads the row it collided with.
        inserted = upsert(
            self.session, InboundDelivery.__table__,
            {"channel": channel, "provider_id": key, "sender_hash": sender_hash, "payload": payload,
             "state": "received", "attempts": 1 if claimed else 0, "received_at": now,
             "claimed_by": holder if until else None, "claimed_until": until},
            conflict=("channel", "provider_id"), returning="id",
        ).scalar()
        if inserted is not None:
            return inserted, True
        existing = self._find(channel, key)
        if existing is None:  # pragma: no cover - the conflicting row cannot vanish inside our transaction
            raise LookupError(f"{channel} delivery {key} neither inserted nor found")
        return existing.id, False

    def get(self, delivery_id: int) -> Optional[InboundDelivery]:
        return self.session.get(InboundDelivery, delivery_id)

    def claim(self, delivery_id: int, holder: Optional[str] = None, seconds: float = 0.0,
              now: Optional[dt.datetime] = None) -> Optional[InboundDelivery]:
        """Count one handling attempt and return the delivery; None if it is no longer ``received``.

        With ``holder``: only when the delivery is free, its claim lapsed or it is ``holder``'s
        already (None: another replica works on it), and ``holder`` then holds it ``seconds``.
        """
        now = now or _claim_clock()
        query = update(InboundDelivery).where(InboundDelivery.id == delivery_id, InboundDelivery.state == "received")
        values: dict = {"attempts": InboundDelivery.attempts + 1}
        if holder is not None:
            query = query.where(_claimable(holder, now))
            values.update(claimed_by=holder, claimed_until=now + dt.timedelta(seconds=seconds))
        result = self.session.execute(query.values(**values).execution_options(synchronize_session=False))
        if result.rowcount != 1:
            return None
        delivery = self.session.get(InboundDelivery, delivery_id)
        self.session.refresh(delivery)
        return delivery

    def mark_handled(self, delivery_id: int, at: Optional[dt.datetime] = None) -> None:
        """Done: the payload (phone numbers, texts) and the sender's hash are erased, only the dedupe key remains.

        The sender's hash is needed only while the delivery waits (its place in the sender's
        line); kept next to the times of a handled delivery, it would tell who wrote the message
        that filed an *anonim* report, to the second (issue 13).

        One UPDATE statement (no read first): it closes every channel turn.
        """
        result = self.session.execute(_MARK_HANDLED, {"delivery_id": delivery_id, "at": at or utcnow()})
        if result.rowcount != 1:
            raise LookupError(f"no inbound delivery {delivery_id}")

    def mark_failed(self, delivery_id: int, error: str) -> None:
        """Given up: kept (with its payload, for an operator) until :meth:`scrub_failed` erases it."""
        self._set(delivery_id, state="failed", error=(error or "")[:_ERROR_MAX])

    def postpone(self, delivery_id: int, reason: str, holder: Optional[str] = None,
                 until: Optional[dt.datetime] = None) -> None:
        """Not handled this time (the stack was down); stays ``received`` for a later attempt.

        ``holder`` keeps its claim ``until`` its retry is due (and a margin), so no other
        replica takes the delivery meanwhile; if ``holder`` dies, the claim lapses then.
        """
        values: dict = {"error": (reason or "")[:_ERROR_MAX]}
        if holder is not None and until is not None:
            values.update(claimed_by=holder, claimed_until=until)
        self._set(delivery_id, **values)

    def scrub_failed(self, older_than: Union[dt.datetime, dt.timedelta]) -> int:
        """Erase the payloads of failed deliveries received before the cut-off; returns how many.

        A failed delivery's payload holds who wrote and what (a chat id, a name, a phone number,
        the text): kept for a bounded time only, like every other payload.
        """
        cutoff = utcnow() - older_than if isinstance(older_than, dt.timedelta) else older_than
        result = self.session.execute(
            update(InboundDelivery)
            .where(InboundDelivery.state == "failed", InboundDelivery.received_at < cutoff,
                   InboundDelivery.payload.isnot(null()))
            .values(payload=None, sender_hash=None)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount

    def claim_for_recovery(self, channel: str, holder: str, seconds: float, limit: int = 100,
                           now: Optional[dt.datetime] = None) -> List[InboundDelivery]:
        """Claim deliveries still ``received`` that no live replica works on, oldest first.

        Free ones, lapsed ones (their replica died or stalled) and ``holder``'s own (a restart
        under the same replica name). ``SKIP LOCKED``: a row another replica is claiming right
        now is left to it, not waited for; the conditional UPDATE settles any race that is left
        (SQLite, which has no row locks, serialises writers anyway).
        """
        now = now or _claim_clock()
        candidates = list(self.session.execute(
            select(InboundDelivery.id)
            .where(InboundDelivery.state == "received", InboundDelivery.channel == channel, _claimable(holder, now))
            .order_by(InboundDelivery.id).limit(limit)
            .with_for_update(skip_locked=True)
        ).scalars())
        if not candidates:
            return []
        self.session.execute(
            update(InboundDelivery)
            .where(InboundDelivery.id.in_(candidates), InboundDelivery.state == "received", _claimable(holder, now))
            .values(claimed_by=holder, claimed_until=now + dt.timedelta(seconds=seconds))
            .execution_options(synchronize_session=False))
        return list(self.session.execute(
            select(InboundDelivery).where(InboundDelivery.id.in_(candidates), InboundDelivery.claimed_by == holder,
                                          InboundDelivery.state == "received")
            .order_by(InboundDelivery.id)
            .execution_options(populate_existing=True)
        ).scalars())

    def renew(self, delivery_ids: Iterable[int], holder: str, seconds: float,
              now: Optional[dt.datetime] = None) -> int:
        """Keep ``holder``'s claims on these deliveries for ``seconds`` more; returns how many it still held."""
        ids = list(delivery_ids)
        if not ids:
            return 0
        now = now or _claim_clock()
        return self.session.execute(
            update(InboundDelivery)
            .where(InboundDelivery.id.in_(ids), InboundDelivery.claimed_by == holder)
            .values(claimed_until=now + dt.timedelta(seconds=seconds))
            .execution_options(synchronize_session=False)).rowcount

    def release(self, delivery_id: int, holder: str) -> None:
        """``holder`` stops working on the delivery: any replica's recovery may take it at once."""
        self.session.execute(
            update(InboundDelivery)
            .where(InboundDelivery.id == delivery_id, InboundDelivery.claimed_by == holder)
            .values(claimed_until=None)
            .execution_options(synchronize_session=False))

    def claim_handled(self, delivery_ids: Iterable[int], holder: str, seconds: float,
                      now: Optional[dt.datetime] = None) -> List[int]:
        """Claim handled deliveries whose replies are left to send (the reply outbox's recovery).

        Returns the ids ``holder`` now holds: a delivery whose replies another live replica is
        still sending is not among them. A row already purged counts as free.
        """
        ids = list(delivery_ids)
        if not ids:
            return []
        now = now or _claim_clock()
        self.session.execute(
            update(InboundDelivery)
            .where(InboundDelivery.id.in_(ids), _claimable(holder, now))
            .values(claimed_by=holder, claimed_until=now + dt.timedelta(seconds=seconds))
            .execution_options(synchronize_session=False))
        held = set(self.session.execute(
            select(InboundDelivery.id).where(InboundDelivery.id.in_(ids), InboundDelivery.claimed_by == holder,
                                             InboundDelivery.claimed_until > now)).scalars())
        present = set(self.session.execute(
            select(InboundDelivery.id).where(InboundDelivery.id.in_(ids))).scalars())
        return [delivery_id for delivery_id in ids if delivery_id in held or delivery_id not in present]

    def earlier_waiting(self, channel: str, sender_hash: Optional[str], delivery_id: int) -> bool:
        """Whether an earlier delivery of this sender is still ``received`` (waiting or being handled).

        A sender's messages are handled in the order they were recorded, whichever replica
        received them: a replica holding a later one waits until this turns False.
        """
        if not sender_hash:
            return False
        return self.session.execute(
            _EARLIER_WAITING, {"channel": channel, "sender_hash": sender_hash, "delivery_id": delivery_id}
        ).first() is not None

    def earlier_state(self, channel: str, sender_hash: Optional[str], delivery_id: int, holder: str,
                      now: Optional[dt.datetime] = None) -> Optional[str]:
        """What holds up ``delivery_id``: None (nothing), ``"held"`` (an earlier delivery of the
        sender another live replica works on) or ``"free"`` (one nobody works on now: its replica
        stopped; recovery takes it, and this one after it)."""
        if not sender_hash:
            return None
        now = now or _claim_clock()
        rows = self.session.execute(
            select(InboundDelivery.claimed_by, InboundDelivery.claimed_until)
            .where(InboundDelivery.channel == channel, InboundDelivery.sender_hash == sender_hash,
                   InboundDelivery.state == "received", InboundDelivery.id < delivery_id)
        ).all()
        if not rows:
            return None
        if any(until is None or until <= now or by == holder for by, until in rows):
            return "free"
        return "held"

    def purge(self, older_than: Union[dt.datetime, dt.timedelta]) -> int:
        """Forget handled and failed deliveries received before the cut-off; returns how many.

        ``older_than`` is a time or an age. Unhandled deliveries are kept whatever their age.
        """
        cutoff = utcnow() - older_than if isinstance(older_than, dt.timedelta) else older_than
        result = self.session.execute(
            delete(InboundDelivery)
            .where(InboundDelivery.received_at < cutoff, InboundDelivery.state != "received")
            .execution_options(synchronize_session=False)
        )
        return result.rowcount

    def _find(self, channel: str, provider_id: str) -> Optional[InboundDelivery]:
        return self.session.execute(
            select(InboundDelivery).where(InboundDelivery.channel == channel, InboundDelivery.provider_id == provider_id)
        ).scalar_one_or_none()

    def _set(self, delivery_id: int, **values: Any) -> None:
        delivery = self.session.get(InboundDelivery, delivery_id)
        if delivery is None:
            raise LookupError(f"no inbound delivery {delivery_id}")
        for name, value in values.items():
            setattr(delivery, name, value)
        self.session.flush()


def _claimable(holder: str, now: dt.datetime):
    """Free, lapsed, or ``holder``'s own: the only claims a replica may take."""
    return or_(InboundDelivery.claimed_until.is_(None), InboundDelivery.claimed_until <= now,
               InboundDelivery.claimed_by == holder)


def _claim_clock() -> dt.datetime:
    """Claims last seconds, so they need the sub-second clock ``utcnow`` (to the second) drops."""
    return dt.datetime.utcnow()
