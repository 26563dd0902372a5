"""The exactly-once intake log: every webhook delivery is recorded before it is handled.

Why: providers re-send a delivery that got no quick answer (Telegram for about a minute,
Twilio falls back after 15 s). The (channel, provider_id) unique constraint decides which call
is the first, so a replay is answered without being handled twice. Payloads hold phone numbers
and message text, so they are scrubbed as soon as the delivery is handled, and so is the
sender's hash (a handled row keeps only channel, provider id, state and times).
"""
from __future__ import annotations

import datetime as dt
from typing import Any, List, Optional, Tuple, Union

from sqlalchemy import bindparam, delete, null, select, update
from sqlalchemy.orm import Session

from storage.models import InboundDelivery, utcnow
from storage.repositories._common import dialect_insert

_ERROR_MAX = 2000
# Built once: it closes every channel turn. Objects already in the session are not refreshed.
_MARK_HANDLED = (
    update(InboundDelivery)
    .where(InboundDelivery.id == bindparam("delivery_id"))
    .values(state="handled", handled_at=bindparam("at"), payload=None, error=None, sender_hash=None)
    .execution_options(synchronize_session=False)
)


class InboundLog:
    def __init__(self, session: Session) -> None:
        self.session = session

    def record(self, channel: str, provider_id: Any, sender_hash: Optional[str], payload: Any,
               *, claimed: bool = False) -> Tuple[int, bool]:
        """``(delivery_id, is_new)``; ``is_new`` is False for a replay of a recorded delivery.

        Commit the session before answering the provider: a racing replay waits on (PostgreSQL)
        or behind (SQLite) this transaction and then sees the row. ``claimed``: the caller will
        handle a new delivery itself, so its first attempt is counted here (as :meth:`claim`
        would, one transaction earlier); a replay is never claimed.
        """
        key = str(provider_id)
        # One statement decides (the unique constraint, not a read first): a new delivery costs
        # a single INSERT; only a replay reads the row it collided with.
        result = self.session.execute(
            dialect_insert(self.session, InboundDelivery.__table__)
            .values(channel=channel, provider_id=key, sender_hash=sender_hash, payload=payload, state="received",
                    attempts=1 if claimed else 0, received_at=utcnow())
            .on_conflict_do_nothing(index_elements=["channel", "provider_id"])
        )
        if result.rowcount == 1:
            return result.inserted_primary_key[0], True
        existing = self._find(channel, key)
        if existing is None:  # pragma: no cover - the conflicting row cannot vanish inside our transaction
            raise LookupError(f"{channel} delivery {key} neither inserted nor found")
        return existing.id, False

    def get(self, delivery_id: int) -> Optional[InboundDelivery]:
        return self.session.get(InboundDelivery, delivery_id)

    def claim(self, delivery_id: int) -> Optional[InboundDelivery]:
        """Count one handling attempt and return the delivery; None if it is no longer ``received``."""
        result = self.session.execute(
            update(InboundDelivery)
            .where(InboundDelivery.id == delivery_id, InboundDelivery.state == "received")
            .values(attempts=InboundDelivery.attempts + 1)
            .execution_options(synchronize_session=False)
        )
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

    def postpone(self, delivery_id: int, reason: str) -> None:
        """Not handled this time (the stack was down); stays ``received`` for a later attempt."""
        self._set(delivery_id, error=(reason or "")[:_ERROR_MAX])

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

    def unhandled(self, channel: Optional[str] = None, limit: int = 100) -> List[InboundDelivery]:
        """Deliveries still ``received``, oldest first: to resume after a restart."""
        query = select(InboundDelivery).where(InboundDelivery.state == "received")
        if channel is not None:
            query = query.where(InboundDelivery.channel == channel)
        query = query.order_by(InboundDelivery.received_at, InboundDelivery.id).limit(limit)
        return list(self.session.execute(query).scalars())

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
