"""What one reply becomes on SMS or WhatsApp, and what the outbound log may keep of it.

Pure functions: buttons as "Balas 1 untuk ..." lines (words from accessibility/citizen_text.yml),
GSM-7 text in at most three segments on SMS, and bodies without tracking numbers or PINs.
"""
from __future__ import annotations

import re
from typing import List, Optional

from shared.citizen_text import say
from accessibility.pipeline import Outgoing
from channels import gsm7
from channels.text_split import split_text
from channels.twilio_kinds import SMS, Kind


def numbered_choices(buttons: List[dict]) -> str:
    """Buttons a phone cannot show, as replies the user can type: "Balas 1 untuk Pengaduan"."""
    lines = []
    for index, button in enumerate(buttons, 1):
        # A title that already starts with its number ("1 Sangat tidak puas") is not numbered twice.
        title = re.sub(rf"^{index}[.)]?\s+", "", str(button.get("title", "")).strip())
        lines.append(say("channel.reply_with_number", number=index, title=title))
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
