"""Messages we sent (or decided not to send) and the providers' delivery-status callbacks."""
from __future__ import annotations

from typing import List, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import OUTBOUND_STATES, DeliveryStatusEvent, OutboundMessage, utcnow

# Callbacks can arrive out of order (Twilio may post "sent" after "delivered"); a state never
# moves back down this ladder. Failure states apply unless the message was already delivered.
_PROGRESS = {"queued": 0, "sent": 1, "delivered": 2, "read": 3}
_DELIVERED = 2


def _advances(current: str, new: str) -> bool:
    if new in _PROGRESS:
        return current not in _PROGRESS or _PROGRESS[new] >= _PROGRESS[current]
    return _PROGRESS.get(current, 0) < _DELIVERED


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
            message.updated_at = utcnow()
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
