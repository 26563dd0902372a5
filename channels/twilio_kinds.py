"""What differs between SMS and WhatsApp on the one Twilio path: addresses, media, limits, the window."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

from channels import gsm7

WHATSAPP_WINDOW = dt.timedelta(hours=24)


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
