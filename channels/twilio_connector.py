"""Twilio SMS and WhatsApp: one code path, parameterised by kind.

Why one path (as RapidPro's courier does it): both arrive as the same signed form POST and
leave through the same Messages API; they differ only in addresses, media, what a reply may
contain and when it may be sent. Those differences live in :class:`Kind`.

Webhook: the ``X-Twilio-Signature`` is checked against the PUBLIC URL of the route
(``server.public_url`` + path, so it holds behind a proxy), the delivery is recorded under its
``MessageSid`` and answered with an empty TwiML response at once; handling and the replies
(REST API) run in the background. Status callbacks are checked the same way and recorded.
"""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text, Tuple
from urllib.parse import parse_qs

import aiohttp
from rasa.core.channels.channel import UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from shared.citizen_text import entry
from accessibility.pipeline import AccessibilityLayer, Outgoing
from channels import redact
from channels.connector_lifecycle import ConnectorLifecycle, connector_blueprint
from channels.connector_runtime import Runtime
from channels.delivery import Postponed
from channels.handover import HandoverOutbox
from channels.intake import Finisher, Intake
from channels.notifications import NotificationLoop
from channels.output import merge_texts
from channels.reply_outbox import FAILED, RETRY, SENT, Answer, Sent
from channels.turn import Conversation
from channels.twilio_format import reply_texts, reveals_anonymous_report
from channels.twilio_http import RoutedHttpClient
from channels.twilio_kinds import SMS, Kind
from channels.twilio_parse import InvalidForm, TwilioInbound, event_code_and_text, parse_form, signature_valid
from channels.twilio_send import OPTED_OUT, TwilioSender
from channels.whatsapp_templates import status_template_from
from shared.http_sessions import KeptSession
from storage.identity import identity_hash
from storage.repositories import MediaLinkRepository, OutboundLog, ReporterRepository

log = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
# The connector's own words are in accessibility/citizen_text.yml; the regular forms, as tests name them.
MEDIA_FAILED_REPLY = entry("channel.download_failed").regular
ATTACHMENT_SAVED_REPLY = entry("channel.attachment_saved").regular
MAX_MEDIA_BYTES = 16 * 1024 * 1024  # WhatsApp's own cap for audio and video


class TwilioHandler:
    """Handles one recorded delivery: media, accessibility, Rasa, replies."""

    def __init__(self, kind: Kind, conversation: Conversation, sender: TwilioSender,
                 account_sid: str, auth_token: str, keyword: Optional[str]) -> None:
        self.kind = kind
        self.conversation = conversation
        self.sender = sender
        self.auth = aiohttp.BasicAuth(account_sid, auth_token)
        self.downloads = KeptSession(limit=8)
        self.keyword = keyword

    async def __call__(self, payload: Dict[str, Any]) -> Optional[Finisher]:
        inbound = TwilioInbound.from_payload(payload)
        if not inbound.address:
            log.warning("%s delivery without a sender ignored", self.kind.name)
            return
        hashed = self.conversation.identity(self.kind.user_id(inbound.address))
        attachments = await self.conversation.arrived(hashed, inbound.address)
        metadata: Dict[str, Any] = {}
        audio: Optional[bytes] = None
        audio_mime: Optional[str] = None
        saved = 0
        for url, content_type in inbound.media:
            data = await self._download(url)
            if data is None:
                await self._say(hashed, inbound.address, "channel.download_failed")
                return
            if content_type.startswith("audio/") and audio is None:
                audio, audio_mime = data, content_type
                continue
            kind = "photo" if content_type.startswith("image/") else "video" if content_type.startswith(
                "video/") else "audio" if content_type.startswith("audio/") else "document"
            metadata["attachments"] = await self.conversation.save_attachment(hashed, kind, content_type, None, data)
            saved += 1
        code, text = event_code_and_text(inbound.body, self.keyword if self.kind is SMS else None)
        if code:
            metadata["event_code"] = code
        if saved and not inbound.body.strip() and audio is None:
            await self._say(hashed, inbound.address, "channel.attachment_saved")
            return
        if audio is not None and not inbound.body.strip():
            text = None
        metadata.setdefault("attachments", attachments)
        try:
            replies = await self.conversation.turn(hashed, text=text, audio=audio, audio_mime=audio_mime,
                                                   metadata=metadata, can_send_voice=self.kind.can_send_voice)
        except Postponed as postponed:
            if postponed.replies:  # "kept, will be answered"; the intake retries the delivery
                await self.sender.deliver(hashed, inbound.address, postponed.replies, in_reply=True)
            raise
        replies = merge_texts(replies, lambda joined: len(reply_texts(self.kind, joined)) == 1)
        # Recorded with "handled", then sent and logged one by one (channels/reply_outbox.py).
        return Answer(inbound.address, replies, self.conversation.finisher(hashed),
                      anonymous=reveals_anonymous_report(reply.text for reply in replies))

    async def _say(self, hashed: str, address: str, key: str) -> None:
        """One of the connector's own messages, in the citizen's form (the accessibility layer renders it)."""
        replies = await self.conversation.layer.say(self.kind.name, hashed, key, self.kind.can_send_voice)
        await self.sender.deliver(hashed, address, replies, in_reply=True)

    async def _download(self, url: str) -> Optional[bytes]:
        """Twilio media needs the account credentials (HTTP basic auth); it may redirect."""
        try:
            timeout = aiohttp.ClientTimeout(total=60)
            # One kept session for every download of this connector (shared.http_sessions).
            async with self.downloads.get().get(url, auth=self.auth, timeout=timeout) as answer:
                if answer.status != 200:
                    log.error("%s media download failed: HTTP %d", self.kind.name, answer.status)
                    return None
                data = await answer.content.read(MAX_MEDIA_BYTES + 1)
                if len(data) > MAX_MEDIA_BYTES:
                    log.error("%s media larger than %d bytes refused", self.kind.name, MAX_MEDIA_BYTES)
                    return None
                return data
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            log.error("%s media download failed: %s", self.kind.name, type(error).__name__)
            return None


class TwilioReplies:
    """The reply outbox's view of Twilio (channels/reply_outbox.py): one Messages call per unit."""

    def __init__(self, kind: Kind, sender: TwilioSender, conversation: Conversation) -> None:
        self.kind = kind
        self.sender = sender
        self.conversation = conversation

    def units(self, reply: Outgoing) -> List[Outgoing]:
        units = [Outgoing(text=text) for text in reply_texts(self.kind, reply)]
        if self.kind.can_send_media:
            if reply.image:
                units.append(Outgoing(image=reply.image))
            if reply.voice_ogg and self.kind.can_send_voice:
                units.append(Outgoing(voice_ogg=reply.voice_ogg))
        return units

    async def send(self, address: str, reply: Outgoing, anonymous: bool) -> Sent:
        hashed = self.conversation.identity(self.kind.user_id(address))
        result = await self.sender.deliver(hashed, address, [reply], in_reply=True, log_later=True,
                                            anonymous=anonymous)
        if result.sent:
            return Sent(SENT, lambda session: self.sender.log_sent(session, hashed, result.unlogged))
        return Sent(RETRY if result.outcome == "retry" else FAILED)

    async def already_delivered(self, address: str, reply: Outgoing, since) -> Optional[bool]:
        return await self.sender.accepted_since(address, reply, since)


# ----------------------------------------------------------------------------- Rasa classes
class TwilioInput(ConnectorLifecycle):
    """The connector for one Twilio kind; SmsInput and WhatsAppInput only set ``kind``."""

    kind: Kind = SMS

    @classmethod
    def name(cls) -> Text:
        return cls.kind.name

    @classmethod
    def from_runtime(cls, runtime: Runtime) -> "TwilioInput":
        return cls(runtime)

    def __init__(self, runtime: Runtime) -> None:
        section = runtime.settings.section(f"channels.{self.kind.name}")
        self.runtime = runtime
        self.account_sid: str = section.require("account_sid")
        self.auth_token: str = section.require("auth_token")
        self.from_number: str = section.require("from_number")
        self.api_base_url: str = section.get("api_base_url", "https://api.twilio.com")
        self.keyword: Optional[str] = section.get("keyword")
        redact.protect([self.auth_token])
        self.validator = RequestValidator(self.auth_token)
        self.client = Client(self.account_sid, self.auth_token, http_client=RoutedHttpClient(self.api_base_url))
        self.sender = TwilioSender(self.kind, runtime, self.client, self.from_number)
        # Status updates outside WhatsApp's 24-hour window (channels/whatsapp_templates.py).
        self.status_template = status_template_from(runtime.settings) if self.kind.free_form_window else None
        self.sms_fallback: Optional[TwilioSender] = None
        if self.kind.free_form_window and section.flag("status_sms_fallback"):
            sms_from = runtime.settings.section("channels.sms").require("from_number")
            self.sms_fallback = TwilioSender(SMS, runtime, self.client, sms_from)
        self.intake: Optional[Intake] = None
        self.conversation: Optional[Conversation] = None
        self.handler: Optional[TwilioHandler] = None
        self._init_lifecycle()
        if not runtime.public_url:
            log.warning("%s: server.public_url is not set: signatures are checked against the URL the "
                        "request arrived at, which is wrong behind a proxy", self.kind.name)

    def _public_url(self, request: Request, path: str) -> str:
        configured = self.runtime.public(f"/webhooks/{self.kind.name}{path}")
        if configured:
            query = request.query_string
            return f"{configured}?{query}" if query else configured
        return request.url

    def _verified(self, request: Request, path: str) -> Optional[Dict[str, List[str]]]:
        # Twilio signs every parameter, blank ones too; Sanic's request.form drops blanks.
        form = parse_qs(request.body.decode("utf-8", errors="replace"), keep_blank_values=True)
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature_valid(self.validator, self._public_url(request, path), form, signature):
            log.warning("%s %s call with a missing or invalid X-Twilio-Signature: refused", self.kind.name, path)
            return None
        return form

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = connector_blueprint(self.kind.name, self, on_new_message)
        connector = self

        @blueprint.route("/webhook", methods=["POST"])
        async def webhook(request: Request):
            form = connector._verified(request, "/webhook")
            if form is None:
                return response.text("invalid signature", status=403)
            if not await connector.wait_ready():
                return response.text("starting", status=503)  # the provider re-sends later
            params = {key: values[0] for key, values in form.items() if values}
            try:
                inbound = parse_form(params)
            except InvalidForm as error:
                log.warning("%s webhook: a signed but malformed form refused (%s)", connector.kind.name, error)
                return response.text("not a message", status=400)
            if not inbound.message_sid or not inbound.address:
                log.warning("%s webhook: a form without MessageSid or From refused", connector.kind.name)
                return response.text("not a message", status=400)
            hashed = connector.conversation.identity(connector.kind.user_id(inbound.address))
            if not await connector.intake.accept_or_defer(inbound.message_sid, hashed, inbound.as_payload()):
                return response.text("try again", status=503)  # not recorded: Twilio re-sends
            return response.text(EMPTY_TWIML, content_type="text/xml")

        @blueprint.route("/status", methods=["POST"])
        async def status(request: Request):
            form = connector._verified(request, "/status")
            if form is None:
                return response.text("invalid signature", status=403)
            params = {key: values[0] for key, values in form.items() if values}
            await connector.record_status(params)
            return response.text("", status=204)

        if self.kind.can_send_media:
            @blueprint.route("/media/<token>", methods=["GET"])
            async def media(request: Request, token: str):
                link = await asyncio.to_thread(connector._resolve_media, token)
                if link is None or not Path(link[0]).is_file():
                    return response.text("not found", status=404)
                return await response.file(link[0], mime_type=link[1])

        return blueprint

    def _resolve_media(self, token: str) -> Optional[Tuple[str, str]]:
        with self.runtime.database.session() as session:
            link = MediaLinkRepository(session).resolve(token)
            return (link.path, link.content_type) if link is not None else None

    async def record_status(self, params: Dict[str, str]) -> None:
        sid = params.get("MessageSid") or params.get("SmsSid")
        status = (params.get("MessageStatus") or params.get("SmsStatus") or "").lower()
        error_code = params.get("ErrorCode") or None
        if not sid or not status:
            return
        recipient = params.get("To")

        def work() -> None:
            with self.runtime.database.session() as session:
                OutboundLog(session).record_status_event(self.kind.name, sid, status, error_code)
                if error_code == str(OPTED_OUT) and recipient:
                    hashed = identity_hash(self.runtime.settings.identity_key, self.kind.name,
                                           self.kind.user_id(recipient))
                    ReporterRepository(session).mark_unreachable(self.kind.name, hashed)
                    OutboundLog(session).set_state_by_provider_id(sid, "unreachable", error_code)
        await asyncio.to_thread(work)
        if error_code:
            log.info("%s message %s is %s (Twilio error %s)", self.kind.name, sid, status, error_code)

    async def start(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        self.conversation = Conversation(self.kind.name, self.runtime.settings, self.runtime.database, on_new_message)
        handler = self.handler = TwilioHandler(self.kind, self.conversation, self.sender, self.account_sid,
                                               self.auth_token, self.keyword)
        self.intake = Intake(self.runtime.database, self.kind.name, handler, retry_base=self.runtime.retry_seconds,
                             sender=TwilioReplies(self.kind, self.sender, self.conversation),
                             holder=self.runtime.replica)
        await self.intake.recover()
        self._ready.set()
        self._start_upkeep(self.intake)
        if self.kind.can_send_voice:
            self._warm_up_speech(self.conversation)
        notifier = self.notification_loop()
        if notifier is not None:  # None: switched off (the turn-cost test does, to count a turn alone)
            self._background.append(asyncio.get_running_loop().create_task(notifier.run()))
        # What staff write in the console's handover inbox (channels/handover.py).
        outbox = HandoverOutbox(self.kind.name, self.runtime, self.conversation.layer, self._send_staff_message,
                                can_send_voice=self.kind.can_send_voice)
        self._background.append(asyncio.get_running_loop().create_task(outbox.run()))

    async def stop(self) -> None:
        await self._stop_background()
        await self.client.http_client.close()
        if self.handler is not None:
            await self.handler.downloads.close()

    async def _send_staff_message(self, address: str, reply: Outgoing, _last_inbound_at) -> str:
        """Like a notification: the gateway keeps WhatsApp's 24-hour window (needs_template outside it)."""
        hashed = identity_hash(self.runtime.settings.identity_key, self.kind.name, self.kind.user_id(address))
        result = await self.sender.deliver(hashed, self.kind.address(address), [reply])
        return result.outcome

    async def send(self, address: str, replies: List[Outgoing]) -> str:
        """The connector contract's send: replies (text, buttons, voice, image, template) to an address.

        Within the kind's rules (WhatsApp's 24-hour window: ``needs_template`` for free-form
        units outside it; a template unit may go any time). The outcome as storage.lifecycle
        records it: sent, needs_template, unreachable, failed, retry_later.
        """
        hashed = self.runtime_identity(address)
        address = self.kind.address(address)
        templates = [reply for reply in replies if reply.template]
        free_form = [reply for reply in replies if not reply.template]
        if free_form:
            outcome = _notification_outcome((await self.sender.deliver(hashed, address, free_form)).outcome)
            if outcome != "sent":
                return outcome
        for reply in templates:
            content_sid, variables = reply.template
            outcome = _notification_outcome((await self.sender.send_template(hashed, address, content_sid,
                                                                              variables)).outcome)
            if outcome != "sent":
                return outcome
        return "sent"

    def runtime_identity(self, address: str) -> str:
        """The keyed hash of the number behind an address (what the outbound log is keyed by)."""
        return identity_hash(self.runtime.settings.identity_key, self.kind.name, self.kind.user_id(address))

    def notification_loop(self) -> NotificationLoop:
        """Status updates for this kind: in the citizen's form, voice notes where the kind can send them."""
        layer = self.conversation.layer if self.conversation is not None else None
        return NotificationLoop.for_channel(self.kind.name, self.runtime, self._notify, layer=layer or
                                            AccessibilityLayer(self.runtime.settings, self.runtime.database),
                                            can_send_voice=self.kind.can_send_voice)

    async def _notify(self, notification, replies: List[Outgoing]) -> str:
        """Send one status update; the outcome for mark_notified (storage.lifecycle.OUTCOMES).

        Free-form first; when WhatsApp's 24-hour window is closed, the approved template
        (``status_template``), else the SMS fallback (``status_sms_fallback``), else it waits
        as ``needs_template`` until the citizen writes again.
        """
        hashed = notification.identity_hash
        address = self.kind.address(notification.address)
        outcome = await self.send(address, replies)
        if outcome != "needs_template":
            return outcome
        if self.status_template is not None:
            outcome = await self.send(address, [self.status_template.unit(notification, replies)])
            if outcome == "sent":
                return "sent_template"
            if outcome in ("unreachable", "retry_later"):
                return outcome
        if self.sms_fallback is not None:
            texts = [Outgoing(text=reply.text, buttons=list(reply.buttons)) for reply in replies if reply.text]
            result = await self.sms_fallback.deliver(hashed, self.kind.user_id(address), texts)
            if result.outcome == "sent":
                return "sent_sms"
            log.warning("%s: the SMS fallback of a status update failed too (%s)", self.kind.name, result.outcome)
        return "needs_template"


def _notification_outcome(send_outcome: str) -> str:
    """A SendResult outcome as storage.lifecycle records it ("retry": nothing went out, try later)."""
    return "retry_later" if send_outcome == "retry" else send_outcome
