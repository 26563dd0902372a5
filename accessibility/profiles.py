"""Accessibility preferences of one channel user, over the storage profile repository.

Why a layer of its own: the pipeline needs plain values (no ORM objects crossing threads), the
defaults come from config (``accessibility.defaults``), and every write must be one short
transaction so that a voice note and a command arriving together cannot lose an update.
Calls are synchronous; async callers wrap them in ``asyncio.to_thread``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from bot.settings import ConfigError
from storage.repositories.profiles import SPEECH_RATES, ProfileRepository


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
    """``accessibility.defaults`` from config.yml; invalid values are a ConfigError there."""
    section = settings.section("accessibility.defaults")
    rate = section.get("speech_rate", "normal")
    if rate not in SPEECH_RATES:
        raise ConfigError(f"accessibility.defaults.speech_rate must be one of {SPEECH_RATES}, got {rate!r}")
    return Preferences(
        voice_replies=section.flag("voice_replies", False),
        simple_language=section.flag("simple_language", False),
        speech_rate=rate,
    )


_FIELDS = (
    "voice_replies", "simple_language", "speech_rate", "disability", "disability_consent", "onboarded",
    "voice_chosen", "last_choices",
)


class ProfileStore:
    """Reads and writes :class:`Preferences` through ``storage``'s ProfileRepository."""

    def __init__(self, database: Any, defaults: Preferences = Preferences()) -> None:
        self._database = database
        self._defaults = defaults

    def get(self, channel: str, identity_hash: str) -> Preferences:
        """The stored preferences, or the configured defaults for someone never seen."""
        with self._database.session() as session:
            row = ProfileRepository(session).get(channel, identity_hash)
            return self._defaults if row is None else _from_row(row)

    def update(self, channel: str, identity_hash: str, *, automatic: bool = False, **changes: Any) -> Preferences:
        """Set the given fields; a new profile starts from the configured defaults.

        ``automatic``: the change is inferred (voice on after a voice note), so it yields to a
        choice the user made. ValueError on an unknown field, a bad speech rate, or a
        disability without consent (the repository enforces these, so the rules live in one place).
        """
        with self._database.session() as session:
            repository = ProfileRepository(session)
            repository.get_or_create(channel, identity_hash, defaults=_values(self._defaults))
            return _from_row(repository.update(channel, identity_hash, automatic=automatic, **changes))


def _values(preferences: Preferences) -> dict:
    """The defaults a new profile row starts with (never a disability: that needs consent)."""
    return {"voice_replies": preferences.voice_replies, "simple_language": preferences.simple_language,
            "speech_rate": preferences.speech_rate}


def _from_row(row: Any) -> Preferences:
    return Preferences(**{name: getattr(row, name) for name in _FIELDS})
