"""Login throttling: too many failed sign-ins pause further tries for a while.

Two counters: per username (kept in the audit log, so every console process and a restart see
the same count: an attacker cannot reset it) and per client address (in memory: it only slows
one address spraying many usernames). A success does not erase failures of the username, so
guessing cannot interleave with a colleague's sign-in to reset the count.
"""
from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict, deque
from typing import Callable, Deque, Dict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import AuditEntry, utcnow

WINDOW = dt.timedelta(minutes=15)
MAX_FAILURES_PER_USERNAME = 5
MAX_FAILURES_PER_ADDRESS = 20
FAILED = "login_failed"


def failures_of(session: Session, username: str, now: dt.datetime = None) -> int:
    now = now or utcnow()
    return session.execute(
        select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == FAILED, AuditEntry.target == username.strip().lower()[:120],
            AuditEntry.at >= now - WINDOW)
    ).scalar_one()


class AddressThrottle:
    """Failed sign-ins per client address within the window, in this process."""

    def __init__(self, limit: int = MAX_FAILURES_PER_ADDRESS, window: dt.timedelta = WINDOW,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window.total_seconds()
        self.clock = clock
        self._failures: Dict[str, Deque[float]] = defaultdict(deque)

    def _recent(self, address: str) -> Deque[float]:
        failures = self._failures[address]
        while failures and failures[0] < self.clock() - self.window:
            failures.popleft()
        return failures

    def blocked(self, address: str) -> bool:
        return len(self._recent(address)) >= self.limit

    def failed(self, address: str) -> None:
        self._recent(address).append(self.clock())
        if len(self._failures) > 10_000:  # bounded: forget the addresses with no recent failure
            for stale in [key for key, value in self._failures.items() if not value]:
                del self._failures[stale]
