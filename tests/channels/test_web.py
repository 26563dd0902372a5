from __future__ import annotations

import json
import uuid

import aiohttp
import pytest
from sqlalchemy import select

from channels.connector_runtime import runtime_for
from channels.web import WebInput
from storage.identity import identity_hash
from storage.models import InboundDelivery, Reporter
from storage.repositories.web_replies import WebReplyLog
from tests.channels.harness import (IDENTITY_KEY, Mounted, RecordingRasa, channel_environ, mounted_with_recording,
                                    sanic_test_mode, settings_for)


@pytest.fixture
def runtime(tmp_path):
    return runtime_for(settings_for(channel_environ(tmp_path / "data", SAPALAPOR_WEB_ENABLED="true")))


class Page:
    """A web page's side of the socket, as channels/web_page/static/chat.js speaks it."""

    def __init__(self, server, device: str) -> None:
        self.server = server
        self.device = device
        self.session = None
        self.ws = None
        self.backlog: list = []

    async def open(self, after: int = 0) -> "Page":
        self.session = aiohttp.ClientSession()
        self.ws = await self.session.ws_connect(f"{self.server.base_url}/webhooks/web/socket")
        await self.ws.send_str(json.dumps({"type": "hello", "device": self.device, "after": after, "event": None}))
        while (frame := await self.frame())["type"] != "ready":  # what it missed comes first
            self.backlog.append(frame)
        return self

    async def close(self) -> None:
        await self.ws.close()
        await self.session.close()

    async def frame(self, timeout: float = 10) -> dict:
        message = await self.ws.receive(timeout=timeout)
        return json.loads(message.data)

    async def say(self, text: str, client_id: str = None) -> str:
        client_id = client_id or str(uuid.uuid4())
        await self.ws.send_str(json.dumps({"type": "message", "id": client_id, "text": text}))
        return client_id

    async def items(self, count: int) -> list:
        found = [frame for frame in self.backlog if frame["type"] == "item"][:count]
        self.backlog = []
        while len(found) < count:
            frame = await self.frame()
            if frame["type"] == "item":
                found.append(frame)
        return found


async def handled(server) -> None:
    await server.connector.intake.drain()


async def test_a_replayed_client_message_is_recorded_and_answered_once(runtime):
    async with mounted_with_recording(WebInput(runtime)) as server:
        page = await (Page(server, str(uuid.uuid4())).open())
        client_id = await page.say("jalan rusak")
        assert await page.frame() == {"type": "ack", "id": client_id}
        first = await page.items(1)
        await page.say("jalan rusak", client_id)  # the page lost the ack and sends it again
        assert await page.frame() == {"type": "ack", "id": client_id}
        await handled(server)
        await page.say("menu")
        await page.frame()
        after = await page.items(1)
        await page.close()

    assert server.rasa.texts() == ["jalan rusak", "menu"]
    assert first[0]["text"] == "Pesan diterima: jalan rusak"
    assert after[0]["text"] == "Halo! Apa yang ingin Anda sampaikan?" and after[0]["id"] > first[0]["id"]
    assert after[0]["choices"] == ["Pengaduan", "Aspirasi", "Minta informasi"]
    with runtime.database.session() as session:
        rows = session.execute(select(InboundDelivery.provider_id, InboundDelivery.state, InboundDelivery.payload)
                               .where(InboundDelivery.channel == "web")).all()
    assert len(rows) == 2 and all(state == "handled" and payload is None for _, state, payload in rows)
    assert any(provider_id.endswith(client_id) for provider_id, _, _ in rows)


async def test_a_page_that_reconnects_gets_only_the_replies_it_missed(runtime):
    device = str(uuid.uuid4())
    async with mounted_with_recording(WebInput(runtime)) as server:
        page = await Page(server, device).open()
        await page.say("satu")
        [seen] = await page.items(1)
        server.rasa.hold.clear()  # the next reply is ready only after the page has gone
        await page.say("dua")
        assert (await page.frame())["type"] == "ack"
        await page.close()
        server.rasa.hold.set()
        await handled(server)
        page = await Page(server, device).open(after=seen["id"])
        [missed] = await page.items(1)
        await page.close()
        page = await Page(server, device).open(after=missed["id"])
        await page.say("tiga")
        await page.frame()
        [new] = await page.items(1)
        await page.close()

    assert missed["text"] == "Pesan diterima: dua" and missed["id"] > seen["id"]
    assert new["text"] == "Pesan diterima: tiga"
    with runtime.database.session() as session:  # confirmed items are not kept
        hashed = identity_hash(IDENTITY_KEY, "web", device)
        assert [row.id for row in WebReplyLog(session).after(hashed, 0)] == [new["id"]]


async def test_the_device_id_is_kept_only_as_its_keyed_hash(runtime, tmp_path):
    device = str(uuid.uuid4())
    async with mounted_with_recording(WebInput(runtime)) as server:
        page = await Page(server, device).open()
        await page.say("halo")
        await page.items(1)
        await page.close()
        await handled(server)

    hashed = identity_hash(IDENTITY_KEY, "web", device)
    assert server.rasa.messages[0].sender_id == f"web-{hashed}"
    with runtime.database.session() as session:
        reporter = session.execute(select(Reporter).where(Reporter.channel == "web")).scalar_one()
    assert reporter.identity_hash == hashed and reporter.address == hashed
    runtime.database.checkpoint()
    stored = b"".join(path.read_bytes() for path in (tmp_path / "data").glob("sapalapor.db*"))
    assert device.encode() not in stored and device.replace("-", "").encode() not in stored


async def test_a_kiosk_reset_restarts_the_conversation_and_empties_the_mailbox(runtime):
    device = str(uuid.uuid4())
    hashed = identity_hash(IDENTITY_KEY, "web", device)
    async with mounted_with_recording(WebInput(runtime)) as server:
        page = await Page(server, device).open()
        server.rasa.hold.clear()
        await page.say("laporan saya")
        await page.frame()
        await page.close()  # the reply waits in the mailbox: nobody fetched it
        server.rasa.hold.set()
        await handled(server)
        with runtime.database.session() as session:
            assert WebReplyLog(session).count(hashed) == 1
        page = await Page(server, device).open(after=0)
        await page.ws.send_str(json.dumps({"type": "reset", "id": str(uuid.uuid4())}))
        frames = page.backlog + [await page.frame()]
        await page.close()
        await handled(server)

    assert [frame["type"] for frame in frames] == ["item", "ack"]  # the backlog, then the reset's ack
    assert server.rasa.texts() == ["laporan saya", "/restart"]
    assert server.rasa.messages[-1].sender_id == f"web-{hashed}"
    with runtime.database.session() as session:
        assert WebReplyLog(session).count(hashed) == 0


async def test_a_frame_before_hello_or_out_of_shape_is_refused_without_closing_the_socket(runtime):
    async with mounted_with_recording(WebInput(runtime)) as server:
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(f"{server.base_url}/webhooks/web/socket") as ws:
                await ws.send_str(json.dumps({"type": "message", "id": str(uuid.uuid4()), "text": "halo"}))
                before_hello = json.loads((await ws.receive(timeout=10)).data)
                await ws.send_str("{not json")
                broken = json.loads((await ws.receive(timeout=10)).data)
    assert before_hello == {"type": "error", "reason": "hello_first"}
    assert broken == {"type": "error", "reason": "bad_frame"}
    assert server.rasa.messages == []


async def test_the_page_is_served_in_indonesian_and_a_kiosk_needs_a_real_event(runtime):
    from tests.web.conftest import EVENT, add_event

    add_event(runtime.database)
    connector = WebInput(runtime)
    server = Mounted(connector, RecordingRasa())
    server.app.blueprint(connector.page_blueprint())
    with sanic_test_mode():
        async with server:
            chat = await server.get("/web/")
            kiosk = await server.get(f"/web/kiosk/{EVENT.lower()}")
            unknown = await server.get("/web/kiosk/NOPE99")
            warning = await server.get("/web/kiosk-warning.ogg")

    assert chat[0] == 200 and b'<html lang="id">' in chat[1] and b'role="log"' in chat[1]
    assert kiosk[0] == 200 and f'data-event="{EVENT}"'.encode() in kiosk[1] and b"Saya masih di sini" in kiosk[1]
    assert unknown[0] == 404 and b"Kode acara tidak dikenal" in unknown[1] and b"chat.js" not in unknown[1]
    assert warning[0] == 200 and warning[1][:4] == b"OggS" and warning[2] == "audio/ogg"
