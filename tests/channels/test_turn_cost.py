from __future__ import annotations

import pytest
from sqlalchemy import func, select

from accessibility.pipeline import AccessibilityLayer
from accessibility.text_to_speech import TextToSpeech
from channels import telegram as telegram_module
from channels.turn import Conversation
from channels.intake import Intake
from channels.notifications import NotificationLoop
from channels.connector_runtime import runtime_for
from channels.sms import SmsInput
from channels.telegram import TelegramInput
from storage.models import DeliveryStatusEvent, InboundDelivery, OutboundMessage
from storage.repositories import OutboundLog, ProfileRepository
from tests.channels.fakes.telegram_api import update
from tests.channels.fakes.twilio_api import fixture as twilio_fixture, sign
from tests.channels.harness import (TELEGRAM_TOKEN, TWILIO_ACCOUNT, TWILIO_AUTH_TOKEN, Mounted, RecordingRasa, channel_environ,
                                    free_port, mounted_with_recording, sanic_test_mode, settings_for)
from tests.support.sql import transactions

TOKEN = TELEGRAM_TOKEN
SECRET = "webhook-secret_0123456789"
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
CHAT = 5512345678
ACCOUNT = TWILIO_ACCOUNT
AUTH_TOKEN = TWILIO_AUTH_TOKEN
PHONE = "+6281234567890"
USER = "e" * 64


@pytest.fixture(autouse=True)
def no_notification_loop(monkeypatch):
    # Its periodic query would be counted as part of a turn.
    monkeypatch.setattr(NotificationLoop, "for_channel", classmethod(lambda cls, *args, **kwargs: None))


def count(runtime, model, *where) -> int:
    with runtime.database.session() as session:
        return session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


@pytest.fixture
def telegram_runtime(tmp_path, fake_telegram):
    return runtime_for(settings_for(channel_environ(
        tmp_path / "data", SAPALAPOR_TELEGRAM_ENABLED="true", TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_WEBHOOK_SECRET=SECRET, TELEGRAM_API_BASE_URL=fake_telegram.base_url,
        SAPALAPOR_PUBLIC_URL="https://sapalapor.example.org")))


@pytest.fixture
async def telegram(telegram_runtime):
    async with mounted_with_recording(TelegramInput(telegram_runtime)) as server:
        yield server


async def send_text(server, update_id: int, text: str) -> None:
    payload = update("payload_text", update_id=update_id)
    payload["message"]["text"] = text
    status, _ = await server.post("/webhooks/telegram/webhook", json=payload, headers=HEADERS)
    assert status == 200
    await server.connector.intake.drain()


async def test_a_quick_text_turn_on_telegram_commits_five_transactions_and_shows_no_typing(
        telegram, telegram_runtime, fake_telegram):
    await send_text(telegram, 800001, "halo")

    with transactions(telegram_runtime.database) as seen:
        await send_text(telegram, 800002, "jalan rusak")

    # record (+ first attempt), arrival (reporter, attachments, profile), profile after Rasa,
    # handled (+ the reply into the outbox), the sent reply out of the outbox
    assert len(seen) == 5
    assert fake_telegram.texts(CHAT)[-1] == "Pesan diterima: jalan rusak"
    assert fake_telegram.sent("sendChatAction") == []
    assert count(telegram_runtime, InboundDelivery, InboundDelivery.state == "handled") == 2


async def test_choices_a_turn_shows_are_stored_with_the_handled_mark_not_in_a_transaction_of_their_own(
        telegram, telegram_runtime, fake_telegram):
    await send_text(telegram, 800011, "halo")

    with transactions(telegram_runtime.database) as seen:
        await send_text(telegram, 800012, "menu")

    assert len(seen) == 5
    hashed = telegram.connector.conversation.identity(str(CHAT))
    with telegram_runtime.database.session() as session:
        stored = ProfileRepository(session).values("telegram", hashed)
    assert [choice["title"] for choice in stored["last_choices"]] == ["Pengaduan", "Aspirasi", "Minta informasi"]


async def test_a_slow_text_turn_shows_typing_before_the_reply(telegram, fake_telegram, monkeypatch):
    monkeypatch.setattr(telegram_module, "TYPING_AFTER", 0.05)
    telegram.rasa.hold.clear()
    payload = update("payload_text", update_id=800011)

    await telegram.post("/webhooks/telegram/webhook", json=payload, headers=HEADERS)
    await fake_telegram.wait_for(lambda: fake_telegram.sent("sendChatAction"))
    telegram.rasa.hold.set()
    await telegram.connector.intake.drain()

    methods = [call.method for call in fake_telegram.calls if call.method in ("sendChatAction", "sendMessage")]
    assert methods[0] == "sendChatAction" and methods[-1] == "sendMessage"
    assert fake_telegram.sent("sendChatAction")[0].params["action"] == "typing"


@pytest.fixture
def sms_port():
    return free_port()


@pytest.fixture
def sms_runtime(tmp_path, fake_twilio, sms_port):
    return runtime_for(settings_for(channel_environ(
        tmp_path / "data", SAPALAPOR_SMS_ENABLED="true", TWILIO_ACCOUNT_SID=ACCOUNT, TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_SMS_FROM="+6281100001708", TWILIO_WHATSAPP_FROM="+14155238886",
        TWILIO_API_BASE_URL=fake_twilio.base_url, SAPALAPOR_PUBLIC_URL=f"http://127.0.0.1:{sms_port}")))


@pytest.fixture
async def sms(sms_runtime, sms_port):
    rasa = RecordingRasa()
    with sanic_test_mode():
        server = Mounted(SmsInput(sms_runtime), rasa, port=sms_port)
        await server.__aenter__()
        server.rasa = rasa
        yield server
        await server.stop()


async def send_sms(server, fake_twilio, sid: str, body: str) -> None:
    params = twilio_fixture("payload_sms_text", api=fake_twilio.base_url)
    params.update(MessageSid=sid, Body=body)
    url = f"http://127.0.0.1:{server.port}/webhooks/sms/webhook"
    status, _ = await server.post("/webhooks/sms/webhook", data=params,
                                  headers={"X-Twilio-Signature": sign(AUTH_TOKEN, url, params)})
    assert status == 200
    await server.connector.intake.drain()


async def test_a_text_turn_on_sms_commits_four_transactions_and_logs_what_it_sent(sms, sms_runtime, fake_twilio):
    await send_sms(sms, fake_twilio, "SM" + "1" * 32, "halo")

    with transactions(sms_runtime.database) as seen:
        await send_sms(sms, fake_twilio, "SM" + "2" * 32, "jalan rusak")

    # record (+ first attempt), arrival, handled (+ the reply into the outbox), the sent reply out
    # of the outbox together with its outbound log
    assert len(seen) == 4
    with sms_runtime.database.session() as session:
        logged = session.execute(select(OutboundMessage).order_by(OutboundMessage.id)).scalars().all()
    assert [(message.body, message.state) for message in logged] == [
        ("Pesan diterima: halo", "queued"), ("Pesan diterima: jalan rusak", "queued")]
    assert [message.provider_message_id for message in logged] == [sent.sid for sent in fake_twilio.messages]
    assert count(sms_runtime, InboundDelivery, InboundDelivery.state == "handled") == 2


async def test_a_status_callback_that_beats_the_outbound_log_still_moves_the_message_on(sms, sms_runtime):
    gateway = sms.connector.sender
    with sms_runtime.database.session() as session:
        OutboundLog(session).record_status_event("sms", "SM" + "9" * 32, "delivered")

    with sms_runtime.database.session() as session:
        gateway.log_sent(session, USER, [("text", "Laporan Anda sudah kami terima.", "SM" + "9" * 32)])

    with sms_runtime.database.session() as session:
        message = session.execute(select(OutboundMessage)).scalar_one()
        events = session.execute(select(func.count()).select_from(DeliveryStatusEvent)).scalar_one()
    assert (message.state, events) == ("delivered", 1)


async def test_a_delivery_whose_closing_writes_fail_is_still_handled_once(sms_runtime, caplog):
    handled = []

    async def handler(payload):
        handled.append(payload)

        def finish(session):
            raise RuntimeError("disk full")
        return finish

    intake = Intake(sms_runtime.database, "sms", handler)
    await intake.accept("SM" + "3" * 32, USER, {"Body": "halo"})
    await intake.drain()
    await intake.accept("SM" + "3" * 32, USER, {"Body": "halo"})
    await intake.drain()
    restarted = Intake(sms_runtime.database, "sms", handler)

    assert await restarted.recover() == 0
    assert handled == [{"Body": "halo"}]
    assert count(sms_runtime, InboundDelivery, InboundDelivery.state == "handled") == 1
    assert any("writes after handling failed" in record.getMessage() for record in caplog.records)


async def test_a_preference_the_action_server_stores_during_a_turn_applies_to_that_turns_reply(
        tmp_path, telegram_runtime):
    settings, database = telegram_runtime.settings, telegram_runtime.database
    layer = AccessibilityLayer(settings, database, text_to_speech=TextToSpeech(tmp_path / "tts", engine="espeak"))
    seen_profiles = []

    async def rasa(message):
        seen_profiles.append(message.metadata["profile"]["voice_replies"])
        if message.text == "jawab pakai suara":
            with database.session() as session:  # as the action server does, in its own process
                ProfileRepository(session).update("telegram", USER, voice_replies=True)
        await message.output_channel.send_text_message(message.sender_id, "Baik.")

    conversation = Conversation("telegram", settings, database, rasa, layer=layer)
    await conversation.arrived(USER, str(CHAT))
    before = await conversation.turn(USER, text="halo")
    await conversation.arrived(USER, str(CHAT))
    switched = await conversation.turn(USER, text="jawab pakai suara")
    await conversation.arrived(USER, str(CHAT))
    await conversation.turn(USER, text="jalan rusak")

    assert before[0].voice_ogg is None
    assert switched[0].voice_ogg is not None
    assert seen_profiles == [False, False, True]


class TwoReplies(RecordingRasa):
    async def __call__(self, message) -> None:
        self.messages.append(message)
        await message.output_channel.send_text_message(message.sender_id, "Halo, selamat datang.")
        await message.output_channel.send_text_message(message.sender_id, "Apa yang ingin Anda laporkan?")


async def test_two_short_replies_reach_telegram_as_one_message(telegram_runtime, fake_telegram):
    with sanic_test_mode():
        async with Mounted(TelegramInput(telegram_runtime), TwoReplies()) as server:
            await send_text(server, 800021, "halo")

    assert fake_telegram.texts(CHAT) == ["Halo, selamat datang.\n\nApa yang ingin Anda laporkan?"]


async def test_two_short_replies_reach_the_phone_as_one_sms(sms_runtime, sms_port, fake_twilio):
    with sanic_test_mode():
        server = Mounted(SmsInput(sms_runtime), TwoReplies(), port=sms_port)
        await server.__aenter__()
        try:
            await send_sms(server, fake_twilio, "SM" + "4" * 32, "halo")
        finally:
            await server.stop()

    assert fake_twilio.bodies() == ["Halo, selamat datang.\n\nApa yang ingin Anda laporkan?"]
