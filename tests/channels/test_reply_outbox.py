from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import func, select

from channels.connector_runtime import runtime_for
from channels.sms import SmsInput
from channels.telegram import TelegramInput
from storage.models import InboundDelivery, OutboundMessage, PendingReply
from tests.channels.fakes.telegram_api import update
from tests.channels.fakes.twilio_api import sign
from tests.channels.harness import (TELEGRAM_TOKEN, TWILIO_ACCOUNT, TWILIO_AUTH_TOKEN, Mounted, RecordingRasa,
                                    channel_environ, free_port, sanic_test_mode, settings_for)

SECRET = "webhook-secret_0123456789"
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
CHAT = 5512345678
PHONE = "+6281234567801"


def count(runtime, model, *where) -> int:
    with runtime.database.session() as session:
        return session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


async def eventually(predicate, timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "the expected state never came"
        await asyncio.sleep(0.02)


@pytest.fixture
def telegram_runtime(tmp_path, fake_telegram):
    return runtime_for(settings_for(channel_environ(
        tmp_path / "data", SAPALAPOR_TELEGRAM_ENABLED="true", TELEGRAM_BOT_TOKEN=TELEGRAM_TOKEN,
        TELEGRAM_WEBHOOK_SECRET=SECRET, TELEGRAM_API_BASE_URL=fake_telegram.base_url,
        SAPALAPOR_PUBLIC_URL="https://sapalapor.example.org")))


@pytest.fixture
def sms_port():
    return free_port()


@pytest.fixture
def sms_runtime(tmp_path, fake_twilio, sms_port):
    return runtime_for(settings_for(channel_environ(
        tmp_path / "data", SAPALAPOR_SMS_ENABLED="true", TWILIO_ACCOUNT_SID=TWILIO_ACCOUNT,
        TWILIO_AUTH_TOKEN=TWILIO_AUTH_TOKEN, TWILIO_SMS_FROM="+6281100001708", TWILIO_WHATSAPP_FROM="+14155238886",
        TWILIO_API_BASE_URL=fake_twilio.base_url, SAPALAPOR_PUBLIC_URL=f"http://127.0.0.1:{sms_port}")))


async def mount(connector, port=None) -> Mounted:
    rasa = RecordingRasa()
    server = Mounted(connector, rasa, port=port)
    server.rasa = rasa
    await server.__aenter__()
    return server


@pytest.fixture(autouse=True)
def _sanic_test_mode():
    with sanic_test_mode():
        yield


async def post_text(server, update_id: int, text: str) -> None:
    payload = update("payload_text", update_id=update_id)
    payload["message"]["text"] = text
    status, _ = await server.post("/webhooks/telegram/webhook", json=payload, headers=HEADERS)
    assert status == 200


async def post_sms(server, sid: str, body: str) -> None:
    params = {"MessageSid": sid, "SmsMessageSid": sid, "AccountSid": TWILIO_ACCOUNT, "From": PHONE,
              "To": "+6281100001708", "Body": body, "NumMedia": "0", "NumSegments": "1"}
    url = f"http://127.0.0.1:{server.port}/webhooks/sms/webhook"
    status, _ = await server.post("/webhooks/sms/webhook", data=params,
                                  headers={"X-Twilio-Signature": sign(TWILIO_AUTH_TOKEN, url, params)})
    assert status == 200


async def test_a_turns_reply_is_recorded_with_the_handled_mark_before_the_provider_answers(
        telegram_runtime, fake_telegram):
    fake_telegram.held_methods.add("sendMessage")
    server = await mount(TelegramInput(telegram_runtime))
    try:
        await post_text(server, 810001, "jalan rusak")
        await fake_telegram.wait_for(lambda: fake_telegram.sent("sendMessage"))

        assert count(telegram_runtime, InboundDelivery, InboundDelivery.state == "handled") == 1
        assert count(telegram_runtime, PendingReply) == 1
        fake_telegram.release_held()
        await server.connector.intake.drain()
    finally:
        await server.stop()

    assert count(telegram_runtime, PendingReply) == 0
    assert fake_telegram.texts(CHAT) == ["Pesan diterima: jalan rusak"]


async def test_a_reply_twilio_took_before_the_gateway_died_is_looked_up_not_sent_again(
        sms_runtime, sms_port, fake_twilio):
    fake_twilio.hold_answers = True
    server = await mount(SmsInput(sms_runtime), sms_port)
    await post_sms(server, "SM" + "a" * 32, "jalan rusak")
    await eventually(lambda: fake_twilio.answers_held == 1)
    await server.kill()
    fake_twilio.hold_answers = False
    assert count(sms_runtime, PendingReply) == 1

    restarted = await mount(SmsInput(sms_runtime), sms_port)
    await restarted.connector.intake.drain()
    await restarted.stop()

    assert fake_twilio.bodies(PHONE) == ["Pesan diterima: jalan rusak"]
    assert fake_twilio.lists == 1
    assert count(sms_runtime, PendingReply) == 0
    assert restarted.rasa.messages == []  # the turn is not run again


async def test_a_reply_twilio_refused_before_the_gateway_died_is_sent_once_after_the_restart(
        sms_runtime, sms_port, fake_twilio):
    fake_twilio.busy_once = 10 ** 6  # 429 to every send: nothing goes out
    server = await mount(SmsInput(sms_runtime), sms_port)
    await post_sms(server, "SM" + "b" * 32, "jalan rusak")
    await eventually(lambda: count(sms_runtime, PendingReply, PendingReply.attempts == 1) == 1)
    await server.kill()
    fake_twilio.busy_once = 0

    restarted = await mount(SmsInput(sms_runtime), sms_port)
    await restarted.connector.intake.drain()
    await restarted.stop()

    assert fake_twilio.bodies(PHONE) == ["Pesan diterima: jalan rusak"]
    assert count(sms_runtime, PendingReply) == 0
    with sms_runtime.database.session() as session:
        logged = session.execute(select(OutboundMessage.state, OutboundMessage.provider_message_id)).all()
    assert logged == [("queued", fake_twilio.messages[0].sid)]


async def test_telegram_sends_a_reply_left_by_a_killed_gateway_again_rather_than_lose_it(
        telegram_runtime, fake_telegram, caplog):
    fake_telegram.held_methods.add("sendMessage")
    server = await mount(TelegramInput(telegram_runtime))
    await post_text(server, 810002, "jalan rusak")
    await fake_telegram.wait_for(lambda: fake_telegram.sent("sendMessage"))
    await server.kill()
    fake_telegram.release_held()

    with caplog.at_level(logging.WARNING, logger="channels.reply_outbox"):
        restarted = await mount(TelegramInput(telegram_runtime))
        await restarted.connector.intake.drain()
        await restarted.stop()

    assert fake_telegram.texts(CHAT) == ["Pesan diterima: jalan rusak"] * 2
    assert any("may see it twice" in record.getMessage() for record in caplog.records)
    assert count(telegram_runtime, PendingReply) == 0


async def test_a_chat_that_blocked_the_bot_leaves_nothing_in_the_outbox(telegram_runtime, fake_telegram):
    fake_telegram.blocked.add(CHAT)
    server = await mount(TelegramInput(telegram_runtime))
    try:
        await post_text(server, 810003, "jalan rusak")
        await server.connector.intake.drain()
    finally:
        await server.stop()

    assert count(telegram_runtime, PendingReply) == 0
    assert count(telegram_runtime, InboundDelivery, InboundDelivery.state == "handled") == 1


async def test_replies_waiting_for_a_provider_that_is_down_go_out_in_order_once_it_is_back(
        telegram_runtime, fake_telegram):
    fake_telegram.busy.add("sendMessage")
    server = await mount(TelegramInput(telegram_runtime))
    try:
        await post_text(server, 810004, "satu")
        await post_text(server, 810005, "dua")
        outbox = server.connector.intake.outbox
        # The first turn's sends failed and wait for their retry; then the second turn's sends
        # failed too (it tries the first reply again first: two attempts) and replaced that
        # retry. Waiting for both keeps the second turn from reaching its sends between the
        # retries' cancelling below and the recovery, a moment only this test makes.
        await eventually(lambda: count(telegram_runtime, PendingReply, PendingReply.attempts >= 1) >= 1
                         and bool(outbox._retries))
        first_retry = set(outbox._retries.values())
        await eventually(lambda: count(telegram_runtime, InboundDelivery, InboundDelivery.state == "handled") >= 2
                         and count(telegram_runtime, PendingReply, PendingReply.attempts >= 2) >= 1
                         and bool(outbox._retries) and not set(outbox._retries.values()) & first_retry)
        assert fake_telegram.texts(CHAT) == []
        fake_telegram.busy.clear()
        for task in list(outbox._retries.values()):  # the wait is the runtime's 30 s: not waited for here
            task.cancel()
        outbox._retries.clear()
        for task in await outbox.recover():
            await task
        await server.connector.intake.drain()
        await eventually(lambda: len(fake_telegram.texts(CHAT)) == 2)
    finally:
        await server.stop()

    assert fake_telegram.texts(CHAT) == ["Pesan diterima: satu", "Pesan diterima: dua"]
    assert count(telegram_runtime, PendingReply) == 0


async def test_a_retry_replaced_by_a_newer_one_leaves_the_newer_one_kept_and_its_delivery_claimed():
    from channels.reply_outbox import ReplyOutbox

    locks = {}
    outbox = ReplyOutbox(database=None, channel="telegram", sender=None,
                         lock_for=lambda key: locks.setdefault(key, asyncio.Lock()), retry_base=3600)
    outbox._retry_later(1, "sender", 1)
    first = outbox._retries["sender"]
    await asyncio.sleep(0)  # it waits for its time
    outbox._retry_later(2, "sender", 2)  # the sender's next turn failed to send as well
    await asyncio.sleep(0)  # the replaced retry runs its cancellation
    await asyncio.sleep(0)

    assert first.cancelled()
    assert outbox._retries["sender"] is not first and not outbox._retries["sender"].done()
    assert outbox.working_ids() == {2}  # its claim is still kept
    outbox.close()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert outbox._retries == {} and outbox.working_ids() == set()
