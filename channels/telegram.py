"""Telegram: a Rasa custom connector on python-telegram-bot's ``Bot`` and ``Update`` types.

Why our own and not Rasa's: Rasa's Telegram connector drops voice notes and media, checks no
webhook secret and handles a re-sent update twice. Here the webhook route only verifies the
secret token, records the update under its ``update_id`` and answers 200; handling (downloads,
speech, Rasa, replies) runs in the background and replies through the Bot API.

Modes: webhook when ``server.public_url`` is set (``setWebhook`` with the secret at start-up),
long polling otherwise (``getUpdates`` in a background task, same handling path).
"""
from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text, Union

from rasa.core.channels.channel import UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from telegram import Bot, Update
from telegram.constants import ChatAction
from telegram.error import Forbidden, TelegramError

from shared.citizen_text import entry, say
from accessibility.pipeline import Outgoing
from channels import redact
from channels.connector_lifecycle import ConnectorLifecycle, connector_blueprint
from channels.turn import Conversation
from channels.delivery import Postponed
from channels.handover import HandoverOutbox
from channels.intake import Finisher, Intake
from channels.notifications import NotificationLoop
from channels.output import merge_texts
from channels.reply_outbox import FAILED, RETRY, SENT, Answer, Sent
from channels.connector_runtime import Runtime
from channels.sending import send_with_retry
from channels.telegram_http import AiohttpRequest
from channels.telegram_parse import MAX_DOWNLOAD_BYTES, TelegramInbound, parse_update, sender_of
from channels.telegram_send import TEXT_LIMIT, TelegramSender, classify, showing
from channels.text_split import split_text

log = logging.getLogger(__name__)

NAME = "telegram"
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

# What the connector says itself lives in accessibility/citizen_text.yml (with simple variants);
# these are the regular forms, as the tests name them.
UNSUPPORTED_REPLY = entry("channel.unsupported").regular
EDITED_REPLY = entry("channel.edited").regular
TOO_LARGE_REPLY = entry("channel.too_large").regular
DOWNLOAD_FAILED_REPLY = entry("channel.download_failed").regular
ATTACHMENT_SAVED_REPLY = entry("channel.attachment_saved").regular
# A text turn shows "typing" only if no reply is ready after this many seconds.
TYPING_AFTER = 1.0


class TelegramReplies:
    """The reply outbox's view of Telegram (channels/reply_outbox.py): one Bot API call per unit.

    Telegram cannot be asked what a bot sent, so a reply in flight at a crash is sent again.
    """

    def __init__(self, sender: TelegramSender, conversation: Conversation) -> None:
        self.sender = sender
        self.conversation = conversation

    def units(self, reply: Outgoing) -> List[Outgoing]:
        parts = split_text(reply.text or "", TEXT_LIMIT)
        if not parts and reply.buttons:
            parts = [say("channel.pick_one")]
        units = [Outgoing(text=part, buttons=list(reply.buttons) if index == len(parts) - 1 else [])
                 for index, part in enumerate(parts)]
        if reply.image:
            units.append(Outgoing(image=reply.image))
        if reply.voice_ogg:
            units.append(Outgoing(voice_ogg=reply.voice_ogg))
        return units

    async def send(self, address: str, reply: Outgoing, anonymous: bool) -> Sent:
        try:
            await self.sender.send(int(address), reply)
        except Forbidden as error:
            hashed = self.conversation.identity(address)
            await self.conversation.mark_unreachable(hashed)
            log.info("telegram user %s… is unreachable (%s); not retrying", hashed[:8], error)
            return Sent(FAILED)
        except TelegramError as error:
            return Sent(RETRY if classify(error) is not None else FAILED)
        return Sent(SENT)

    async def already_delivered(self, address: str, reply: Outgoing, since) -> Optional[bool]:
        return None  # the Bot API has no way to list what a bot sent


class TelegramHandler:
    """Handles one recorded update: download, accessibility, Rasa, replies."""

    def __init__(self, bot: Bot, conversation: Conversation) -> None:
        self.bot = bot
        self.sender = TelegramSender(bot)
        self.conversation = conversation

    async def __call__(self, payload: dict) -> Union[Answer, Finisher, None]:
        """The turn's replies and what is left to store, for the intake to record and send."""
        try:
            inbound = parse_update(Update.de_json(payload, self.bot))
        except (TypeError, ValueError, KeyError, AttributeError, OverflowError, OSError) as error:
            # Not the shape the Bot API sends (only a forged or broken update can be): nothing to
            # answer and nobody to answer, so it is dropped, with a line in the log.
            log.warning("telegram update %s is not a well-formed update (%s); ignored",
                        payload.get("update_id"), type(error).__name__)
            return None
        if inbound.callback_query_id:
            # Always answered, even when ignored, so the client stops its spinner.
            with contextlib.suppress(TelegramError):
                await self.bot.answer_callback_query(inbound.callback_query_id)
        if inbound.kind == "ignored" or inbound.chat_id is None:
            return
        hashed = self.conversation.identity(str(inbound.chat_id))
        if inbound.kind == "blocked":
            await self.conversation.mark_unreachable(hashed)
            log.info("telegram user %s… blocked the bot; marked unreachable", hashed[:8])
            return
        attachments = await self.conversation.arrived(hashed, str(inbound.chat_id))
        replies: Optional[List[Outgoing]] = None
        try:
            try:
                replies = await self._handle(inbound, hashed, attachments)
            except Postponed as postponed:
                for reply in postponed.replies:  # "kept, will be answered"; the intake retries
                    await self.sender.send(inbound.chat_id, reply)
                raise
        except Forbidden as error:
            await self.conversation.mark_unreachable(hashed)
            log.info("telegram user %s… is unreachable (%s); not retrying", hashed[:8], error)
        if replies:
            return Answer(str(inbound.chat_id), replies, self.conversation.finisher(hashed))
        return self.conversation.finisher(hashed)

    async def _handle(self, inbound: TelegramInbound, hashed: str, attachments: int) -> Optional[List[Outgoing]]:
        """Sends the channel's own notices itself; returns the turn's replies (for the outbox)."""
        chat_id = inbound.chat_id
        if inbound.kind == "edited":
            await self._say(chat_id, hashed, "channel.edited")
            return
        if inbound.kind == "unsupported":
            await self._say(chat_id, hashed, "channel.unsupported")
            return
        metadata: Dict[str, Any] = dict(inbound.metadata)
        audio: Optional[bytes] = None
        audio_mime: Optional[str] = None
        media = inbound.media
        if media is not None:
            if media.file_size is not None and media.file_size > MAX_DOWNLOAD_BYTES:
                await self._say(chat_id, hashed, "channel.too_large")
                return
            action = ChatAction.RECORD_VOICE if media.kind in ("voice", "audio") else ChatAction.TYPING
            async with showing(self.sender, chat_id, action):
                data = await self._download(media.file_id)
            if data is None:
                await self._say(chat_id, hashed, "channel.download_failed")
                return
            if media.kind in ("voice", "audio"):
                audio, audio_mime = data, media.mime_type
            else:
                count = await self.conversation.save_attachment(
                    hashed, media.kind, media.mime_type, media.file_name, data)
                metadata["attachments"] = count
                if not inbound.text:
                    # A file without a caption is not an answer to the question on screen.
                    await self._say(chat_id, hashed, "channel.attachment_saved")
                    return
        metadata.setdefault("attachments", attachments)
        if audio is not None:
            action, after = ChatAction.RECORD_VOICE, 0.0  # speech takes seconds: show it at once
        else:
            action, after = ChatAction.TYPING, TYPING_AFTER
        async with showing(self.sender, chat_id, action, after):
            replies = await self.conversation.turn(hashed, text=inbound.text, audio=audio,
                                                   audio_mime=audio_mime, metadata=metadata,
                                                   can_send_voice=True)
        return merge_texts(replies, lambda joined: len(joined.text) <= TEXT_LIMIT)

    async def _say(self, chat_id: int, hashed: str, key: str) -> None:
        """One of the connector's own messages, in the citizen's form (the accessibility layer renders it)."""
        for reply in await self.conversation.layer.say(NAME, hashed, key, can_send_voice=True):
            await self.sender.send(chat_id, reply)

    async def _download(self, file_id: str) -> Optional[bytes]:
        try:
            file = await send_with_retry(lambda: self.bot.get_file(file_id), classify, what="telegram getFile")
            if file.file_size is not None and file.file_size > MAX_DOWNLOAD_BYTES:
                return None
            if not file.file_path:
                # The Bot API may answer getFile without a path (file gone, too big for bots);
                # PTB would raise a bare RuntimeError that no caller expects.
                log.error("telegram getFile answered without a file_path; the file cannot be downloaded")
                return None
            return bytes(await file.download_as_bytearray())
        except (TelegramError, RuntimeError) as error:
            # The error may name the file URL, which holds the bot token: redact.protect scrubs it.
            log.error("telegram download of a file failed: %s", error)
            return None


class TelegramInput(ConnectorLifecycle):
    """The Telegram connector (``channels.telegram.TelegramInput``, served by the channel gateway)."""

    @classmethod
    def name(cls) -> Text:
        return NAME

    @classmethod
    def from_runtime(cls, runtime: Runtime) -> "TelegramInput":
        return cls(runtime)

    def __init__(self, runtime: Runtime) -> None:
        configured = runtime.settings.telegram  # typed and validated by the loader (bot/settings.py)
        self.runtime = runtime
        self.token: str = configured.token
        self.secret: Optional[str] = configured.webhook_secret
        self.api_base_url: str = configured.api_base_url
        self.mode = configured.mode
        redact.protect([self.token, self.secret or ""])
        self.bot: Optional[Bot] = None
        self.intake: Optional[Intake] = None
        self.conversation: Optional[Conversation] = None
        self._init_lifecycle()

    def make_bot(self) -> Bot:
        # aiohttp instead of PTB's httpx: a fifth of the CPU per Bot API call (channels/telegram_http.py).
        return Bot(self.token, base_url=f"{self.api_base_url}/bot", base_file_url=f"{self.api_base_url}/file/bot",
                   request=AiohttpRequest(), get_updates_request=AiohttpRequest(pool_size=1))

    @property
    def webhook_url(self) -> str:
        return f"{self.runtime.public_url}/webhooks/{NAME}/webhook"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = connector_blueprint(NAME, self, on_new_message)
        connector = self

        @blueprint.route("/webhook", methods=["POST"])
        async def webhook(request: Request):
            supplied = request.headers.get(SECRET_HEADER, "")
            if not connector.secret or not hmac.compare_digest(supplied.encode(), connector.secret.encode()):
                log.warning("telegram webhook call with a missing or wrong secret token: refused")
                return response.text("forbidden", status=403)
            if not await connector.wait_ready():
                return response.text("starting", status=503)  # Telegram re-sends later
            data = request.json
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                return response.text("not an update", status=400)
            chat_id = sender_of(data)
            hashed = connector.conversation.identity(str(chat_id)) if chat_id is not None else None
            if not await connector.intake.accept_or_defer(str(data["update_id"]), hashed, data):
                return response.text("try again", status=503)  # not recorded: Telegram re-sends
            return response.text("ok")

        return blueprint

    async def start(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        """Bot, recovery of unhandled updates, then webhook registration or polling."""
        await self.prepare(on_new_message)
        await self.intake.recover()
        self._ready.set()
        self._start_upkeep(self.intake)
        self._warm_up_speech(self.conversation)
        if self.mode == "webhook":
            await send_with_retry(lambda: self.bot.set_webhook(
                self.webhook_url, secret_token=self.secret, allowed_updates=ALLOWED_UPDATES,
                drop_pending_updates=False), classify, what="telegram setWebhook")
            log.info("telegram webhook registered at %s/webhooks/%s/webhook", self.runtime.public_url, NAME)
        else:
            self._background.append(asyncio.get_running_loop().create_task(self._poll()))
            log.info("telegram long polling started (no server.public_url)")
        notifier = self.notification_loop()
        if notifier is not None:  # None: switched off (the turn-cost test does, to count a turn alone)
            self._background.append(asyncio.get_running_loop().create_task(notifier.run()))
        # What staff write in the console's handover inbox (channels/handover.py).
        outbox = HandoverOutbox(NAME, self.runtime, self.conversation.layer, self._send_staff_message)
        self._background.append(asyncio.get_running_loop().create_task(outbox.run()))

    async def prepare(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        """The Bot and the handling path, without receiving anything yet."""
        self.bot = self.make_bot()
        await self.bot.initialize()
        self.conversation = Conversation(NAME, self.runtime.settings, self.runtime.database, on_new_message)
        handler = TelegramHandler(self.bot, self.conversation)
        self.intake = Intake(self.runtime.database, NAME, handler, retry_base=self.runtime.retry_seconds,
                             sender=TelegramReplies(handler.sender, self.conversation),
                             holder=self.runtime.replica)

    async def stop(self) -> None:
        await self._stop_background()
        if self.bot is not None:
            with contextlib.suppress(Exception):
                await self.bot.shutdown()

    async def _poll(self) -> None:
        """getUpdates in a loop; each update goes through the same intake as a webhook call."""
        with contextlib.suppress(TelegramError):
            await self.bot.delete_webhook(drop_pending_updates=False)
        offset: Optional[int] = None
        failures = 0
        while True:
            try:
                updates = await self.bot.get_updates(offset=offset, timeout=20, allowed_updates=ALLOWED_UPDATES)
                failures = 0
            except asyncio.CancelledError:
                raise
            except TelegramError as error:
                failures += 1
                wait = min(2 ** failures, 60)
                log.warning("telegram getUpdates failed (%s); retrying in %d s", error, wait)
                await asyncio.sleep(wait)
                continue
            for update in updates:
                data = update.to_dict()
                chat_id = sender_of(data)
                hashed = self.conversation.identity(str(chat_id)) if chat_id is not None else None
                await self.intake.accept(str(update.update_id), hashed, data)
                offset = update.update_id + 1

    async def _send_staff_message(self, address: str, reply: Outgoing, _last_inbound_at) -> str:
        try:
            await TelegramSender(self.bot).send(int(address), reply)
            return "sent"
        except Forbidden:
            await self.conversation.mark_unreachable(self.conversation.identity(address))
            return "unreachable"

    def notification_loop(self) -> NotificationLoop:
        """Status updates for Telegram users: text, buttons and voice notes like any reply."""
        return NotificationLoop.for_channel(NAME, self.runtime, self._notify, layer=self.conversation.layer,
                                            can_send_voice=True)

    async def send(self, address: str, replies: List[Outgoing]) -> str:
        """The connector contract's send: replies to a chat id, each unit as Telegram shows it.

        Returns ``sent`` or ``unreachable`` (the user blocked the bot: marked so, never retried);
        a transient failure left after the retry rules raises, for the caller to try later.
        """
        sender = TelegramSender(self.bot)
        try:
            for reply in replies:
                await sender.send(int(address), reply)
        except Forbidden:
            await self.conversation.mark_unreachable(self.conversation.identity(address))
            return "unreachable"
        return "sent"

    async def _notify(self, notification, replies: List[Outgoing]) -> str:
        """Send one status update (already in the citizen's form); the outcome for mark_notified."""
        return await self.send(notification.address, replies)
