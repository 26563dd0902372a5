"""Issue 6 item 7: reports filed per second through the actions, on SQLite and on PostgreSQL.

Why through the action server: that is the code path a confirmed report takes (Rasa posts
``action_submit_report`` with the tracker; the action writes the report, its tracking number and
routing in one transaction). The load process posts that request as Rasa would, each copy a new
conversation, to an action server started on each database; the reports table is counted
afterwards, so a figure never includes a report that was not stored.
"""
from __future__ import annotations

import contextlib
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Iterator, Optional, Tuple

from bench.measure import fmt, median

SUBMIT_ACTION = "action_submit_report"


def template(bench) -> dict:
    from rasa.shared.core.domain import Domain

    from bot.rasa_project import DOMAIN

    domain = Domain.load(str(DOMAIN)).as_dict()
    slots = {name: None for name in domain.get("slots", {})}
    slots.update({
        "report_type": "pengaduan",
        "description": ("Jalan di depan rumah saya rusak parah dan berlubang sejak dua minggu lalu, "
                        "sudah ada pengendara motor yang jatuh."),
        "location": "Jalan Merdeka 10, Kelurahan Citarum, Kecamatan Bandung Wetan, Kota Bandung",
        "incident_date": "2026-11-20",
        "privacy": "rahasia",
        "report_confirmed": True,
        "conversation_ref": "__SENDER__",
        "requested_slot": None,
    })
    latest = {"text": "ya", "intent": {"name": "affirm", "confidence": 1.0}, "entities": [],
              "metadata": {"channel": "rest", "input_mode": "text", "attachments": 0}}
    now = time.time()
    events = [
        {"event": "action", "name": "action_session_start", "timestamp": now - 60},
        {"event": "session_started", "timestamp": now - 60},
        {"event": "action", "name": "action_listen", "timestamp": now - 59},
        {"event": "user", "text": "ya", "parse_data": latest, "timestamp": now - 1, "metadata": latest["metadata"]},
    ]
    return {
        "next_action": SUBMIT_ACTION,
        "sender_id": "__SENDER__",
        "tracker": {
            "sender_id": "__SENDER__", "slots": slots, "latest_message": latest, "events": events,
            "paused": False, "followup_action": None, "active_loop": {}, "latest_action_name": "report_form",
            "latest_event_time": now, "latest_input_channel": "rest",
        },
        "domain": domain,
        "version": "3.6.2",
    }


@contextlib.contextmanager
def action_server(bench, database_url: str, name: str) -> Iterator[Tuple[str, Dict[str, str]]]:
    """Our action server (``python -m bot.action_server``, as run.sh starts it) on ``database_url``.

    Yields the webhook URL and the headers Rasa would send (the bearer token this server was
    started with): the server refuses every action call without them.
    """
    from bot.action_server import TOKEN_ENV, action_headers
    from bot.rasa_project import _rasa_env, free_port, wait_until_ready
    from bot.settings import ROOT

    port = free_port()
    token = secrets.token_urlsafe(24)
    env = dict(bench.env)
    env["SAPALAPOR_DATABASE_URL"] = database_url
    env[TOKEN_ENV] = token
    log_path = bench.workdir / f"storage-{name}-actions.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.action_server", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env=_rasa_env(env), stdout=open(log_path, "ab"), stderr=subprocess.STDOUT,
    )
    try:
        wait_until_ready(f"http://127.0.0.1:{port}/health", process)
        yield f"http://127.0.0.1:{port}/webhook", action_headers(token)
    finally:
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def count_reports(database_url: str) -> Optional[int]:
    from sqlalchemy import text

    from storage.db import Database

    with Database(database_url).engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM reports")).scalar()


def rate_on(bench, database_url: str, name: str) -> Dict[str, object]:
    from storage.db import Database

    Database(database_url).migrate()
    body = template(bench)
    runs = []
    with action_server(bench, database_url, name) as (url, headers):
        warm = bench.load.call(cmd="actions", url=url, headers=headers, template=body, count=10, concurrency=2,
                               max_seconds=60, expect="utter_submitted")
        if warm["filed"] == 0:
            raise RuntimeError(f"{name}: no report was filed by {SUBMIT_ACTION}: {warm['error_samples']}")
        for _ in range(bench.reps):
            before = count_reports(database_url)
            result = bench.load.call(cmd="actions", url=url, headers=headers, template=body,
                                     count=bench.args.storage_reports,
                                     concurrency=8, max_seconds=60, expect="utter_submitted")
            stored = count_reports(database_url) - before
            result["stored"] = stored
            result["stored_per_second"] = stored / result["elapsed_s"]
            runs.append(result)
            print(f"    {name}: {stored} reports stored in {result['elapsed_s']:.1f} s = "
                  f"{result['stored_per_second']:.1f}/s; p95 {fmt(result['latency_ms']['p95'])} ms; "
                  f"errors {result['errors']}", flush=True)
    return {"runs": runs, "per_second": median(run["stored_per_second"] for run in runs),
            "p95_ms": median(run["latency_ms"]["p95"] for run in runs)}


def measure(bench) -> None:
    results = {}
    sqlite_url = f"sqlite:///{bench.workdir / 'storage-bench' / 'sapalapor.db'}"
    Path(bench.workdir / "storage-bench").mkdir(parents=True, exist_ok=True)
    results["sqlite"] = rate_on(bench, sqlite_url, "sqlite")
    try:
        from bot.cluster.postgres import running_postgres
    except ImportError:
        running_postgres = None
    if running_postgres is not None:
        with running_postgres("sapalapor_bench") as postgres_url:
            results["postgresql"] = rate_on(bench, postgres_url, "postgresql")
    bench.results["storage"] = results
    for name, value in results.items():
        bench.row("7 storage", f"reports filed/s through {SUBMIT_ACTION}, {name}",
                  f"{fmt(value['per_second'])}/s (p95 {fmt(value['p95_ms'])} ms, 8 concurrent)")
    if "postgresql" not in results:
        bench.row("7 storage", "postgresql", "n/a (bot/cluster/postgres.py missing)")
