"""``python -m bot purge-conversations``: keep Rasa's conversation store to what it must hold.

Why: Rasa's tracker store keeps every message of a conversation under its sender id (a keyed
hash, never a phone number). A conversation in which *anonim* was chosen would still link that
id to the anonymous report it filed (its text, its tracking number), and *anonim* must mean that
no identity is kept at all. So such a conversation is deleted once it has gone quiet; every
other conversation is deleted after a retention period (UU 27/2022: no longer than needed).
Reports, profiles and measurements live in our own tables and are not touched. The run command
runs this every hour; a deployment without it runs it from cron.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Iterable, Set

from sqlalchemy import bindparam, create_engine, inspect, text
from sqlalchemy.engine import Engine

from bot.settings import load_settings

log = logging.getLogger(__name__)
LEASE = "purge-conversations"


@dataclass(frozen=True)
class Purged:
    anonymous: int
    expired: int


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "purge-conversations",
        help="delete stored conversations that filed an anonymous report, and old ones",
    )
    parser.add_argument("--anonymous-after-minutes", type=float, default=60.0,
                        help="quiet time after which a conversation that chose anonim is deleted (default 60)")
    parser.add_argument("--retention-days", type=float, default=30.0,
                        help="any conversation quiet for this long is deleted (default 30)")
    parser.add_argument("--loop", action="store_true", help="keep running, one round every --interval seconds")
    parser.add_argument("--interval", type=float, default=3600.0, help="seconds between rounds with --loop")
    parser.set_defaults(func=run)


def run(args) -> int:
    """One round, or with ``--loop`` one per interval on whichever replica holds the lease.

    Deleting is idempotent, so two replicas would do no harm but double work and logs; the
    ``purge-conversations`` lease (storage/leases.py, in our own database) lets one run a round.
    """
    from storage.db import Database
    from storage.leases import JobLease, holder_id

    settings = load_settings(args.config)
    engine = create_engine(settings.tracker_store_url, future=True)
    lease = JobLease(Database.shared(settings.database_url), LEASE, holder_id(), max(3 * args.interval, 120.0))
    while True:
        if not args.loop or lease.held_now():
            purged = purge(engine, time.time(), args.anonymous_after_minutes * 60, args.retention_days * 86400)
            print(f"Deleted {purged.anonymous} conversation(s) that chose anonim and {purged.expired} older one(s).")
        else:
            log.debug("another replica holds the %s lease; waiting", LEASE)
        if not args.loop:
            return 0
        time.sleep(args.interval)


def purge(engine: Engine, now: float, anonymous_quiet_seconds: float, retention_seconds: float) -> Purged:
    """Delete the events of quiet anonymous conversations and of expired ones; returns the counts."""
    if not inspect(engine).has_table("events"):
        return Purged(0, 0)  # Rasa has not stored any conversation yet
    with engine.begin() as connection:
        last_seen = dict(connection.execute(text("SELECT sender_id, MAX(timestamp) FROM events GROUP BY sender_id")).all())
        candidates = connection.execute(text(
            "SELECT sender_id, data FROM events WHERE type_name = 'slot' AND data LIKE '%anonim%'"
        )).all()
        anonymous = {sender for sender, data in candidates if _chose_anonim(data)}
        quiet_anonymous = {s for s in anonymous if (last_seen.get(s) or 0) < now - anonymous_quiet_seconds}
        expired = {s for s, seen in last_seen.items() if (seen or 0) < now - retention_seconds} - quiet_anonymous
        _delete(connection, quiet_anonymous | expired)
    if quiet_anonymous or expired:
        log.info("purged %d anonymous and %d expired conversation(s) from the tracker store",
                 len(quiet_anonymous), len(expired))
    return Purged(len(quiet_anonymous), len(expired))


def _chose_anonim(data: str) -> bool:
    try:
        event = json.loads(data or "{}")
    except ValueError:
        return False
    return event.get("name") == "privacy" and event.get("value") == "anonim"


def _delete(connection, senders: Iterable[str]) -> None:
    chosen: Set[str] = set(senders)
    if not chosen:
        return
    statement = text("DELETE FROM events WHERE sender_id IN :senders").bindparams(
        bindparam("senders", expanding=True)
    )
    chosen_list = sorted(chosen)
    for start in range(0, len(chosen_list), 500):  # stay under SQLite's bound-parameter limit
        connection.execute(statement, {"senders": chosen_list[start:start + 500]})
