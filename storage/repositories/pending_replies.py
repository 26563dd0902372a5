"""The reply outbox: the replies of handled turns that have not reached the provider yet.

Why: a turn's replies are written here in the transaction that marks its delivery handled, so
a crash after that commit neither runs the turn again nor loses its replies; each reply is
deleted in the transaction that follows the provider's acceptance, so a recovered process
sends only what is still here. Rows hold an address and a reply's text: personal data, kept
only until sent (minutes).
"""
from __future__ import annotations

from typing import Dict, Iterable, List, Optional

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from storage.models import PendingReply, utcnow


class PendingReplies:
    def __init__(self, session: Session) -> None:
        self.session = session

    def record(self, delivery_id: int, channel: str, address: str, replies: Iterable[dict],
               *, sender_key: Optional[str] = None, anonymous: bool = False) -> List[PendingReply]:
        """Queue the replies of one delivery, in order; each dict is ``{"reply": {...}, "voice_ogg": bytes|None}``."""
        rows = [PendingReply(delivery_id=delivery_id, channel=channel, position=position, address=address,
                             sender_key=sender_key, anonymous=anonymous, reply=item["reply"],
                             voice_ogg=item.get("voice_ogg"), attempts=0, created_at=utcnow())
                for position, item in enumerate(replies)]
        self.session.add_all(rows)
        self.session.flush()
        return rows

    def of_delivery(self, delivery_id: int) -> List[PendingReply]:
        return list(self.session.execute(
            select(PendingReply).where(PendingReply.delivery_id == delivery_id).order_by(PendingReply.position)
        ).scalars())

    def of_sender(self, channel: str, sender_key: str) -> List[PendingReply]:
        """Everything still to send to one sender, in the order the turns ran."""
        return list(self.session.execute(
            select(PendingReply).where(PendingReply.channel == channel, PendingReply.sender_key == sender_key)
            .order_by(PendingReply.delivery_id, PendingReply.position)
        ).scalars())

    def queues(self, channel: str, limit: int = 500) -> List[tuple]:
        """``(sender_key, first delivery_id)`` per sender with replies still here; a keyless delivery alone."""
        rows = self.session.execute(
            select(PendingReply.sender_key, PendingReply.delivery_id)
            .where(PendingReply.channel == channel)
            .group_by(PendingReply.sender_key, PendingReply.delivery_id)
            .order_by(PendingReply.delivery_id)
        ).all()
        seen, queues = set(), []
        for key, delivery_id in rows:
            if key is not None and key in seen:
                continue
            seen.add(key)
            queues.append((key, delivery_id))
        return queues[:limit]

    def ids(self, channel: str, deliveries: Optional[Iterable[int]] = None) -> List[int]:
        """Entry ids of the channel, or of these deliveries only."""
        query = select(PendingReply.id).where(PendingReply.channel == channel)
        if deliveries is not None:
            query = query.where(PendingReply.delivery_id.in_(list(deliveries)))
        return list(self.session.execute(query).scalars())

    def deliveries_by_sender(self, channel: str) -> Dict[object, List[int]]:
        """Delivery ids with entries left, per sender key; a keyless delivery under its own id."""
        rows = self.session.execute(
            select(PendingReply.sender_key, PendingReply.delivery_id).where(PendingReply.channel == channel)
            .group_by(PendingReply.sender_key, PendingReply.delivery_id).order_by(PendingReply.delivery_id)).all()
        found: Dict[object, List[int]] = {}
        for key, delivery_id in rows:
            found.setdefault(key if key is not None else delivery_id, []).append(delivery_id)
        return found

    def not_sent(self, reply_id: int) -> None:
        """The provider refused it in a way that proves nothing went out: counted, sent again later."""
        self.session.execute(
            update(PendingReply).where(PendingReply.id == reply_id).values(attempts=PendingReply.attempts + 1)
            .execution_options(synchronize_session=False))

    def sent(self, reply_id: int) -> None:
        """The provider accepted it: nothing of it stays here."""
        self.session.execute(delete(PendingReply).where(PendingReply.id == reply_id)
                             .execution_options(synchronize_session=False))

    def give_up(self, delivery_id: int) -> int:
        """Drop what is left of a delivery's replies (the provider refused them for good)."""
        return self.session.execute(delete(PendingReply).where(PendingReply.delivery_id == delivery_id)
                                    .execution_options(synchronize_session=False)).rowcount
