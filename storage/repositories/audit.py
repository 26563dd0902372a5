"""The console's audit log: who did what, when.

Written in the same transaction as the change it records, so a change never exists without
its entry. Callers pass only what names the object (a tracking number, a handover id, an
account's username); never a phone number, chat id or password.
"""
from __future__ import annotations

from typing import List, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import AuditEntry


class AuditLog:
    def __init__(self, session: Session) -> None:
        self.session = session

    def record(self, actor: str, action: str, target: Optional[str] = None, detail: Optional[str] = None) -> AuditEntry:
        entry = AuditEntry(actor=actor[:64], action=action[:40], target=(target or None) and target[:120],
                           detail=detail)
        self.session.add(entry)
        self.session.flush()
        return entry

    def recent(self, limit: int = 200, actor: Optional[str] = None) -> List[AuditEntry]:
        query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
        if actor:
            query = query.where(AuditEntry.actor == actor)
        return list(self.session.execute(query).scalars())
