from __future__ import annotations

import json
import logging
import subprocess

import pytest

from accessibility.audio import decode
from accessibility.text_to_speech import SpeechFailed, TextToSpeech, VoiceCache
from tests.accessibility.gtts_fake import FakeGoogleTTS

PROMPT = "Terima kasih. Laporan Anda sudah kami terima."


def probe(ogg: bytes) -> dict:
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", "-show_format", "-"],
        input=ogg, capture_output=True, check=True,
    )
    return json.loads(result.stdout)


def seconds(ogg: bytes) -> float:
    return decode(ogg, "audio/ogg").seconds


@pytest.fixture
def fake_google():
    with FakeGoogleTTS() as fake:
        yield fake


def test_gtts_through_the_fake_endpoint_gives_a_mono_opus_voice_note(tmp_path, fake_google):
    tts = TextToSpeech(tmp_path, gtts_base_url=fake_google.url)
    speech = tts.synthesise(PROMPT)
    stream = probe(speech.ogg)["streams"][0]
    assert speech.engine == "gtts"
    assert stream["codec_name"] == "opus" and stream["channels"] == 1
    assert fake_google.requests == [
        {"path": "/_/TranslateWebserverUi/data/batchexecute", "rpc": "jQ1olc", "text": PROMPT, "lang": "id", "speed": None}
    ]


def test_second_synthesis_of_a_prompt_is_a_cache_hit_without_a_request(tmp_path, fake_google):
    tts = TextToSpeech(tmp_path, gtts_base_url=fake_google.url)
    first = tts.synthesise(PROMPT)
    second = TextToSpeech(tmp_path, gtts_base_url=fake_google.url).synthesise(PROMPT)
    assert (first.cached, second.cached) == (False, True)
    assert second.ogg == first.ogg
    assert len(fake_google.requests) == 1


def test_a_rate_limited_gtts_falls_back_to_espeak_with_one_log_line_and_backs_off(tmp_path, fake_google, caplog):
    fake_google.status = 429
    tts = TextToSpeech(tmp_path, gtts_base_url=fake_google.url, gtts_backoff_seconds=600)
    with caplog.at_level(logging.WARNING, logger="accessibility.text_to_speech"):
        first = tts.synthesise(PROMPT)
        second = tts.synthesise("Di mana kejadiannya?")
    assert (first.engine, second.engine) == ("espeak", "espeak")
    assert probe(first.ogg)["streams"][0]["codec_name"] == "opus"
    assert len(fake_google.requests) == 1
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 1 and "429" in warnings[0] and "espeak-ng" in warnings[0]


def test_gtts_is_tried_again_once_the_back_off_is_over(tmp_path, fake_google):
    fake_google.status = 429
    tts = TextToSpeech(tmp_path, gtts_base_url=fake_google.url, gtts_backoff_seconds=0)
    assert tts.synthesise(PROMPT).engine == "espeak"
    fake_google.status = 200
    assert tts.synthesise(PROMPT).engine == "gtts"
    assert len(fake_google.requests) == 2


def test_an_unreachable_gtts_falls_back_to_espeak(tmp_path):
    with FakeGoogleTTS() as gone:
        url = gone.url
    assert TextToSpeech(tmp_path, gtts_base_url=url, gtts_timeout=2).synthesise(PROMPT).engine == "espeak"


def test_offline_engine_never_calls_gtts(tmp_path, fake_google):
    speech = TextToSpeech(tmp_path, engine="espeak", gtts_base_url=fake_google.url).synthesise(PROMPT)
    assert speech.engine == "espeak"
    assert fake_google.requests == []


def test_gtts_only_engine_reports_failure_instead_of_falling_back(tmp_path, fake_google):
    fake_google.status = 429
    with pytest.raises(SpeechFailed):
        TextToSpeech(tmp_path, engine="gtts", gtts_base_url=fake_google.url).synthesise(PROMPT)


def test_slow_speech_is_longer_and_cached_separately(tmp_path, fake_google):
    for engine in ("gtts", "espeak"):
        tts = TextToSpeech(tmp_path / engine, engine=engine, gtts_base_url=fake_google.url)
        normal, slow = tts.synthesise(PROMPT, "normal"), tts.synthesise(PROMPT, "slow")
        assert slow.cached is False
        assert seconds(slow.ogg) > seconds(normal.ogg) * 1.15, engine


def test_cache_key_depends_on_text_engine_voice_and_speed():
    keys = {
        VoiceCache.key("a", "gtts", "id", "normal"),
        VoiceCache.key("b", "gtts", "id", "normal"),
        VoiceCache.key("a", "espeak", "id", "normal"),
        VoiceCache.key("a", "gtts", "jw", "normal"),
        VoiceCache.key("a", "gtts", "id", "slow"),
    }
    assert len(keys) == 5


def test_nothing_to_say_is_an_error(tmp_path):
    with pytest.raises(ValueError):
        TextToSpeech(tmp_path, engine="espeak").synthesise("   ")
