"""Stopping a child server: politely, then for good (shared by every server the cluster starts)."""
from __future__ import annotations

import subprocess


def stop_process(process: subprocess.Popen, grace_seconds: float = 10.0) -> None:
    """SIGTERM, wait ``grace_seconds``, then SIGKILL: a hung server must not hang the caller."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace_seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(grace_seconds)
