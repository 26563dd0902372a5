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
speak for a citizen. Each side's entry point (channels/gateway.py, bot/rasa_server.py) reads the
key from config.yml and hands the token down; this module never reads config.yml.

Exactly once (issue 13, D1): each message carries its delivery's id (``message_id``, e.g.
``telegram:700100005``), which Rasa stores on the ``user`` event. A turn is saved by Rasa only
when it completed, so a message whose id is already in the conversation was answered: the
relay answers it again from the stored bot events instead of running the turn a second time.
That makes every retry safe (the gateway died after Rasa's turn, Rasa died mid-turn, the answer
was lost on the way), and :class:`RasaRelay` retries failures with backoff for a bounded time.
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
from channels.delivery import current
from channels.limits import rasa_text
from shared.http_sessions import KeptSession

log = logging.getLogger(__name__)

NAME = "relay"
PATH = f"/webhooks/{NAME}/webhook"
_CHANNEL_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_MESSAGE_ID = re.compile(r"^[a-z][a-z0-9_]{0,31}:[0-9A-Za-z_.:-]{1,80}$")  # channels.delivery


def relay_token(identity_key: bytes) -> str:
    """The relay's bearer token: a keyed hash, so it is as secret as the identity key."""
    return hmac.new(identity_key, b"sapalapor channel gateway -> rasa relay", hashlib.sha256).hexdigest()


class RelayError(RuntimeError):
    """Rasa did not complete the turn (unreachable, refused, or failed while handling it)."""


class _TurnFailed(Exception):
    """Rasa answered 5xx: the turn failed there and nothing of it was saved."""


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
    message_id = body.get("message_id")
    if message_id is not None and (not isinstance(message_id, str) or not _MESSAGE_ID.match(message_id)):
        return None
    return {"sender": sender, "text": rasa_text(text), "input_channel": channel, "metadata": metadata,
            "message_id": message_id, "retry": body.get("retry") is True}


async def replies_already_given(agent: Any, sender: str, message_id: Optional[str], collector) -> bool:
    """Put the stored replies of an answered message into ``collector``; False if it is new.

    Rasa saves a turn only once it completed, with the message's id on its ``user`` event;
    the replies are the ``bot`` events after it, up to the next user message. Only the latest
    session is read (the cached tracker): retries come within minutes, sessions last hours.
    """
    if not message_id or agent is None or getattr(agent, "tracker_store", None) is None:
        return False
    from rasa.shared.core.events import BotUttered, UserUttered

    tracker = await agent.tracker_store.retrieve(sender)
    if tracker is None:
        return False
    events = list(tracker.events)
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if isinstance(event, UserUttered) and event.message_id == message_id:
            break
    else:
        return False
    for event in events[index + 1:]:
        if isinstance(event, UserUttered):
            break
        if isinstance(event, BotUttered):
            # As Rasa sent them when the turn ran (MessageProcessor._send_bot_messages).
            await collector.send_response(sender, event.message())
    return True


class RelayInput(InputChannel):
    """Rasa's side of the relay (``channels.relay.RelayInput`` in credentials.yml).

    Rasa builds it from credentials.yml, which is written to disk and so must not hold the
    token. The Rasa server's entry point (bot/rasa_server.py) reads config.yml and hands the
    token over with :meth:`expect_token` before Rasa loads its channels, in the same process
    and in memory only; this module never reads the configuration itself.
    """

    _configured_token: Optional[str] = None

    @classmethod
    def name(cls) -> Text:
        return NAME

    @classmethod
    def expect_token(cls, token: Optional[str]) -> None:
        """The token the gateway's calls must carry (:func:`relay_token`); None forgets it."""
        cls._configured_token = token

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "RelayInput":
        if not cls._configured_token:
            # Not an AttributeError or ImportError: Rasa would report those as a misspelt channel.
            raise RuntimeError("the relay channel has no token: start Rasa with `python -m bot.rasa_server`, "
                               "which sets it from identity.hash_key (RelayInput.expect_token)")
        return cls(cls._configured_token)

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
            agent = getattr(request.app.ctx, "agent", None)
            try:
                # Only a retry can have been answered before (the intake hands each delivery on
                # once): a first attempt costs no tracker read of its own.
                if message["retry"] and await replies_already_given(
                        agent, message["sender"], message["message_id"], collector):
                    log.info("%s message %s was answered before: its stored replies are sent again, "
                             "the turn is not run twice", message["input_channel"], message["message_id"])
                    return response.json(collector.messages)
                await on_new_message(UserMessage(
                    message["text"], collector, message["sender"],
                    input_channel=message["input_channel"], metadata=message["metadata"],
                    message_id=message["message_id"]))
            except Exception:  # noqa: BLE001 - the gateway must learn that the turn failed
                log.exception("%s turn %s failed in Rasa", message["input_channel"], message["message_id"])
                return response.json({"error": "the turn failed"}, status=500)
            return response.json(collector.messages)

        return blueprint


class RasaRelay:
    """``on_new_message`` for connectors that run outside the Rasa server.

    One keep-alive connection pool to Rasa for the process (a new TCP connection per turn costs
    more than the JSON). A refused connection means Rasa is starting or restarting and never
    saw the message, so it is retried for up to ``wait_for_rasa`` seconds. A failed turn (Rasa
    answered 5xx: it saves nothing of a turn that failed, e.g. when the action server could not
    be reached) and a lost answer (Rasa died or the connection broke mid-turn) are retried
    ``attempts`` times in all with exponential backoff: every retry carries the message's id and
    ``retry``, so Rasa answers a turn it had completed from its stored replies instead of running
    it again. What still fails raises :class:`RelayError`; the conversation then tells the
    citizen their message is kept, and the intake tries the delivery again later.
    """

    def __init__(self, url: str, token: str, *, wait_for_rasa: float = 90.0, timeout: float = 300.0,
                 attempts: int = 4, base_delay: float = 0.5) -> None:
        self.url = url
        self.wait_for_rasa = wait_for_rasa
        self.timeout = timeout
        self.attempts = attempts
        self.base_delay = base_delay
        self._headers = {"Authorization": f"Bearer {token}"}
        # Idle connections are dropped well before Rasa's own keep-alive (120 s) ends, so a
        # connection the server is closing is not picked for a turn.
        self._sessions = KeptSession(limit=0, keepalive_timeout=15,
                                     timeout=aiohttp.ClientTimeout(total=self.timeout))

    def _client(self) -> aiohttp.ClientSession:
        return self._sessions.get()

    async def __call__(self, message: UserMessage) -> None:
        delivery = current()
        payload = {"sender": message.sender_id, "text": message.text or "",
                   "input_channel": message.input_channel, "metadata": message.metadata or {}}
        if delivery is not None:
            payload["message_id"] = delivery.message_id
            payload["retry"] = delivery.retry
        # The connectors always pass a CollectingOutputChannel (channels/collector.py).
        message.output_channel.messages.extend(await self._post(payload))

    async def _post(self, payload: Dict[str, Any]) -> list:
        deadline = time.monotonic() + self.wait_for_rasa
        pause = 0.25
        failures = 0
        what = payload.get("message_id") or payload["input_channel"]
        while True:
            try:
                async with self._client().post(self.url, json=payload, headers=self._headers) as answer:
                    if answer.status >= 500:
                        raise _TurnFailed(f"Rasa answered {answer.status}")
                    if answer.status != 200:  # 400/403: retrying cannot help
                        raise RelayError(f"Rasa answered {answer.status} to {what}")
                    replies = await answer.json()
            except aiohttp.ClientConnectorError as error:
                if time.monotonic() + pause > deadline:
                    raise RelayError(f"Rasa is unreachable at {self.url}: {error.os_error}") from error
                log.warning("Rasa is not reachable yet (%s); retrying %s in %.2f s", error.os_error, what, pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 2.0)
                continue
            except (_TurnFailed, aiohttp.ClientError, asyncio.TimeoutError) as error:
                failures += 1
                reason = str(error) if isinstance(error, _TurnFailed) else type(error).__name__
                if failures >= self.attempts or not payload.get("message_id"):
                    raise RelayError(f"the turn {what} failed {failures} time(s): {reason}") from error
                wait = self.base_delay * 2 ** (failures - 1)
                log.warning("the turn %s failed (%s), attempt %d of %d; retrying in %.1f s",
                            what, reason, failures, self.attempts, wait)
                payload = {**payload, "retry": True}  # Rasa may have completed it: never run it twice
                await asyncio.sleep(wait)
                continue
            if not isinstance(replies, list):
                raise RelayError("Rasa's relay answer is not a list of replies")
            return replies

    async def close(self) -> None:
        await self._sessions.close()
