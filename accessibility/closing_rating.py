"""The satisfaction question at closing: who was asked, and taking the answer from their next message.

Why in the accessibility layer and not in the dialogue: the question goes out with the
``selesai`` status update, outside any conversation, and the answer comes back as an ordinary
next message. The layer sees every message first, so it can take a rating there without a new
story in the Rasa training data: the next message that reads as a rating (a digit, a number
word, "puas", a rating button) is stored as the report's ``after_closed`` rating and thanked;
anything else goes on to Rasa as usual. Either way the question is settled and never asked again.

Who is waiting is kept in memory (one dictionary lookup per turn) and loaded once from storage,
so a restart keeps open questions; questions older than :data:`ANSWER_WITHIN` are not waited for.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import re
import threading
import weakref
from typing import Any, Dict, Optional, Tuple

from bot.answers import rating_from
from storage.models import utcnow
from storage.repositories.closing_ratings import ClosingRatingRepository

ANSWER_WITHIN = dt.timedelta(days=14)
# A rating button's payload ('/affirm{"rating": 4}'), as Telegram sends it back.
_RATING_PAYLOAD = re.compile(r'"rating"\s*:\s*"?([1-5])"?')


def rating_of(text: Optional[str]) -> Optional[int]:
    """1-5 from a rating button's payload or from what people write ("4", "empat", "puas")."""
    if not text:
        return None
    payload = _RATING_PAYLOAD.search(text)
    if payload:
        return int(payload.group(1))
    if text.lstrip().startswith("/"):
        return None  # another command (/suara, /status) is not an answer
    return rating_from(text)


class ClosingRatings:
    """The open closing questions of one database, shared by every layer on it in this process."""

    def __init__(self, database: Any) -> None:
        self._database = database
        self._waiting: Optional[Dict[Tuple[str, str], int]] = None
        self._lock = threading.Lock()

    def _loaded(self) -> Dict[Tuple[str, str], int]:
        with self._lock:
            if self._waiting is None:
                with self._database.session() as session:
                    rows = ClosingRatingRepository(session).waiting(utcnow() - ANSWER_WITHIN)
                self._waiting = {(channel, hashed): report_id for channel, hashed, report_id in rows}
            return self._waiting

    async def waiting_now(self, channel: str, identity_hash: str) -> Optional[int]:
        """:meth:`waiting_for` for the event loop: the one load from storage runs in a thread."""
        if self._waiting is None:
            await asyncio.to_thread(self._loaded)
        return self.waiting_for(channel, identity_hash)

    def asked(self, channel: str, identity_hash: str, report_id: int) -> None:
        """The ``selesai`` update with the question reached the citizen (synchronous)."""
        with self._database.session() as session:
            ClosingRatingRepository(session).ask(report_id, channel, identity_hash)
        waiting = self._loaded()
        with self._lock:
            waiting[(channel, identity_hash)] = report_id

    def waiting_for(self, channel: str, identity_hash: str) -> Optional[int]:
        """The report whose closing rating this citizen's next message may give, or None."""
        waiting = self._loaded()
        with self._lock:
            return waiting.get((channel, identity_hash))

    def settle(self, channel: str, identity_hash: str, score: Optional[int]) -> None:
        """Store the answer (None: the message was something else) and stop waiting (synchronous)."""
        waiting = self._loaded()
        with self._lock:
            report_id = waiting.pop((channel, identity_hash), None)
        if report_id is None:
            return
        with self._database.session() as session:
            ClosingRatingRepository(session).settle(report_id, score)


_SHARED: "weakref.WeakKeyDictionary[Any, ClosingRatings]" = weakref.WeakKeyDictionary()
_SHARED_LOCK = threading.Lock()


def closing_ratings_for(database: Any) -> ClosingRatings:
    """One :class:`ClosingRatings` per database object: the notifier and the turns see the same."""
    with _SHARED_LOCK:
        found = _SHARED.get(database)
        if found is None:
            found = _SHARED[database] = ClosingRatings(database)
        return found
