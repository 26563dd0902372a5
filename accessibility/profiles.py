"""Accessibility preferences of one channel user, over the storage profile repository.

Why a layer of its own: the pipeline needs plain values (no ORM objects crossing threads), the
defaults come from config (``accessibility.defaults``), and every write must be one short
transaction so that a voice note and a command arriving together cannot lose an update.
Calls are synchronous; async callers wrap them in ``asyncio.to_thread``.

Profiles are read on every turn, so the last known value is kept in memory, shared by every
store on one database in this process: a write through a store updates the copy in the same
step (write-through), and the database stays the record (a restart starts with an empty copy).
A profile can also change in another process (the action server, during a Rasa turn): whoever
runs that turn calls :meth:`ProfileStore.forget` afterwards, so the next read goes to the
database. ``channels.turn`` does this for every channel turn.
"""
from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import Any, Optional

from shared.lru import BoundedLru
from storage.repositories.profiles import ProfileRepository


@dataclass(frozen=True)
class Preferences:
    voice_replies: bool = False
    simple_language: bool = False
    speech_rate: str = "normal"
    # Self-described, stored only with consent, used only for aggregate statistics.
    disability: Optional[str] = None
    disability_consent: bool = False
    onboarded: bool = False
    # The user switched voice on or off themselves: a voice note then changes nothing.
    voice_chosen: bool = False
    # The buttons shown last, kept so a numbered answer still works after a restart.
    last_choices: Optional[list] = None

    def as_metadata(self) -> dict:
        """What Rasa may read in ``metadata["profile"]`` (never the disability)."""
        return {
            "voice_replies": self.voice_replies,
            "simple_language": self.simple_language,
            "speech_rate": self.speech_rate,
        }


def defaults_from_settings(settings: Any) -> Preferences:
    """The starting preferences from the settings' typed ``profile_defaults`` (validated there,
    a ConfigError naming ``accessibility.defaults.<key>``); this module never reads config itself."""
    defaults = settings.profile_defaults
    return Preferences(voice_replies=defaults.voice_replies, simple_language=defaults.simple_language,
                       speech_rate=defaults.speech_rate)


_FIELDS = (
    "voice_replies", "simple_language", "speech_rate", "disability", "disability_consent", "onboarded",
    "voice_chosen", "last_choices",
)


_NO_ROW = object()  # cached: this person has no profile row (the defaults apply)


class _Copies:
    """The last known profile per (channel, identity): a bounded LRU with a write generation."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._items: BoundedLru = BoundedLru(capacity)
        self._lock = threading.Lock()
        # Bumped by every write and forget: a read that started before one must not be kept,
        # or a slow read could put back a value a concurrent write had just replaced.
        self._generation = 0

    def generation(self) -> int:
        with self._lock:
            return self._generation

    def put_read(self, key: tuple, value: Any, generation: int) -> None:
        """Remember a value read from the database, unless something changed since the read began."""
        with self._lock:
            if generation == self._generation:
                self._items.put(key, value)

    def get(self, key: tuple) -> Any:
        """The cached Preferences, ``_NO_ROW``, or None when nothing is known."""
        return self._items.get(key)

    def put_written(self, key: tuple, value: Any) -> None:
        """Remember a value just committed by this process."""
        with self._lock:
            self._generation += 1
            self._items.put(key, value)

    def forget(self, key: tuple) -> None:
        with self._lock:
            self._generation += 1
            self._items.pop(key)


# One copy per database object, so every store (and every layer) on it sees the same values.
_COPIES: "weakref.WeakKeyDictionary[Any, _Copies]" = weakref.WeakKeyDictionary()
_COPIES_LOCK = threading.Lock()


def _copies_for(database: Any) -> _Copies:
    with _COPIES_LOCK:
        copies = _COPIES.get(database)
        if copies is None:
            copies = _COPIES[database] = _Copies()
        return copies


class ProfileStore:
    """Reads and writes :class:`Preferences` through ``storage``'s ProfileRepository."""

    def __init__(self, database: Any, defaults: Preferences = Preferences()) -> None:
        self._database = database
        self._defaults = defaults
        self._copies = _copies_for(database)

    def get(self, channel: str, identity_hash: str) -> Preferences:
        """The stored preferences, or the configured defaults for someone never seen.

        Served from memory when this process read or wrote the profile since the last
        :meth:`forget`; otherwise read (one short transaction) and remembered.
        """
        cached = self._copies.get((channel, identity_hash))
        if cached is None:
            with self._database.reading() as session:
                return self.load(session, channel, identity_hash)
        return self._defaults if cached is _NO_ROW else cached

    def cached(self, channel: str, identity_hash: str) -> Optional[Preferences]:
        """The remembered preferences, or None when only the database knows them."""
        cached = self._copies.get((channel, identity_hash))
        if cached is None:
            return None
        return self._defaults if cached is _NO_ROW else cached

    def load(self, session: Any, channel: str, identity_hash: str) -> Preferences:
        """Read the profile inside the caller's transaction and remember it.

        For a caller that opens a transaction on every turn anyway (the channels): the
        pipeline's next :meth:`get` then costs no transaction of its own.
        """
        generation = self._copies.generation()
        values = ProfileRepository(session).values(channel, identity_hash)
        preferences = None if values is None else Preferences(**{name: values[name] for name in _FIELDS})
        self._copies.put_read((channel, identity_hash), _NO_ROW if preferences is None else preferences, generation)
        return self._defaults if preferences is None else preferences

    def forget(self, channel: str, identity_hash: str) -> None:
        """Drop the remembered copy: the profile may have been changed by another process."""
        self._copies.forget((channel, identity_hash))

    def set_choices_in(self, session: Any, channel: str, identity_hash: str, choices: Optional[list]) -> None:
        """Keep the choices shown last, inside the caller's transaction (one it commits anyway).

        The remembered copy is dropped, since this store does not see that commit: the next
        read, usually the channel's :meth:`load` of the next turn, takes the stored one.
        """
        self._copies.forget((channel, identity_hash))
        ProfileRepository(session).set_choices(channel, identity_hash, choices, defaults=_values(self._defaults))

    def update(self, channel: str, identity_hash: str, *, automatic: bool = False, **changes: Any) -> Preferences:
        """Set the given fields; a new profile starts from the configured defaults.

        ``automatic``: the change is inferred (voice on after a voice note), so it yields to a
        choice the user made. ValueError on an unknown field, a bad speech rate, or a
        disability without consent (the repository enforces these, so the rules live in one place).
        The remembered copy is replaced only once the change is committed.
        """
        key = (channel, identity_hash)
        try:
            with self._database.session() as session:
                preferences = _from_row(ProfileRepository(session).update(
                    channel, identity_hash, automatic=automatic, defaults=_values(self._defaults), **changes))
        except BaseException:
            self._copies.forget(key)
            raise
        self._copies.put_written(key, preferences)
        return preferences


def _values(preferences: Preferences) -> dict:
    """The defaults a new profile row starts with (never a disability: that needs consent)."""
    return {"voice_replies": preferences.voice_replies, "simple_language": preferences.simple_language,
            "speech_rate": preferences.speech_rate}


def _from_row(row: Any) -> Preferences:
    return Preferences(**{name: getattr(row, name) for name in _FIELDS})
