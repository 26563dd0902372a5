"""The ways into a conversation for one event code, from the channels' configured addresses.

Why it exists: the command prints them and the poster draws them; both must agree with each
other and with what the channels parse (``storage.event_codes``). A channel whose address is
not configured is left out (and named in ``missing``), so a poster never shows a made-up number.

The addresses come typed from the entry point (``Settings.channel_addresses``, read by
``bot event create`` and the console): this module never reads config.yml itself.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, List, Optional

from storage.event_codes import (
    DEFAULT_SMS_KEYWORD,
    sms_keyword,
    telegram_deep_link,
    whatsapp_click_to_chat,
    whatsapp_prefilled_text,
)

if TYPE_CHECKING:  # the loader's type only: this module never reads config.yml itself
    from bot.settings import ChannelAddresses


@dataclass(frozen=True)
class EntryPoints:
    code: str
    telegram_link: Optional[str] = None
    telegram_username: Optional[str] = None
    whatsapp_link: Optional[str] = None
    whatsapp_number: Optional[str] = None
    whatsapp_text: Optional[str] = None
    sms_number: Optional[str] = None
    sms_text: Optional[str] = None
    missing: List[str] = field(default_factory=list)

    @property
    def sms_qr_payload(self) -> Optional[str]:
        """``SMSTO:<number>:<text>``: phone cameras open the SMS app with the keyword typed in."""
        if not self.sms_number:
            return None
        digits = "".join(c for c in self.sms_number if c.isdigit() or c == "+")
        return f"SMSTO:{digits}:{self.sms_text}"


def _display_number(number: Optional[str]) -> Optional[str]:
    if number and number.lower().startswith("whatsapp:"):
        number = number[len("whatsapp:"):]
    return number or None


def entry_points(addresses: "ChannelAddresses", code: str) -> EntryPoints:
    missing = []
    username = addresses.telegram_username
    telegram_link = telegram_deep_link(username, code) if username else None
    if not username:
        missing.append("channels.telegram.bot_username (TELEGRAM_BOT_USERNAME)")
    whatsapp_number = _display_number(addresses.whatsapp_number)
    if not whatsapp_number:
        missing.append("channels.whatsapp.number_display (SAPALAPOR_WHATSAPP_NUMBER_DISPLAY)")
    sms_number = _display_number(addresses.sms_number)
    if not sms_number:
        missing.append("channels.sms.number_display (SAPALAPOR_SMS_NUMBER_DISPLAY)")
    keyword = addresses.sms_keyword or DEFAULT_SMS_KEYWORD
    return EntryPoints(
        code=code,
        telegram_link=telegram_link,
        telegram_username=username.lstrip("@") if username else None,
        whatsapp_link=whatsapp_click_to_chat(whatsapp_number, code) if whatsapp_number else None,
        whatsapp_number=whatsapp_number,
        whatsapp_text=whatsapp_prefilled_text(code) if whatsapp_number else None,
        sms_number=sms_number,
        sms_text=sms_keyword(code, keyword) if sms_number else None,
        missing=missing,
    )
