"""Reporters: one person on one channel, known by the keyed hash of their channel user id."""
from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Reporter, utcnow
from storage.repositories._common import insert_or_fetch, upsert


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
            # Created to the hour: the row may be made on the turn that files an anonim report,
            # and a time to the second beside the identity hash would tell who filed it (issue 13).
            lambda: Reporter(channel=channel, identity_hash=identity_hash, address=address,
                             created_at=last_inbound_hour(utcnow())),
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

    def touch_inbound(self, channel: str, identity_hash: str, at: Optional[dt.datetime] = None,
                      address: Optional[str] = None) -> Reporter:
        """Record that the person wrote to us (opens WhatsApp's 24-hour window).

        Also clears ``unreachable_at``: someone who writes again has unblocked us or opted back in.
        ``address`` (where to reply) replaces the stored one when given, in the same write.
        """
        reporter = self.get_or_create(channel, identity_hash, address)
        reporter.last_inbound_at = at or utcnow()
        reporter.unreachable_at = None
        self.session.flush()
        return reporter

    def wrote_in(self, channel: str, identity_hash: str, address: str, at: Optional[dt.datetime] = None,
                 *, window: bool = False) -> None:
        """:meth:`touch_inbound` with the address, as one statement (an upsert, no read).

        For the channels, which call it on every message: creates the reporter on first contact,
        keeps where to reply and clears ``unreachable_at``. The time of the message is kept only
        for a channel with a reply ``window`` (WhatsApp's 24 hours), and only to the hour,
        rounded down: a time to the second next to the sender's hash would tell who filed an
        *anonim* report at that second (issue 13). Rounded down, the window is taken to close up
        to an hour early, never late (a late free-form message is refused by WhatsApp).
        """
        last = last_inbound_hour(at or utcnow()) if window else None
        upsert(self.session, Reporter.__table__,
               {"channel": channel, "identity_hash": identity_hash, "address": address, "last_inbound_at": last,
                "unreachable_at": None, "created_at": last_inbound_hour(utcnow())},
               conflict=("channel", "identity_hash"),
               update={"address": "excluded", "last_inbound_at": "excluded", "unreachable_at": None})


def last_inbound_hour(at: dt.datetime) -> dt.datetime:
    """What is kept of a message's time: its hour (see :meth:`ReporterRepository.wrote_in`)."""
    return at.replace(minute=0, second=0, microsecond=0)
