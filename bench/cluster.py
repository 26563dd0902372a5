"""Turns per second and CPU per turn with 1 and 2 replicas of each server, and a capacity table.

``python -m bench.cluster [--citizens 16] [--replicas 1 2]`` starts PostgreSQL, Redis, nginx and
the replicas (bot/cluster/, as ``bot cluster``), lets simulated Telegram citizens start a
complaint and describe it at once, and prints per replica count: turns per second, p50/p95 turn
latency, and CPU seconds per turn of each kind of server (from /proc, so a busy neighbour does
not change it). On two cores the gain from a second replica is small: both replicas share the
same two cores; the figure to carry to a bigger machine is CPU per turn.

The capacity table turns that CPU into cores: ``citizens / think_seconds`` turns per second,
times CPU per turn, divided by the utilisation at which a turn still meets p95 < 1 s. The think
time (seconds between one citizen's messages) and the utilisation are assumptions, printed with
the table; measured here are the CPU per turn and the latency.
"""
from __future__ import annotations

import argparse
import contextlib
import math
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Dict, List

from bench.measure import cpu_seconds
from bot.cluster.postgres import create_database, running_postgres
from bot.cluster.redis_server import running_redis
from bot.cluster.start import running_cluster
from bot.rasa_project import ensure_model, free_port
from bot.settings import load_settings
from storage.db import Database
from tests.channels.e2e_support import (ACCOUNT, AUTH_TOKEN, KEY, SECRET, SMS_FROM, TOKEN, WHATSAPP_FROM,
                                        LoopThread, TelegramUser, _start_fakes)

SCRIPT = ["halo", "saya mau lapor",
          "Lampu penerangan jalan di gang depan rumah saya mati sudah tiga minggu, gelap dan rawan",
          "bantuan", "ulangi"]
THINK_SECONDS = 20.0  # a citizen reads the reply and types the next message
UTILISATION = 0.6  # cores busy at most this share of the time to keep p95 well under 1 s


def _percentile(values: List[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


def run_once(model: Path, replicas: int, citizens: int, workdir: Path) -> Dict[str, object]:
    loop = LoopThread()
    telegram, twilio = loop.run(_start_fakes())
    port = free_port()
    env = dict(os.environ, SAPALAPOR_DATA_DIR=str(workdir / "data"), SAPALAPOR_IDENTITY_KEY=KEY,
               SAPALAPOR_PUBLIC_URL=f"http://127.0.0.1:{port}", SAPALAPOR_TELEGRAM_ENABLED="true",
               TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_WEBHOOK_SECRET=SECRET, TELEGRAM_API_BASE_URL=telegram.base_url,
               TWILIO_ACCOUNT_SID=ACCOUNT, TWILIO_AUTH_TOKEN=AUTH_TOKEN, TWILIO_SMS_FROM=SMS_FROM,
               TWILIO_WHATSAPP_FROM=WHATSAPP_FROM, TWILIO_API_BASE_URL=twilio.base_url,
               GTTS_BASE_URL=f"http://127.0.0.1:{free_port()}", SAPALAPOR_STT_WARM_UP="false")
    try:
        with running_postgres("sapalapor") as database_url, running_redis() as redis_url:
            tracker_url = create_database(database_url, "sapalapor_tracker")
            database = Database(database_url)
            database.migrate()
            with running_cluster(model, database_url, tracker_url, redis_url, workdir / f"logs-{replicas}",
                                 gateways=replicas, rasa=replicas, actions=replicas, public_port=port,
                                 env=env) as cluster:
                stack = {"telegram": telegram, "twilio": twilio, "url": cluster.public_url, "database": database,
                         "servers": None}
                users = [TelegramUser(stack, 6600000000 + replicas * 1000 + index) for index in range(citizens)]
                users[0].say("halo")  # warm every process's first-turn caches outside the measurement
                before = {kind: sum(cpu_seconds(r.process.pid) or 0.0 for r in cluster.replicas[kind])
                          for kind in cluster.replicas}
                latencies: List[float] = []
                lock = threading.Lock()

                def citizen(user: TelegramUser) -> None:
                    for text in SCRIPT:
                        started = time.perf_counter()
                        user.say(text)
                        with lock:
                            latencies.append(time.perf_counter() - started)

                started = time.perf_counter()
                threads = [threading.Thread(target=citizen, args=(user,)) for user in users]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                elapsed = time.perf_counter() - started
                turns = len(latencies)
                cpu = {kind: (sum(cpu_seconds(r.process.pid) or 0.0 for r in cluster.replicas[kind]) - before[kind])
                       / turns for kind in cluster.replicas}
            database.dispose()
    finally:
        loop.run(telegram.stop())
        loop.run(twilio.stop())
        loop.stop()
    return {"replicas": replicas, "turns": turns, "turns_per_s": turns / elapsed,
            "p50_ms": statistics.median(latencies) * 1000, "p95_ms": _percentile(latencies, 0.95) * 1000,
            "cpu_ms": {kind: value * 1000 for kind, value in cpu.items()}}


def capacity_rows(cpu_ms_per_turn: float, citizens=(1_000, 10_000)) -> List[str]:
    rows = []
    for count in citizens:
        turns_per_s = count / THINK_SECONDS
        cores = turns_per_s * cpu_ms_per_turn / 1000 / UTILISATION
        rows.append(f"| {count:,} | {turns_per_s:,.0f} | {cores:,.1f} |")
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citizens", type=int, default=16)
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args(argv)
    model = ensure_model(load_settings(environ=dict(os.environ, SAPALAPOR_IDENTITY_KEY=KEY)))
    results = []
    with tempfile.TemporaryDirectory(prefix="sapalapor-bench-cluster-") as folder:
        for replicas in args.replicas:
            results.append(run_once(model, replicas, args.citizens, Path(folder)))
            print(f"  {replicas} replica(s): done", file=sys.stderr)
    print(f"\n{args.citizens} citizens at once, {len(SCRIPT)} turns each, through nginx "
          f"(load average {os.getloadavg()[0]:.1f} at the end)\n")
    print("| replicas of each server (gateway, Rasa, actions) | turns/s | p50 ms | p95 ms | CPU ms/turn gateway | Rasa | actions | all |")
    print("|---|---|---|---|---|---|---|---|")
    for result in results:
        cpu = result["cpu_ms"]
        print(f"| {result['replicas']} | {result['turns_per_s']:.1f} | {result['p50_ms']:.0f} | {result['p95_ms']:.0f} "
              f"| {cpu['gateway']:.1f} | {cpu['rasa']:.1f} | {cpu['actions']:.1f} | {sum(cpu.values()):.1f} |")
    per_turn = min(sum(result["cpu_ms"].values()) for result in results)
    print(f"\nCapacity at {per_turn:.0f} ms of CPU per text turn, one message per citizen every "
          f"{THINK_SECONDS:.0f} s, cores at most {UTILISATION:.0%} busy (assumptions):\n")
    print("| citizens in a conversation at once | turns/s | cores |")
    print("|---|---|---|")
    for row in capacity_rows(per_turn):
        print(row)
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
