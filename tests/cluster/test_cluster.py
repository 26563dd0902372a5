"""Two gateways, two Rasa servers and two action servers behind nginx on PostgreSQL and Redis
(``bot cluster``'s wiring).

Citizens file over Telegram and SMS at the same time while turns spread over the replicas; then
one replica of each kind is killed with SIGKILL under the same load and started again. Every
report is filed exactly once, no filing reply is sent twice, every conversation ends. A webhook
replayed to the other gateway is refused as a duplicate; a citizen's quick messages landing on
both gateways reach the dialogue in the order sent; status updates go out once though both
gateways run the loop; a voice note is transcribed by the speech servers, not in a gateway
(issue 19). ``SAPALAPOR_CLUSTER_CITIZENS`` sets how many citizens file at once
(CI: 8 per test). With ``SAPALAPOR_CLUSTER_CITIZENS=200 SAPALAPOR_CLUSTER_THINK_SECONDS=20`` the
filing and the kill-9 tests pass with 200 citizens at once on two cores (bench/README.md).
"""
from __future__ import annotations

import collections
import itertools
import json
import os
import random
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
from storage import lifecycle
from storage.db import Database
from accessibility.speech_transcript import rejection_message
from storage.models import Report, StatusChange
from tests.accessibility.clips import speak
from tests.channels.e2e_support import (ACCOUNT, AUTH_TOKEN, KEY, SECRET, SMS_FROM, TOKEN, WHATSAPP_FROM,
                                        LoopThread, TelegramUser, TwilioUser, _post, _start_fakes, tracker,
                                        wait_handled)

ANSWERS = {
    "report_type": "pengaduan",
    "location": "Jalan Merdeka nomor 10, Kelurahan Citarum, Kecamatan Bandung Wetan, Kota Bandung",
    "incident_date": "kemarin",
    "privacy": "biasa",
    "report_confirmed": "ya",
}
MAX_TURNS = 16
CITIZENS = int(os.environ.get("SAPALAPOR_CLUSTER_CITIZENS", "8"))
# Seconds a citizen takes to read and type between messages (on average; 0 in CI). With
# hundreds of citizens, no think time at all is a load no real crowd makes (bench/README.md).
THINK_SECONDS = float(os.environ.get("SAPALAPOR_CLUSTER_THINK_SECONDS", "0"))


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
        GTTS_BASE_URL=f"http://127.0.0.1:{free_port()}", SAPALAPOR_STT_WARM_UP="false",
        SAPALAPOR_STATUS_UPDATE_SECONDS="2")
    previous = {key: os.environ.get(key) for key in env}
    try:
        with running_postgres("sapalapor") as database_url, running_redis() as redis_url:
            tracker_url = create_database(database_url, "sapalapor_tracker")
            database = Database(database_url)
            database.migrate()
            with running_cluster(trained_model, database_url, tracker_url, redis_url, runtime / "logs",
                                 gateways=2, rasa=2, actions=2, speech=2, public_port=port,
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


def think() -> None:
    if THINK_SECONDS:
        time.sleep(random.uniform(0.5, 1.5) * THINK_SECONDS)


def file_complaint(stack, user, place: str) -> None:
    think()
    user.say("saya mau lapor")
    think()
    user.say(f"Jalan di depan rumah saya di {place} berlubang besar, motor sering jatuh")
    for _ in range(MAX_TURNS):
        with stack["database"].reading() as session:
            filed = session.execute(select(func.count()).select_from(Report).where(
                Report.description.contains(place))).scalar()
        if filed:
            return
        slot = tracker(stack, user.sender)["slots"].get("requested_slot")
        assert slot is not None, f"the dialogue stopped asking before a report was filed: {user.replies()}"
        think()
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


def citizens(stack, start: int, count: int, street: str = "Gang Mawar"):
    """Citizens ``start`` .. ``start + count - 1``, every other one on Telegram.

    TelegramUser numbers its updates from the chat id's last three digits, so each test takes
    its own block of 200 (a repeated update id would be dropped as a re-delivery).
    """
    assert count <= 200
    pairs = []
    for index in range(start, start + count):
        user = (TelegramUser(stack, 7700000000 + index) if index % 2 else
                TwilioUser(stack, "sms", f"+62812777{index:05d}"))
        pairs.append((user, f"{street} {index:03d}"))
    return pairs


def test_citizens_filing_at_once_over_two_replicas_of_each_server_each_file_exactly_once(cluster):
    pairs = citizens(cluster, 0, CITIZENS)
    run_citizens(cluster, pairs)
    assert_filed_once(cluster, pairs)
    for kind in ("gateway", "rasa", "actions"):
        served = cluster["cluster"].served_by(kind)
        replicas = {replica.url.replace("http://", "") for replica in cluster["cluster"].replicas[kind]}
        assert replicas <= set(served), (kind, served)
        assert min(served[address] for address in replicas) > 0


def test_one_replica_of_each_server_killed_under_load_loses_and_doubles_nothing(cluster):
    pairs = citizens(cluster, 200, CITIZENS)
    running = cluster["cluster"]

    def kill_and_restart():
        # Wait until the conversations are under way, then crash one of each and start it again.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and sum(len(user.replies()) for user, _ in pairs) < 12:
            time.sleep(0.2)
        running.replicas["gateway"][0].kill()
        running.replicas["rasa"][0].kill()
        running.replicas["actions"][1].kill()
        running.replicas["speech"][1].kill()
        running.restart("rasa", 0)
        running.restart("actions", 1)
        running.restart("gateway", 0)
        running.restart("speech", 1)

    run_citizens(cluster, pairs, during=kill_and_restart)
    assert_filed_once(cluster, pairs)
    counts = collections.Counter(reply for user, _ in pairs for reply in user.replies() if "Nomor laporan" in reply)
    assert all(count == 1 for count in counts.values())


def _text_update(update_id: int, chat_id: int, text: str) -> bytes:
    user = {"id": chat_id, "is_bot": False, "first_name": "Sari", "language_code": "id"}
    return json.dumps({"update_id": update_id, "message": {
        "message_id": update_id % 100000, "from": user, "chat": {"id": chat_id, "first_name": "Sari", "type": "private"},
        "date": int(time.time()), "text": text}}).encode()


def _post_to(replica, body: bytes) -> int:
    return _post(f"{replica.url}/webhooks/telegram/webhook", body,
                 {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET})


def _user_texts(stack, user) -> list:
    return [event.get("text") for event in tracker(stack, user.sender)["events"] if event["event"] == "user"]


def test_a_webhook_replayed_to_the_other_gateway_is_acknowledged_and_not_handled_again(cluster):
    gateways = cluster["cluster"].replicas["gateway"]
    user = TelegramUser(cluster, 7790000001)
    body = _text_update(991000001, user.chat_id, "halo")
    assert _post_to(gateways[0], body) == 200
    assert _post_to(gateways[1], body) == 200  # Telegram re-sent it; the balancer chose the other gateway
    assert wait_handled(cluster, "telegram", "991000001") == "handled"
    time.sleep(1.0)
    assert _user_texts(cluster, user) == ["halo"]


def test_a_citizens_quick_messages_landing_on_both_gateways_reach_the_dialogue_in_the_order_sent(cluster):
    gateways = cluster["cluster"].replicas["gateway"]
    user = TelegramUser(cluster, 7790000002)
    texts = ["halo", "saya mau lapor", "bantuan", "ulangi", "menu", "batal"]
    ids = itertools.count(992000001)
    sent = []
    for index, text in enumerate(texts):  # no wait between them: each gateway gets every other one
        update_id = next(ids)
        assert _post_to(gateways[index % 2], _text_update(update_id, user.chat_id, text)) == 200
        sent.append(str(update_id))
    for update_id in sent:
        assert wait_handled(cluster, "telegram", update_id) == "handled"
    assert _user_texts(cluster, user) == texts


def test_status_updates_go_out_once_though_both_gateways_run_the_loop(cluster):
    pairs = citizens(cluster, 400, 4, street="Gang Kenanga")
    run_citizens(cluster, pairs)
    places = [place for _, place in pairs]
    with cluster["database"].session() as session:
        numbers = session.execute(select(Report.tracking_number).where(
            Report.description.contains("Gang Kenanga"))).scalars().all()
        for number in numbers:
            lifecycle.change_status(session, number, "diverifikasi")
    assert len(numbers) == len(places)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with cluster["database"].reading() as session:
            waiting = session.execute(select(func.count()).select_from(StatusChange).where(
                StatusChange.status == "diverifikasi", StatusChange.notified_at.is_(None))).scalar()
        if not waiting:
            break
        time.sleep(0.5)
    assert waiting == 0
    time.sleep(5)  # two more rounds of each gateway's loop: nothing goes out twice
    for user, _ in pairs:
        mine = [number for number in numbers if any(number in reply for reply in user.replies())]
        assert len(mine) == 1
        updates = [reply for reply in user.replies() if mine[0] in reply and "diperiksa" in reply]
        assert len(updates) == 1, user.replies()


def test_a_voice_note_is_transcribed_by_the_speech_servers_and_no_gateway_starts_a_worker(cluster):
    running = cluster["cluster"]
    user = TelegramUser(cluster, 7790000003)
    before = sum(running.served_by("speech").values())
    user.send_voice(speak("Saya mau membuat pengaduan.", "ogg"))  # waits until the delivery is handled
    replies = user.replies()
    assert replies, "the voice note got no reply"
    refusals = {rejection_message(kind, 120) for kind in ("busy", "unavailable", "empty", "too_long", "corrupt")}
    assert not refusals & set(replies), replies
    # Understood as speech: what reached the dialogue is the transcript, not an empty message.
    said = [text for text in _user_texts(cluster, user) if text]
    assert said and all(text.strip() for text in said)
    # The speech listener sent it to a speech server; the gateways started no worker of their own.
    served = running.served_by("speech")
    speech_servers = {replica.url.replace("http://", "") for replica in running.replicas["speech"]}
    assert sum(served.values()) > before and set(served) <= speech_servers, served
    for replica in running.replicas["gateway"]:
        assert "speech worker pid" not in replica.log_file.read_text(encoding="utf-8", errors="replace")
    assert all("speech worker pid" in replica.log_file.read_text(encoding="utf-8", errors="replace")
               for replica in running.replicas["speech"])  # each warmed its worker up at start
