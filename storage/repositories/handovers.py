"""Requests to talk to a person."""
from __future__ import annotations

from typing import List, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import HandoverRequest


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
