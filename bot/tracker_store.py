"""Rasa's SQL tracker store, with the conversation kept in memory between turns.

Why: Rasa 3.6's ``SQLTrackerStore`` reloads and re-parses a conversation from the database on
every message and, on every save, counts the stored events with a sub-query before appending
the new ones; on SQLite it also opens a new connection for each of these. That was about 55 ms
of a 70 ms turn in the Rasa process (bench/README.md, cause 2), and it blocks the event loop
every other conversation is waiting on.

What stays the same: the table, the rows and the rules of ``SQLTrackerStore`` (a conversation is
the events since its latest ``session_started``; a save appends the events the database does not
have yet), so the purge command, Rasa's HTTP API and a restart see exactly what they saw before.
What changes: the deserialised events of recently active conversations are kept in a small
LRU, checked against the database with one indexed ``count``/``max(id)`` query before use, so a
conversation changed or deleted by another process (``purge-conversations``) is reloaded, never
served stale. An entry also expires when its conversation has been quiet for ``cache_idle_seconds``
(default 15 minutes, well inside the purge's one hour for ``anonim`` conversations), so memory
does not keep what the database has let go. Events are shared between trackers built from one
entry; Rasa treats events as immutable (it deep-copies before changing one).
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Text, Tuple

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import Event, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from bot.rasa_patches import tracker_twin
from shared.lru import BoundedLru

logger = logging.getLogger(__name__)

DEFAULT_CACHE_SIZE = 200
DEFAULT_CACHE_IDLE_SECONDS = 900.0


@dataclass
class _Entry:
    events: List[Event]  # the conversation's events since its latest session start
    rows: int  # all rows of this sender in the table, every session
    max_id: Optional[int]
    used: float  # time.monotonic() of the last use
    tracker: Optional[DialogueStateTracker] = None  # those events replayed; handed out as copies
    session_start: Optional[float] = None  # latest_session_start(events)


def latest_session_start(events: Iterable[Event]) -> Optional[float]:
    """The timestamp of the latest ``session_started`` event, None when there is none."""
    starts = [event.timestamp for event in events if isinstance(event, SessionStarted)]
    return max(starts) if starts else None


def events_since(events: Iterable[Event], start: Optional[float]) -> List[Event]:
    """The events ``SQLTrackerStore.retrieve`` returns of a session started at ``start`` (all of
    them when None): the SQL filter keeps timestamps from the latest session start's on."""
    if start is None:
        return list(events)
    return [event for event in events if event.timestamp is not None and event.timestamp >= start]


def event_row(sender_id: Text, event: Event) -> Dict[str, Any]:
    """One ``events`` row, column for column as ``SQLTrackerStore.save`` writes it."""
    data = event.as_dict()
    return {
        "sender_id": sender_id,
        "type_name": event.type_name,
        "timestamp": data.get("timestamp"),
        "intent_name": (data.get("parse_data") or {}).get("intent", {}).get(INTENT_NAME_KEY),
        "action_name": data.get("name"),
        "data": json.dumps(data),
    }


def _sqlite_pragmas(connection, _record) -> None:
    # WAL: a save no longer waits for readers (the purge command), and a commit costs one write.
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


class CachedSQLTrackerStore(SQLTrackerStore):
    """``type: bot.tracker_store.CachedSQLTrackerStore`` in endpoints.yml, with SQLTrackerStore's keys."""

    def __init__(
        self,
        *args: Any,
        cache_size: int = DEFAULT_CACHE_SIZE,
        cache_idle_seconds: float = DEFAULT_CACHE_IDLE_SECONDS,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.cache_size = max(0, int(cache_size))
        self.cache_idle_seconds = float(cache_idle_seconds)
        # With cache_size 0 nothing is ever put (``_remember``); the helper needs a capacity of 1.
        self._cache: "BoundedLru[str, _Entry]" = BoundedLru(max(1, self.cache_size))
        self._table = table = self.SQLEvent.__table__
        sender = sa.bindparam("sender")
        # Built once: composing a select costs more than running it on an indexed column.
        self._fingerprint_query = sa.select(sa.func.count(), sa.func.max(table.c.id)).where(table.c.sender_id == sender)
        start = (
            sa.select(sa.func.max(table.c.timestamp))
            .where(table.c.sender_id == sender, table.c.type_name == SessionStarted.type_name)
            .scalar_subquery()
        )
        self._latest_session_count_query = sa.select(sa.func.count()).where(
            table.c.sender_id == sender, sa.or_(table.c.timestamp >= start, start.is_(None))
        )
        self._insert = table.insert()
        if self.engine.dialect.name == "sqlite":
            # Rasa's engine uses NullPool on SQLite: a new connection (and schema read) per query.
            url = self.engine.url
            self.engine.dispose()
            self.engine = sa.create_engine(
                url, future=True, pool_size=2, max_overflow=8, poolclass=sa.pool.QueuePool,
                connect_args={"check_same_thread": False},
            )
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    # ----------------------------------------------------------------------------- cache
    def _fingerprint(self, connection, sender_id: Text) -> Tuple[int, Optional[int]]:
        rows, max_id = connection.execute(self._fingerprint_query, {"sender": sender_id}).one()
        return int(rows), max_id

    def _stored_in_latest_session(self, connection, sender_id: Text) -> int:
        """``SQLTrackerStore._additional_events``' count, on this connection."""
        return int(connection.execute(self._latest_session_count_query, {"sender": sender_id}).scalar_one())

    def _entry(self, sender_id: Text, fingerprint: Tuple[int, Optional[int]]) -> Optional[_Entry]:
        """The cached entry if it still matches the database; drops stale and idle entries."""
        now = time.monotonic()
        self._cache.evict_oldest_while(lambda oldest: now - oldest.used > self.cache_idle_seconds)
        entry = self._cache.get(sender_id)
        if entry is None:
            return None
        if (entry.rows, entry.max_id) != fingerprint:
            self._cache.pop(sender_id)
            return None
        entry.used = now
        return entry

    def _remember(self, sender_id: Text, events: List[Event], fingerprint: Tuple[int, Optional[int]],
                  tracker: Optional[DialogueStateTracker], session_start: Optional[float]) -> None:
        if self.cache_size == 0 or fingerprint[0] == 0:
            self._cache.pop(sender_id, None)
            return
        kept = None
        if tracker is not None and len(tracker.events) == len(events) and self._same_slots(tracker):
            kept = tracker_twin(tracker, max_event_history=self.max_event_history)
        self._cache.put(sender_id, _Entry(events, fingerprint[0], fingerprint[1], time.monotonic(), kept, session_start))

    def _same_slots(self, tracker: DialogueStateTracker) -> bool:
        return list(tracker.slots) == [slot.name for slot in self.domain.slots]

    def _tracker(self, sender_id: Text, entry: _Entry) -> DialogueStateTracker:
        # A copy of the kept tracker is the replay of its events (bot/rasa_patches.py, 7) without
        # replaying them: the one part of a turn that grew with the conversation here (issue 18).
        if entry.tracker is not None and entry.tracker.sender_id == sender_id and self._same_slots(entry.tracker):
            return tracker_twin(entry.tracker)
        return DialogueStateTracker.from_events(
            sender_id, list(entry.events), self.domain.slots, max_event_history=self.max_event_history
        )

    def forget(self, sender_id: Optional[Text] = None) -> None:
        """Drop one conversation (or all) from memory; the database is untouched."""
        if sender_id is None:
            self._cache.clear()
        else:
            self._cache.pop(sender_id, None)

    # ------------------------------------------------------------------ TrackerStore API
    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        with self.engine.connect() as connection:
            fingerprint = self._fingerprint(connection, sender_id)
        entry = self._entry(sender_id, fingerprint)
        if entry is not None:
            return self._tracker(sender_id, entry)
        if fingerprint[0] == 0:
            return None
        tracker = await super().retrieve(sender_id)
        if tracker is not None:
            events = list(tracker.events)
            self._remember(sender_id, events, fingerprint, tracker, latest_session_start(events))
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        sender_id = tracker.sender_id
        events = list(tracker.events)
        with self.engine.begin() as connection:
            entry = self._entry(sender_id, self._fingerprint(connection, sender_id))
            stored = len(entry.events) if entry is not None else self._stored_in_latest_session(connection, sender_id)
            added = events[stored:]
            new = [event_row(sender_id, event) for event in added]
            if new:
                connection.execute(self._insert, new)
            fingerprint = self._fingerprint(connection, sender_id)
        if len(events) < stored:  # a tracker that is not the stored conversation: memory must not pretend it is
            self.forget(sender_id)
        elif entry is not None and stored and events[stored - 1] is entry.events[-1] and \
                not any(isinstance(event, SessionStarted) for event in added):
            # The cached session continued (its last event is the tracker's, by identity): only
            # the new events are filtered. Scanning every event of the session, twice, on every
            # save was the part of a turn that still grew with the conversation (issue 18).
            latest = entry.events + events_since(added, entry.session_start)
            self._remember(sender_id, latest, fingerprint, tracker, entry.session_start)
        else:
            start = latest_session_start(events)
            self._remember(sender_id, events_since(events, start), fingerprint, tracker, start)
        logger.debug("Tracker with sender_id '%s' stored to database (%d new events)", sender_id, len(new))
