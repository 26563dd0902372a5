from __future__ import annotations

import os

import pytest

from accessibility.pipeline import AccessibilityLayer
from accessibility.speech_to_text import SpeechToText
from accessibility.text_to_speech import TextToSpeech
from bot.settings import Section, Settings
from storage.db import Database


def make_settings(tmp_path, **accessibility) -> Settings:
    data = {
        "data_dir": str(tmp_path / "data"),
        "accessibility": {
            "speech_to_text": {"model": "bundled-base", "language": "id", "max_seconds": 120},
            "text_to_speech": {"engine": "auto", "gtts_base_url": "", "cache_dir": "tts-cache"},
            "defaults": {"voice_replies": False, "simple_language": False, "speech_rate": "normal"},
        },
    }
    for name, values in accessibility.items():
        data["accessibility"][name].update(values)
    return Settings(root=Section("", data), base_dir=tmp_path)


@pytest.fixture
def settings(tmp_path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def database(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'sapalapor.db'}")
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture
def layer(settings, database) -> AccessibilityLayer:
    return AccessibilityLayer(settings, database)


@pytest.fixture(scope="session")
def stt(tmp_path_factory) -> SpeechToText:
    """The real bundled Whisper base; the model loads once per test session (as in production)."""
    threads = int(os.environ.get("SAPALAPOR_STT_THREADS") or 1)  # the suite runs with 1 and with 2
    return SpeechToText("bundled-base", data_dir=tmp_path_factory.mktemp("stt-data"), cpu_threads=threads)


@pytest.fixture
def offline_tts(tmp_path) -> TextToSpeech:
    return TextToSpeech(tmp_path / "tts-cache", engine="espeak")
