"""Sending to Telegram: channel-neutral replies as the Bot API shows them, retried only when safe.

Why a module of its own (Telegram split by job: parse, HTTP, send, handler): what a reply becomes
on Telegram (an inline keyboard with word labels, 4096-character parts, a voice note, a photo),
which errors may be retried (courier's rules: no connection, 5xx, flood control; never a read
timeout) and the "typing" indicator are the same for a turn's replies, a status update and an
officer's message.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import warnings
from typing import Any, Awaitable, Callable, List, Optional, Set

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from shared.citizen_text import say
from accessibility.pipeline import Outgoing
from channels.sending import Retry, RetryPolicy, send_with_retry
from channels.text_split import split_text

log = logging.getLogger(__name__)

TEXT_LIMIT = 4096
CALLBACK_DATA_LIMIT = 64  # bytes, Bot API


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
            parts = [say("channel.pick_one")]
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
