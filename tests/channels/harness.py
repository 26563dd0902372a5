"""Mounting a connector's blueprint in a real Sanic server on loopback, with a recording Rasa.

The recording ``on_new_message`` answers like a tiny dialogue (a question with buttons, an
echo) through the CollectingOutputChannel the connector passed, so the connector's own
rendering and sending run for real; it also keeps every UserMessage for assertions.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from pathlib import Path
from typing import Dict, List, Optional

import aiohttp
from sanic import Sanic

from bot.settings import load_settings

IDENTITY_KEY = "test-identity-key-not-secret-0123456789"
TELEGRAM_TOKEN = "7000000001:AAF-test-token-0123456789abcdefghij"
TWILIO_ACCOUNT = "AC00000000000000000000000000000001"
TWILIO_AUTH_TOKEN = "0123456789abcdef0123456789abcdef"
MENU_BUTTONS = [
    {"title": "Pengaduan", "payload": "/file_complaint"},
    {"title": "Aspirasi", "payload": "/file_aspiration"},
    {"title": "Minta informasi", "payload": "/request_information"},
]


def channel_environ(data_dir: Path, **extra: str) -> Dict[str, str]:
    environ = dict(os.environ)
    environ.update(
        SAPALAPOR_DATA_DIR=str(data_dir),
        SAPALAPOR_DATABASE_URL=f"sqlite:///{data_dir / 'sapalapor.db'}",
        SAPALAPOR_TRACKER_URL=f"sqlite:///{data_dir / 'tracker.db'}",
        SAPALAPOR_IDENTITY_KEY=IDENTITY_KEY,
        SAPALAPOR_PUBLIC_URL="",
    )
    environ.update(extra)
    return environ


def settings_for(environ: Dict[str, str]):
    return load_settings(environ=environ)


class RecordingRasa:
    """Stands in for Rasa's agent: records messages and answers through the given collector."""

    def __init__(self) -> None:
        self.messages: List = []
        self.hold = asyncio.Event()
        self.hold.set()
        self.received = asyncio.Event()

    async def __call__(self, message) -> None:
        self.messages.append(message)
        self.received.set()
        await self.hold.wait()
        output = message.output_channel
        if message.text in ("/greet", "menu"):
            await output.send_text_with_buttons(message.sender_id, "Halo! Apa yang ingin Anda sampaikan?",
                                                MENU_BUTTONS)
        else:
            await output.send_text_message(message.sender_id, f"Pesan diterima: {message.text}")

    def texts(self) -> List[str]:
        return [message.text for message in self.messages]


class Mounted:
    """A Sanic app serving one connector's blueprint under /webhooks/<name>/."""

    def __init__(self, connector, on_new_message, port: Optional[int] = None) -> None:
        self.port = port
        self.connector = connector
        self.on_new_message = on_new_message
        self.app = Sanic(f"channels_test_{uuid.uuid4().hex[:12]}")
        self.app.blueprint(connector.blueprint(on_new_message), url_prefix=f"/webhooks/{connector.name()}")
        self.server = None
        self.base_url = ""

    async def __aenter__(self) -> "Mounted":
        port = self.port or free_port()
        self.server = await self.app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True,
                                                   access_log=False)
        await self.server.startup()
        await self.server.before_start()
        await self.server.after_start()
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    async def stop(self, drain: bool = True) -> None:
        if self.server is None:
            return
        intake = getattr(self.connector, "intake", None)
        if drain and intake is not None:
            await intake.drain()
        await self.server.before_stop()
        self.server.close()
        await self.server.wait_closed()
        await self.server.after_stop()
        self.server = None

    async def kill(self) -> None:
        """Like a process killed mid-handling: running handlings are cancelled, nothing drains."""
        intake = getattr(self.connector, "intake", None)
        if intake is not None:
            for task in list(intake._tasks):
                task.cancel()
            await asyncio.gather(*list(intake._tasks), return_exceptions=True)
        await self.stop(drain=False)

    async def post(self, path: str, *, json=None, data=None, headers: Optional[dict] = None):
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{self.base_url}{path}", json=json, data=data, headers=headers or {}) as answer:
                return answer.status, await answer.text()

    async def get(self, path: str):
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{self.base_url}{path}") as answer:
                return answer.status, await answer.read(), answer.headers.get("Content-Type")


@contextlib.asynccontextmanager
async def mounted_with_recording(connector, port: Optional[int] = None):
    """``connector`` served with a :class:`RecordingRasa` (``server.rasa``), in Sanic's test mode."""
    rasa = RecordingRasa()
    with sanic_test_mode():
        async with Mounted(connector, rasa, port=port) as server:
            server.rasa = rasa
            yield server



def twilio_runtime(data_dir: Path, api_base_url: str, port: int):
    """The channel runtime with SMS and WhatsApp on, talking to the fake Twilio at ``api_base_url``."""
    from channels.connector_runtime import runtime_for

    environ = channel_environ(
        data_dir, SAPALAPOR_SMS_ENABLED="true", SAPALAPOR_WHATSAPP_ENABLED="true",
        TWILIO_ACCOUNT_SID=TWILIO_ACCOUNT, TWILIO_AUTH_TOKEN=TWILIO_AUTH_TOKEN,
        TWILIO_SMS_FROM="+6281100001708", TWILIO_WHATSAPP_FROM="+14155238886",
        TWILIO_API_BASE_URL=api_base_url, SAPALAPOR_PUBLIC_URL=f"http://127.0.0.1:{port}")
    return runtime_for(settings_for(environ))

def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def sanic_test_mode():
    previous = Sanic.test_mode
    Sanic.test_mode = True
    try:
        yield
    finally:
        Sanic.test_mode = previous
