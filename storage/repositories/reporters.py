"""Reporters: one person on one channel, known by the keyed hash of their channel user id."""
from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Reporter, utcnow
from storage.repositories._common import insert_or_fetch


class ReporterRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, channel: str, identity_hash: str) -> Optional[Reporter]:
        return self.session.execute(
            select(Reporter).where(Reporter.channel == channel, Reporter.identity_hash == identity_hash)
        ).scalar_one_or_none()

    def get_or_create(self, channel: str, identity_hash: str, address: Optional[str] = None) -> Reporter:
        """The reporter row, created on first contact; ``address`` replaces the stored one when given."""
        reporter, _created = insert_or_fetch(
            self.session,
            lambda: Reporter(channel=channel, identity_hash=identity_hash, address=address),
            lambda: self.get(channel, identity_hash),
        )
        if address is not None and reporter.address != address:
            reporter.address = address
            self.session.flush()
        return reporter

    def mark_unreachable(self, channel: str, identity_hash: str, at: Optional[dt.datetime] = None) -> bool:
        """Stop sending to this person (Telegram blocked, Twilio 21610). False if unknown."""
        reporter = self.get(channel, identity_hash)
        if reporter is None:
            return False
        reporter.unreachable_at = at or utcnow()
        self.session.flush()
        return True

    def touch_inbound(self, channel: str, identity_hash: str, at: Optional[dt.datetime] = None) -> Reporter:
        """Record that the person wrote to us (opens WhatsApp's 24-hour window).

        Also clears ``unreachable_at``: someone who writes again has unblocked us or opted back in.
        """
        reporter = self.get_or_create(channel, identity_hash)
        reporter.last_inbound_at = at or utcnow()
        reporter.unreachable_at = None
        self.session.flush()
        return reporter
