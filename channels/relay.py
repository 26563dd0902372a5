"""How the channel gateway hands a message to Rasa in another process, and gets the replies.

Why: channel work (webhook checks, the inbound log, speech, provider calls) used to run in the
Rasa server's process, on the one event loop Rasa's turns need; under load every millisecond of
it was a millisecond less for Rasa, and a provider's acknowledgement waited behind Rasa's
synchronous stretches (measured in bench/README.md). The connectors now run in their own
process (channels/gateway.py) and reach Rasa over loopback through this relay.

Two halves with one contract:

* :class:`RelayInput`, a Rasa input channel (``channels.relay.RelayInput`` in Rasa's
  credentials.yml): ``POST /webhooks/relay/webhook`` with ``{"sender", "text",
  "input_channel", "metadata"}`` runs the turn with a collector named after the input channel
  (so channel-specific responses still apply) and answers the collected replies as JSON. Unlike
  Rasa's REST channel it keeps the channel name and the metadata, and it answers 500 when the
  turn failed instead of a partial list, so the delivery is not marked handled.
* :class:`RasaRelay`, the ``on_new_message`` the connectors get in the gateway: posts the
  message and puts the replies into the message's collector, exactly as Rasa would have.

Only the gateway may call the relay: each call carries a token derived from the identity key
(both processes have it from the environment), so nothing else that can reach the port can
speak for a citizen.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import time
from typing import Any, Awaitable, Callable, Dict, Optional, Text

import aiohttp
from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request

from channels.collector import collector_class

log = logging.getLogger(__name__)

NAME = "relay"
PATH = f"/webhooks/{NAME}/webhook"
_CHANNEL_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


def relay_token(identity_key: bytes) -> str:
    """The relay's bearer token: a keyed hash, so it is as secret as the identity key."""
    return hmac.new(identity_key, b"sapalapor channel gateway -> rasa relay", hashlib.sha256).hexdigest()


class RelayError(RuntimeError):
    """Rasa did not complete the turn (unreachable, refused, or failed while handling it)."""


def parse_relayed(body: Any) -> Optional[Dict[str, Any]]:
    """The relayed message, or None when the body is not one."""
    if not isinstance(body, dict):
        return None
    sender, text, channel = body.get("sender"), body.get("text"), body.get("input_channel")
    metadata = body.get("metadata") or {}
    if not isinstance(sender, str) or not sender or len(sender) > 200:
        return None
    if not isinstance(text, str) or not isinstance(channel, str) or not _CHANNEL_NAME.match(channel):
        return None
    if not isinstance(metadata, dict):
        return None
    return {"sender": sender, "text": text, "input_channel": channel, "metadata": metadata}


class RelayInput(InputChannel):
    """Rasa's side of the relay (``channels.relay.RelayInput`` in credentials.yml)."""

    @classmethod
    def name(cls) -> Text:
        return NAME

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "RelayInput":
        from bot.settings import load_settings

        return cls(relay_token(load_settings().identity_key))

    def __init__(self, token: str) -> None:
        self._expected = f"Bearer {token}".encode()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = Blueprint(f"relay_webhook_{id(self)}", __name__)
        relay = self

        @blueprint.route("/", methods=["GET"])
        async def health(_request: Request):
            return response.json({"status": "ok"})

        @blueprint.route("/webhook", methods=["POST"])
        async def webhook(request: Request):
            supplied = request.headers.get("Authorization", "").encode()
            if not hmac.compare_digest(supplied, relay._expected):
                log.warning("relay call without the gateway's token: refused")
                return response.json({"error": "forbidden"}, status=403)
            try:
                body = request.json
            except Exception:  # noqa: BLE001 - Sanic raises its own error type for bad JSON
                body = None
            message = parse_relayed(body)
            if message is None:
                return response.json({"error": "not a relayed message"}, status=400)
            collector = collector_class(message["input_channel"])()
            try:
                await on_new_message(UserMessage(
                    message["text"], collector, message["sender"],
                    input_channel=message["input_channel"], metadata=message["metadata"]))
            except Exception:  # noqa: BLE001 - the gateway must learn that the turn failed
                log.exception("%s turn failed in Rasa", message["input_channel"])
                return response.json({"error": "the turn failed"}, status=500)
            return response.json(collector.messages)

        return blueprint


class RasaRelay:
    """``on_new_message`` for connectors that run outside the Rasa server.

    One keep-alive connection pool to Rasa for the process (a new TCP connection per turn costs
    more than the JSON). A refused connection means Rasa is starting or restarting and never
    saw the message, so it is retried for up to ``wait_for_rasa`` seconds; anything after the
    request was sent is not retried (Rasa may have taken the turn) and raises
    :class:`RelayError`, which leaves the delivery marked failed, as an error inside Rasa did
    when the connectors ran in its process.
    """

    def __init__(self, url: str, token: str, *, wait_for_rasa: float = 90.0, timeout: float = 300.0) -> None:
        self.url = url
        self.wait_for_rasa = wait_for_rasa
        self.timeout = timeout
        self._headers = {"Authorization": f"Bearer {token}"}
        self._session: Optional[aiohttp.ClientSession] = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # Idle connections are dropped well before Rasa's own keep-alive (120 s) ends, so a
            # connection the server is closing is not picked for a turn.
            connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=15)
            self._session = aiohttp.ClientSession(connector=connector,
                                                  timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self._session

    async def __call__(self, message: UserMessage) -> None:
        payload = {"sender": message.sender_id, "text": message.text or "",
                   "input_channel": message.input_channel, "metadata": message.metadata or {}}
        # The connectors always pass a CollectingOutputChannel (channels/collector.py).
        message.output_channel.messages.extend(await self._post(payload))

    async def _post(self, payload: Dict[str, Any]) -> list:
        deadline = time.monotonic() + self.wait_for_rasa
        pause = 0.25
        while True:
            try:
                async with self._client().post(self.url, json=payload, headers=self._headers) as answer:
                    if answer.status != 200:
                        raise RelayError(f"Rasa answered {answer.status} to a {payload['input_channel']} turn")
                    replies = await answer.json()
            except aiohttp.ClientConnectorError as error:
                if time.monotonic() + pause > deadline:
                    raise RelayError(f"Rasa is unreachable at {self.url}: {error.os_error}") from error
                log.warning("Rasa is not reachable yet (%s); retrying in %.2f s", error.os_error, pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 2.0)
                continue
            except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                raise RelayError(f"the relay to Rasa failed: {type(error).__name__}") from error
            if not isinstance(replies, list):
                raise RelayError("Rasa's relay answer is not a list of replies")
            return replies

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None
