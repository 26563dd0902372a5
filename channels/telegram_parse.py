"""Telegram updates as typed values: what the user sent, in the terms our handling needs.

Why pure: every odd update (edited message, sticker, group message, a member-status change)
must be classified without touching the network or the database, so it can be tested over
recorded payloads and can never crash the handling path.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from telegram import Update

from channels.slash_commands import strip_slash_command

# Telegram's own limit for getFile downloads.
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
# Deep-link payloads: up to 64 of A-Z a-z 0-9 _ - (Bot API, "Deep linking").
_DEEP_LINK = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_COMMAND = re.compile(r"^/([A-Za-z_]+)(?:@\w+)?(?:\s+(.*))?$", re.DOTALL)

# Telegram menu commands -> the dialogue's intents (as Rasa "/intent" messages).
COMMAND_INTENTS = {"bantuan": "/ask_help", "help": "/ask_help", "batal": "/cancel", "status": "/check_status"}
GREETING = "/greet"


@dataclass(frozen=True)
class Media:
    file_id: str
    kind: str  # "voice" | "audio" | "photo" | "document" | "video"
    mime_type: str
    file_size: Optional[int] = None
    file_name: Optional[str] = None


@dataclass(frozen=True)
class TelegramInbound:
    """One update reduced to what handling needs; ``kind`` says which path it takes."""

    kind: str  # "message" | "callback" | "edited" | "unsupported" | "blocked" | "ignored"
    chat_id: Optional[int] = None
    text: Optional[str] = None
    media: Optional[Media] = None
    location: Optional[dict] = None
    callback_query_id: Optional[str] = None
    event_code: Optional[str] = None
    metadata: dict = field(default_factory=dict)


def sender_of(data: dict) -> Optional[int]:
    """The private chat an update belongs to, without parsing it fully (for the intake log)."""
    for key in ("message", "edited_message", "callback_query", "my_chat_member"):
        part = data.get(key)
        if isinstance(part, dict):
            holder = part.get("message") if key == "callback_query" else part
            chat = holder.get("chat") if isinstance(holder, dict) else None
            if isinstance(chat, dict) and chat.get("type") == "private":
                return chat.get("id")
            if key == "callback_query" and isinstance(part.get("from"), dict):
                return part["from"].get("id")
    return None


def parse_update(update: Update) -> TelegramInbound:
    if update.callback_query is not None:
        query = update.callback_query
        chat = query.message.chat if query.message is not None else None
        if chat is not None and chat.type != "private":
            return TelegramInbound(kind="ignored", callback_query_id=query.id)
        chat_id = chat.id if chat is not None else query.from_user.id
        return TelegramInbound(kind="callback", chat_id=chat_id, text=query.data or None,
                               callback_query_id=query.id)
    if update.edited_message is not None:
        message = update.edited_message
        if message.chat.type != "private":
            return TelegramInbound(kind="ignored")
        return TelegramInbound(kind="edited", chat_id=message.chat.id)
    member = update.my_chat_member
    if member is not None and member.chat.type == "private":
        # The user blocked the bot (or unblocked it): known before any send fails.
        kind = "blocked" if member.new_chat_member.status == "kicked" else "ignored"
        return TelegramInbound(kind=kind, chat_id=member.chat.id)
    message = update.message
    if message is None:
        return TelegramInbound(kind="ignored")  # channel posts, polls, ...
    if message.chat.type != "private":
        # Groups: the assistant takes reports only in a private chat (a report names people
        # and places the group should not see); stay silent rather than spam the group.
        return TelegramInbound(kind="ignored")
    chat_id = message.chat.id
    caption = strip_slash_command(message.caption)
    if message.text is not None:
        return _text_message(chat_id, message.text)
    if message.voice is not None:
        voice = message.voice
        return TelegramInbound(kind="message", chat_id=chat_id, text=caption, media=Media(
            voice.file_id, "voice", voice.mime_type or "audio/ogg", voice.file_size))
    if message.audio is not None:
        audio = message.audio
        return TelegramInbound(kind="message", chat_id=chat_id, text=caption, media=Media(
            audio.file_id, "audio", audio.mime_type or "audio/mpeg", audio.file_size, audio.file_name))
    if message.photo:
        photo = max(message.photo, key=lambda size: (size.width or 0) * (size.height or 0))
        return TelegramInbound(kind="message", chat_id=chat_id, text=caption, media=Media(
            photo.file_id, "photo", "image/jpeg", photo.file_size, None))
    if message.document is not None:
        document = message.document
        mime = document.mime_type or "application/octet-stream"
        kind = "audio" if mime.startswith("audio/") else "document"
        return TelegramInbound(kind="message", chat_id=chat_id, text=caption, media=Media(
            document.file_id, kind, mime, document.file_size, document.file_name))
    if message.video is not None:
        video = message.video
        return TelegramInbound(kind="message", chat_id=chat_id, text=caption, media=Media(
            video.file_id, "video", video.mime_type or "video/mp4", video.file_size, video.file_name))
    if message.location is not None:
        pin = {"latitude": message.location.latitude, "longitude": message.location.longitude}
        return TelegramInbound(kind="message", chat_id=chat_id, location=pin,
                               text=f"Lokasi saya: {pin['latitude']:.5f}, {pin['longitude']:.5f}",
                               metadata={"location_pin": pin})
    return TelegramInbound(kind="unsupported", chat_id=chat_id)  # sticker, contact, poll, ...


def _text_message(chat_id: int, text: str) -> TelegramInbound:
    match = _COMMAND.match(text.strip())
    if match:
        command, argument = match.group(1).lower(), (match.group(2) or "").strip()
        if command == "start":
            code = argument if _DEEP_LINK.match(argument) else None
            metadata = {"event_code": code} if code else {}
            return TelegramInbound(kind="message", chat_id=chat_id, text=GREETING,
                                   event_code=code, metadata=metadata)
        if command in COMMAND_INTENTS:
            return TelegramInbound(kind="message", chat_id=chat_id, text=COMMAND_INTENTS[command])
    return TelegramInbound(kind="message", chat_id=chat_id, text=strip_slash_command(text))
