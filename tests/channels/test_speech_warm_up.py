import asyncio

import pytest

from bot.settings import load_settings
from channels.connector_lifecycle import ConnectorLifecycle


class Connector(ConnectorLifecycle):
    def __init__(self):
        self._init_lifecycle()


class Layer:
    def __init__(self):
        self.warmed = asyncio.Event()

    async def warm_up(self):
        self.warmed.set()


class Conversation:
    def __init__(self, warm_up):
        self.settings = load_settings(environ={"SAPALAPOR_STT_WARM_UP": warm_up, "SAPALAPOR_IDENTITY_KEY": "k" * 20})
        self.layer = Layer()


@pytest.mark.parametrize("warm_up, expected", [("true", True), ("false", False)])
async def test_a_voice_connector_starts_speech_to_text_with_the_server_when_config_asks(warm_up, expected):
    connector, conversation = Connector(), Conversation(warm_up)
    connector._warm_up_speech(conversation)
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert conversation.layer.warmed.is_set() is expected
    await connector._stop_background()


async def test_warming_up_starts_the_speech_worker_not_a_model_in_the_server(monkeypatch, tmp_path):
    from accessibility import speech_to_text
    from accessibility.pipeline import AccessibilityLayer

    started = []
    monkeypatch.setattr(speech_to_text.SpeechToText, "warm_up", lambda self: started.append(self.worker))
    monkeypatch.setattr(speech_to_text.SpeechToText, "model", lambda self: pytest.fail("model loaded in the server"))
    from storage.db import Database

    settings = load_settings(environ={"SAPALAPOR_DATA_DIR": str(tmp_path), "SAPALAPOR_IDENTITY_KEY": "k" * 20})
    database = Database(f"sqlite:///{tmp_path / 'sapalapor.db'}")
    try:
        await AccessibilityLayer(settings, database).warm_up()
    finally:
        database.dispose()
    assert started == [True]
