from __future__ import annotations

import pytest

from shared.citizen_text import entry
from accessibility.profiles import ProfileStore
from accessibility.simple_language import check_simple
from channels.connector_runtime import runtime_for
from channels.telegram import TelegramInput
from storage.identity import identity_hash
from tests.channels.fakes.telegram_api import fixture
from tests.channels.harness import IDENTITY_KEY, TELEGRAM_TOKEN, channel_environ, mounted_with_recording, settings_for

SECRET = "webhook-secret_0123456789"
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
CHAT = 5512345678

# What a connector says on its own, by payload: rendered by the accessibility layer in the
# citizen's form, so a simple-language profile reads the simple variant of the catalogue entry.
CASES = [
    # payload, catalogue entry, simple language
    ("payload_edited_message", "channel.edited", True),
    ("payload_sticker", "channel.unsupported", True),
    ("payload_voice_too_large", "channel.too_large", True),
    ("payload_photo", "channel.attachment_saved", True),
    ("payload_document", "channel.attachment_saved", True),
    ("payload_sticker", "channel.unsupported", False),
    ("payload_photo", "channel.attachment_saved", False),
]


@pytest.fixture
def runtime(tmp_path, fake_telegram):
    return runtime_for(settings_for(channel_environ(
        tmp_path / "data", SAPALAPOR_TELEGRAM_ENABLED="true", TELEGRAM_BOT_TOKEN=TELEGRAM_TOKEN,
        TELEGRAM_WEBHOOK_SECRET=SECRET, TELEGRAM_API_BASE_URL=fake_telegram.base_url,
        SAPALAPOR_PUBLIC_URL="https://sapalapor.example.org")))


@pytest.mark.parametrize("name, key, simple", CASES, ids=[f"{case[0]}-{'simple' if case[2] else 'regular'}"
                                                         for case in CASES])
async def test_what_the_connector_says_itself_follows_the_citizens_profile(runtime, fake_telegram, name, key, simple):
    for file_id in ("AgACAgUAAxkBAAIBPhotoLarge", "BQACAgUAAxkBAAIBDoc01"):
        fake_telegram.files[file_id] = b"JPEG or PDF bytes of " + file_id.encode()
    hashed = identity_hash(IDENTITY_KEY.encode(), "telegram", str(CHAT))
    ProfileStore(runtime.database).update("telegram", hashed, simple_language=simple)

    async with mounted_with_recording(TelegramInput(runtime)) as server:
        status, _ = await server.post("/webhooks/telegram/webhook", json=fixture(name), headers=HEADERS)
        await server.connector.intake.drain()

    assert status == 200
    variant = entry(key)
    assert fake_telegram.texts(CHAT) == [variant.simple if simple else variant.regular]
    if simple:
        assert check_simple(fake_telegram.texts(CHAT)[0], False) == []
