"""Messages we sent (or decided not to send) and the providers' delivery-status callbacks.

Times here are kept to the hour (:func:`logged_hour`): a message logged under a sender's hash
at the second an *anonim* report was filed (the read-back just before it, say) would tell who
filed it (issue 13). Status callbacks match messages by the provider's id, not by time.
"""
from __future__ import annotations

import datetime as dt
from typing import List, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from storage.models import OUTBOUND_STATES, DeliveryStatusEvent, OutboundMessage, utcnow

# Callbacks can arrive out of order (Twilio may post "sent" after "delivered"); a state never
# moves back down this ladder. Failure states apply unless the message was already delivered.
_PROGRESS = {"queued": 0, "sent": 1, "delivered": 2, "read": 3}
_DELIVERED = 2


def _advances(current: str, new: str) -> bool:
    if new in _PROGRESS:
        return current not in _PROGRESS or _PROGRESS[new] >= _PROGRESS[current]
    return _PROGRESS.get(current, 0) < _DELIVERED


def logged_hour(at: Optional[dt.datetime] = None) -> dt.datetime:
    return (at or utcnow()).replace(minute=0, second=0, microsecond=0)


def _check_state(state: str) -> None:
    if state not in OUTBOUND_STATES:
        raise ValueError(f"outbound state {state!r} is not one of {OUTBOUND_STATES}")


class OutboundLog:
    def __init__(self, session: Session) -> None:
        self.session = session

    def record(
        self,
        channel: str,
        sender_hash: str,
        kind: str,
        body: Optional[str],
        state: str,
        provider_message_id: Optional[str] = None,
        error_code: Optional[str] = None,
    ) -> OutboundMessage:
        _check_state(state)
        message = OutboundMessage(
            channel=channel,
            sender_hash=sender_hash,
            kind=kind,
            body=body,
            state=state,
            provider_message_id=str(provider_message_id) if provider_message_id is not None else None,
            error_code=str(error_code) if error_code is not None else None,
            created_at=logged_hour(),
            updated_at=logged_hour(),
        )
        self.session.add(message)
        self.session.flush()
        return message

    def set_state_by_provider_id(
        self, provider_message_id: str, state: str, error_code: Optional[str] = None
    ) -> int:
        """Apply a provider's status to our messages with that id; returns how many changed."""
        _check_state(state)
        changed = 0
        for message in self.by_provider_id(provider_message_id):
            if not _advances(message.state, state):
                continue
            message.state = state
            if error_code is not None:
                message.error_code = str(error_code)
            message.updated_at = logged_hour()
            flag_modified(message, "updated_at")  # an unchanged hour would let onupdate write seconds
            changed += 1
        self.session.flush()
        return changed

    def record_status_event(
        self, channel: str, provider_message_id: str, status: str, error_code: Optional[str] = None
    ) -> DeliveryStatusEvent:
        """Keep the raw callback and move the message's state when the status is one we track."""
        event = DeliveryStatusEvent(
            channel=channel,
            provider_message_id=str(provider_message_id),
            status=status,
            error_code=str(error_code) if error_code is not None else None,
        )
        self.session.add(event)
        if status in OUTBOUND_STATES:
            self.set_state_by_provider_id(str(provider_message_id), status, error_code)
        self.session.flush()
        return event

    def by_provider_id(self, provider_message_id: str) -> List[OutboundMessage]:
        return list(
            self.session.execute(
                select(OutboundMessage)
                .where(OutboundMessage.provider_message_id == str(provider_message_id))
                .order_by(OutboundMessage.id)
            ).scalars()
        )

    def apply_early_status_events(self, provider_message_ids: List[str]) -> None:
        """Status callbacks that arrived before their messages were logged, applied now in order.

        A provider may answer faster than the log write that follows its accepted send; without
        this a delivered message would stay "queued".
        """
        if not provider_message_ids:
            return
        early = self.session.execute(
            select(DeliveryStatusEvent)
            .where(DeliveryStatusEvent.provider_message_id.in_([str(sid) for sid in provider_message_ids]))
            .order_by(DeliveryStatusEvent.id)
        ).scalars().all()
        for event in early:
            if event.status in OUTBOUND_STATES:
                self.set_state_by_provider_id(event.provider_message_id, event.status, event.error_code)
