"""The satisfaction question asked with a ``selesai`` status update, until the next message settles it."""
from __future__ import annotations

import datetime as dt
from typing import List, Optional, Tuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import ClosingRatingRequest, utcnow
from storage.repositories._common import insert_or_fetch
from storage.repositories.ratings import RatingRepository


class ClosingRatingRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def ask(self, report_id: int, channel: str, identity_hash: str) -> ClosingRatingRequest:
        """The question went out; asking again for the same report keeps the first request."""
        request, _created = insert_or_fetch(
            self.session,
            lambda: ClosingRatingRequest(report_id=report_id, channel=channel, identity_hash=identity_hash),
            lambda: self.session.execute(select(ClosingRatingRequest).where(
                ClosingRatingRequest.report_id == report_id)).scalar_one_or_none(),
        )
        return request

    def waiting(self, since: dt.datetime) -> List[Tuple[str, str, int]]:
        """(channel, identity hash, report id) of questions asked after ``since`` and not settled."""
        rows = self.session.execute(
            select(ClosingRatingRequest.channel, ClosingRatingRequest.identity_hash, ClosingRatingRequest.report_id)
            .where(ClosingRatingRequest.settled_at.is_(None), ClosingRatingRequest.asked_at >= since)
            .order_by(ClosingRatingRequest.asked_at)
        ).all()
        return [(channel, hashed, report_id) for channel, hashed, report_id in rows]

    def settle(self, report_id: int, score: Optional[int]) -> None:
        """The next message arrived: store its rating as ``after_closed`` (if it was one), close the question."""
        request = self.session.execute(select(ClosingRatingRequest).where(
            ClosingRatingRequest.report_id == report_id)).scalar_one_or_none()
        if request is None or request.settled_at is not None:
            return
        if score is not None:
            RatingRepository(self.session).record(report_id, score, stage="after_closed")
        request.settled_at = utcnow()
        self.session.flush()
