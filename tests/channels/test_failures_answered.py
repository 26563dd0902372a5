from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from channels import intake as intake_module
from channels import messages
from channels.relay import RelayError
from channels.connector_runtime import runtime_for
from channels.sms import SmsInput
from channels.telegram import TelegramInput
from storage.models import InboundDelivery
from tests.channels.fakes.telegram_api import update
from tests.channels.fakes.twilio_api import fixture, sign
from tests.channels.harness import (TELEGRAM_TOKEN, TWILIO_ACCOUNT, TWILIO_AUTH_TOKEN, Mounted, RecordingRasa,
                                    channel_environ, free_port, sanic_test_mode, settings_for)

SECRET = "failures_secret-0123456789"
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
CHAT = 5512345678
PHONE = "+6281234567890"


class FailingRasa(RecordingRasa):
    """Rasa (through the relay) failing its first ``failures`` turns, as when the stack is down."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures
        self.ids = []

    async def __call__(self, message) -> None:
        self.ids.append(message.message_id)
        if self.failures > 0:
            self.failures -= 1
            raise RelayError("the turn telegram:1 failed 4 time(s): Rasa answered 500")
        await super().__call__(message)


@pytest.fixture
def port():
    return free_port()


@pytest.fixture
def runtime(tmp_path, fake_telegram, fake_twilio, port):
    environ = channel_environ(
        tmp_path / "data", SAPALAPOR_TELEGRAM_ENABLED="true", TELEGRAM_BOT_TOKEN=TELEGRAM_TOKEN,
        TELEGRAM_WEBHOOK_SECRET=SECRET, TELEGRAM_API_BASE_URL=fake_telegram.base_url,
        SAPALAPOR_PUBLIC_URL=f"http://127.0.0.1:{port}", SAPALAPOR_SMS_ENABLED="true",
        TWILIO_ACCOUNT_SID=TWILIO_ACCOUNT, TWILIO_AUTH_TOKEN=TWILIO_AUTH_TOKEN, TWILIO_SMS_FROM="+6281100001708",
        TWILIO_API_BASE_URL=fake_twilio.base_url, SAPALAPOR_RETRY_SECONDS="0.05")
    return runtime_for(settings_for(environ))


def state_of(runtime, provider_id: str):
    with runtime.database.session() as session:
        return session.execute(select(InboundDelivery.state, InboundDelivery.attempts, InboundDelivery.payload)
                               .where(InboundDelivery.provider_id == provider_id)).one()


async def until(predicate, timeout: float = 20.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("never happened")


async def test_a_turn_that_fails_is_apologised_for_once_and_answered_when_rasa_is_back(runtime, fake_telegram, port):
    rasa = FailingRasa(failures=2)
    payload = update("payload_text", update_id=700100077)
    with sanic_test_mode():
        async with Mounted(TelegramInput(runtime), rasa, port=port) as server:
            status, _ = await server.post("/webhooks/telegram/webhook", json=payload, headers=HEADERS)
            await until(lambda: state_of(runtime, "700100077")[0] == "handled")

    assert status == 200
    texts = fake_telegram.texts(CHAT)
    assert texts == [messages.KEPT_FOR_LATER.regular, "Pesan diterima: Halo, saya mau lapor jalan rusak"]
    assert rasa.ids == ["telegram:700100077"] * 3  # the same message id on every attempt
    state, attempts, kept = state_of(runtime, "700100077")
    assert (state, attempts, kept) == ("handled", 3, None)


async def test_the_apology_follows_the_simple_language_profile(runtime, fake_telegram, port):
    from accessibility.profiles import ProfileStore
    from storage.identity import identity_hash

    hashed = identity_hash(runtime.settings.identity_key, "telegram", str(CHAT))
    await asyncio.to_thread(ProfileStore(runtime.database).update, "telegram", hashed, simple_language=True)
    rasa = FailingRasa(failures=1)
    with sanic_test_mode():
        async with Mounted(TelegramInput(runtime), rasa, port=port) as server:
            await server.post("/webhooks/telegram/webhook", json=update("payload_text", update_id=700100078),
                              headers=HEADERS)
            await until(lambda: state_of(runtime, "700100078")[0] == "handled")

    assert fake_telegram.texts(CHAT)[0] == messages.KEPT_FOR_LATER.simple


async def test_a_delivery_still_failing_is_given_up_after_the_bounded_attempts(runtime, fake_telegram, port,
                                                                               monkeypatch):
    monkeypatch.setattr(intake_module, "MAX_POSTPONED_ATTEMPTS", 3)
    rasa = FailingRasa(failures=100)
    with sanic_test_mode():
        async with Mounted(TelegramInput(runtime), rasa, port=port) as server:
            await server.post("/webhooks/telegram/webhook", json=update("payload_text", update_id=700100079),
                              headers=HEADERS)
            await until(lambda: state_of(runtime, "700100079")[0] == "failed")

    assert fake_telegram.texts(CHAT) == [messages.KEPT_FOR_LATER.regular]
    assert len(rasa.ids) == 3


async def test_a_postponed_delivery_is_tried_again_after_a_restart(runtime, fake_telegram, port):
    with sanic_test_mode():
        async with Mounted(TelegramInput(runtime), FailingRasa(failures=1), port=port) as server:
            server.connector.intake.retry_base = 3600  # not again in this process
            await server.post("/webhooks/telegram/webhook", json=update("payload_text", update_id=700100080),
                              headers=HEADERS)
            await until(lambda: state_of(runtime, "700100080")[1] == 1 and fake_telegram.texts(CHAT))
        assert state_of(runtime, "700100080")[0] == "received"
        again = FailingRasa(failures=0)
        async with Mounted(TelegramInput(runtime), again, port=port):
            await until(lambda: state_of(runtime, "700100080")[0] == "handled")

    assert fake_telegram.texts(CHAT) == [messages.KEPT_FOR_LATER.regular,
                                         "Pesan diterima: Halo, saya mau lapor jalan rusak"]
    assert again.ids == ["telegram:700100080"]


async def test_a_message_sent_after_a_postponed_one_waits_for_it_so_the_order_holds(runtime, fake_telegram, port):
    rasa = FailingRasa(failures=1)
    first = update("payload_text", update_id=700100081)
    second = update("payload_text", update_id=700100082)
    second["message"]["text"] = "kedua"
    with sanic_test_mode():
        async with Mounted(TelegramInput(runtime), rasa, port=port) as server:
            server.connector.intake.retry_base = 0.5
            await server.post("/webhooks/telegram/webhook", json=first, headers=HEADERS)
            await until(lambda: fake_telegram.texts(CHAT))
            await server.post("/webhooks/telegram/webhook", json=second, headers=HEADERS)
            await until(lambda: state_of(runtime, "700100082")[0] == "handled")

    assert rasa.ids == ["telegram:700100081", "telegram:700100081", "telegram:700100082"]
    assert fake_telegram.texts(CHAT) == [messages.KEPT_FOR_LATER.regular,
                                         "Pesan diterima: Halo, saya mau lapor jalan rusak", "Pesan diterima: kedua"]


async def test_an_sms_whose_turn_fails_gets_the_apology_by_sms(runtime, fake_twilio, port):
    params = fixture("payload_sms_text", api=fake_twilio.base_url)
    url = f"http://127.0.0.1:{port}/webhooks/sms/webhook"
    rasa = FailingRasa(failures=1)
    with sanic_test_mode():
        async with Mounted(SmsInput(runtime), rasa, port=port) as server:
            await server.post("/webhooks/sms/webhook", data=params,
                              headers={"X-Twilio-Signature": sign(TWILIO_AUTH_TOKEN, url, params)})
            await until(lambda: state_of(runtime, params["MessageSid"])[0] == "handled")

    assert fake_twilio.bodies(PHONE)[0] == messages.KEPT_FOR_LATER.regular
    assert fake_twilio.bodies(PHONE)[1] == "Pesan diterima: Halo, saya mau lapor jalan rusak"
    assert rasa.ids == [f"sms:{params['MessageSid']}"] * 2


def test_every_channel_message_has_a_simple_variant_that_follows_the_rules():
    from accessibility.simple_language import check_simple

    for name, message in messages.CATALOGUE.items():
        assert message.simple and message.simple != message.regular, name
        assert check_simple(message.simple, has_buttons=False) == [], name


async def test_a_delivery_arriving_while_the_database_is_locked_is_refused_with_503_then_handled_once(
        runtime, fake_telegram, port, monkeypatch):
    import sqlite3

    from storage import db as db_module

    monkeypatch.setattr(db_module, "SQLITE_BUSY_TIMEOUT_MS", 200)
    payload = update("payload_text", update_id=700100090)
    blocker = sqlite3.connect(str(runtime.database.sqlite_path), timeout=0.1, isolation_level=None)
    with sanic_test_mode():
        async with Mounted(TelegramInput(runtime), RecordingRasa(), port=port) as server:
            runtime.database.dispose()  # new connections take the short busy timeout
            blocker.execute("BEGIN IMMEDIATE")
            try:
                locked, _ = await server.post("/webhooks/telegram/webhook", json=payload, headers=HEADERS)
            finally:
                blocker.execute("ROLLBACK")
                blocker.close()
            again, _ = await server.post("/webhooks/telegram/webhook", json=payload, headers=HEADERS)
            await until(lambda: state_of(runtime, "700100090")[0] == "handled")

    assert (locked, again) == (503, 200)
    assert fake_telegram.texts(CHAT) == ["Pesan diterima: Halo, saya mau lapor jalan rusak"]
