"""A loopback Twilio REST API: the twilio client's requests are routed here in tests.

Speaks the real wire format: ``POST /2010-04-01/Accounts/<sid>/Messages.json`` with basic auth
and form fields (To, From, Body, MediaUrl, StatusCallback; or ContentSid and ContentVariables, a
JSON object, for an approved template of the Content API), answering the JSON of
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
    created: float = 0.0
    content_sid: Optional[str] = None  # an approved template (Content API) instead of a body
    content_variables: Optional[dict] = None


class FakeTwilio:
    def __init__(self, account_sid: str, auth_token: str) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.messages: List[SentMessage] = []
        self.attempts = 0
        self.lists = 0  # Messages list calls (the reply outbox asking what was accepted)
        self.media: Dict[str, tuple] = {}  # media id -> (content type, bytes)
        self.opted_out: Set[str] = set()
        self.outside_window: Set[str] = set()
        self.busy_once = 0  # answer this many sends with 429 + Retry-After first
        self.hold_sends = False  # while True, sends hang (then answer 503, recording nothing)
        self.held = 0  # sends that were held
        # While True, a send is accepted and recorded (the citizen has it) but its answer hangs,
        # as when the caller dies before hearing back; ``answers_held`` counts them.
        self.hold_answers = False
        self.answers_held = 0
        self.media_requests: List[Optional[str]] = []  # Authorization headers seen on media
        self.base_url = ""
        self._runner: Optional[web.AppRunner] = None
        self.changed = asyncio.Event()

    async def start(self) -> "FakeTwilio":
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self._create)
        app.router.add_get("/2010-04-01/Accounts/{sid}/Messages.json", self._list)
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
        content_sid = form.get("ContentSid")
        if content_sid is not None:
            # Like Twilio: a Content SID, and variables that are a JSON object of non-empty strings (21656).
            try:
                variables = json.loads(form.get("ContentVariables") or "{}")
            except ValueError:
                variables = None
            if not content_sid.startswith("HX") or not isinstance(variables, dict) or not all(
                    isinstance(value, str) and value for value in variables.values()):
                return web.json_response(fixture("method_error_21656"), status=400)
        elif to in self.outside_window:  # only a template may go out after 24 hours
            return web.json_response(fixture("method_error_63016"), status=400)
        sid = ("MM" if form.getall("MediaUrl", []) else "SM") + uuid.uuid4().hex
        message = SentMessage(sid, to, form.get("From", ""), form.get("Body"), list(form.getall("MediaUrl", [])),
                              form.get("StatusCallback"), content_sid=content_sid,
                              content_variables=variables if content_sid is not None else None)
        for url in message.media_urls:  # Twilio fetches outbound media from our server
            async with aiohttp.ClientSession() as session:
                async with session.get(url) as answer:
                    message.fetched_media.append((answer.status, answer.headers.get("Content-Type"),
                                                  await answer.read()))
        message.created = time.time()
        self.messages.append(message)
        self.changed.set()
        if self.hold_answers:
            self.answers_held += 1
            while self.hold_answers:
                await asyncio.sleep(0.05)
        return web.json_response(self._resource(message), status=201)

    def _resource(self, message: SentMessage) -> dict:
        answer = fixture("method_message_create")
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{message.sid}.json"
        answer.update(sid=message.sid, to=message.to, body=message.body or "", uri=uri,
                      num_media=str(len(message.media_urls)),
                      subresource_uris={"media": uri.replace(".json", "/Media.json")},
                      date_created=time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(message.created)))
        answer["from"] = message.from_
        return answer

    async def _list(self, request: web.Request) -> web.Response:
        """The Messages list (newest first), filtered by To and From as Twilio filters it."""
        if not self._authorised(request) or request.match_info["sid"] != self.account_sid:
            return web.json_response({"code": 20003, "message": "Authenticate", "status": 401}, status=401)
        self.lists += 1
        to, from_ = request.query.get("To"), request.query.get("From")
        size = int(request.query.get("PageSize") or 50)
        found = [message for message in reversed(self.messages)
                 if (to is None or message.to == to) and (from_ is None or message.from_ == from_)][:size]
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        return web.json_response({"messages": [self._resource(message) for message in found], "end": len(found) - 1,
                                  "first_page_uri": uri, "next_page_uri": None, "page": 0, "page_size": size,
                                  "previous_page_uri": None, "start": 0, "uri": uri})

    async def _media(self, request: web.Request) -> web.Response:
        self.media_requests.append(request.headers.get("Authorization"))
        if not self._authorised(request):
            return web.Response(status=401)
        item = self.media.get(request.match_info["me"])
        if item is None:
            return web.Response(status=404)
        return web.Response(body=item[1], content_type=item[0])
