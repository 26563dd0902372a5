"""A loopback Telegram Bot API: python-telegram-bot's base_url points here in tests.

It speaks the real wire format: ``POST /bot<token>/<method>`` with form or multipart fields
(JSON-encoded values for objects, as PTB sends them), answers ``{"ok": ..., "result": ...}``
shaped like the recorded answers in fixtures/telegram/method_*.json, and serves downloads at
``/file/bot<token>/<file_path>``. Every call is recorded for assertions.
"""
from __future__ import annotations

import asyncio
import copy
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Set

from aiohttp import web

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "telegram"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


@dataclass
class Call:
    method: str
    params: Dict[str, Any]
    files: Dict[str, bytes] = field(default_factory=dict)


class FakeTelegram:
    def __init__(self, token: str) -> None:
        self.token = token
        self.calls: List[Call] = []
        self.files: Dict[str, bytes] = {}  # file_id -> content served by getFile + download
        self.blocked: Set[int] = set()  # chats that blocked the bot
        self.redirect_loop: Set[str] = set()  # file_ids whose download redirects to itself for ever
        self.no_file_path: Set[str] = set()  # file_ids whose getFile answer has no file_path
        self.flood_once: Set[str] = set()  # methods answering 429 once
        # Methods whose calls are recorded (the citizen has the message) but answered only once
        # ``release_held()`` is called: a caller can be stopped before it hears back.
        self.held_methods: Set[str] = set()
        self.busy: Set[str] = set()  # methods answering 502 Bad Gateway (nothing sent) until removed
        self._released = asyncio.Event()
        self.updates: "asyncio.Queue[dict]" = asyncio.Queue()
        self.webhook: Optional[dict] = None
        self.base_url = ""
        self._runner: Optional[web.AppRunner] = None
        self._message_id = 1000
        self.changed = asyncio.Event()
        self._closing = asyncio.Event()

    async def start(self) -> "FakeTelegram":
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._method)
        app.router.add_get("/file/bot{token}/{path:.*}", self._download)
        self._runner = web.AppRunner(app, access_log=None)  # it would log the token in URLs
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def release_held(self) -> None:
        self.held_methods.clear()
        self._released.set()

    # --------------------------------------------------------------- what tests look at
    def sent(self, method: str, chat_id: Optional[int] = None) -> List[Call]:
        return [call for call in self.calls if call.method == method
                and (chat_id is None or str(call.params.get("chat_id")) == str(chat_id))]

    def texts(self, chat_id: Optional[int] = None) -> List[str]:
        return [call.params["text"] for call in self.sent("sendMessage", chat_id)]

    async def wait_for(self, predicate, timeout: float = 60.0) -> None:
        """Wait until ``predicate()`` holds (a safety net for a hung test, not a timing assertion)."""
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError("the fake Telegram API never saw the expected calls")
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), min(remaining, 1.0))
            except asyncio.TimeoutError:
                pass

    # ------------------------------------------------------------------------- server
    async def _method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        params: Dict[str, Any] = {}
        files: Dict[str, bytes] = {}
        if request.content_type == "multipart/form-data":
            reader = await request.multipart()
            async for part in reader:
                if part.filename:
                    files[part.name] = await part.read()
                else:
                    params[part.name] = _decode(await part.text())
        elif request.content_type == "application/json":
            params = await request.json()
        else:
            params = {key: _decode(value) for key, value in (await request.post()).items()}
        if method in self.busy:
            return web.json_response({"ok": False, "error_code": 502, "description": "Bad Gateway"}, status=502)
        self.calls.append(Call(method, params, files))
        self.changed.set()
        if method in self.held_methods:
            await self._released.wait()
        if method in self.flood_once:
            self.flood_once.discard(method)
            return web.json_response(fixture("method_flood"), status=429)
        chat_id = params.get("chat_id")
        if chat_id is not None and not _chat_id(chat_id):
            return web.json_response({"ok": False, "error_code": 400, "description": "Bad Request: chat not found"},
                                     status=400)
        if chat_id is not None and int(chat_id) in self.blocked:
            return web.json_response(fixture("method_blocked"), status=403)
        handler = getattr(self, f"_{method}", None)
        if handler is None:
            return web.json_response(fixture("method_true"))
        return web.json_response(await handler(params, files))

    async def _getMe(self, params, files) -> dict:
        return fixture("method_getMe")

    def _message(self, name: str, params: dict) -> dict:
        self._message_id += 1
        answer = fixture(name)
        result = answer["result"]
        result["message_id"] = self._message_id
        result["chat"]["id"] = int(params["chat_id"])
        result["date"] = int(time.time())
        if "text" in params:
            result["text"] = params["text"]
        if "reply_markup" in params:
            result["reply_markup"] = params["reply_markup"]
        return answer

    async def _sendMessage(self, params, files) -> dict:
        return self._message("method_sendMessage", params)

    async def _sendVoice(self, params, files) -> dict:
        return self._message("method_sendVoice", params)

    async def _sendPhoto(self, params, files) -> dict:
        answer = self._message("method_sendMessage", params)
        answer["result"].pop("text", None)
        answer["result"]["photo"] = [{"file_id": "AgACAgSentPhoto", "file_unique_id": "AQADSent", "width": 90, "height": 90}]
        return answer

    async def _getFile(self, params, files) -> dict:
        file_id = params["file_id"]
        if file_id not in self.files:
            return {"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"}
        answer = fixture("method_getFile")
        answer["result"].update(file_id=file_id, file_size=len(self.files[file_id]),
                                file_path=f"documents/{file_id}.bin")
        if file_id in self.no_file_path:
            del answer["result"]["file_path"]
        return answer

    async def _getUpdates(self, params, files) -> dict:
        timeout = float(params.get("timeout") or 0)
        answer = fixture("method_getUpdates")
        offset = int(params.get("offset") or 0)
        getter = asyncio.ensure_future(self.updates.get())
        closing = asyncio.ensure_future(self._closing.wait())
        await asyncio.wait({getter, closing}, timeout=min(timeout, 2.0) or 0.01,
                           return_when=asyncio.FIRST_COMPLETED)
        closing.cancel()
        if not getter.done():
            getter.cancel()
            return answer
        batch = [getter.result()]
        while not self.updates.empty():
            batch.append(self.updates.get_nowait())
        answer["result"] = [update for update in batch if update["update_id"] >= offset]
        return answer

    async def _setWebhook(self, params, files) -> dict:
        self.webhook = dict(params)
        return fixture("method_true")

    async def _download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        path = request.match_info["path"]
        file_id = Path(path).stem
        if file_id in self.redirect_loop:
            raise web.HTTPFound(str(request.url))
        if file_id not in self.files:
            return web.Response(status=404)
        return web.Response(body=self.files[file_id], content_type="application/octet-stream")


def _chat_id(value: Any) -> bool:
    """Telegram chat ids are integers of at most 52 bits; anything else is "chat not found"."""
    try:
        return abs(int(str(value))) < 2 ** 52
    except ValueError:
        return False


def _decode(value: str) -> Any:
    """PTB sends objects (reply_markup, allowed_updates) as JSON strings in form fields."""
    if value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def update(name: str, **changes: Any) -> dict:
    """A recorded update payload, optionally with a different update_id or chat."""
    data = copy.deepcopy(fixture(name))
    if "update_id" in changes:
        data["update_id"] = changes["update_id"]
    return data
