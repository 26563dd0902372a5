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
import warnings
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set, Text

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatAction
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from accessibility.pipeline import Outgoing
from channels import redact
from channels.blueprints import ConnectorLifecycle, connector_blueprint
from channels.conversation import Conversation
from channels.delivery import Postponed
from channels.intake import Finisher, Intake
from channels.notifications import NotificationLoop
from channels.output import SendsOutgoing, merge_texts
from channels.runtime import Runtime, load_runtime
from channels.sending import Retry, RetryPolicy, send_with_retry
from channels.telegram_http import AiohttpRequest
from channels.telegram_parse import MAX_DOWNLOAD_BYTES, TelegramInbound, parse_update, sender_of
from channels.text_split import split_text
from storage.identity import parse_sender_id

log = logging.getLogger(__name__)

NAME = "telegram"
TEXT_LIMIT = 4096
CALLBACK_DATA_LIMIT = 64  # bytes, Bot API
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

UNSUPPORTED_REPLY = ("Maaf, saya belum bisa membaca pesan jenis ini. "
                     "Silakan ketik pesan Anda atau kirim pesan suara.")
EDITED_REPLY = "Pesan yang diubah tidak saya baca ulang. Silakan kirim pesan baru."
TOO_LARGE_REPLY = ("Maaf, berkas ini lebih dari 20 MB sehingga tidak bisa saya terima. "
                   "Silakan kirim yang lebih kecil atau lebih pendek.")
DOWNLOAD_FAILED_REPLY = "Maaf, berkas Anda gagal saya terima. Silakan kirim sekali lagi."
ATTACHMENT_SAVED_REPLY = "Terima kasih, berkas Anda sudah saya simpan untuk laporan ini."
# A text turn shows "typing" only if no reply is ready after this many seconds.
TYPING_AFTER = 1.0


def classify(error: BaseException) -> Optional[Retry]:
    """Retry only what cannot have been delivered: no connection, 5xx, flood control."""
    if isinstance(error, RetryAfter):
        with warnings.catch_warnings():  # PTB 22 warns that this becomes a timedelta later
            warnings.simplefilter("ignore")
            after = error.retry_after
        return Retry("429 flood control", after.total_seconds() if hasattr(after, "total_seconds") else float(after))
    if isinstance(error, TimedOut):
        cause = error.__cause__
        # Only a connect or pool timeout proves the request never left.
        if cause is not None and type(cause).__name__ in ("ConnectTimeout", "PoolTimeout"):
            return Retry("connect timeout")
        return None
    if isinstance(error, (BadRequest, Forbidden)):
        return None
    if isinstance(error, NetworkError):
        return Retry(str(error)[:80])
    return None


def _is_blocked(error: BaseException) -> bool:
    return isinstance(error, Forbidden)  # blocked, deactivated or kicked: stop sending either way


def word_label(title: str, position: int) -> str:
    """Screen readers read emoji-only labels as Unicode names: give such a button words."""
    return title if any(char.isalnum() for char in title) else f"Pilihan {position}"


def keyboard(buttons: List[dict]) -> Optional[InlineKeyboardMarkup]:
    if not buttons:
        return None
    rows = []
    for position, button in enumerate(buttons, start=1):
        payload = str(button.get("payload") or button.get("title") or position)
        # callback_data holds 64 bytes; a longer payload is sent as its number, which the
        # accessibility layer maps back onto the buttons it remembers for this user.
        data = payload if len(payload.encode("utf-8")) <= CALLBACK_DATA_LIMIT else str(position)
        rows.append([InlineKeyboardButton(word_label(str(button.get("title", "")), position), callback_data=data)])
    return InlineKeyboardMarkup(rows)


class TelegramSender:
    """Sends channel-neutral replies the way Telegram can show them."""

    def __init__(self, bot: Bot, policy: RetryPolicy = RetryPolicy()) -> None:
        self.bot = bot
        self.policy = policy

    async def _call(self, what: str, operation: Callable[[], Awaitable[Any]]) -> Any:
        return await send_with_retry(operation, classify, self.policy, what=f"telegram {what}")

    async def send(self, chat_id: int, reply: Outgoing) -> None:
        """Raises Forbidden when the user blocked the bot (the caller marks them unreachable)."""
        parts = split_text(reply.text or "", TEXT_LIMIT)
        markup = keyboard(reply.buttons)
        if not parts and markup is not None:
            parts = ["Silakan pilih:"]
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            await self._call("sendMessage", lambda part=part, last=last: self.bot.send_message(
                chat_id, part, reply_markup=markup if last else None))
        if reply.image:
            await self._call("sendPhoto", lambda: self.bot.send_photo(chat_id, reply.image))
        if reply.voice_ogg:
            await self._call("sendVoice", lambda: self.bot.send_voice(chat_id, reply.voice_ogg))

    async def action(self, chat_id: int, action: str) -> None:
        with contextlib.suppress(TelegramError):
            await self.bot.send_chat_action(chat_id, action)


# Chat-action calls still in flight when their turn ended (kept so they are not collected).
_FINISHING: Set[asyncio.Task] = set()


def _action_finished(task: asyncio.Task) -> None:
    _FINISHING.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.warning("chat action failed: %s", type(task.exception()).__name__)


@contextlib.asynccontextmanager
async def showing(sender: TelegramSender, chat_id: int, action: str, after: float = 0.0):
    """Keep a chat action ("typing", "record_voice") visible while slow work runs (it lasts 5 s).

    ``after``: show it only once the work has taken that long. A text turn is usually answered
    well within a second, and then "typing" would be one more API call that nobody sees.

    When the work ends, the loop is told to stop rather than cancelled: cancelling an HTTP
    request mid-flight could leave the handler waiting on the HTTP client's clean-up for ever
    (measured: text turns at 50 concurrent users that were recorded and never handled). A call
    already under way finishes on its own, bounded by the client's timeouts, while the replies
    go out.
    """
    done = asyncio.Event()

    async def pause(seconds: float) -> bool:
        """True once the work is done (waiting at most ``seconds``)."""
        try:
            await asyncio.wait_for(done.wait(), seconds)
        except asyncio.TimeoutError:
            return False
        return True

    async def keep() -> None:
        if after > 0 and await pause(after):
            return
        while not done.is_set():
            await sender.action(chat_id, action)
            if await pause(4.5):
                return

    task = asyncio.get_running_loop().create_task(keep())
    _FINISHING.add(task)
    task.add_done_callback(_action_finished)
    try:
        yield
    finally:
        done.set()


class TelegramHandler:
    """Handles one recorded update: download, accessibility, Rasa, replies."""

    def __init__(self, bot: Bot, conversation: Conversation) -> None:
        self.bot = bot
        self.sender = TelegramSender(bot)
        self.conversation = conversation

    async def __call__(self, payload: dict) -> Optional[Finisher]:
        """Returns what is left to store once the replies are out (channels.intake runs it)."""
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
        try:
            try:
                await self._handle(inbound, hashed, attachments)
            except Postponed as postponed:
                for reply in postponed.replies:  # "kept, will be answered"; the intake retries
                    await self.sender.send(inbound.chat_id, reply)
                raise
        except Forbidden as error:
            await self.conversation.mark_unreachable(hashed)
            log.info("telegram user %s… is unreachable (%s); not retrying", hashed[:8], error)
        return self.conversation.finisher(hashed)

    async def _handle(self, inbound: TelegramInbound, hashed: str, attachments: int) -> None:
        chat_id = inbound.chat_id
        if inbound.kind == "edited":
            await self.sender.send(chat_id, Outgoing(text=EDITED_REPLY))
            return
        if inbound.kind == "unsupported":
            await self.sender.send(chat_id, Outgoing(text=UNSUPPORTED_REPLY))
            return
        metadata: Dict[str, Any] = dict(inbound.metadata)
        audio: Optional[bytes] = None
        audio_mime: Optional[str] = None
        media = inbound.media
        if media is not None:
            if media.file_size is not None and media.file_size > MAX_DOWNLOAD_BYTES:
                await self.sender.send(chat_id, Outgoing(text=TOO_LARGE_REPLY))
                return
            action = ChatAction.RECORD_VOICE if media.kind in ("voice", "audio") else ChatAction.TYPING
            async with showing(self.sender, chat_id, action):
                data = await self._download(media.file_id)
            if data is None:
                await self.sender.send(chat_id, Outgoing(text=DOWNLOAD_FAILED_REPLY))
                return
            if media.kind in ("voice", "audio"):
                audio, audio_mime = data, media.mime_type
            else:
                count = await self.conversation.save_attachment(
                    hashed, media.kind, media.mime_type, media.file_name, data)
                metadata["attachments"] = count
                if not inbound.text:
                    # A file without a caption is not an answer to the question on screen.
                    await self.sender.send(chat_id, Outgoing(text=ATTACHMENT_SAVED_REPLY))
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
        for reply in merge_texts(replies, lambda joined: len(joined.text) <= TEXT_LIMIT):
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


class TelegramOutput(SendsOutgoing, OutputChannel):
    """Rasa's output channel for Telegram (``get_output_channel``; replies of a turn go out through the handler).

    Holds a Bot; the recipient is our hashed sender id, resolved to the stored chat id.
    """

    @classmethod
    def name(cls) -> Text:
        return NAME

    def __init__(self, bot: Bot, conversation: Conversation) -> None:
        self.sender = TelegramSender(bot)
        self.conversation = conversation

    async def _chat_of(self, recipient_id: Text) -> Optional[int]:
        channel, hashed = parse_sender_id(recipient_id, self.conversation.settings.identity_key)
        address = await self.conversation.address_of(hashed) if channel == NAME else None
        return int(address) if address else None

    async def _send(self, recipient_id: Text, reply: Outgoing) -> None:
        chat_id = await self._chat_of(recipient_id)
        if chat_id is None:
            log.warning("telegram: no chat known for a recipient; message not sent")
            return
        await self.sender.send(chat_id, reply)


class TelegramInput(ConnectorLifecycle, InputChannel):
    """The Telegram connector (``channels.telegram.TelegramInput``, served by the channel gateway)."""

    @classmethod
    def name(cls) -> Text:
        return NAME

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "TelegramInput":
        return cls(load_runtime(NAME))

    def __init__(self, runtime: Runtime) -> None:
        section = runtime.settings.section(f"channels.{NAME}")
        self.runtime = runtime
        self.token: str = section.require("token")
        self.secret: Optional[str] = section.get("webhook_secret")
        self.api_base_url: str = section.get("api_base_url", "https://api.telegram.org").rstrip("/")
        mode = section.get("mode", "auto")
        public_url = runtime.public_url
        self.mode = ("webhook" if public_url else "polling") if mode == "auto" else mode
        if self.mode == "webhook" and not public_url:
            from bot.settings import ConfigError
            raise ConfigError("channels.telegram.mode is webhook but server.public_url is not set")
        if self.mode == "webhook" and not self.secret:
            from bot.settings import ConfigError
            raise ConfigError("channels.telegram.webhook_secret is required for webhooks (TELEGRAM_WEBHOOK_SECRET)")
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

    def get_output_channel(self) -> Optional[OutputChannel]:
        if self.bot is None or self.conversation is None:
            return None
        return TelegramOutput(self.bot, self.conversation)

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
        notifier = NotificationLoop.for_channel(NAME, self.runtime, self._notify)
        if notifier is not None:
            self._background.append(asyncio.get_running_loop().create_task(notifier.run()))

    async def prepare(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        """The Bot and the handling path, without receiving anything yet."""
        self.bot = self.make_bot()
        await self.bot.initialize()
        self.conversation = Conversation(NAME, self.runtime.settings, self.runtime.database, on_new_message)
        self.intake = Intake(self.runtime.database, NAME, TelegramHandler(self.bot, self.conversation),
                             retry_base=self.runtime.retry_seconds)

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

    async def _notify(self, address: str, text: str, last_inbound_at) -> str:
        """Send one status notification; returns the outcome for mark_notified."""
        try:
            await TelegramSender(self.bot).send(int(address), Outgoing(text=text))
            return "sent"
        except Forbidden:
            hashed = self.conversation.identity(address)
            await self.conversation.mark_unreachable(hashed)
            return "unreachable"
