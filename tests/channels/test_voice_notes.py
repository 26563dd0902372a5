from __future__ import annotations

import pytest

from channels.connector_runtime import runtime_for
from channels.telegram import TelegramInput
from channels.whatsapp import WhatsAppInput
from tests.accessibility.clips import speak
from tests.channels.fakes.telegram_api import FakeTelegram, fixture as telegram_fixture
from tests.channels.fakes.twilio_api import FakeTwilio, fixture as twilio_fixture, sign
from tests.channels.harness import Mounted, RecordingRasa, channel_environ, free_port, sanic_test_mode, settings_for

TOKEN = "7000000001:AAF-voice-token-0123456789abcdefgh"
SECRET = "voice_secret-0123456789"
ACCOUNT = "AC00000000000000000000000000000001"
AUTH_TOKEN = "0123456789abcdef0123456789abcdef"
CHAT = 5512345678
SPOKEN = "Jalan di depan rumah saya rusak parah sejak bulan lalu."


@pytest.fixture(scope="module")
def voice_clip() -> bytes:
    return speak(SPOKEN, "ogg")


def heard_the_road(text: str) -> bool:
    return "jalan" in text.lower() and "rusak" in text.lower()


async def test_telegram_voice_note_is_transcribed_and_answered_by_voice(tmp_path, voice_clip):
    fake = await FakeTelegram(TOKEN).start()
    fake.files["AwACAgUAAxkBAAIBVoice01"] = voice_clip
    environ = channel_environ(tmp_path / "data", TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_WEBHOOK_SECRET=SECRET,
                              TELEGRAM_API_BASE_URL=fake.base_url, SAPALAPOR_PUBLIC_URL="https://sapalapor.example.org")
    rasa = RecordingRasa()
    try:
        with sanic_test_mode():
            async with Mounted(TelegramInput(runtime_for(settings_for(environ))), rasa) as server:
                status, _ = await server.post("/webhooks/telegram/webhook", json=telegram_fixture("payload_voice"),
                                              headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
                await server.connector.intake.drain()
    finally:
        await fake.stop()

    assert status == 200
    message = rasa.messages[0]
    assert heard_the_road(message.text)
    assert message.metadata["input_mode"] == "voice"
    assert 0.0 <= message.metadata["stt_confidence"] <= 1.0
    assert [call.params["action"] for call in fake.sent("sendChatAction")][:1] == ["record_voice"]
    assert fake.texts(CHAT) and heard_the_road(fake.texts(CHAT)[0])
    voice_notes = fake.sent("sendVoice", CHAT)
    assert len(voice_notes) == 1 and voice_notes[0].files["voice"][:4] == b"OggS"


async def test_whatsapp_voice_note_is_downloaded_transcribed_and_answered_with_a_media_link(tmp_path, voice_clip):
    fake = await FakeTwilio(ACCOUNT, AUTH_TOKEN).start()
    fake.media["ME0000000000000000000000000voice0"] = ("audio/ogg", voice_clip)
    port = free_port()
    environ = channel_environ(tmp_path / "data", TWILIO_ACCOUNT_SID=ACCOUNT, TWILIO_AUTH_TOKEN=AUTH_TOKEN,
                              TWILIO_WHATSAPP_FROM="+14155238886", TWILIO_API_BASE_URL=fake.base_url,
                              SAPALAPOR_PUBLIC_URL=f"http://127.0.0.1:{port}")
    rasa = RecordingRasa()
    params = twilio_fixture("payload_whatsapp_voice", api=fake.base_url)
    url = f"http://127.0.0.1:{port}/webhooks/whatsapp/webhook"
    try:
        with sanic_test_mode():
            async with Mounted(WhatsAppInput(runtime_for(settings_for(environ))), rasa, port=port) as server:
                status, _ = await server.post("/webhooks/whatsapp/webhook", data=params,
                                              headers={"X-Twilio-Signature": sign(AUTH_TOKEN, url, params)})
                await server.connector.intake.drain()
    finally:
        await fake.stop()

    assert status == 200
    assert heard_the_road(rasa.messages[0].text)
    assert rasa.messages[0].metadata["input_mode"] == "voice"
    assert fake.media_requests and all(header.startswith("Basic ") for header in fake.media_requests)
    texts = [message for message in fake.messages if message.body]
    voices = [message for message in fake.messages if message.media_urls]
    assert len(texts) == 1 and heard_the_road(texts[0].body)
    assert len(voices) == 1
    status, content_type, data = voices[0].fetched_media[0]
    assert (status, content_type, data[:4]) == (200, "audio/ogg", b"OggS")
