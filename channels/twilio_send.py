"""Sending through Twilio's Messages API for one kind (SMS or WhatsApp), and the outbound log.

Why apart from the connector: a turn's replies, a status update (free-form, template or the SMS
fallback) and an officer's message all leave this way, under the same rules: the 24-hour window,
opt-outs (21610), retries only when nothing can have been sent, every message recorded in the
outbound log without tracking numbers or PINs, voice notes served from expiring media links.
It holds a Twilio client, it is not one.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from accessibility.pipeline import Outgoing
from channels.connector_runtime import Runtime
from channels.sending import RetryPolicy, send_with_retry
from channels.twilio_format import loggable_body, reply_texts, reveals_anonymous_report
from channels.twilio_http import classify
from channels.twilio_kinds import Kind
from storage.identity import mask_address
from storage.models import utcnow
from storage.repositories import MediaLinkRepository, OutboundLog, ReporterRepository

log = logging.getLogger(__name__)

OPTED_OUT = 21610  # Twilio: the recipient replied STOP
OUTSIDE_WINDOW = 63016  # Twilio: WhatsApp free-form message outside the 24-hour window
MEDIA_LINK_SECONDS = 3600
ANONYMOUS_SENDER = ""  # outbound_messages.sender_hash of the replies that filed an anonim report


@dataclass
class SendResult:
    sent: int = 0
    outcome: str = "sent"  # "sent" | "needs_template" | "unreachable" | "failed"
    sids: List[str] = field(default_factory=list)
    # Messages Twilio accepted and not yet in the outbound log: (kind, body, sid, the sender hash
    # to log it under: ANONYMOUS_SENDER for an anonim filing), filled when
    # ``deliver(..., log_later=True)``; :meth:`TwilioSender.log_sent` writes them.
    unlogged: List[Tuple[str, Optional[str], str, str]] = field(default_factory=list)


class TwilioSender:
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
                      log_later: bool = False, anonymous: Optional[bool] = None) -> SendResult:
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
        if anonymous is None:  # ``anonymous``: the caller judged the whole turn (the outbox sends one unit)
            anonymous = reveals_anonymous_report(reply.text for reply in replies)
        log_hash = ANONYMOUS_SENDER if anonymous else hashed
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
                    log_later: bool = False, log_hash: Optional[str] = None,
                    content: Optional[Tuple[str, str]] = None) -> bool:
        logged_as = hashed if log_hash is None else log_hash
        arguments: Dict[str, Any] = {"to": address, "from_": self.from_address}
        if body is not None:
            arguments["body"] = body
        if media_url:
            arguments["media_url"] = media_url
        if content is not None:  # Content API: an approved template instead of a body
            arguments["content_sid"], arguments["content_variables"] = content
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
            if classify(error) is not None:  # nothing went out (busy, no connection): the outbox retries
                log.warning("%s: Twilio could not take a message to %s now (%s)", self.kind.name,
                            mask_address(address), type(error).__name__)
                result.outcome = "retry"
                return False
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

    async def send_template(self, hashed: str, address: str, content_sid: str, content_variables: str) -> SendResult:
        """One approved template (Twilio's Content API), allowed outside WhatsApp's 24-hour window.

        Logged as kind ``template`` with its variables (tracking numbers masked, like every body).
        """
        result = SendResult()
        await self._send(hashed, address, result, "template", content_variables,
                         content=(content_sid, content_variables))
        return result

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
        outbound.apply_early_status_events([entry[2] for entry in unlogged])

    async def accepted_since(self, address: str, reply: Outgoing, since: dt.datetime) -> bool:
        """Whether Twilio holds a message like this unit to ``address`` created since ``since``.

        For the reply outbox (channels/reply_outbox.py): Twilio keeps every message it accepted,
        so a call that was out when the gateway died can be looked up instead of sent twice.
        """
        texts = reply_texts(self.kind, reply)
        body = texts[0] if texts else None
        page = await self.client.messages.page_async(to=address, from_=self.from_address, page_size=20)
        # A few seconds for clock skew, no more: the same words sent in an earlier turn must not count.
        earliest = since - dt.timedelta(seconds=5)
        for message in page:
            created = message.date_created
            if created is not None and created.replace(tzinfo=None) < earliest:
                continue
            if body is not None and (message.body or "") == body:
                return True
            if body is None and str(message.num_media or "0") != "0":
                return True
        return False

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
