"""The speech server (``python -m bot serve speech``, bot/speech_server.py; issue 19).

In process, around a stand-in worker: the token is required, /health says 503 until the model
is loaded, a full queue is answered 503 busy, a bad or oversized body is refused. Then the real
command in a process of its own, with the bundled Whisper base: an espeak-ng voice note sent
by :class:`SpeechToText` with ``service_url`` comes back as a transcript (its text is not
compared: CTranslate2's output differs between CPUs), decoded in the server's worker.
"""
from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import aiohttp
import pytest
from sanic import Sanic

from accessibility.speech_service import max_body_bytes, speech_token
from accessibility.speech_to_text import SpeechToText, Transcript
from bot.rasa_project import free_port
from bot.settings import Section, Settings
from bot.speech_server import build_app
from tests.accessibility.clips import SENTENCES, speak

ROOT = Path(__file__).resolve().parents[2]
KEY = "test-identity-key-not-secret-0123456789"
TOKEN = speech_token(KEY.encode())
AUTH = {"Authorization": f"Bearer {TOKEN}"}
REPLY = {"text": "halo", "confidence": 0.9, "seconds": 1.0, "elapsed": 0.2, "expects": None, "answer": None,
         "margin": None, "looping": False, "heard": "halo"}


class StandInWorker:
    """The SpeechWorker's surface: start (held until ``loaded`` is set), reserve/release, transcribe."""

    def __init__(self, max_queued: int = 2) -> None:
        self.max_queued = max_queued
        self.loaded = threading.Event()
        self.decoding = threading.Event()  # cleared: transcribe waits (the queue fills up)
        self.decoding.set()
        self.started = threading.Event()
        self.requests = []
        self._pending = 0
        self._lock = threading.Lock()
        self.pid = None

    def start(self) -> None:
        self.started.set()
        self.loaded.wait(30)
        self.pid = 4242

    def reserve(self) -> bool:
        with self._lock:
            if self._pending >= self.max_queued:
                return False
            self._pending += 1
            return True

    def release(self) -> None:
        with self._lock:
            self._pending -= 1

    def transcribe(self, request: dict, timeout: float) -> dict:
        self.requests.append(request)
        self.decoding.wait(30)
        return dict(REPLY)

    def close(self) -> None:
        self.loaded.set()
        self.decoding.set()


@pytest.fixture(autouse=True)
def sanic_test_mode(monkeypatch):
    # Several apps in one process: Sanic rewrites its request handling for the first app only
    # outside test mode (tests/channels/harness.py does the same).
    monkeypatch.setattr(Sanic, "test_mode", True)


class Served:
    def __init__(self, worker) -> None:
        self.app = build_app(worker, TOKEN, max_seconds=120, name=f"speech_test_{uuid.uuid4().hex[:12]}")
        self.server = None
        self.url = ""

    async def __aenter__(self) -> "Served":
        port = free_port()
        self.server = await self.app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True,
                                                   access_log=False)
        await self.server.startup()
        await self.server.before_start()
        await self.server.after_start()
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc) -> None:
        await self.server.before_stop()
        self.server.close()
        await self.server.wait_closed()
        await self.server.after_stop()

    async def get(self, path: str):
        async with aiohttp.ClientSession() as session:
            async with session.get(self.url + path) as answer:
                return answer.status, await answer.json(content_type=None)

    async def post(self, body, headers=None):
        async with aiohttp.ClientSession() as session:
            async with session.post(self.url + "/transcribe", json=body if not isinstance(body, bytes) else None,
                                    data=body if isinstance(body, bytes) else None,
                                    headers=headers if headers is not None else AUTH) as answer:
                return answer.status, await answer.json(content_type=None)


def note(audio: bytes = b"OggS-note") -> dict:
    return {"audio": base64.b64encode(audio).decode(), "mime": "audio/ogg", "options": {"max_seconds": 600},
            "expects": "free_text", "titles": []}


async def wait_for(condition, limit: float = 10.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)


async def test_health_is_503_until_the_model_is_loaded_at_start_then_200():
    worker = StandInWorker()
    async with Served(worker) as served:
        await wait_for(worker.started.is_set)  # loading began with the server, before any note
        assert (await served.get("/health"))[0] == 503
        worker.loaded.set()
        await wait_for(lambda: served.app.ctx.ready)
        status, body = await served.get("/health")
        assert status == 200 and body["status"] == "ok"


async def test_a_request_without_the_token_or_with_another_is_refused_401():
    worker = StandInWorker()
    worker.loaded.set()
    async with Served(worker) as served:
        assert (await served.post(note(), headers={}))[0] == 401
        wrong = {"Authorization": f"Bearer {speech_token(b'another-identity-key-0123456789')}"}
        assert (await served.post(note(), headers=wrong))[0] == 401
        assert worker.requests == []
        status, reply = await served.post(note())
    assert status == 200 and reply == REPLY
    [request] = worker.requests
    assert request["audio"] == b"OggS-note" and request["expects"] == "free_text"
    assert request["options"]["max_seconds"] == 120  # the replica's cap wins over the client's


async def test_a_full_queue_is_answered_503_busy():
    worker = StandInWorker(max_queued=2)
    worker.loaded.set()
    worker.decoding.clear()
    async with Served(worker) as served:
        waiting = [asyncio.ensure_future(served.post(note())) for _ in range(2)]
        await wait_for(lambda: len(worker.requests) >= 1 and worker._pending == 2)
        assert await served.post(note()) == (503, {"rejected": "busy"})
        worker.decoding.set()
        assert [answer[0] for answer in await asyncio.gather(*waiting)] == [200, 200]


async def test_bodies_that_are_no_request_or_too_large_are_refused():
    worker = StandInWorker()
    worker.loaded.set()
    async with Served(worker) as served:
        assert (await served.post({"audio": "not base64!", "mime": "audio/ogg"}))[0] == 400
        assert (await served.post({"mime": "audio/ogg"}))[0] == 400
        assert (await served.post(b"{not json", headers={**AUTH, "Content-Type": "application/json"}))[0] == 400
        # Refused on its Content-Length, before the body is read (so only the headers are sent).
        reader, writer = await asyncio.open_connection("127.0.0.1", int(served.url.rsplit(":", 1)[1]))
        writer.write(f"POST /transcribe HTTP/1.1\r\nHost: speech\r\nAuthorization: Bearer {TOKEN}\r\n"
                     f"Content-Type: application/json\r\nContent-Length: {max_body_bytes(120) + 1}\r\n\r\n"
                     .encode())
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 10)
        writer.close()
        assert status_line.split()[1] == b"413"
    assert worker.requests == []


def test_the_serve_command_runs_the_speech_server_on_its_port():
    environment = {**os.environ, "SAPALAPOR_IDENTITY_KEY": KEY}
    printed = subprocess.run([sys.executable, "-m", "bot", "serve", "speech", "--print"], cwd=ROOT,
                             env=environment, capture_output=True, text=True, check=True).stdout.split()
    assert printed[1:] == ["-m", "bot.speech_server", "--host", "127.0.0.1", "--port", "5070"]


def children_of(pid: int) -> list:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
    return found


async def test_a_real_voice_note_is_transcribed_by_the_speech_server_in_its_own_worker(stt, tmp_path, monkeypatch):
    def refused(*_args, **_kwargs):
        raise AssertionError("the client started a speech worker of its own")

    monkeypatch.setattr(SpeechToText, "speech_worker", refused)
    port = free_port()
    environment = {**os.environ, "SAPALAPOR_IDENTITY_KEY": KEY, "SAPALAPOR_DATA_DIR": str(stt.data_dir),
                   "SAPALAPOR_STT_THREADS": str(stt.cpu_threads), "SAPALAPOR_SPEECH_URL": ""}
    log_file = tmp_path / "speech.log"
    server = subprocess.Popen([sys.executable, "-m", "bot", "serve", "speech", "--port", str(port)], cwd=ROOT,
                              env=environment, stdout=open(log_file, "wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    speech = SpeechToText("bundled-base", data_dir=tmp_path / "client-data", service_url=url,
                          service_token=TOKEN)
    try:
        statuses = []
        deadline = time.monotonic() + 240
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline and server.poll() is None:
                try:
                    async with session.get(url + "/health") as answer:
                        statuses.append(answer.status)
                        if answer.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.2)
        assert statuses and statuses[-1] == 200, log_file.read_text()[-2000:]
        [worker_pid] = children_of(server.pid)  # the model is in the server's child, warmed up at start
        transcript = await speech.transcribe(speak(SENTENCES[0], "ogg"), "audio/ogg", expects="free_text")
        assert isinstance(transcript, Transcript)
        assert transcript.text.strip() and 0.0 <= transcript.confidence <= 1.0 and transcript.seconds > 1.0
        assert children_of(server.pid) == [worker_pid]  # the same worker, which held the model
    finally:
        await speech.close()
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    assert "speech worker pid" in log_file.read_text()
