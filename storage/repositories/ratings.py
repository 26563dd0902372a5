"""Satisfaction ratings (1 to 5) asked after filing and after closing."""
from __future__ import annotations

from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import RATING_STAGES, SatisfactionRating, utcnow
from storage.repositories._common import insert_or_fetch


class RatingRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def record(self, report_id: int, score: int, stage: str = "after_filing") -> SatisfactionRating:
        """Store the score; rating the same report at the same stage again replaces the score."""
        if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
            raise ValueError(f"score must be an integer from 1 to 5, got {score!r}")
        if stage not in RATING_STAGES:
            raise ValueError(f"stage {stage!r} is not one of {RATING_STAGES}")
        rating, created = insert_or_fetch(
            self.session,
            lambda: SatisfactionRating(report_id=report_id, stage=stage, score=score),
            lambda: self.get(report_id, stage),
        )
        if not created:
            rating.score = score
            rating.created_at = utcnow()
            self.session.flush()
        return rating

    def get(self, report_id: int, stage: str = "after_filing") -> Optional[SatisfactionRating]:
        return self.session.execute(
            select(SatisfactionRating).where(
                SatisfactionRating.report_id == report_id, SatisfactionRating.stage == stage
            )
        ).scalar_one_or_none()
