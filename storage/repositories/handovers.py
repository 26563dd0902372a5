"""Requests to talk to a person, and the conversation a person then holds.

A request is ``open`` until a staff member takes it (``taken``: the assistant is paused for
that conversation, the citizen's messages are kept here for the officer instead of going to
Rasa) and ``done`` once handed back to the assistant. Everything said while taken is a
:class:`HandoverMessage`; the officer's ("out") are delivered by the citizen's channel in the
gateway, which marks each one delivered, so the console only ever writes to storage.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import HandoverMessage, HandoverRequest, utcnow
from storage.repositories._common import insert_or_fetch

# Outcomes that settle an outgoing message; others ("needs_template", "retry_later") leave it
# pending for a later round, as status notifications (storage.lifecycle).
SETTLED_OUTCOMES = ("sent", "unreachable", "failed", "gave_up")


class HandoverError(ValueError):
    """A handover step that is not possible now; the message is fit for a staff member."""


@dataclass(frozen=True)
class PendingMessage:
    """An outgoing message for the gateway: where it goes and what it says."""

    message_id: int
    handover_id: int
    channel: str
    sender_ref: str
    kind: str  # text|taken|returned|waiting
    body: Optional[str]
    author: Optional[str]
    report_in_progress: bool


class HandoverRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def request(
        self,
        channel: str,
        sender_ref: str,
        reporter_id: Optional[int] = None,
        report_in_progress: bool = False,
        reason: Optional[str] = None,
    ) -> HandoverRequest:
        """Record the request; an open one from the same conversation is reused, not duplicated."""
        existing = self.session.execute(
            select(HandoverRequest)
            .where(
                HandoverRequest.channel == channel,
                HandoverRequest.sender_ref == sender_ref,
                HandoverRequest.state == "open",
            )
            .order_by(HandoverRequest.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        if existing is not None:
            existing.report_in_progress = existing.report_in_progress or report_in_progress
            existing.reason = reason or existing.reason
            existing.reporter_id = reporter_id or existing.reporter_id
            self.session.flush()
            return existing
        handover = HandoverRequest(
            channel=channel,
            sender_ref=sender_ref,
            reporter_id=reporter_id,
            report_in_progress=report_in_progress,
            reason=reason,
            state="open",
        )
        self.session.add(handover)
        self.session.flush()
        return handover

    def open_requests(self) -> List[HandoverRequest]:
        return list(
            self.session.execute(
                select(HandoverRequest).where(HandoverRequest.state == "open").order_by(HandoverRequest.id)
            ).scalars()
        )

    def close(self, handover_id: int) -> None:
        handover = self.session.get(HandoverRequest, handover_id)
        if handover is None:
            raise LookupError(f"no handover request {handover_id}")
        handover.state = "done"
        self.session.flush()

    # --- the console's side -------------------------------------------------------------------

    def get(self, handover_id: int) -> Optional[HandoverRequest]:
        return self.session.get(HandoverRequest, handover_id)

    def inbox(self, include_done: bool = False, limit: int = 100) -> List[HandoverRequest]:
        """Requests waiting for or held by a person, newest first."""
        states = ("open", "taken", "done") if include_done else ("open", "taken")
        return list(self.session.execute(
            select(HandoverRequest).where(HandoverRequest.state.in_(states))
            .order_by(HandoverRequest.created_at.desc(), HandoverRequest.id.desc()).limit(limit)
        ).scalars())

    def take(self, handover_id: int, staff: str, shown_as: Optional[str] = None) -> HandoverRequest:
        """``staff`` answers from now on: the assistant pauses and the citizen is told.

        ``shown_as`` is the name the citizen reads in the notice (the staff member's display
        name); ``taken_by`` keeps the username, which decides who may answer.
        """
        handover = self._existing(handover_id)
        if handover.state == "taken" and handover.taken_by == staff:
            return handover
        if handover.state != "open":
            who = f" by {handover.taken_by}" if handover.state == "taken" else ""
            raise HandoverError(f"handover {handover_id} is already {handover.state}{who}")
        handover.state, handover.taken_by, handover.taken_at = "taken", staff, utcnow()
        self._add(handover, "out", "taken", author=shown_as or staff)
        return handover

    def say(self, handover_id: int, staff: str, text: str) -> HandoverMessage:
        """The officer's message, queued for the citizen's channel."""
        handover = self._held_by(handover_id, staff)
        text = text.strip()
        if not text:
            raise HandoverError("an empty message is not sent")
        return self._add(handover, "out", "text", body=text[:4000], author=staff)

    def hand_back(self, handover_id: int, staff: str) -> HandoverRequest:
        """The assistant answers again, with the report in progress (if any) where it was."""
        handover = self._held_by(handover_id, staff)
        handover.state, handover.returned_at = "done", utcnow()
        self._add(handover, "out", "returned", author=staff)
        return handover

    def messages(self, handover_id: int, after_id: int = 0) -> List[HandoverMessage]:
        return list(self.session.execute(
            select(HandoverMessage).where(HandoverMessage.handover_id == handover_id, HandoverMessage.id > after_id)
            .order_by(HandoverMessage.id)
        ).scalars())

    # --- the gateway's side -------------------------------------------------------------------

    def taken_for(self, sender_ref: str) -> Optional[HandoverRequest]:
        """The handover holding this conversation, if a person has it (the assistant is paused)."""
        return self.session.execute(
            select(HandoverRequest).where(HandoverRequest.sender_ref == sender_ref, HandoverRequest.state == "taken")
            .order_by(HandoverRequest.id.desc()).limit(1)
        ).scalar_one_or_none()

    def held_conversations(self) -> List[str]:
        """The sender refs of every conversation a person holds now."""
        return list(self.session.execute(
            select(HandoverRequest.sender_ref).where(HandoverRequest.state == "taken")).scalars())

    def keep_inbound(self, handover_id: int, text: Optional[str], inbound_ref: Optional[str],
                     audio_path: Optional[str] = None) -> HandoverMessage:
        """A citizen's message for the officer; stored once per ``inbound_ref`` (the delivery)."""
        handover = self._existing(handover_id)
        kind = "voice" if audio_path else "text"
        if inbound_ref is None:
            return self._add(handover, "in", kind, body=text, audio_path=audio_path)
        message, _created = insert_or_fetch(
            self.session,
            lambda: HandoverMessage(handover_id=handover.id, direction="in", kind=kind, body=text,
                                    audio_path=audio_path, inbound_ref=inbound_ref),
            lambda: self.session.execute(
                select(HandoverMessage).where(HandoverMessage.inbound_ref == inbound_ref)).scalar_one_or_none(),
        )
        return message

    def undelivered(self, channel: str, limit: int = 100) -> List[PendingMessage]:
        """Outgoing messages on ``channel`` not yet settled, oldest first (the order they were written)."""
        rows = self.session.execute(
            select(HandoverMessage, HandoverRequest)
            .join(HandoverRequest, HandoverMessage.handover_id == HandoverRequest.id)
            .where(HandoverMessage.direction == "out", HandoverMessage.delivered_at.is_(None),
                   HandoverRequest.channel == channel)
            .order_by(HandoverMessage.id).limit(limit)
        ).all()
        return [PendingMessage(message.id, handover.id, handover.channel, handover.sender_ref, message.kind,
                               message.body, message.author, handover.report_in_progress)
                for message, handover in rows]

    def unannounced(self, channel: str, limit: int = 100) -> List[HandoverRequest]:
        """Open requests on ``channel`` whose citizen has not yet been told when a person answers."""
        announced = select(HandoverMessage.handover_id).where(HandoverMessage.kind == "waiting")
        return list(self.session.execute(
            select(HandoverRequest).where(HandoverRequest.channel == channel, HandoverRequest.state == "open",
                                          HandoverRequest.id.not_in(announced))
            .order_by(HandoverRequest.id).limit(limit)
        ).scalars())

    def announce_waiting(self, handover_id: int, opens_at: Optional[str]) -> HandoverMessage:
        """Queue "people answer from ``opens_at``" (local time, ISO); None records that none is due."""
        handover = self._existing(handover_id)
        message = self._add(handover, "out", "waiting", body=opens_at)
        if opens_at is None:  # within service hours: nothing to tell, only remembered as done
            message.delivered_at, message.outcome = utcnow(), "not_needed"
            self.session.flush()
        return message

    def mark_delivered(self, message_id: int, outcome: str) -> bool:
        """Record the outcome; True when the message is settled and will not be sent again."""
        message = self.session.get(HandoverMessage, message_id)
        if message is None:
            raise LookupError(f"no handover message {message_id}")
        message.outcome = outcome[:16]
        if outcome in SETTLED_OUTCOMES and message.delivered_at is None:
            message.delivered_at = utcnow()
        self.session.flush()
        return message.delivered_at is not None

    # --- helpers ------------------------------------------------------------------------------

    def _existing(self, handover_id: int) -> HandoverRequest:
        handover = self.get(handover_id)
        if handover is None:
            raise HandoverError(f"no handover request {handover_id}")
        return handover

    def _held_by(self, handover_id: int, staff: str) -> HandoverRequest:
        handover = self._existing(handover_id)
        if handover.state != "taken":
            raise HandoverError(f"handover {handover_id} is {handover.state}: take it first")
        if handover.taken_by != staff:
            raise HandoverError(f"handover {handover_id} is answered by {handover.taken_by}")
        return handover

    def _add(self, handover: HandoverRequest, direction: str, kind: str, body: Optional[str] = None,
             author: Optional[str] = None, audio_path: Optional[str] = None) -> HandoverMessage:
        message = HandoverMessage(handover_id=handover.id, direction=direction, kind=kind, body=body,
                                  author=author, audio_path=audio_path)
        self.session.add(message)
        self.session.flush()
        return message
