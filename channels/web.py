"""The web chat: a Rasa custom connector for the gateway's own page (``/web/``, ``/web/kiosk/<code>``).

Why a channel of its own and not Rasa's REST or socket.io channel: those skip the accessibility
layer (typed numbers, ``/sederhana``, voice in and out) and have no exactly-once delivery. Here
the page talks to ``/webhooks/web/socket`` (a WebSocket, channels/web_parse.py has the frames):
every message, voice note and kiosk reset carries a client-generated id and is recorded in the
inbound log under it before the page gets its ``ack`` (a re-sent frame is acknowledged and not
handled again), then handled in the background like a Telegram update (channels/intake.py):
accessibility in, Rasa through the relay, accessibility out. Replies go to the device's mailbox
and out to its open sockets (channels/web_send.py), so a page that reconnects gets exactly what
it missed.

Identity: the page's random device id (``crypto.randomUUID()``), hashed with the identity key
like a chat id or phone number; the reporter's ``address`` is that hash (replies and status
notifications go to the mailbox), so the device id itself is stored nowhere.
"""
from __future__ import annotations

import asyncio
import contextlib
import contextvars
import datetime as dt
import json
import logging
import uuid
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.channel import UserMessage
from sanic import Blueprint
from sanic.request import Request
from websockets.exceptions import ConnectionClosed

from accessibility.pipeline import Outgoing
from channels.connector_lifecycle import ConnectorLifecycle, connector_blueprint
from channels.collector import collector_class
from channels.turn import Conversation
from channels.delivery import Postponed, current
from channels.handover import HandoverOutbox
from channels.intake import Finisher, Intake
from channels.notifications import NotificationLoop
from channels.connector_runtime import Runtime
from channels.web_parse import FrameError, Hello, Said, Seen, parse_frame, parse_stored, provider_id, stored_payload
from channels.web_send import Mailbox, heard_item, reply_items
from shared.lru import BoundedLru

log = logging.getLogger(__name__)

NAME = "web"
SOCKET_PATH = f"/webhooks/{NAME}/socket"
RESTART = "/restart"  # Rasa's own intent: action_restart ends the conversation (RulePolicy default rule)
MAILBOX_RETENTION = dt.timedelta(hours=24)
MAILBOX_UPKEEP_SECONDS = 3600.0
CHOICES_REMEMBERED = 10_000  # devices whose last choices are kept in memory

# The transcripts of the voice note being handled (set by the handler, filled on the way to Rasa).
_HEARD: contextvars.ContextVar[Optional[List[str]]] = contextvars.ContextVar("sapalapor_web_heard", default=None)


def noting_transcripts(on_new_message: Callable[[UserMessage], Awaitable[Any]]):
    """``on_new_message`` that also notes what a voice note was heard as, for the page to show.

    Why here: the accessibility layer turns the voice note into the text Rasa gets; that text
    (or the choice it picked) is exactly what the citizen should see as their own message.
    """
    async def relay(message: UserMessage) -> None:
        heard = _HEARD.get()
        if heard is not None and (message.metadata or {}).get("input_mode") == "voice":
            heard.append(message.text or "")
        await on_new_message(message)
    return relay


class WebHandler:
    """Handles one recorded frame: a message, a voice note, or a kiosk reset."""

    def __init__(self, conversation: Conversation, mailbox: Mailbox) -> None:
        self.conversation = conversation
        self.mailbox = mailbox
        # The choices each device saw last ({payload: title}): a spoken choice is shown by its title.
        # Only showing new choices counts as use; reading them does not.
        self._choices: "BoundedLru[str, Dict[str, str]]" = BoundedLru(CHOICES_REMEMBERED)

    async def __call__(self, payload: dict) -> Optional[Finisher]:
        try:
            inbound = parse_stored(payload)
        except (KeyError, TypeError, ValueError) as error:
            log.warning("web frame in the inbound log is not well formed (%s); ignored", type(error).__name__)
            return None
        hashed = inbound.identity_hash
        delivery = current()
        source = delivery.provider_id if delivery is not None else uuid.uuid4().hex
        if inbound.kind == "reset":
            await self._end_conversation(hashed)
            return None
        attachments = await self.conversation.arrived(hashed, hashed)
        metadata: Dict[str, Any] = {"attachments": attachments}
        if inbound.event_code:
            metadata["event_code"] = inbound.event_code
        heard: List[str] = []
        token = _HEARD.set(heard)
        try:
            replies = await self.conversation.turn(hashed, text=inbound.text, audio=inbound.audio,
                                                   audio_mime=inbound.mime, metadata=metadata, can_send_voice=True)
        except Postponed as postponed:
            attempt = delivery.attempt if delivery is not None else 0
            await self.mailbox.deliver(hashed, f"{source}~kept{attempt}",
                                       self._heard_items(hashed, heard) + reply_items(postponed.replies))
            raise
        finally:
            _HEARD.reset(token)
        items = self._heard_items(hashed, heard) + reply_items(replies)
        self._remember_choices(hashed, replies)
        await self.mailbox.deliver(hashed, source, items)
        return self.conversation.finisher(hashed)

    def _heard_items(self, hashed: str, heard: List[str]) -> list:
        shown = self._choices.peek(hashed, {})
        # A spoken "nomor dua" reaches Rasa as the button's payload: shown as the button's title.
        return [heard_item(shown.get(text, text) if text.startswith("/") else text) for text in heard if text]

    def _remember_choices(self, hashed: str, replies: List[Outgoing]) -> None:
        for reply in replies:
            if reply.buttons:
                self._choices.put(hashed, {str(b.get("payload")): str(b.get("title")) for b in reply.buttons})

    async def _end_conversation(self, hashed: str) -> None:
        """A kiosk reset: Rasa restarts the conversation and the mailbox forgets the device.

        The page has already cleared itself and moved to a new device id; the old conversation
        must not be continued by anyone, so Rasa's ``/restart`` ends it (its replies are
        dropped) and nothing of it stays for the old device id.
        """
        delivery = current()
        try:
            await self.conversation.on_new_message(UserMessage(
                RESTART, collector_class(NAME)(), self.conversation.sender_id(hashed), input_channel=NAME,
                metadata={"channel": NAME}, message_id=delivery.message_id if delivery is not None else None))
        except Exception as error:  # noqa: BLE001 - retried by the intake
            raise Postponed(f"restart failed: {type(error).__name__}") from error
        finally:
            await self.mailbox.forget(hashed)
            self._choices.pop(hashed, None)


class WebInput(ConnectorLifecycle):
    """The web chat connector (``channels.web.WebInput``, served by the channel gateway)."""

    @classmethod
    def name(cls) -> Text:
        return NAME

    @classmethod
    def from_runtime(cls, runtime: Runtime) -> "WebInput":
        return cls(runtime)

    def __init__(self, runtime: Runtime) -> None:
        section = runtime.settings.section(f"channels.{NAME}")
        self.runtime = runtime
        self.kiosk_quiet_seconds = float(section.get("kiosk_quiet_seconds", 120, kind=float))
        self.kiosk_warning_seconds = float(section.get("kiosk_warning_seconds", 30, kind=float))
        self.mailbox = Mailbox(runtime.database)
        self.intake: Optional[Intake] = None
        self.conversation: Optional[Conversation] = None
        self._init_lifecycle()

    def page_blueprint(self) -> Blueprint:
        """The page itself (``/web/``, ``/web/kiosk/<code>``), mounted by the gateway at the root."""
        from channels.web_pages import page_blueprint

        return page_blueprint(self)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = connector_blueprint(NAME, self, on_new_message)
        connector = self

        @blueprint.websocket("/socket")
        async def socket(request: Request, ws) -> None:
            if not await connector.wait_ready():
                await ws.close(code=1013, reason="starting")  # the page reconnects shortly
                return
            await connector.serve(ws)

        return blueprint

    async def serve(self, ws) -> None:
        """One page's socket: hello, then messages and confirmations, until it closes."""
        hashed: Optional[str] = None
        event: Optional[str] = None
        try:
            while True:
                raw = await ws.recv()
                if raw is None:
                    break
                try:
                    frame = parse_frame(raw)
                except FrameError as error:
                    log.info("web page sent a frame we do not take (%s)", error)
                    await ws.send(json.dumps({"type": "error", "reason": "bad_frame"}))
                    continue
                if isinstance(frame, Hello):
                    if hashed is not None:
                        self.mailbox.disconnect(hashed, ws)
                    hashed = self.conversation.identity(frame.device)
                    event = await self._known_event(frame.event)
                    await self.mailbox.connect(hashed, frame.after, ws)
                    await ws.send(json.dumps({"type": "ready", "event": event}))
                elif hashed is None:
                    await ws.send(json.dumps({"type": "error", "reason": "hello_first"}))
                elif isinstance(frame, Seen):
                    await self.mailbox.seen(hashed, frame.up_to)
                elif isinstance(frame, Said):
                    recorded = await self.intake.accept_or_defer(
                        provider_id(hashed, frame.client_id), hashed, stored_payload(hashed, frame, event))
                    # Not recorded (the database is busy): the page keeps it and sends it again.
                    await ws.send(json.dumps({"type": "ack" if recorded else "retry", "id": frame.client_id}))
        except ConnectionClosed:
            pass
        finally:
            if hashed is not None:
                self.mailbox.disconnect(hashed, ws)

    async def _known_event(self, code: Optional[str]) -> Optional[str]:
        """The stored code of a real outreach event (typed codes are forgiven 0/O, 1/I), else None."""
        if not code:
            return None
        from storage.outreach import canonical_code

        def work() -> Optional[str]:
            with self.runtime.database.session() as session:
                return canonical_code(session, code)
        return await asyncio.to_thread(work)

    async def start(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        await self.prepare(on_new_message)
        await self.intake.recover()
        self._ready.set()
        self._start_upkeep(self.intake)
        self._background.append(asyncio.get_running_loop().create_task(self._mailbox_upkeep()))
        self._warm_up_speech(self.conversation)
        # Status updates rendered by the accessibility layer (simple language, voice notes).
        notifier = NotificationLoop.for_channel(NAME, self.runtime, self._notify, layer=self.conversation.layer,
                                                can_send_voice=True)
        if notifier is not None:
            self._background.append(asyncio.get_running_loop().create_task(notifier.run()))
        # What staff write in the console's handover inbox (channels/handover.py).
        outbox = HandoverOutbox(NAME, self.runtime, self.conversation.layer,
                                lambda address, reply, _last_inbound_at: self.send(address, [reply]))
        self._background.append(asyncio.get_running_loop().create_task(outbox.run()))
        log.info("web chat ready at /web/ (socket %s)", SOCKET_PATH)

    async def prepare(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        self.conversation = Conversation(NAME, self.runtime.settings, self.runtime.database,
                                         noting_transcripts(on_new_message))
        self.intake = Intake(self.runtime.database, NAME, WebHandler(self.conversation, self.mailbox),
                             retry_base=self.runtime.retry_seconds, holder=self.runtime.replica)

    async def stop(self) -> None:
        await self._stop_background()

    async def _mailbox_upkeep(self) -> None:
        """Hourly: items no page fetched within a day are forgotten."""
        from storage.repositories.web_replies import WebReplyLog

        def purge() -> int:
            with self.runtime.database.session() as session:
                return WebReplyLog(session).purge(MAILBOX_RETENTION)
        while True:
            with contextlib.suppress(Exception):
                erased = await asyncio.to_thread(purge)
                if erased:
                    log.info("web: forgot %d reply(ies) no page fetched within a day", erased)
            await asyncio.sleep(MAILBOX_UPKEEP_SECONDS)

    async def send(self, address: str, replies: List[Outgoing]) -> str:
        """The connector contract's send (channels/connector.py): replies into the device's mailbox."""
        await self.mailbox.deliver(address, f"notify-{uuid.uuid4().hex}", reply_items(replies))
        return "sent"

    async def _notify(self, notification, replies: List[Outgoing]) -> str:
        """A status update, in the citizen's form, goes to the device's mailbox (``address`` is its hash)."""
        return await self.send(notification.address, replies)
