"""A throw-away Redis server on loopback: ``with running_redis() as url: ...``.

Why a real server: the Rasa servers of a cluster share Rasa's Redis lock store, whose
behaviour (lock tickets, expiry) is Redis's own; nothing in-process stands in for it.
"""
from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator

from bot.cluster.processes import stop_process


class RedisUnavailable(RuntimeError):
    """redis-server is not installed; the message says how to install it."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def running_redis(database: int = 1, timeout: float = 20.0) -> Iterator[str]:
    """Start redis-server in a temporary folder (no persistence); yield ``redis://127.0.0.1:P/db``."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RedisUnavailable("redis-server is missing: apt-get install -y redis-server (test.sh does this)")
    folder = Path(tempfile.mkdtemp(prefix="sapalapor-redis-"))
    port = _free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(folder), "--logfile", str(folder / "redis.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RedisUnavailable(f"redis-server did not start: {(folder / 'redis.log').read_text()[-500:]}")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/{database}"
    finally:
        stop_process(process)
        shutil.rmtree(folder, ignore_errors=True)
