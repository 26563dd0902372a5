"""A Twilio webhook form as a typed inbound message: bounded, validated, signature checked.

Why apart from the handler: the webhook route parses once (and records only the parsed message,
none of Twilio's other fields), the handler rebuilds it from the inbound log; both need the
same rules, and they are pure.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from twilio.request_validator import RequestValidator

from channels.slash_commands import strip_slash_command
from storage.event_codes import parse_event_code

GREETING = "/greet"


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


def event_code_and_text(body: str, keyword: Optional[str]) -> Tuple[Optional[str], str]:
    """An outreach code in the text, and what goes to the dialogue ("LAPOR" alone greets)."""
    keywords = [keyword] if keyword else []
    code, rest = parse_event_code(body, keywords=keywords) if keywords else parse_event_code(body)
    leftover = strip_slash_command(rest.strip()) or ""
    if keyword and leftover.lower() == keyword.lower():
        leftover = ""
    if not leftover:
        return code, GREETING
    return code, leftover
