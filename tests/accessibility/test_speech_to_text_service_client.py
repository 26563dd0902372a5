"""The gateway's side of speech-to-text as a service (issue 19), against a fake speech server on loopback.

What is checked: the request is the worker's request (audio in base64, the options) with the
token derived from the identity key; the service's rejections reach the citizen as the local
worker's would; a connection error or a 5xx is tried once more, then "unavailable"; no local
worker is ever started.
"""
from __future__ import annotations

import asyncio
import base64
import json

import pytest
from aiohttp import web

from accessibility.speech_service import max_audio_bytes, speech_token
from accessibility.speech_to_text import AudioRejected, SpeechToText, Transcript, rejection_message
from bot.rasa_project import free_port
from bot.settings import Section, Settings

KEY = "test-identity-key-not-secret-0123456789"
TRANSCRIPT = {"text": "jalan rusak", "confidence": 0.8, "seconds": 2.0, "elapsed": 0.5, "expects": "free_text",
              "answer": None, "margin": None, "looping": False, "heard": "jalan rusak"}


class FakeSpeechServer:
    """Answers each POST /transcribe with the next of ``answers`` (status, body), the last one repeated."""

    def __init__(self, answers) -> None:
        self.answers = list(answers)
        self.requests = []
        self.health_checks = 0
        self.url = ""
        self._runner = None

    async def _transcribe(self, request: web.Request) -> web.Response:
        self.requests.append({"authorization": request.headers.get("Authorization"), "body": await request.json()})
        status, body = self.answers[min(len(self.requests), len(self.answers)) - 1]
        return web.json_response(body, status=status)

    async def _health(self, _request: web.Request) -> web.Response:
        self.health_checks += 1
        return web.json_response({"status": "ok"})

    async def __aenter__(self) -> "FakeSpeechServer":
        app = web.Application()
        app.router.add_post("/transcribe", self._transcribe)
        app.router.add_get("/health", self._health)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc) -> None:
        await self._runner.cleanup()


@pytest.fixture(autouse=True)
def no_local_worker(monkeypatch):
    """Any attempt to start a speech worker in this process fails the test."""
    def refused(*_args, **_kwargs):
        raise AssertionError("a local speech worker was started although a service is configured")

    monkeypatch.setattr("accessibility.speech_worker_client.SpeechWorker.start", refused)
    monkeypatch.setattr("accessibility.speech_worker_client.SpeechWorker._ensure_running", refused)
    monkeypatch.setattr(SpeechToText, "speech_worker", refused)
    monkeypatch.setattr(SpeechToText, "model", refused)


def settings_for(tmp_path, service_url: str) -> Settings:
    data = {"data_dir": str(tmp_path / "data"), "identity": {"hash_key": KEY},
            "accessibility": {"speech_to_text": {"model": "bundled-base", "language": "id", "max_seconds": 120,
                                                 "service_url": service_url}}}
    return Settings(root=Section("", data), base_dir=tmp_path)


_made = []


def client(tmp_path, url: str) -> SpeechToText:
    speech = SpeechToText.from_settings(settings_for(tmp_path, url))
    _made.append(speech)
    return speech


@pytest.fixture(autouse=True)
async def closed_afterwards():
    yield
    while _made:
        await _made.pop().close()


async def test_a_voice_note_is_sent_as_the_workers_request_with_the_token_and_its_transcript_returned(tmp_path):
    async with FakeSpeechServer([(200, TRANSCRIPT)]) as server:
        speech = client(tmp_path, server.url + "/")
        transcript = await speech.transcribe(b"OggS-voice", "audio/ogg", expects="choice", titles=["Ya", "Tidak"])
    assert isinstance(transcript, Transcript) and transcript.text == "jalan rusak"
    [sent] = server.requests
    assert sent["authorization"] == f"Bearer {speech_token(KEY.encode())}"
    body = sent["body"]
    assert base64.b64decode(body["audio"]) == b"OggS-voice"
    assert (body["mime"], body["expects"], body["titles"]) == ("audio/ogg", "choice", ["Ya", "Tidak"])
    assert body["options"] == json.loads(json.dumps(speech.options()))


async def test_fields_a_newer_replica_adds_to_the_transcript_are_ignored(tmp_path):
    async with FakeSpeechServer([(200, {**TRANSCRIPT, "added_later": 1})]) as server:
        transcript = await client(tmp_path, server.url).transcribe(b"OggS", "audio/ogg")
    assert transcript.text == "jalan rusak"


@pytest.mark.parametrize("reason", ["too_long", "empty", "not_audio", "corrupt", "unavailable"])
async def test_the_services_rejections_reach_the_citizen_as_the_local_workers_do(tmp_path, reason):
    async with FakeSpeechServer([(200, {"rejected": reason})]) as server:
        with pytest.raises(AudioRejected) as rejected:
            await client(tmp_path, server.url).transcribe(b"OggS", "audio/ogg")
    assert (rejected.value.reason, rejected.value.message) == (reason, rejection_message(reason, 120))
    assert len(server.requests) == 1


async def test_a_busy_replica_is_answered_busy_at_once_not_retried(tmp_path):
    async with FakeSpeechServer([(503, {"rejected": "busy"})]) as server:
        with pytest.raises(AudioRejected) as rejected:
            await client(tmp_path, server.url).transcribe(b"OggS", "audio/ogg")
    assert (rejected.value.reason, rejected.value.message) == ("busy", rejection_message("busy", 120))
    assert len(server.requests) == 1


async def test_a_server_error_is_tried_once_more_and_the_second_answer_used(tmp_path):
    async with FakeSpeechServer([(502, {"error": "bad gateway"}), (200, TRANSCRIPT)]) as server:
        transcript = await client(tmp_path, server.url).transcribe(b"OggS", "audio/ogg")
    assert transcript.text == "jalan rusak" and len(server.requests) == 2


async def test_two_server_errors_make_the_note_unavailable(tmp_path):
    async with FakeSpeechServer([(500, {"error": "boom"})]) as server:
        with pytest.raises(AudioRejected) as rejected:
            await client(tmp_path, server.url).transcribe(b"OggS", "audio/ogg")
    assert rejected.value.reason == "unavailable"
    assert rejected.value.message == rejection_message("unavailable", 120)
    assert len(server.requests) == 2


async def test_an_unreachable_service_is_unavailable_after_one_retry(tmp_path, caplog):
    speech = client(tmp_path, f"http://127.0.0.1:{free_port()}")
    with pytest.raises(AudioRejected) as rejected:
        await speech.transcribe(b"OggS", "audio/ogg")
    assert rejected.value.reason == "unavailable"
    assert any("trying once more" in record.getMessage() for record in caplog.records)


async def test_a_refused_token_is_not_retried_and_is_unavailable(tmp_path):
    async with FakeSpeechServer([(401, {"error": "unauthorized"})]) as server:
        with pytest.raises(AudioRejected) as rejected:
            await client(tmp_path, server.url).transcribe(b"OggS", "audio/ogg")
    assert rejected.value.reason == "unavailable" and len(server.requests) == 1


async def test_a_note_larger_than_the_service_takes_is_too_long_without_being_sent(tmp_path):
    async with FakeSpeechServer([(200, TRANSCRIPT)]) as server:
        with pytest.raises(AudioRejected) as rejected:
            await client(tmp_path, server.url).transcribe(b"\0" * (max_audio_bytes(120) + 1), "audio/ogg")
    assert rejected.value.reason == "too_long" and server.requests == []


async def test_warming_up_with_a_service_asks_its_health_and_starts_no_worker(tmp_path):
    async with FakeSpeechServer([(200, TRANSCRIPT)]) as server:
        speech = client(tmp_path, server.url)
        await asyncio.to_thread(speech.warm_up)
    assert server.health_checks == 1


def test_without_a_service_url_the_local_worker_path_is_kept(tmp_path):
    speech = client(tmp_path, "")
    assert speech.service is None and speech.worker is True
