"""Everything the accessibility layer remembers about a citizen between turns, behind one door.

Why one store: the profile (voice, simple language, speed), the choices last shown (so "dua"
picks the second button), what they were last asked (so a voice note is heard as that kind of
answer) and whether they owe a closing rating were kept in three places, with a session lambda
threaded through the channels. Here they sit together, and a channel sees three steps only:

* :meth:`UserState.load_in` inside the transaction a channel opens when a message arrives;
* :meth:`UserState.after_rasa` once a Rasa turn ran (the action server may have changed the
  profile in its own process, so the remembered copy is dropped);
* :meth:`UserState.after_turn`: what is left to store (the choices just shown), as a function
  of a session for the transaction that marks the delivery handled, or None.

Memory is bounded (``shared.lru``); storage (``storage.repositories.profiles``) is the record.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from accessibility.closing_rating import closing_ratings_for
from accessibility.profiles import Preferences, ProfileStore
from shared.lru import BoundedLru

logger = logging.getLogger(__name__)

NOT_SEEN = object()  # this process has shown this citizen nothing since it started


@dataclass
class Shown:
    """What one user saw last: for number choices, /pelan repeats and voice on own replies."""

    buttons: list = field(default_factory=list)
    messages: list = field(default_factory=list)
    can_send_voice: bool = False
    expects: Optional[str] = None  # the answer kind the last question declared (bot reply "expects")


class UserState:
    def __init__(self, database: Any, defaults: Preferences, remember: int = 10_000) -> None:
        self.profiles = ProfileStore(database, defaults)
        self.closing_ratings = closing_ratings_for(database)
        self._shown: BoundedLru = BoundedLru(remember)
        # Choices shown and not yet stored on the profile (see show and after_turn). Not an LRU:
        # an entry lives from a turn's replies to its "handled" mark (or the next turn), and
        # dropping one unstored would lose the choices of someone the memory no longer holds.
        self._unsaved: dict = {}

    # --------------------------------------------------------------------------- profile
    def cached_profile(self, channel: str, identity_hash: str) -> Optional[Preferences]:
        return self.profiles.cached(channel, identity_hash)

    def profile(self, channel: str, identity_hash: str) -> Preferences:
        """Remembered or read (synchronous: async callers use a thread)."""
        return self.profiles.get(channel, identity_hash)

    def update_profile(self, channel: str, identity_hash: str, **changes: Any) -> Preferences:
        return self.profiles.update(channel, identity_hash, **changes)

    def load_in(self, session: Any, channel: str, identity_hash: str) -> Preferences:
        """Read the profile in the channel's arrival transaction, so the turn needs no read of its own."""
        return self.profiles.load(session, channel, identity_hash)

    def after_rasa(self, channel: str, identity_hash: str) -> None:
        """A Rasa turn ran: the action server may have changed the profile, so it is read again next time."""
        self.profiles.forget(channel, identity_hash)

    # ---------------------------------------------------------------------- what was shown
    def shown(self, channel: str, identity_hash: str, default: Any = None) -> Any:
        """What this citizen saw last; ``Shown()`` (or ``default``) when this process showed nothing."""
        return self._shown.get((channel, identity_hash), Shown() if default is None else default)

    def remembered(self) -> int:
        """How many citizens' last replies this process remembers (bounded by ``remember``)."""
        return len(self._shown)

    def show(self, channel: str, identity_hash: str, shown: Shown) -> None:
        """Remember a turn's replies; changed choices are kept for :meth:`after_turn` to store."""
        key = (channel, identity_hash)
        previous = self._shown.get(key, NOT_SEEN)
        self._shown.put(key, shown)
        if previous is NOT_SEEN or previous.buttons != shown.buttons:
            # Stored only when they change: most turns cost no write. Stored after the replies
            # went out, in the transaction that marks the delivery handled (after_turn): this
            # process answers the next turn from memory, and the stored copy matters only after
            # a restart, so neither the reply nor the database waits for a write of its own.
            self._unsaved[key] = list(shown.buttons)

    # ------------------------------------------------------------------------- after the turn
    def after_turn(self, channel: str, identity_hash: str) -> Optional[Callable[[Any], None]]:
        """What is left to store, as a function of a session (None: nothing). Taken once.

        The caller runs it in a transaction it commits anyway (a channel: the one that marks
        the delivery handled).
        """
        buttons = self._unsaved.pop((channel, identity_hash), NOT_SEEN)
        if buttons is NOT_SEEN:
            return None
        return lambda session: self.profiles.set_choices_in(session, channel, identity_hash, buttons or None)

    def store_now(self, channel: str, identity_hash: str) -> None:
        """Store now what :meth:`after_turn` would have (nobody took it); synchronous, errors logged."""
        buttons = self._unsaved.pop((channel, identity_hash), NOT_SEEN)
        if buttons is NOT_SEEN:
            return
        try:
            self.profiles.update(channel, identity_hash, last_choices=buttons or None)
        except Exception:  # noqa: BLE001 - the replies are out; only a restart now would lose them
            logger.exception("the choices shown on %s could not be stored on the profile", channel)
