"""Fixtures shared by every test package.

* A guard that fails any test whose code connects to an address off this machine: the only
  fakes allowed are loopback servers standing in for Telegram, Twilio and Google TTS.
* An isolated environment (data folder, databases, identity key) set before anything loads
  the configuration, so no test touches a developer's data/.
* ``trained_model``: the Rasa model for the current training data, trained once per data
  version and shared across tests and runs (bot.rasa_project keys it by a hash).
* ``rasa_servers``: the real Rasa server and action server on loopback ports.
"""
from __future__ import annotations

import ipaddress
import os
import socket
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

# The browser tests' Chromium (web chat, console), defined here once for every package: Playwright's
# sync API refuses a second instance, so two definitions in one module's reach would clash.
from tests.support.browser import browser, page  # noqa: F401,E402

_SESSION_DIR = Path(tempfile.mkdtemp(prefix="sapalapor-tests-"))
TEST_ENV = {
    "SAPALAPOR_DATA_DIR": str(_SESSION_DIR / "data"),
    "SAPALAPOR_DATABASE_URL": f"sqlite:///{_SESSION_DIR / 'data' / 'sapalapor.db'}",
    "SAPALAPOR_TRACKER_URL": f"sqlite:///{_SESSION_DIR / 'data' / 'tracker.db'}",
    "SAPALAPOR_IDENTITY_KEY": "test-identity-key-not-secret-0123456789",
    "RASA_TELEMETRY_ENABLED": "false",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    # Tests start many connectors; each would start a speech worker. Tests that need speech
    # start it themselves (tests/channels/test_speech_warm_up.py pins the start-up wiring).
    "SAPALAPOR_STT_WARM_UP": "false",
}
for _name, _value in TEST_ENV.items():
    os.environ[_name] = _value
(_SESSION_DIR / "data").mkdir(parents=True, exist_ok=True)


class NetworkAccessBlocked(RuntimeError):
    pass


def _is_local(address) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    if not isinstance(host, str):
        return True
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False  # a host name: resolving it would already leave the machine


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _guarded_connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address):
        raise NetworkAccessBlocked(f"test tried to reach {address!r}: only loopback is allowed")
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address):
        raise NetworkAccessBlocked(f"test tried to reach {address!r}: only loopback is allowed")
    return _real_connect_ex(self, address)


socket.socket.connect = _guarded_connect
socket.socket.connect_ex = _guarded_connect_ex


@pytest.fixture(scope="session")
def session_dir() -> Path:
    return _SESSION_DIR


@pytest.fixture(scope="session")
def trained_model() -> Path:
    from bot.rasa_project import ensure_model

    return ensure_model()


@pytest.fixture(scope="session")
def rasa_servers(trained_model: Path, tmp_path_factory) -> Iterator[dict]:
    """Rasa + action server sharing one fresh SQLite database, for the whole session.

    Yields a dict: rasa_url, action_url, database_url, env (what the servers run with).
    """
    from bot.rasa_project import start_servers
    from bot.settings import load_settings
    from storage.db import Database

    runtime = tmp_path_factory.mktemp("rasa-runtime")
    env = dict(os.environ)
    env.update(
        SAPALAPOR_DATA_DIR=str(runtime / "data"),
        SAPALAPOR_DATABASE_URL=f"sqlite:///{runtime / 'data' / 'sapalapor.db'}",
        SAPALAPOR_TRACKER_URL=f"sqlite:///{runtime / 'data' / 'tracker.db'}",
    )
    settings = load_settings(environ=env)
    Database.shared(settings.database_url).migrate()
    # The category model is trained (or loaded from its cache) here, once, so the action
    # server loads it from the cache instead of training it on a test's first message.
    from storage.routing.categories import get_model

    get_model()
    servers = start_servers(settings, trained_model, runtime, env=env)
    try:
        yield {
            "rasa_url": servers.rasa_url,
            "action_url": servers.action_url,
            "database_url": settings.database_url,
            "env": env,
            "servers": servers,
        }
    finally:
        servers.stop()
