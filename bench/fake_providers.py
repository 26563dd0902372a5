"""Loopback stand-ins for the Telegram Bot API and Twilio's REST API, with arrival hooks.

Why the benchmark has its own: a turn through our channels ends when the reply reaches the
provider's API, so the load process needs the arrival time of every send, per recipient, in
its own clock. The wire format follows the recorded answers in tests/channels/fixtures; when
tests/channels/fakes offers servers of its own, bench.load prefers them (see ``make_fakes``).
"""
from __future__ import annotations

import base64
import json
import time
from collections import defaultdict
from typing import Callable, Dict, List, Optional, Tuple

from aiohttp import web

# (channel, recipient, method, arrival time)
OnSend = Callable[[str, str, str, float], None]


class Arrivals:
    """Every send the fakes received, by recipient, with perf_counter arrival times."""

    def __init__(self) -> None:
        self.by_recipient: Dict[Tuple[str, str], List[Tuple[str, float]]] = defaultdict(list)
        self.texts: Dict[Tuple[str, str], List[Tuple[str, str]]] = defaultdict(list)
        self.keep_texts: set = set()  # recipients whose reply texts are kept (scripted filings)
        self._waiters: Dict[Tuple[str, str], list] = defaultdict(list)

    def record(self, channel: str, recipient: str, method: str, when: float, text: Optional[str] = None) -> None:
        key = (channel, str(recipient))
        self.by_recipient[key].append((method, when))
        if key in self.keep_texts:
            self.texts[key].append((method, text or ""))
        waiters = self._waiters.get(key)
        if waiters:
            count = len(self.by_recipient[key])
            for waiter in list(waiters):
                needed, future = waiter
                if count >= needed and not future.done():
                    future.set_result(when)
                    waiters.remove(waiter)

    def count(self, channel: str, recipient: str) -> int:
        return len(self.by_recipient.get((channel, str(recipient)), ()))

    def wait_for(self, loop, channel: str, recipient: str, needed: int):
        """A future resolved with the arrival time of the ``needed``-th send to ``recipient``."""
        key = (channel, str(recipient))
        future = loop.create_future()
        sends = self.by_recipient.get(key, [])
        if len(sends) >= needed:
            future.set_result(sends[needed - 1][1])
        else:
            self._waiters[key].append((needed, future))
        return future

    def forget(self, channel: str, recipient: str) -> None:
        key = (channel, str(recipient))
        self.by_recipient.pop(key, None)
        self.texts.pop(key, None)
        self._waiters.pop(key, None)


BOT_USER = {"id": 7000000001, "is_bot": True, "first_name": "SapaLapor", "username": "SapaLaporBot"}
# What Telegram counts as a reply the user sees (chat actions and callback answers are not).
TELEGRAM_REPLIES = {"sendMessage", "sendVoice", "sendPhoto", "sendAudio", "sendDocument"}


class FakeTelegram:
    def __init__(self, token: str, arrivals: Arrivals) -> None:
        self.token = token
        self.arrivals = arrivals
        self.files: Dict[str, bytes] = {}
        self._message_id = 0
        self.app = web.Application(client_max_size=64 * 1024 * 1024)
        self.app.router.add_route("*", "/bot{token}/{method}", self._method)
        self.app.router.add_get("/file/bot{token}/{path:.*}", self._file)

    def add_file(self, file_id: str, data: bytes) -> None:
        self.files[file_id] = data

    async def _params(self, request: web.Request) -> dict:
        if request.content_type == "application/json":
            return await request.json()
        if request.method == "GET":
            return dict(request.query)
        form = await request.post()
        params = {}
        for key, value in form.items():
            params[key] = value if isinstance(value, str) else "<file>"
        return params

    async def _method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        params = await self._params(request)
        if method in TELEGRAM_REPLIES:
            chat_id = str(params.get("chat_id", "")).strip('"')
            self.arrivals.record("telegram", chat_id, method, time.perf_counter(), params.get("text"))
            self._message_id += 1
            result = {"message_id": self._message_id, "from": BOT_USER, "date": int(time.time()),
                      "chat": {"id": int(chat_id), "type": "private", "first_name": "Bench"}}
            if method == "sendVoice":
                result["voice"] = {"duration": 2, "mime_type": "audio/ogg", "file_id": f"sent{self._message_id}",
                                   "file_unique_id": f"u{self._message_id}", "file_size": 1}
            else:
                text = params.get("text", "")
                result["text"] = json.loads(text) if text.startswith('"') else text
            return web.json_response({"ok": True, "result": result})
        if method == "getMe":
            return web.json_response({"ok": True, "result": {**BOT_USER, "can_join_groups": False,
                                                               "can_read_all_group_messages": False,
                                                               "supports_inline_queries": False}})
        if method == "getFile":
            file_id = str(params.get("file_id", "")).strip('"')
            data = self.files.get(file_id)
            if data is None:
                return web.json_response({"ok": False, "error_code": 400,
                                          "description": "Bad Request: invalid file_id"}, status=400)
            return web.json_response({"ok": True, "result": {"file_id": file_id, "file_unique_id": f"u-{file_id}",
                                                              "file_size": len(data),
                                                              "file_path": f"voice/{file_id}.oga"}})
        if method == "getUpdates":
            return web.json_response({"ok": True, "result": []})
        # setWebhook, deleteWebhook, sendChatAction, answerCallbackQuery, ...
        return web.json_response({"ok": True, "result": True})

    async def _file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        path = request.match_info["path"]
        file_id = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        data = self.files.get(file_id)
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, content_type="application/octet-stream")


async def timed_telegram(token: str, arrivals: Arrivals):
    """The project's fake Telegram API (tests/channels/fakes) with arrival times; ours if absent.

    Returns (server with ``.files`` and ``.stop()``, base URL, which implementation).
    """
    try:
        from tests.channels.fakes.telegram_api import FakeTelegram as ProjectFake
    except ImportError:
        server = FakeTelegram(token, arrivals)
        runner, url = await serve(server.app)
        server.stop = runner.cleanup
        return server, url, "bench.fake_providers"

    class Timed(ProjectFake):
        async def _timed(self, method: str, params: dict, files: dict):
            arrivals.record("telegram", str(params.get("chat_id")), method, time.perf_counter(),
                            params.get("text") if isinstance(params.get("text"), str) else None)
            return await getattr(super(), f"_{method}")(params, files)

        async def _sendMessage(self, params, files):
            return await self._timed("sendMessage", params, files)

        async def _sendVoice(self, params, files):
            return await self._timed("sendVoice", params, files)

        async def _sendPhoto(self, params, files):
            return await self._timed("sendPhoto", params, files)

    server = Timed(token)
    await server.start()
    return server, server.base_url, "tests.channels.fakes.telegram_api"


async def timed_twilio(account_sid: str, auth_token: str, arrivals: Arrivals):
    """The project's fake Twilio API (tests/channels/fakes) with arrival times; ours if absent.

    Returns (server with ``.add_media(id, data, type)`` and ``.stop()``, base URL, which implementation).
    """
    try:
        from tests.channels.fakes.twilio_api import FakeTwilio as ProjectFake
    except ImportError:
        server = FakeTwilio(account_sid, auth_token, arrivals)
        runner, url = await serve(server.app)
        server.stop = runner.cleanup
        return server, url, "bench.fake_providers"

    class TimedMessages(list):
        """The fake appends each accepted message once it is parsed: that is its arrival."""

        def append(self, message) -> None:
            arrivals.record("twilio", message.to, "Messages", time.perf_counter(), message.body)
            super().append(message)

    server = ProjectFake(account_sid, auth_token)
    server.messages = TimedMessages()
    server.add_media = lambda media_id, data, content_type: server.media.__setitem__(media_id, (content_type, data))
    await server.start()
    return server, server.base_url, "tests.channels.fakes.twilio_api"


class FakeTwilio:
    """Messages.json (send) and media downloads, behind HTTP basic auth with the account's token."""

    def __init__(self, account_sid: str, auth_token: str, arrivals: Arrivals) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.arrivals = arrivals
        self.media: Dict[str, Tuple[bytes, str]] = {}
        self._count = 0
        self.app = web.Application(client_max_size=64 * 1024 * 1024)
        self.app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self._send)
        self.app.router.add_get("/2010-04-01/Accounts/{sid}/Messages/{message}/Media/{media}", self._media)
        self.app.router.add_get("/media/{media}", self._media)

    def _authorised(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == self.account_sid and password == self.auth_token

    def add_media(self, media_id: str, data: bytes, content_type: str) -> None:
        self.media[media_id] = (data, content_type)

    async def _send(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"code": 20003, "message": "Authenticate", "status": 401}, status=401)
        form = await request.post()
        to = str(form.get("To", ""))
        self.arrivals.record("twilio", to, "Messages", time.perf_counter(), str(form.get("Body", "")))
        self._count += 1
        sid = f"SM{self._count:032d}"
        return web.json_response({
            "sid": sid, "account_sid": self.account_sid, "to": to, "from": form.get("From"),
            "body": form.get("Body", ""), "status": "queued", "num_segments": "1", "num_media": "0",
            "direction": "outbound-api", "api_version": "2010-04-01", "price": None, "error_code": None,
            "error_message": None, "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
            "date_created": None, "date_sent": None, "date_updated": None, "messaging_service_sid": None,
            "price_unit": "USD", "subresource_uris": {},
        }, status=201)

    async def _media(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.Response(status=401)
        found = self.media.get(request.match_info["media"])
        if found is None:
            return web.Response(status=404)
        return web.Response(body=found[0], content_type=found[1])


async def serve(app: web.Application, host: str = "127.0.0.1") -> Tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    return runner, f"http://{host}:{port}"
