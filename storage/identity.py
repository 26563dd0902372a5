"""Channel identities as keyed hashes (UU 27/2022: no raw chat ids or phone numbers at rest).

Why keyed (HMAC) and not a plain hash: phone numbers are a small space, so an unkeyed SHA-256
of "+62812..." can be reversed by trying them all. With a secret key it cannot.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from typing import Tuple, Union

HASHED_CHANNELS = ("telegram", "sms", "whatsapp", "web")
_HASH = re.compile(r"^[0-9a-f]{64}$")


def identity_hash(key: Union[bytes, str], channel: str, user_id: str) -> str:
    """Hex HMAC-SHA256 of ``f"{channel}:{user_id}"``: stable per key, irreversible without it."""
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not key:
        raise ValueError("the identity hash key is empty (config identity.hash_key)")
    message = f"{channel}:{user_id}".encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def sender_id(channel: str, hashed: str) -> str:
    """The Rasa sender id of a channel user: ``f"{channel}-{identity_hash}"``."""
    return f"{channel}-{hashed}"


def parse_sender_id(sender: str, key: Union[bytes, str]) -> Tuple[str, str]:
    """``(channel, identity_hash)`` for a Rasa sender id.

    Ids made by :func:`sender_id` for telegram, sms and whatsapp split back into their parts;
    anything else (the local REST channel, a test client) is ``("rest", identity_hash(key,
    "rest", sender))`` so that even those ids are never stored raw.
    """
    channel, separator, rest = sender.partition("-")
    if separator and channel in HASHED_CHANNELS and _HASH.match(rest):
        return channel, rest
    return "rest", identity_hash(key, "rest", sender)


def mask_address(address: object) -> str:
    """An address safe for logs: "+62812****7890", "whatsapp:+62812****7890", "12****89".

    Keeps a prefix (country and operator code) and the last four digits, enough to tell two
    log lines apart, never the full number. Short values are masked almost completely.
    """
    if address is None:
        return "<none>"
    text = str(address)
    scheme = ""
    if ":" in text:
        scheme, _, text = text.rpartition(":")
        scheme += ":"
    plus = "+" if text.startswith("+") else ""
    body = text[len(plus):]
    if len(body) >= 11:
        shown = body[:5] + "****" + body[-4:]
    elif len(body) >= 5:
        shown = body[:2] + "****" + body[-2:]
    else:
        shown = "****"
    return f"{scheme}{plus}{shown}"
