"""Fixtures shared by the bot tests."""
from __future__ import annotations

import os
import shutil

import pytest

from bot.cluster.redis_server import running_redis


@pytest.fixture(scope="session")
def redis_url():
    """A real Redis server of its own (the Rasa servers' shared lock store)."""
    if shutil.which("redis-server") is None and not os.environ.get("CI"):
        pytest.skip("redis-server is not installed (bash test.sh installs it)")
    with running_redis() as url:
        yield url
