"""The console's settings (``console`` in config.yml), read once at the entry point.

Why a frozen value: lower modules get plain, typed settings and never read the configuration
themselves (the project's rule). The session key is a secret, so it comes from the environment
(``SAPALAPOR_CONSOLE_KEY``), like every other secret.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from bot.settings import ConfigError, Settings
from console.security import MIN_KEY_LENGTH

DEFAULT_PORT = 5010


@dataclass(frozen=True)
class ConsoleConfig:
    host: str
    port: int
    session_key: bytes
    session_lifetime: dt.timedelta
    secure_cookies: bool
    service_hours: str
    data_dir: Path
    tracker_store_url: str


def console_config(settings: Settings) -> ConsoleConfig:
    section = settings.section("console")
    key = section.require("session_key")
    if len(key) < MIN_KEY_LENGTH:
        raise ConfigError(f"console.session_key must be at least {MIN_KEY_LENGTH} characters long")
    return ConsoleConfig(
        host=section.get("host", "127.0.0.1"),
        port=section.get("port", DEFAULT_PORT, kind=int),
        session_key=key.encode("utf-8"),
        session_lifetime=dt.timedelta(minutes=section.get("session_minutes", 480, kind=int)),
        secure_cookies=section.flag("secure_cookies", True),
        service_hours=settings.section("handover").get("service_hours", "Senin-Jumat, 08.00-16.00 WIB"),
        data_dir=settings.data_dir,
        tracker_store_url=settings.tracker_store_url,
    )
