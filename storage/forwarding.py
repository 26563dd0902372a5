"""The outbox: every report is forwarded once to the configured HTTP endpoint, and never lost.

Why an outbox: filing must not wait for (or fail with) a remote system. Each report gets an
``OutboxItem`` with a stable idempotency key; a worker (``python -m bot forward``) POSTs due
items and records what happened:

* 2xx: ``sent`` (the only way an item becomes sent).
* connection error, timeout, 408, 429 or 5xx: still ``pending``, ``attempts`` + 1,
  ``next_attempt_at`` pushed back (``BACKOFF_SECONDS``: 1 min, 5 min, 30 min, then hourly,
  like FixMyStreet's 5-then-30), the error kept in ``last_error``. A timeout may hide a
  delivery that did arrive, so the retry carries the *same* ``Idempotency-Key`` and the receiver
  dedupes: at-least-once sending, exactly-once acceptance.
* other 4xx (the receiver rejects the request itself): ``failed`` at once, and after
  ``MAX_ATTEMPTS`` retryable errors too. Failed items stay in the table with their error;
  ``retry_failed`` (``python -m bot forward --retry-failed``) puts them back in the queue.

:func:`forward_pending` commits after every item and holds no transaction while it waits for
the network (SQLite would otherwise block every other writer during the POST).
"""
from __future__ import annotations

import datetime as dt
import http.client
import json
import logging
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.export import forwarding_row
from storage.models import OutboxItem, Report, utcnow

log = logging.getLogger(__name__)

BACKOFF_SECONDS = (60, 300, 1800, 3600)
MAX_ATTEMPTS = 48
DEFAULT_TIMEOUT = 10.0
RETRYABLE_STATUS = frozenset({408, 425, 429})

# post(url, body, headers, timeout) -> HTTP status; raises OSError (incl. timeouts) when no
# answer came back.
Post = Callable[[str, bytes, Dict[str, str], float], int]


def idempotency_key(report: Report) -> str:
    return f"sapalapor-{report.tracking_number}"


def enqueue(session: Session, report: Report, now: Optional[dt.datetime] = None) -> OutboxItem:
    """The report's outbox item, created on first call (calling again changes nothing)."""
    key = idempotency_key(report)
    item = session.execute(select(OutboxItem).where(OutboxItem.idempotency_key == key)).scalar_one_or_none()
    if item is None:
        item = OutboxItem(report_id=report.id, idempotency_key=key, state="pending", attempts=0,
                          next_attempt_at=now or utcnow())
        session.add(item)
        session.flush()
    return item


def enqueue_new_reports(session: Session, now: Optional[dt.datetime] = None) -> int:
    """Give every report without an outbox item one; returns how many were added.

    Filing does not need to know about forwarding: the worker calls this before each round.
    """
    missing = session.execute(
        select(Report).outerjoin(OutboxItem, OutboxItem.report_id == Report.id).where(OutboxItem.id.is_(None))
    ).scalars().all()
    for report in missing:
        enqueue(session, report, now)
    return len(missing)


def payload(report: Report, key: str) -> Dict[str, object]:
    """What the endpoint receives: the LAPOR! row (rahasia flagged, never contact data) + the key."""
    row = forwarding_row(report)
    row["idempotency_key"] = key
    return row


def urllib_post(url: str, body: bytes, headers: Dict[str, str], timeout: float) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except urllib.error.URLError as error:
        reason = error.reason
        raise reason if isinstance(reason, OSError) else OSError(str(reason)) from None


def backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=BACKOFF_SECONDS[min(attempts, len(BACKOFF_SECONDS)) - 1])


@dataclass
class ForwardResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0

    @property
    def attempted(self) -> int:
        return self.sent + self.retried + self.failed


def _due_items(session: Session, now: dt.datetime, limit: int) -> List[int]:
    return list(session.execute(
        select(OutboxItem.id)
        .where(OutboxItem.state == "pending", OutboxItem.next_attempt_at <= now)
        .order_by(OutboxItem.next_attempt_at, OutboxItem.id)
        .limit(limit)
    ).scalars())


def forward_pending(session: Session, endpoint: str, token: Optional[str] = None, post: Post = urllib_post,
                    now: Optional[dt.datetime] = None, limit: int = 50,
                    timeout: float = DEFAULT_TIMEOUT,
                    still_mine: Optional[Callable[[Session], bool]] = None) -> ForwardResult:
    """Send every due outbox item once; commits the session after each item.

    ``still_mine`` (several forwarders, bot/commands/forward.py) renews this process's lease
    before each item, in the transaction that re-reads the item; the round stops as soon as the
    lease is lost, so a forwarder that stalled never sends what its successor now owns.
    """
    if not endpoint:
        raise ValueError("forwarding.endpoint is not set")
    now = now or utcnow()
    enqueue_new_reports(session, now)
    session.commit()
    result = ForwardResult()
    for item_id in _due_items(session, now, limit):
        if still_mine is not None and not still_mine(session):
            session.commit()
            log.info("forwarding lease lost; leaving the rest of the round to its new holder")
            break
        item = session.get(OutboxItem, item_id)
        session.refresh(item)
        if item.state != "pending":
            continue  # sent by a previous holder of the lease meanwhile
        report = session.get(Report, item.report_id)
        key = item.idempotency_key
        body = json.dumps(payload(report, key), ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json", "Idempotency-Key": key, "User-Agent": "SapaLapor/1"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        tracking_number = report.tracking_number
        session.commit()  # no transaction is held while waiting for the network
        error: Optional[str] = None
        status: Optional[int] = None
        try:
            status = post(endpoint, body, headers, timeout)
        except (OSError, socket.timeout, http.client.HTTPException) as exc:  # timeouts are OSErrors too
            error = f"{type(exc).__name__}: {exc}"
        item = session.get(OutboxItem, item_id)
        item.attempts += 1
        if status is not None and 200 <= status < 300:
            item.state = "sent"
            item.sent_at = utcnow()
            item.last_error = None
            result.sent += 1
            log.info("forwarded report %s (key %s) after %d attempt(s)", tracking_number, key, item.attempts)
        else:
            permanent = status is not None and 400 <= status < 500 and status not in RETRYABLE_STATUS
            item.last_error = error or f"HTTP {status}"
            if permanent or item.attempts >= MAX_ATTEMPTS:
                item.state = "failed"
                result.failed += 1
                log.error("forwarding report %s failed for good after %d attempt(s): %s",
                          tracking_number, item.attempts, item.last_error)
            else:
                item.next_attempt_at = now + backoff(item.attempts)
                result.retried += 1
                log.warning("forwarding report %s: %s; retry at %s", tracking_number, item.last_error,
                            item.next_attempt_at.isoformat())
        session.commit()
    return result


def retry_failed(session: Session, now: Optional[dt.datetime] = None) -> int:
    """Put failed items back in the queue (after the endpoint was fixed); same keys."""
    items = session.execute(select(OutboxItem).where(OutboxItem.state == "failed")).scalars().all()
    for item in items:
        item.state = "pending"
        item.attempts = 0
        item.next_attempt_at = now or utcnow()
    session.flush()
    return len(items)
