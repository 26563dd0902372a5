"""The web chat's mailbox: per device, what its page has not confirmed yet (``web_replies``).

Why bounded and emptied on confirmation: the page keeps its own transcript; the server only
needs to hold what may have been lost on the way (a closed tab, a dropped connection, a
gateway restart). So a confirmed item loses its content at once (its row stays, empty, so that
its id is never handed out again: SQLite reuses the highest id after a delete), a device keeps
at most :data:`MAX_PER_DEVICE` rows, and :meth:`WebReplyLog.purge` forgets rows older than a day.
"""
from __future__ import annotations

import datetime as dt
from typing import List, Optional, Sequence, Union

from sqlalchemy import delete, func, null, select, update
from sqlalchemy.orm import Session

from storage.models import WebReply, utcnow
from storage.repositories._common import upsert

MAX_PER_DEVICE = 100
SEEN = "seen"  # the kind of a confirmed item: no text, no voice, only its id


class WebReplyLog:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, identity_hash: str, source: str, kind: str, body: dict,
            voice_ogg: Optional[bytes] = None) -> Optional[int]:
        """Store one item; returns its id, or None when ``source`` was stored before (a retried turn)."""
        inserted = upsert(
            self.session, WebReply.__table__,
            {"identity_hash": identity_hash, "source": source[:120], "kind": kind, "body": body,
             "voice_ogg": voice_ogg, "created_at": utcnow()},
            conflict=("identity_hash", "source"), returning="id",
        ).scalar()
        if inserted is None:
            return None
        self._bound(identity_hash)
        return inserted

    def after(self, identity_hash: str, last_id: int, limit: int = MAX_PER_DEVICE) -> List[WebReply]:
        """The device's items newer than ``last_id``, oldest first."""
        return list(self.session.execute(
            select(WebReply).where(WebReply.identity_hash == identity_hash, WebReply.id > last_id,
                                   WebReply.kind != SEEN)
            .order_by(WebReply.id).limit(limit)).scalars())

    def get(self, identity_hash: str, ids: Sequence[int]) -> List[WebReply]:
        if not ids:
            return []
        return list(self.session.execute(
            select(WebReply).where(WebReply.identity_hash == identity_hash, WebReply.id.in_(list(ids)))
            .order_by(WebReply.id)).scalars())

    def acknowledge(self, identity_hash: str, up_to: int) -> int:
        """The page has every item up to ``up_to``: their content is erased; returns how many."""
        return self.session.execute(
            update(WebReply).where(WebReply.identity_hash == identity_hash, WebReply.id <= up_to,
                                   WebReply.kind != SEEN)
            .values(kind=SEEN, body={}, voice_ogg=null())
            .execution_options(synchronize_session=False)).rowcount

    def forget(self, identity_hash: str) -> int:
        """Everything of this device (a kiosk reset): returns how many items were deleted."""
        return self.session.execute(
            delete(WebReply).where(WebReply.identity_hash == identity_hash)
            .execution_options(synchronize_session=False)).rowcount

    def purge(self, older_than: Union[dt.datetime, dt.timedelta]) -> int:
        """Items no page fetched before the cut-off (time or age); returns how many were deleted."""
        cutoff = utcnow() - older_than if isinstance(older_than, dt.timedelta) else older_than
        return self.session.execute(
            delete(WebReply).where(WebReply.created_at < cutoff)
            .execution_options(synchronize_session=False)).rowcount

    def count(self, identity_hash: Optional[str] = None) -> int:
        """Items still to show (confirmed ones do not count)."""
        query = select(func.count()).select_from(WebReply).where(WebReply.kind != SEEN)
        if identity_hash is not None:
            query = query.where(WebReply.identity_hash == identity_hash)
        return int(self.session.execute(query).scalar_one())

    def _bound(self, identity_hash: str) -> None:
        """At most MAX_PER_DEVICE items per device: the oldest go first."""
        keep_from = self.session.execute(
            select(WebReply.id).where(WebReply.identity_hash == identity_hash)
            .order_by(WebReply.id.desc()).offset(MAX_PER_DEVICE - 1).limit(1)).scalar()
        if keep_from is not None:
            self.session.execute(
                delete(WebReply).where(WebReply.identity_hash == identity_hash, WebReply.id < keep_from)
                .execution_options(synchronize_session=False))
