"""What every connector loads once per process: settings, the database, the public URL.

Why here: connectors are built by their Rasa input-channel constructor, ``from_credentials``,
with nothing beyond it (channels/gateway.py builds them so), while our settings live in
config.yml (secrets from the environment). Loading them in one place keeps the
three connectors consistent and migrates the database once, before the first webhook call.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Optional

from bot.settings import Settings, load_settings
from storage.db import Database

_migrated: set = set()
_lock = threading.Lock()


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    database: Database

    @property
    def public_url(self) -> Optional[str]:
        url = self.settings.section("server").get("public_url")
        return url.rstrip("/") if url else None

    @property
    def retry_seconds(self) -> float:
        """Wait before the first retry of a message whose turn failed (server.retry_seconds)."""
        return float(self.settings.section("server").get("retry_seconds", 30.0, kind=float))

    def public(self, path: str) -> Optional[str]:
        """The URL a provider uses for ``path`` on this server (behind a proxy too)."""
        return f"{self.public_url}{path}" if self.public_url else None


def runtime_for(settings: Settings) -> Runtime:
    database = Database.shared(settings.database_url)
    with _lock:
        if settings.database_url not in _migrated:
            database.migrate()
            _migrated.add(settings.database_url)
    return Runtime(settings, database)


def load_runtime(channel: str) -> Runtime:
    """Settings from config.yml (``SAPALAPOR_CONFIG`` picks another file) and the migrated database."""
    settings = load_settings()
    settings.section(f"channels.{channel}")  # a malformed section fails here, naming the key
    return runtime_for(settings)
