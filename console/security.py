"""Signed cookie values and CSRF tokens: pure functions over a secret key.

Why not a library: the console needs two small things, and the standard library's HMAC does
both. The session cookie holds a random session id and its HMAC-SHA256 signature, so a forged
or altered cookie is refused before any database look-up; the database holds only a hash of the
id (a stolen database does not yield live sessions). A CSRF token is an HMAC of the session id
for a purpose, so it needs no storage, changes with every session, and a page of one session
cannot post to another.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Optional

MIN_KEY_LENGTH = 32


def _mac(key: bytes, message: str) -> str:
    digest = hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def sign(key: bytes, value: str) -> str:
    """``value.signature``; ``value`` must not contain a dot (session ids from token_urlsafe do not)."""
    return f"{value}.{_mac(key, 'cookie:' + value)}"


def unsign(key: bytes, signed: Optional[str]) -> Optional[str]:
    """The value of a cookie signed with :func:`sign`, or None if it was altered or forged."""
    if not signed or signed.count(".") != 1:
        return None
    value, signature = signed.split(".")
    if not value or not hmac.compare_digest(signature, _mac(key, "cookie:" + value)):
        return None
    return value


def session_digest(session_id: str) -> str:
    """What the database keeps of a session id."""
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def csrf_token(key: bytes, session_id: str) -> str:
    return _mac(key, "csrf:" + session_id)


def csrf_valid(key: bytes, session_id: Optional[str], supplied: Optional[str]) -> bool:
    if not session_id or not supplied:
        return False
    return hmac.compare_digest(supplied, csrf_token(key, session_id))
