"""Unguessable, expiring URLs under which this server hands a file to a provider (WhatsApp media)."""
from __future__ import annotations

import datetime as dt
import secrets
from typing import Optional

from sqlalchemy import delete
from sqlalchemy.orm import Session

from storage.models import MediaLink, utcnow


class MediaLinkRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def create(self, path: str, content_type: str, ttl_seconds: int, now: Optional[dt.datetime] = None) -> str:
        """A new token (``secrets.token_urlsafe(32)``, 43 characters) valid for ``ttl_seconds``."""
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        token = secrets.token_urlsafe(32)
        expires = (now or utcnow()) + dt.timedelta(seconds=ttl_seconds)
        self.session.add(MediaLink(token=token, path=str(path), content_type=content_type, expires_at=expires))
        self.session.flush()
        return token

    def resolve(self, token: str, now: Optional[dt.datetime] = None) -> Optional[MediaLink]:
        """The link if the token exists and has not expired; None otherwise."""
        if not token:
            return None
        link = self.session.get(MediaLink, token)
        if link is None or link.expires_at <= (now or utcnow()):
            return None
        return link

    def purge_expired(self, now: Optional[dt.datetime] = None) -> int:
        result = self.session.execute(
            delete(MediaLink)
            .where(MediaLink.expires_at <= (now or utcnow()))
            .execution_options(synchronize_session=False)
        )
        return result.rowcount
