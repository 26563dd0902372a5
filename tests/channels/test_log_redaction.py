from __future__ import annotations

import io
import logging

import pytest

from channels import redact
from channels import telegram as telegram_module
from channels.connector_runtime import runtime_for
from channels.telegram import TelegramInput
from tests.channels.fakes.telegram_api import update
from tests.channels.harness import TELEGRAM_TOKEN, channel_environ, mounted_with_recording, settings_for

SECRET = "redaction_secret-0123456789"
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
CHAT = 5512345678
LOGGERS = ["channels", "channels.telegram", "channels.sending", "channels.intake", "aiohttp.client",
           "rasa.core.processor", "sanic.error", "an.unknown.library", ""]


@pytest.fixture
def late_handler():
    """A handler added after protect(): only redaction at record creation reaches it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(previous)


@pytest.mark.parametrize("name", LOGGERS)
def test_a_secret_is_redacted_on_every_logger_in_messages_arguments_and_tracebacks(name, late_handler, caplog):
    caplog.set_level(logging.DEBUG)
    redact.protect([TELEGRAM_TOKEN])
    logger = logging.getLogger(name)

    logger.warning("GET https://api.telegram.org/file/bot%s/voice/file_1.oga failed", TELEGRAM_TOKEN)
    logger.info(f"inline {TELEGRAM_TOKEN.split(':')[1]} in the message")
    try:
        raise RuntimeError(f"redirect loop at https://api.telegram.org/file/bot{TELEGRAM_TOKEN}/x")
    except RuntimeError:
        logger.exception("download failed")

    for text in (late_handler.getvalue(), caplog.text):
        assert "download failed" in text and "<redacted>" in text
        assert TELEGRAM_TOKEN not in text
        assert TELEGRAM_TOKEN.split(":")[1] not in text


@pytest.fixture
def runtime(tmp_path, fake_telegram):
    environ = channel_environ(tmp_path / "data", SAPALAPOR_TELEGRAM_ENABLED="true",
                              TELEGRAM_BOT_TOKEN=TELEGRAM_TOKEN, TELEGRAM_WEBHOOK_SECRET=SECRET,
                              TELEGRAM_API_BASE_URL=fake_telegram.base_url,
                              SAPALAPOR_PUBLIC_URL="https://sapalapor.example.org")
    return runtime_for(settings_for(environ))


def voice(fake_telegram, file_id: str) -> dict:
    payload = update("payload_voice")
    payload["message"]["voice"]["file_id"] = file_id
    fake_telegram.files[file_id] = b"OggS voice bytes"
    return payload


@pytest.mark.parametrize("trouble", ["redirect_loop", "no_file_path"])
async def test_a_voice_note_that_cannot_be_downloaded_is_answered_and_leaks_no_token(
        runtime, fake_telegram, late_handler, caplog, trouble):
    caplog.set_level(logging.DEBUG)
    file_id = f"AwACAgUAAxkBAAIB{trouble}"
    getattr(fake_telegram, trouble).add(file_id)

    async with mounted_with_recording(TelegramInput(runtime)) as server:
        status, _ = await server.post("/webhooks/telegram/webhook", json=voice(fake_telegram, file_id),
                                      headers=HEADERS)
        await server.connector.intake.drain()

    assert status == 200
    assert fake_telegram.texts(CHAT) == [telegram_module.DOWNLOAD_FAILED_REPLY]
    assert server.rasa.messages == []
    for text in (late_handler.getvalue(), caplog.text):
        assert "download" in text
        assert TELEGRAM_TOKEN not in text and TELEGRAM_TOKEN.split(":")[1] not in text
