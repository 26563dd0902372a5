"""Several Rasa and action servers behind nginx on PostgreSQL and Redis (``bot cluster``'s wiring).

Citizens file over Telegram and SMS at the same time while turns spread over the replicas; then
one Rasa server and one action server are killed with SIGKILL under the same load and started
again. Every report is filed exactly once, no filing reply is sent twice, every conversation ends.
"""
from __future__ import annotations

import collections
import os
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from bot.cluster.postgres import create_database, running_postgres
from bot.cluster.redis_server import running_redis
from bot.cluster.start import running_cluster
from bot.rasa_project import free_port
from storage.db import Database
from storage.models import Report
from tests.channels.e2e_support import (ACCOUNT, AUTH_TOKEN, KEY, SECRET, SMS_FROM, TOKEN, WHATSAPP_FROM,
                                        LoopThread, TelegramUser, TwilioUser, _start_fakes, tracker)

ANSWERS = {
    "report_type": "pengaduan",
    "location": "Jalan Merdeka nomor 10, Kelurahan Citarum, Kecamatan Bandung Wetan, Kota Bandung",
    "incident_date": "kemarin",
    "privacy": "biasa",
    "report_confirmed": "ya",
}
MAX_TURNS = 16


@pytest.fixture(scope="module")
def cluster(trained_model, tmp_path_factory):
    runtime: Path = tmp_path_factory.mktemp("cluster")
    loop = LoopThread()
    telegram, twilio = loop.run(_start_fakes())
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    env = dict(
        SAPALAPOR_DATA_DIR=str(runtime / "data"), SAPALAPOR_IDENTITY_KEY=KEY, SAPALAPOR_PUBLIC_URL=public_url,
        SAPALAPOR_TELEGRAM_ENABLED="true", TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_WEBHOOK_SECRET=SECRET,
        TELEGRAM_API_BASE_URL=telegram.base_url, SAPALAPOR_SMS_ENABLED="true",
        TWILIO_ACCOUNT_SID=ACCOUNT, TWILIO_AUTH_TOKEN=AUTH_TOKEN, TWILIO_SMS_FROM=SMS_FROM,
        TWILIO_WHATSAPP_FROM=WHATSAPP_FROM, TWILIO_API_BASE_URL=twilio.base_url,
        GTTS_BASE_URL=f"http://127.0.0.1:{free_port()}", SAPALAPOR_STT_WARM_UP="false")
    previous = {key: os.environ.get(key) for key in env}
    try:
        with running_postgres("sapalapor") as database_url, running_redis() as redis_url:
            tracker_url = create_database(database_url, "sapalapor_tracker")
            database = Database(database_url)
            database.migrate()
            with running_cluster(trained_model, database_url, tracker_url, redis_url, runtime / "logs",
                                 gateways=1, rasa=2, actions=2, public_port=port,
                                 env={**os.environ, **env}) as running:
                log_files = [replica.log_file for kind in running.replicas.values() for replica in kind]
                yield {"telegram": telegram, "twilio": twilio, "url": public_url, "database": database,
                       "cluster": running,
                       "servers": SimpleNamespace(rasa_url=running.rasa_url, log_files=log_files)}
            database.dispose()
    finally:
        loop.run(telegram.stop())
        loop.run(twilio.stop())
        loop.stop()
        for key, value in previous.items():
            if value is not None:
                os.environ[key] = value


def file_complaint(stack, user, place: str) -> None:
    user.say("saya mau lapor")
    user.say(f"Jalan di depan rumah saya di {place} berlubang besar, motor sering jatuh")
    for _ in range(MAX_TURNS):
        with stack["database"].reading() as session:
            filed = session.execute(select(func.count()).select_from(Report).where(
                Report.description.contains(place))).scalar()
        if filed:
            return
        slot = tracker(stack, user.sender)["slots"].get("requested_slot")
        assert slot is not None, f"the dialogue stopped asking before a report was filed: {user.replies()}"
        user.answer(ANSWERS.get(slot, "ya"))
    raise AssertionError(f"no report after {MAX_TURNS} answers: {user.replies()}")


def run_citizens(stack, users_and_places, during=None):
    errors = []

    def citizen(user, place):
        try:
            file_complaint(stack, user, place)
        except Exception as error:  # noqa: BLE001 - reported below, with the citizen
            errors.append((user.sender[:20], repr(error)[:400]))

    threads = [threading.Thread(target=citizen, args=pair) for pair in users_and_places]
    for thread in threads:
        thread.start()
    if during:
        during()
    for thread in threads:
        thread.join(900)
    assert errors == []


def assert_filed_once(stack, users_and_places):
    with stack["database"].reading() as session:
        descriptions = session.execute(select(Report.description)).scalars().all()
    for user, place in users_and_places:
        assert sum(place in text for text in descriptions) == 1, place
        filing_replies = [reply for reply in user.replies() if "Nomor laporan" in reply]
        assert len(filing_replies) == 1, user.replies()


def citizens(stack, start: int, count: int):
    pairs = []
    for index in range(start, start + count):
        user = (TelegramUser(stack, 7700000000 + index) if index % 2 else
                TwilioUser(stack, "sms", f"+62812777{index:05d}"))
        pairs.append((user, f"Gang Mawar {index:03d}"))
    return pairs


def test_citizens_filing_at_once_over_two_rasa_and_two_action_servers_each_file_exactly_once(cluster):
    pairs = citizens(cluster, 0, 8)
    run_citizens(cluster, pairs)
    assert_filed_once(cluster, pairs)
    for kind in ("rasa", "actions"):
        served = cluster["cluster"].served_by(kind)
        replicas = {replica.url.replace("http://", "") for replica in cluster["cluster"].replicas[kind]}
        assert replicas <= set(served), (kind, served)
        assert min(served[address] for address in replicas) > 0


def test_a_rasa_server_and_an_action_server_killed_under_load_lose_and_double_nothing(cluster):
    pairs = citizens(cluster, 100, 8)
    running = cluster["cluster"]

    def kill_and_restart():
        # Wait until the conversations are under way, then crash one of each and start it again.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and sum(len(user.replies()) for user, _ in pairs) < 12:
            time.sleep(0.2)
        running.replicas["rasa"][0].kill()
        running.replicas["actions"][1].kill()
        running.restart("rasa", 0)
        running.restart("actions", 1)

    run_citizens(cluster, pairs, during=kill_and_restart)
    assert_filed_once(cluster, pairs)
    counts = collections.Counter(reply for user, _ in pairs for reply in user.replies() if "Nomor laporan" in reply)
    assert all(count == 1 for count in counts.values())
