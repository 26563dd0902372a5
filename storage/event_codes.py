"""Outreach event codes in what people send, and the entry points that carry them.

Why in storage: the channels parse these codes and the outreach commands print the links, so the
rules sit below both (``storage.outreach`` issues the codes); pure functions, no database.

Why it exists: a facilitator hands out one code per event; it reaches us as a Telegram deep
link (``/start SOSBDG01``), a WhatsApp message prefilled by a click-to-chat link ("... Kode
acara: SOSBDG01"), or an SMS keyword ("LAPOR SOSBDG01"). All three are parsed here, purely,
so every channel tags conversations the same way. The links are built here too, so what the
poster prints is exactly what the parser accepts.

Event codes are 4-12 letters and digits with at least one of each (``storage.outreach``
issues them that way): the digit keeps "LAPOR jalan rusak" from reading "JALAN" as a code.
A parsed code is only a candidate; pass ``is_known`` (e.g. a lookup through
``storage.outreach.get_event``) to accept only codes of real events.
"""
from __future__ import annotations

import re
from typing import Callable, Iterable, Optional, Tuple
from urllib.parse import quote

DEFAULT_SMS_KEYWORD = "LAPOR"
_CODE = r"(?P<code>[A-Za-z0-9]{4,12})(?![A-Za-z0-9_-])"
_TELEGRAM_START = re.compile(r"(?:^|\s)/start(?:@\w+)?\s+" + _CODE, re.IGNORECASE)
# The label goes with the code: "Kode acara: X" leaves nothing dangling in the rest text.
_LABELLED = re.compile(r"\bkode(?:\s+acara)?\s*[:#=]?\s*" + _CODE, re.IGNORECASE)
_TELEGRAM_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")
_TELEGRAM_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}")


def looks_like_code(token: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z0-9]{4,12}", token)) and any(c.isdigit() for c in token) and any(
        c.isalpha() for c in token
    )


def parse_event_code(
    text: Optional[str],
    *,
    keywords: Iterable[str] = (DEFAULT_SMS_KEYWORD,),
    is_known: Optional[Callable[[str], bool]] = None,
) -> Tuple[Optional[str], str]:
    """``(CODE, rest_text)``: the upper-case code, and the text with the code (and its "kode acara"
    label) removed, so the greeting or keyword around it still reaches the dialogue.

    Recognised, case-insensitive: ``/start CODE``, ``<keyword> CODE ...`` at the very start
    (SMS), and ``kode [acara][:] CODE`` anywhere (WhatsApp prefilled text, or typed). Returns
    ``(None, text)`` when there is no code, or when ``is_known`` rejects the candidate.
    """
    original = text or ""
    for code, (start, end) in _candidates(original, keywords):
        code = code.upper()
        if not looks_like_code(code):
            continue
        if is_known is not None and not is_known(code):
            continue
        return code, _tidy(original[:start] + " " + original[end:])
    return None, original.strip()


def _candidates(text: str, keywords: Iterable[str]):
    words = "|".join(re.escape(keyword.strip()) for keyword in keywords if keyword and keyword.strip())
    if words:
        keyword_form = re.compile(r"^\s*(?:" + words + r")\s+" + _CODE, re.IGNORECASE)
        match = keyword_form.match(text)
        if match:
            yield match.group("code"), match.span("code")
    for match in _TELEGRAM_START.finditer(text):
        yield match.group("code"), match.span("code")
    for match in _LABELLED.finditer(text):
        yield match.group("code"), match.span()


def _tidy(text: str) -> str:
    text = re.sub(r"\s+([,.;:!?])", r"\1", text)
    text = re.sub(r"([,.;:])(?:\s*[,.;:])+", r"\1", text)
    text = re.sub(r"\s+", " ", text).strip()
    return text.strip(" ,;:")


def telegram_deep_link(bot_username: str, code: str) -> str:
    """``https://t.me/<bot>?start=<CODE>``: Telegram then sends ``/start CODE`` as the first message."""
    username = (bot_username or "").strip().lstrip("@")
    if not _TELEGRAM_USERNAME.fullmatch(username):
        raise ValueError(f"{bot_username!r} is not a Telegram bot username")
    if not _TELEGRAM_PAYLOAD.fullmatch(code or ""):
        raise ValueError(f"{code!r} cannot be a Telegram start payload (1-64 of A-Z a-z 0-9 _ -)")
    return f"https://t.me/{username}?start={code}"


def whatsapp_prefilled_text(code: str) -> str:
    """The message a click-to-chat link puts in the user's input box; they only press send."""
    return f"Halo SapaLapor, saya mau melapor. Kode acara: {code}"


def whatsapp_click_to_chat(number: str, code: str) -> str:
    """``https://wa.me/<digits>?text=<prefilled>``; wa.me wants the full international number
    without "+" or a leading 0, so a local "0812..." becomes "62812..."."""
    digits = international_digits(number)
    return f"https://wa.me/{digits}?text={quote(whatsapp_prefilled_text(code), safe='')}"


def international_digits(number: str) -> str:
    raw = (number or "").strip()
    if raw.lower().startswith("whatsapp:"):
        raw = raw[len("whatsapp:"):]
    digits = re.sub(r"\D", "", raw)
    if raw.lstrip().startswith("0") and not raw.lstrip().startswith("00"):
        digits = "62" + digits[1:]
    elif digits.startswith("00"):
        digits = digits[2:]
    if not 8 <= len(digits) <= 15:
        raise ValueError("a WhatsApp number needs 8-15 digits in international format")
    return digits


def sms_keyword(code: str, keyword: str = DEFAULT_SMS_KEYWORD) -> str:
    """What a person types in an SMS: ``LAPOR SOSBDG01``."""
    return f"{keyword.strip().upper()} {code}"
