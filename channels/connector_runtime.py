"""What every connector is handed once per process: settings, the database, the public URL.

Why here: the gateway (the entry point) reads config.yml and builds one :class:`Runtime` with
:func:`runtime_for`, which migrates the database once, before the first webhook call; every
connector gets it through ``from_runtime`` (channels/connector.py), so none reads config itself.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from storage.db import Database

if TYPE_CHECKING:  # the loader's type only: this module never reads config.yml itself
    from bot.settings import Settings

_migrated: set = set()
_lock = threading.Lock()
# The replica name when only one gateway runs (tests, ``bash run.sh`` before its port is known).
DEFAULT_REPLICA = "gateway"


@dataclass(frozen=True)
class Runtime:
    settings: "Settings"
    database: Database
    # This gateway among its replicas (host and port): names its claims on deliveries and its
    # leases on background jobs. Unique among live replicas, the same after a restart, so a
    # restarted gateway resumes its own work at once and leaves the others' alone.
    replica: str = DEFAULT_REPLICA

    @property
    def public_url(self) -> Optional[str]:
        url = self.settings.section("server").get("public_url")
        return url.rstrip("/") if url else None

    @property
    def retry_seconds(self) -> float:
        """Wait before the first retry of a message whose turn failed (server.retry_seconds)."""
        return float(self.settings.section("server").get("retry_seconds", 30.0, kind=float))

    @property
    def status_update_seconds(self) -> float:
        """Between two rounds of the status-update loop (server.status_update_seconds)."""
        return float(self.settings.section("server").get("status_update_seconds", 60.0, kind=float))

    def public(self, path: str) -> Optional[str]:
        """The URL a provider uses for ``path`` on this server (behind a proxy too)."""
        return f"{self.public_url}{path}" if self.public_url else None


def runtime_for(settings: "Settings", replica: str = DEFAULT_REPLICA) -> Runtime:
    database = Database.shared(settings.database_url)
    with _lock:
        if settings.database_url not in _migrated:
            database.migrate()
            _migrated.add(settings.database_url)
    return Runtime(settings, database, replica)
