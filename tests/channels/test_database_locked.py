from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest
from sqlalchemy import select

from channels.connector_runtime import runtime_for
from channels.telegram import TelegramInput
from storage.models import InboundDelivery, PendingReply
from tests.channels.fakes.telegram_api import update
from tests.channels.harness import (TELEGRAM_TOKEN, Mounted, RecordingRasa, channel_environ, sanic_test_mode,
                                    settings_for)

SECRET = "webhook-secret_0123456789"
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
CHAT = 5512345678


@pytest.fixture
def runtime(tmp_path, fake_telegram):
    return runtime_for(settings_for(channel_environ(
        tmp_path / "data", SAPALAPOR_TELEGRAM_ENABLED="true", TELEGRAM_BOT_TOKEN=TELEGRAM_TOKEN,
        TELEGRAM_WEBHOOK_SECRET=SECRET, TELEGRAM_API_BASE_URL=fake_telegram.base_url,
        SAPALAPOR_PUBLIC_URL="https://sapalapor.example.org", SAPALAPOR_RETRY_SECONDS="1")))


@pytest.fixture
async def server(runtime):
    rasa = RecordingRasa()
    with sanic_test_mode():
        mounted = Mounted(TelegramInput(runtime), rasa)
        mounted.rasa = rasa
        await mounted.__aenter__()
        yield mounted
        await mounted.stop()


def locked(runtime) -> sqlite3.Connection:
    connection = sqlite3.connect(runtime.database.sqlite_path, timeout=30, isolation_level=None,
                                 check_same_thread=False)
    connection.execute("BEGIN EXCLUSIVE")
    return connection


def states(runtime) -> list:
    with runtime.database.session() as session:
        return list(session.execute(select(InboundDelivery.state)).scalars())


async def test_a_turn_that_ends_while_the_database_is_locked_is_answered_once_when_it_is_free(
        server, runtime, fake_telegram):
    server.rasa.hold.clear()  # the turn is under way when the lock is taken
    payload = update("payload_text", update_id=820001)
    payload["message"]["text"] = "jalan rusak"
    status, _ = await server.post("/webhooks/telegram/webhook", json=payload, headers=HEADERS)
    assert status == 200
    await server.rasa.received.wait()
    lock = await asyncio.to_thread(locked, runtime)
    try:
        server.rasa.hold.set()  # the turn ends; "handled" cannot be written for now
        await asyncio.sleep(6.5)  # past SQLite's 5 s busy timeout
        assert fake_telegram.texts(CHAT) == []
    finally:
        lock.rollback()
        lock.close()
    deadline = time.monotonic() + 60
    while states(runtime) != ["handled"] or fake_telegram.texts(CHAT) == []:
        assert time.monotonic() < deadline, f"never answered: {states(runtime)}"
        await asyncio.sleep(0.1)
    await server.connector.intake.drain()

    assert fake_telegram.texts(CHAT) == ["Pesan diterima: jalan rusak"]
    assert {message.message_id for message in server.rasa.messages} == {"telegram:820001"}
    with runtime.database.session() as session:
        assert session.execute(select(PendingReply)).first() is None


async def test_a_delivery_recorded_only_after_its_503_is_handled_once_and_its_re_sent_copy_is_a_replay(
        server, runtime, fake_telegram):
    payload = update("payload_text", update_id=820002)
    payload["message"]["text"] = "lampu jalan mati"
    lock = await asyncio.to_thread(locked, runtime)
    try:
        status, _ = await server.post("/webhooks/telegram/webhook", json=payload, headers=HEADERS)
    finally:
        lock.rollback()
        lock.close()
    assert status == 503

    status, _ = await server.post("/webhooks/telegram/webhook", json=payload, headers=HEADERS)
    deadline = time.monotonic() + 60
    while states(runtime) != ["handled"]:
        assert time.monotonic() < deadline, f"never handled: {states(runtime)}"
        await asyncio.sleep(0.1)
    await server.connector.intake.drain()

    assert status == 200
    assert fake_telegram.texts(CHAT) == ["Pesan diterima: lampu jalan mati"]
    assert len(server.rasa.messages) == 1


async def test_webhooks_meet_a_locked_database_with_503_in_time_and_every_message_is_answered_once(
        server, runtime, fake_telegram):
    texts = ["satu", "dua", "tiga"]
    payloads = []
    for offset, text in enumerate(texts):
        payload = update("payload_text", update_id=820010 + offset)
        payload["message"]["text"] = text
        payloads.append(payload)

    async def post(payload):
        started = time.monotonic()
        status, _ = await server.post("/webhooks/telegram/webhook", json=payload, headers=HEADERS)
        return status, time.monotonic() - started

    lock = await asyncio.to_thread(locked, runtime)
    try:
        answers = await asyncio.gather(*(post(payload) for payload in payloads))
        await asyncio.sleep(1.0)
    finally:
        lock.rollback()
        lock.close()

    assert {status for status, _ in answers} == {503}
    assert max(seconds for _, seconds in answers) < 14.0  # an 8 s deadline; Twilio gives up after 15 s
    for payload in payloads:  # the provider re-sends what was not answered 200
        status = 503
        while status != 200:
            status, _ = await post(payload)
    deadline = time.monotonic() + 60
    while states(runtime) != ["handled"] * 3:
        assert time.monotonic() < deadline, f"not all handled: {states(runtime)}"
        await asyncio.sleep(0.1)
    await server.connector.intake.drain()

    assert sorted(fake_telegram.texts(CHAT)) == sorted(f"Pesan diterima: {text}" for text in texts)


@pytest.fixture(scope="module")
def postgres_url():
    from bot.cluster.postgres import running_postgres

    with running_postgres("sapalapor_locked") as url:
        yield url


@pytest.fixture
def postgres_runtime(tmp_path, fake_telegram, postgres_url):
    runtime = runtime_for(settings_for(channel_environ(
        tmp_path / "data", SAPALAPOR_DATABASE_URL=postgres_url, SAPALAPOR_TELEGRAM_ENABLED="true",
        TELEGRAM_BOT_TOKEN=TELEGRAM_TOKEN, TELEGRAM_WEBHOOK_SECRET=SECRET,
        TELEGRAM_API_BASE_URL=fake_telegram.base_url, SAPALAPOR_PUBLIC_URL="https://sapalapor.example.org",
        SAPALAPOR_RETRY_SECONDS="1")))
    runtime.database.migrate()
    return runtime


async def test_a_locked_inbound_table_on_postgresql_is_met_with_503_in_time_and_answered_once(
        postgres_runtime, fake_telegram):
    from sqlalchemy import text

    runtime = postgres_runtime
    rasa = RecordingRasa()
    payload = update("payload_text", update_id=820101)
    payload["message"]["text"] = "sampah menumpuk"
    with sanic_test_mode():
        server = Mounted(TelegramInput(runtime), rasa)
        await server.__aenter__()
        try:
            with runtime.database.engine.connect() as locker:
                locker.execute(text("LOCK TABLE inbound_deliveries IN ACCESS EXCLUSIVE MODE"))
                started = time.monotonic()
                status, _ = await server.post("/webhooks/telegram/webhook", json=payload, headers=HEADERS)
                waited = time.monotonic() - started
                locker.rollback()
            assert status == 503 and waited < 14.0  # before Twilio gives up (15 s)
            status, _ = await server.post("/webhooks/telegram/webhook", json=payload, headers=HEADERS)
            deadline = time.monotonic() + 60
            while not fake_telegram.texts(CHAT):
                assert time.monotonic() < deadline, "never answered"
                await asyncio.sleep(0.1)
            await server.connector.intake.drain()
        finally:
            await server.stop()

    assert status == 200
    assert fake_telegram.texts(CHAT) == ["Pesan diterima: sampah menumpuk"]
    assert len(rasa.messages) == 1
