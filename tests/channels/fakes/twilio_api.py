"""A loopback Twilio REST API: the twilio client's requests are routed here in tests.

Speaks the real wire format: ``POST /2010-04-01/Accounts/<sid>/Messages.json`` with basic auth
and form fields (To, From, Body, MediaUrl, StatusCallback), answering the JSON of
fixtures/twilio/method_*.json; inbound media under ``.../Messages/<MM>/Media/<ME>`` served only
with the account's basic auth. Like Twilio, it fetches each MediaUrl of an outbound message.
``signed_post_args`` builds webhook calls signed exactly as Twilio signs them.
"""
from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Set

import aiohttp
from aiohttp import web
from twilio.request_validator import RequestValidator

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "twilio"


def fixture(name: str, **fill: str) -> dict:
    text = (FIXTURES / f"{name}.json").read_text(encoding="utf-8")
    for key, value in fill.items():
        text = text.replace("{" + key + "}", value)
    return json.loads(text)


def sign(auth_token: str, url: str, params: Dict[str, str]) -> str:
    return RequestValidator(auth_token).compute_signature(url, params)


@dataclass
class SentMessage:
    sid: str
    to: str
    from_: str
    body: Optional[str]
    media_urls: List[str]
    status_callback: Optional[str]
    fetched_media: List[tuple] = field(default_factory=list)  # (status, content type, bytes)


class FakeTwilio:
    def __init__(self, account_sid: str, auth_token: str) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.messages: List[SentMessage] = []
        self.attempts = 0
        self.media: Dict[str, tuple] = {}  # media id -> (content type, bytes)
        self.opted_out: Set[str] = set()
        self.outside_window: Set[str] = set()
        self.busy_once = 0  # answer this many sends with 429 + Retry-After first
        self.hold_sends = False  # while True, sends hang (then answer 503, recording nothing)
        self.held = 0  # sends that were held
        self.media_requests: List[Optional[str]] = []  # Authorization headers seen on media
        self.base_url = ""
        self._runner: Optional[web.AppRunner] = None
        self.changed = asyncio.Event()

    async def start(self) -> "FakeTwilio":
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self._create)
        app.router.add_get("/2010-04-01/Accounts/{sid}/Messages/{mm}/Media/{me}", self._media)
        self._runner = web.AppRunner(app, access_log=None)  # it would log the token in URLs
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.base_url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def bodies(self, to: Optional[str] = None) -> List[str]:
        return [message.body for message in self.messages if message.body and (to is None or message.to == to)]

    def _authorised(self, request: web.Request) -> bool:
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return request.headers.get("Authorization") == expected

    async def _create(self, request: web.Request) -> web.Response:
        if not self._authorised(request) or request.match_info["sid"] != self.account_sid:
            return web.json_response({"code": 20003, "message": "Authenticate", "status": 401}, status=401)
        self.attempts += 1
        form = await request.post()
        to = form.get("To", "")
        if self.hold_sends:
            self.held += 1
            self.changed.set()
            while self.hold_sends:
                await asyncio.sleep(0.05)
            return web.json_response(fixture("method_error_busy"), status=503)
        if self.busy_once:
            self.busy_once -= 1
            return web.json_response(fixture("method_error_busy"), status=429, headers={"Retry-After": "0"})
        if to in self.opted_out:
            return web.json_response(fixture("method_error_21610"), status=400)
        if to in self.outside_window:
            return web.json_response(fixture("method_error_63016"), status=400)
        sid = ("MM" if form.getall("MediaUrl", []) else "SM") + uuid.uuid4().hex
        message = SentMessage(sid, to, form.get("From", ""), form.get("Body"), list(form.getall("MediaUrl", [])),
                              form.get("StatusCallback"))
        for url in message.media_urls:  # Twilio fetches outbound media from our server
            async with aiohttp.ClientSession() as session:
                async with session.get(url) as answer:
                    message.fetched_media.append((answer.status, answer.headers.get("Content-Type"),
                                                  await answer.read()))
        self.messages.append(message)
        self.changed.set()
        answer = fixture("method_message_create")
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json"
        answer.update(sid=sid, to=to, body=message.body or "", uri=uri, num_media=str(len(message.media_urls)),
                      subresource_uris={"media": uri.replace(".json", "/Media.json")},
                      date_created=time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime()))
        answer["from"] = message.from_
        return web.json_response(answer, status=201)

    async def _media(self, request: web.Request) -> web.Response:
        self.media_requests.append(request.headers.get("Authorization"))
        if not self._authorised(request):
            return web.Response(status=401)
        item = self.media.get(request.match_info["me"])
        if item is None:
            return web.Response(status=404)
        return web.Response(body=item[1], content_type=item[0])
