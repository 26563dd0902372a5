"""Small helpers of the benchmark runner: the load process, medians, process memory.

Kept apart from bench.run so the runner reads as the list of measurements it makes.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional

from bot.settings import ROOT


class LoadProcess:
    """bench.load in its own process, driven one JSON line at a time."""

    def __init__(self, log_path: Path, env: Optional[Dict[str, str]] = None) -> None:
        self.log_path = log_path
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.load"],
            cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=open(log_path, "ab"), text=True, bufsize=1,
        )

    def call(self, **request: Any) -> Dict[str, Any]:
        if self.process.poll() is not None:
            raise RuntimeError(f"the load process exited (code {self.process.returncode}); see {self.log_path}")
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the load process stopped answering; see {self.log_path}")
        answer = json.loads(line)
        if not answer.get("ok"):
            raise RuntimeError(f"load command {request.get('cmd')} failed: {answer.get('error')}")
        return answer

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                self.process.stdin.flush()
                self.process.stdin.close()
                self.process.wait(timeout=15)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()


def median(values: Iterable[Optional[float]]) -> Optional[float]:
    present = [value for value in values if value is not None]
    return statistics.median(present) if present else None


def descendants(pid: int) -> List[int]:
    found: List[int] = []
    stack = [pid]
    while stack:
        current = stack.pop()
        task_dir = Path(f"/proc/{current}/task")
        try:
            tasks = list(task_dir.iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in children:
                found.append(int(child))
                stack.append(int(child))
    return found


def rss_mb(pid: int, include_children: bool = True) -> Optional[float]:
    """Resident memory (VmRSS from /proc) of ``pid`` and, by default, all its descendants."""
    total_kb = 0
    found = False
    for each in [pid, *(descendants(pid) if include_children else [])]:
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
                    found = True
                    break
        except OSError:
            continue
    return total_kb / 1024.0 if found else None


def cpu_seconds(pid: int, include_children: bool = True) -> Optional[float]:
    """CPU time (user + system, /proc/<pid>/stat) of ``pid`` and, by default, its live descendants.

    Why: on a shared two-core machine wall-clock ratios move with the neighbours; CPU seconds
    per turn of each server say where a turn's cost goes, whatever else runs.
    """
    ticks = os.sysconf("SC_CLK_TCK")
    total, found = 0, False
    for each in [pid, *(descendants(pid) if include_children else [])]:
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
        found = True
    return total / ticks if found else None


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def fmt(value: Optional[float], digits: int = 1, unit: str = "") -> str:
    if value is None:
        return "n/a"
    return f"{value:.{digits}f}{unit}"


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "yes")
