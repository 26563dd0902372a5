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
import datetime as dt
import hashlib
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text, Tuple
from urllib.parse import parse_qs, urlsplit, urlunsplit

import aiohttp
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sqlalchemy import select
from twilio.base.exceptions import TwilioRestException
from twilio.http import AsyncHttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from accessibility.pipeline import Outgoing
from channels import gsm7, redact
from channels.blueprints import ConnectorLifecycle, connector_blueprint
from channels.conversation import Conversation
from channels.delivery import Postponed
from channels.intake import Finisher, Intake
from channels.notifications import NotificationLoop
from channels.output import SendsOutgoing, merge_texts
from channels.runtime import Runtime, load_runtime
from channels.sending import Retry, RetryPolicy, connect_timed_out, send_with_retry
from channels.text_split import split_text
from channels.typed import typed
from storage.identity import identity_hash, mask_address, parse_sender_id
from storage.models import OUTBOUND_STATES, DeliveryStatusEvent, utcnow
from storage.repositories import MediaLinkRepository, OutboundLog, ReporterRepository

log = logging.getLogger(__name__)

OPTED_OUT = 21610  # Twilio: the recipient replied STOP
OUTSIDE_WINDOW = 63016  # Twilio: WhatsApp free-form message outside the 24-hour window
WHATSAPP_WINDOW = dt.timedelta(hours=24)
MEDIA_LINK_SECONDS = 3600
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
GREETING = "/greet"
MEDIA_FAILED_REPLY = "Maaf, berkas Anda gagal saya terima. Silakan kirim sekali lagi."
ATTACHMENT_SAVED_REPLY = "Terima kasih, berkas Anda sudah saya simpan untuk laporan ini."
MAX_MEDIA_BYTES = 16 * 1024 * 1024  # WhatsApp's own cap for audio and video
ANONYMOUS_SENDER = ""  # outbound_messages.sender_hash of the replies that filed an anonim report


@dataclass(frozen=True)
class Kind:
    """What differs between SMS and WhatsApp."""

    name: str  # "sms" | "whatsapp"
    address_prefix: str  # "" | "whatsapp:"
    can_send_voice: bool
    can_send_media: bool
    free_form_window: Optional[dt.timedelta]
    text_limit: int  # characters per message (Twilio accepts 1600)

    def user_id(self, address: str) -> str:
        """The number without the channel prefix: what the identity hash is taken of."""
        return address[len(self.address_prefix):] if address.startswith(self.address_prefix) else address

    def address(self, number: str) -> str:
        return number if number.startswith(self.address_prefix) else f"{self.address_prefix}{number}"


SMS = Kind("sms", "", can_send_voice=False, can_send_media=False, free_form_window=None,
           text_limit=gsm7.MULTI_SEGMENT * 3)
WHATSAPP = Kind("whatsapp", "whatsapp:", can_send_voice=True, can_send_media=True,
                free_form_window=WHATSAPP_WINDOW, text_limit=1600)


# ------------------------------------------------------------------------------ REST client
class ProviderBusy(Exception):
    """Twilio answered 429 or 5xx: nothing was accepted, so the send may be retried."""

    def __init__(self, status: int, retry_after: Optional[float]) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


class RoutedHttpClient(AsyncHttpClient):
    """The Twilio library's HTTP client: asynchronous, aimed at ``api_base_url``, 429/5xx raised.

    Asynchronous (the library's ``*_async`` calls) on one keep-alive aiohttp session, so a reply
    costs no worker thread and no new connection: the library's own synchronous client (requests,
    in a thread) cost several times the CPU per message in the channel gateway (bench/README.md).
    The library builds ``https://api.twilio.com/...`` itself; rewriting scheme and host here
    covers every Twilio domain at once. Its exceptions drop response headers, so throttling
    is raised before the library sees the response.
    """

    def __init__(self, api_base_url: str, timeout: float = 15.0) -> None:
        super().__init__(logging.getLogger("twilio.http_client"), True, timeout)
        self._base = urlsplit(api_base_url.rstrip("/"))
        self._session: Optional[aiohttp.ClientSession] = None

    async def request(self, method, url, params=None, data=None, headers=None, auth=None, timeout=None,
                      allow_redirects=False) -> TwilioResponse:
        parts = urlsplit(url)
        if parts.hostname and parts.hostname.endswith("twilio.com"):
            url = urlunsplit((self._base.scheme, self._base.netloc, self._base.path + parts.path,
                              parts.query, parts.fragment))
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64))
        seconds = timeout or self.timeout
        # Repeated keys (MediaUrl) as Twilio expects them; form values are text.
        form = [(key, str(item)) for key, value in (data or {}).items()
                for item in (value if isinstance(value, (list, tuple)) else [value])] if data else None
        async with self._session.request(
                method.upper(), url, params=params, data=form, headers=headers,
                auth=aiohttp.BasicAuth(*auth) if auth else None, allow_redirects=allow_redirects,
                timeout=aiohttp.ClientTimeout(total=seconds, sock_connect=min(seconds, 10.0))) as answer:
            text = await answer.text()
            if answer.status == 429 or answer.status >= 500:
                raise ProviderBusy(answer.status, _retry_after(answer.headers.get("Retry-After")))
            return TwilioResponse(answer.status, text, dict(answer.headers))

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None


def _retry_after(value: Optional[str]) -> Optional[float]:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def classify(error: BaseException) -> Optional[Retry]:
    """Retry connection failures, 5xx and 429; never a read timeout (it may have been sent)."""
    if isinstance(error, ProviderBusy):
        return Retry(f"HTTP {error.status}", error.retry_after)
    if connect_timed_out(error):
        return Retry("connect timeout")
    if isinstance(error, aiohttp.ClientConnectorError):  # refused, unreachable: nothing was sent
        return Retry("connection failed")
    if isinstance(error, TwilioRestException) and (error.status == 429 or error.status >= 500):
        return Retry(f"HTTP {error.status}")
    return None


# -------------------------------------------------------------------------- inbound parsing
MAX_MEDIA = 10  # Twilio sends at most 10 media per message
_SID = re.compile(r"^[A-Za-z]{2}[0-9A-Za-z]{1,62}$")  # "SM" + 32 hex digits; fits provider_id
_WHOLE_NUMBER = re.compile(r"^[0-9]{1,4}$")
_ADDRESS_LIMIT = 64
_URL_LIMIT = 2048
_CONTENT_TYPE_LIMIT = 128


class InvalidForm(ValueError):
    """A signed form that is not a well-formed Twilio message (answered 400, never handled)."""


@dataclass(frozen=True)
class TwilioInbound:
    message_sid: str
    address: str  # From, e.g. "+62812..." or "whatsapp:+62812..."
    body: str
    media: Tuple[Tuple[str, str], ...] = ()  # (url, content type)

    def as_payload(self) -> Dict[str, Any]:
        """What the inbound log keeps until handled: the parsed message, not the whole form.

        Parsed once, in the webhook (the handler rebuilds it with :meth:`from_payload`), and
        none of Twilio's other fields (To, FromCity, AccountSid...) are stored.
        """
        return {"sid": self.message_sid, "from": self.address, "body": self.body,
                "media": [list(item) for item in self.media]}

    @classmethod
    def from_payload(cls, payload: Dict[str, Any]) -> "TwilioInbound":
        if "sid" not in payload:  # recorded as the raw form before this shape existed
            return parse_form(payload)
        return cls(payload["sid"], payload["from"], payload["body"],
                   tuple((str(url), str(kind)) for url, kind in payload.get("media") or ())[:MAX_MEDIA])


def _whole_number(params: Dict[str, str], key: str) -> int:
    raw = (params.get(key) or "").strip()
    if not raw:
        return 0
    if not _WHOLE_NUMBER.match(raw):
        raise InvalidForm(f"{key} is not a whole number")
    return int(raw)


def parse_form(params: Dict[str, str]) -> TwilioInbound:
    """The message in a Twilio webhook form; raises :class:`InvalidForm` for a malformed one.

    The work is bounded whatever the form says: NumMedia is read as at most Twilio's 10.
    """
    count = min(_whole_number(params, "NumMedia"), MAX_MEDIA)
    _whole_number(params, "NumSegments")
    sid = params.get("MessageSid") or params.get("SmsMessageSid") or ""
    if sid and not _SID.match(sid):
        raise InvalidForm("MessageSid is not a Twilio id")
    address = params.get("From", "")
    if len(address) > _ADDRESS_LIMIT:
        raise InvalidForm("From is too long for an address")
    media = []
    for index in range(count):
        url = params.get(f"MediaUrl{index}")
        if not url:
            continue
        content_type = params.get(f"MediaContentType{index}") or "application/octet-stream"
        if len(url) > _URL_LIMIT or not url.startswith(("https://", "http://")):
            raise InvalidForm(f"MediaUrl{index} is not a media link")
        if len(content_type) > _CONTENT_TYPE_LIMIT:
            raise InvalidForm(f"MediaContentType{index} is too long")
        media.append((url, content_type))
    return TwilioInbound(sid, address, params.get("Body") or "", tuple(media))


class _Form(dict):
    """Form values as lists, the shape RequestValidator reads through ``getall``."""

    def getall(self, name: str) -> List[str]:
        return list(self[name])


def signature_valid(validator: RequestValidator, url: str, form: Dict[str, List[str]], signature: str) -> bool:
    if not signature:
        return False
    return validator.validate(url, _Form(form), signature)


def numbered_choices(buttons: List[dict]) -> str:
    """Buttons a phone cannot show, as replies the user can type: "Balas 1 untuk Pengaduan"."""
    lines = []
    for index, button in enumerate(buttons, 1):
        # A title that already starts with its number ("1 Sangat tidak puas") is not numbered twice.
        title = re.sub(rf"^{index}[.)]?\s+", "", str(button.get("title", "")).strip())
        lines.append(f"Balas {index} untuk {title}")
    return "\n".join(lines)


def lists_choices(text: str, buttons: List[dict]) -> bool:
    """Whether the text already lists every button as "1. Title" (simple-language variants do).

    Then the list is not added again: SMS users pay for every segment, and the same options
    twice is noise for everyone.
    """
    lines = [line.strip().lower() for line in text.splitlines()]
    for index, button in enumerate(buttons, 1):
        title = str(button.get("title", "")).strip().lower()
        first_word = title.split()[0] if title.split() else ""
        if not any(re.match(rf"{index}[.)]\s*", line) and first_word and first_word in line for line in lines):
            return False
    return bool(buttons)


def reply_texts(kind: Kind, reply: Outgoing) -> List[str]:
    """The text messages one reply becomes on this kind of channel."""
    text = (reply.text or "").strip()
    if reply.buttons and not lists_choices(text, reply.buttons):
        text = f"{text}\n{numbered_choices(reply.buttons)}".strip()
    if not text:
        return []
    if kind is SMS:
        return gsm7.split_messages(text, max_segments=3)
    return split_text(text, kind.text_limit)


# ------------------------------------------------------------------------- the outbound log
# A tracking number as the dialogue writes it ("4821-7730") or as typed ("48217730"), and a PIN
# ("PIN Anda: 7766", "PIN ini: 7766").
_TRACKING_NUMBER = re.compile(r"(?<!\d)\d{4}[\s\-\u2010-\u2015.]?\d{4}(?!\d)")
_PIN = re.compile(r"(\bPIN\b[^0-9\n]{0,40}?)(\d{4,8})(?!\d)", re.IGNORECASE)


def reveals_anonymous_report(texts) -> bool:
    """True for the replies of a turn that filed (or opened) an *anonim* report: they carry its PIN."""
    return any(_PIN.search(text or "") for text in texts)


def loggable_body(body: Optional[str]) -> Optional[str]:
    """The body as the outbound log keeps it: never a tracking number or a PIN (issue 13, D7).

    The outbound log is linked to the sender, whose reporter row holds the phone number: with
    the number and the PIN in clear text there, an *anonim* report was traceable to its citizen.
    """
    if not body:
        return body
    return _TRACKING_NUMBER.sub("<nomor laporan>", _PIN.sub(r"\1<PIN>", body))


# ------------------------------------------------------------------------------- the gateway
@dataclass
class SendResult:
    sent: int = 0
    outcome: str = "sent"  # "sent" | "needs_template" | "unreachable" | "failed"
    sids: List[str] = field(default_factory=list)
    # Messages Twilio accepted and not yet in the outbound log: (kind, body, sid, the sender hash
    # to log it under: ANONYMOUS_SENDER for an anonim filing), filled when
    # ``deliver(..., log_later=True)``; :meth:`TwilioGateway.log_sent` writes them.
    unlogged: List[Tuple[str, Optional[str], str, str]] = field(default_factory=list)


class TwilioGateway:
    """Sends replies of one kind through one Twilio client (held, not inherited)."""

    def __init__(self, kind: Kind, runtime: Runtime, client: Client, from_number: str,
                 policy: RetryPolicy = RetryPolicy()) -> None:
        self.kind = kind
        self.runtime = runtime
        self.client = client
        self.from_address = kind.address(from_number)
        self.policy = policy

    @property
    def status_callback(self) -> Optional[str]:
        return self.runtime.public(f"/webhooks/{self.kind.name}/status")

    async def deliver(self, hashed: str, address: str, replies: List[Outgoing], *, in_reply: bool = False,
                      log_later: bool = False) -> SendResult:
        """Send the replies, within the channel's rules; records each message in the outbound log.

        ``in_reply``: these answer a message that has just arrived (its time is stored), so
        WhatsApp's 24-hour window is open without reading it back. ``log_later``: accepted
        messages are kept in ``result.unlogged`` for the caller to write with :meth:`log_sent`
        in a transaction it commits anyway (the intake's "handled"), instead of one transaction
        per message. Refusals and failures are always written at once.
        """
        result = SendResult()
        # The replies that file an anonim report are logged without their sender (and, like
        # every reply, without tracking number or PIN): nothing in the log leads back to the phone.
        log_hash = ANONYMOUS_SENDER if reveals_anonymous_report(reply.text for reply in replies) else hashed
        if self.kind.free_form_window is not None and not in_reply and not await self._within_window(hashed):
            body = "\n".join(filter(None, (reply.text for reply in replies)))
            await self._record(log_hash, "text", body, "needs_template")
            log.warning("%s: %d reply(ies) to %s not sent: outside the 24-hour window, a template is "
                        "needed (kept as needs_template)", self.kind.name, len(replies), mask_address(address))
            result.outcome = "needs_template"
            return result
        for reply in replies:
            for text in reply_texts(self.kind, reply):
                if not await self._send(hashed, address, result, "text", text, body=text, log_later=log_later,
                                        log_hash=log_hash):
                    return result
            if self.kind.can_send_media:
                for kind, data, content_type, suffix in self._media_of(reply):
                    url = await self._media_url(data, content_type, suffix)
                    if url is None:
                        log.warning("%s: no public URL configured; a %s reply was not sent", self.kind.name, kind)
                        continue
                    if not await self._send(hashed, address, result, kind, None, media_url=[url],
                                            log_later=log_later, log_hash=log_hash):
                        return result
        return result

    def _media_of(self, reply: Outgoing):
        if reply.voice_ogg and self.kind.can_send_voice:
            yield "voice", reply.voice_ogg, "audio/ogg", ".ogg"
        if reply.image:
            yield "image", reply.image, None, None

    async def _send(self, hashed: str, address: str, result: SendResult, kind: str, text: Optional[str],
                    body: Optional[str] = None, media_url: Optional[List[str]] = None,
                    log_later: bool = False, log_hash: Optional[str] = None) -> bool:
        logged_as = hashed if log_hash is None else log_hash
        arguments: Dict[str, Any] = {"to": address, "from_": self.from_address}
        if body is not None:
            arguments["body"] = body
        if media_url:
            arguments["media_url"] = media_url
        if self.status_callback:
            arguments["status_callback"] = self.status_callback
        try:
            message = await send_with_retry(
                lambda: self.client.messages.create_async(**arguments),
                classify, self.policy, what=f"{self.kind.name} message")
        except TwilioRestException as error:
            if error.code == OPTED_OUT:
                await self._unreachable(hashed)
                await self._record(logged_as, kind, text, "unreachable", error_code=str(error.code))
                log.info("%s: %s opted out (21610); marked unreachable", self.kind.name, mask_address(address))
                result.outcome = "unreachable"
            elif error.code == OUTSIDE_WINDOW:
                await self._record(logged_as, kind, text, "needs_template", error_code=str(error.code))
                log.warning("%s: Twilio says the 24-hour window is closed for %s (63016): needs_template",
                            self.kind.name, mask_address(address))
                result.outcome = "needs_template"
            else:
                await self._record(logged_as, kind, text, "failed", error_code=str(error.code or error.status))
                log.error("%s: sending to %s failed: HTTP %s, Twilio error %s", self.kind.name,
                          mask_address(address), error.status, error.code)
                result.outcome = "failed"
            return False
        except Exception as error:  # noqa: BLE001 - retries exhausted or a read timeout
            await self._record(logged_as, kind, text, "failed")
            log.error("%s: sending to %s failed (%s); not retried further", self.kind.name,
                      mask_address(address), type(error).__name__)
            result.outcome = "failed"
            return False
        if log_later:
            result.unlogged.append((kind, text, message.sid, logged_as))
        else:
            await self._record(logged_as, kind, text, "queued", provider_message_id=message.sid)
        result.sent += 1
        result.sids.append(message.sid)
        return True

    def log_sent(self, session: Any, hashed: str, unlogged: List[Tuple]) -> None:
        """Write messages sent with ``log_later`` into the outbound log (synchronous, caller's session).

        A status callback may have arrived before its message was logged; its state is applied
        here, so a message does not stay "queued" because Twilio was quick.
        """
        if not unlogged:
            return
        outbound = OutboundLog(session)
        for kind, body, sid, *under in unlogged:  # (kind, body, sid[, the sender hash to log it under])
            logged_as = under[0] if under else hashed
            outbound.record(self.kind.name, logged_as, kind, loggable_body(body), "queued", provider_message_id=sid)
        early = session.execute(
            select(DeliveryStatusEvent)
            .where(DeliveryStatusEvent.provider_message_id.in_([entry[2] for entry in unlogged]))
            .order_by(DeliveryStatusEvent.id)
        ).scalars().all()
        for event in early:
            if event.status in OUTBOUND_STATES:
                outbound.set_state_by_provider_id(event.provider_message_id, event.status, event.error_code)

    async def _media_url(self, data, content_type: Optional[str], suffix: Optional[str]) -> Optional[str]:
        if isinstance(data, str):  # already a URL (an image response)
            return data
        if not self.runtime.public_url:
            return None
        directory = self.runtime.settings.data_dir / "media-out"

        def work() -> str:
            directory.mkdir(parents=True, exist_ok=True)
            path = directory / f"{hashlib.sha256(data).hexdigest()}{suffix}"
            if not path.exists():
                temporary = path.with_suffix(path.suffix + ".part")
                temporary.write_bytes(data)
                temporary.replace(path)
            with self.runtime.database.session() as session:
                return MediaLinkRepository(session).create(str(path), content_type, MEDIA_LINK_SECONDS)
        token = await asyncio.to_thread(work)
        return self.runtime.public(f"/webhooks/{self.kind.name}/media/{token}")

    async def _within_window(self, hashed: str) -> bool:
        def work() -> Optional[dt.datetime]:
            with self.runtime.database.session() as session:
                reporter = ReporterRepository(session).get(self.kind.name, hashed)
                return reporter.last_inbound_at if reporter is not None else None
        last = await asyncio.to_thread(work)
        return last is not None and utcnow() - last < self.kind.free_form_window

    async def _record(self, hashed: str, kind: str, body: Optional[str], state: str,
                      provider_message_id: Optional[str] = None, error_code: Optional[str] = None) -> None:
        def work() -> None:
            with self.runtime.database.session() as session:
                OutboundLog(session).record(self.kind.name, hashed, kind, loggable_body(body), state,
                                            provider_message_id=provider_message_id, error_code=error_code)
        await asyncio.to_thread(work)

    async def _unreachable(self, hashed: str) -> None:
        def work() -> None:
            with self.runtime.database.session() as session:
                ReporterRepository(session).mark_unreachable(self.kind.name, hashed)
        await asyncio.to_thread(work)


# ---------------------------------------------------------------------------------- handling
def event_code_and_text(body: str, keyword: Optional[str]) -> Tuple[Optional[str], str]:
    """An outreach code in the text, and what goes to the dialogue ("LAPOR" alone greets)."""
    keywords = [keyword] if keyword else []
    try:
        from channels.event_codes import parse_event_code
    except ImportError:  # the outreach module is optional for the channel to work
        code, rest = None, body.strip()
    else:
        code, rest = parse_event_code(body, keywords=keywords) if keywords else parse_event_code(body)
    leftover = typed(rest.strip()) or ""
    if keyword and leftover.lower() == keyword.lower():
        leftover = ""
    if not leftover:
        return code, GREETING
    return code, leftover


class TwilioHandler:
    """Handles one recorded delivery: media, accessibility, Rasa, replies."""

    def __init__(self, kind: Kind, conversation: Conversation, gateway: TwilioGateway,
                 account_sid: str, auth_token: str, keyword: Optional[str]) -> None:
        self.kind = kind
        self.conversation = conversation
        self.gateway = gateway
        self.auth = aiohttp.BasicAuth(account_sid, auth_token)
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
                await self.gateway.deliver(hashed, inbound.address, [Outgoing(text=MEDIA_FAILED_REPLY)])
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
            await self.gateway.deliver(hashed, inbound.address, [Outgoing(text=ATTACHMENT_SAVED_REPLY)])
            return
        if audio is not None and not inbound.body.strip():
            text = None
        metadata.setdefault("attachments", attachments)
        try:
            replies = await self.conversation.turn(hashed, text=text, audio=audio, audio_mime=audio_mime,
                                                   metadata=metadata, can_send_voice=self.kind.can_send_voice)
        except Postponed as postponed:
            if postponed.replies:  # "kept, will be answered"; the intake retries the delivery
                await self.gateway.deliver(hashed, inbound.address, postponed.replies, in_reply=True)
            raise
        replies = merge_texts(replies, lambda joined: len(reply_texts(self.kind, joined)) == 1)
        result = await self.gateway.deliver(hashed, inbound.address, replies, in_reply=True, log_later=True)
        # Logged in the transaction that marks the delivery handled (see channels.intake).
        return self.conversation.finisher(hashed, (lambda session: self.gateway.log_sent(
            session, hashed, result.unlogged)) if result.unlogged else None)

    async def _download(self, url: str) -> Optional[bytes]:
        """Twilio media needs the account credentials (HTTP basic auth); it may redirect."""
        try:
            timeout = aiohttp.ClientTimeout(total=60)
            async with aiohttp.ClientSession(timeout=timeout) as session:
                async with session.get(url, auth=self.auth) as answer:
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


# ----------------------------------------------------------------------------- Rasa classes
class TwilioOutput(SendsOutgoing, OutputChannel):
    """Rasa's output channel for one Twilio kind; holds the gateway (and so the client)."""

    kind: Kind = SMS

    @classmethod
    def name(cls) -> Text:
        return cls.kind.name

    def __init__(self, gateway: TwilioGateway, conversation: Conversation) -> None:
        self.gateway = gateway
        self.conversation = conversation

    async def _send(self, recipient_id: Text, reply: Outgoing) -> None:
        channel, hashed = parse_sender_id(recipient_id, self.conversation.settings.identity_key)
        address = await self.conversation.address_of(hashed) if channel == self.kind.name else None
        if not address:
            log.warning("%s: no address known for a recipient; message not sent", self.kind.name)
            return
        await self.gateway.deliver(hashed, address, [reply])


class TwilioInput(ConnectorLifecycle, InputChannel):
    """The connector for one Twilio kind; SmsInput and WhatsAppInput only set ``kind``."""

    kind: Kind = SMS
    output_class = TwilioOutput

    @classmethod
    def name(cls) -> Text:
        return cls.kind.name

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "TwilioInput":
        return cls(load_runtime(cls.kind.name))

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
        self.gateway = TwilioGateway(self.kind, runtime, self.client, self.from_number)
        self.intake: Optional[Intake] = None
        self.conversation: Optional[Conversation] = None
        self._init_lifecycle()
        if not runtime.public_url:
            log.warning("%s: server.public_url is not set: signatures are checked against the URL the "
                        "request arrived at, which is wrong behind a proxy", self.kind.name)

    def get_output_channel(self) -> Optional[OutputChannel]:
        if self.conversation is None:
            return None
        return self.output_class(self.gateway, self.conversation)

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
        handler = TwilioHandler(self.kind, self.conversation, self.gateway, self.account_sid, self.auth_token,
                                self.keyword)
        self.intake = Intake(self.runtime.database, self.kind.name, handler, retry_base=self.runtime.retry_seconds)
        await self.intake.recover()
        self._ready.set()
        self._start_upkeep(self.intake)
        if self.kind.can_send_voice:
            self._warm_up_speech(self.conversation)
        notifier = NotificationLoop.for_channel(self.kind.name, self.runtime, self._notify)
        if notifier is not None:
            self._background.append(asyncio.get_running_loop().create_task(notifier.run()))

    async def stop(self) -> None:
        await self._stop_background()
        await self.client.http_client.close()

    async def _notify(self, address: str, text: str, last_inbound_at) -> str:
        hashed = identity_hash(self.runtime.settings.identity_key, self.kind.name, self.kind.user_id(address))
        result = await self.gateway.deliver(hashed, self.kind.address(address), [Outgoing(text=text)])
        return result.outcome
