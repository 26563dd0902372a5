"""What the web chat page sends, as typed values; pure, so every rule here is tested directly.

The page talks JSON over one WebSocket (channels/web.py). Frames it may send:

* ``{"type": "hello", "device": <uuid>, "after": <last item id it has>, "event": <code|null>}``
  first, on every (re)connection;
* ``{"type": "message", "id": <uuid>, "text": ...}``, ``{"type": "voice", "id": <uuid>,
  "audio": <base64>, "mime": "audio/webm;codecs=opus"}`` and ``{"type": "reset", "id": <uuid>}``
  (a kiosk ends its conversation): each is recorded in the inbound log under its client id, so a
  frame the page re-sends after a lost connection is handled once;
* ``{"type": "seen", "upto": <item id>}``: the page has everything up to that id.

The device id is the browser's ``crypto.randomUUID()``: only its keyed hash is ever kept; the
stored payload of a frame holds the hash, never the id itself.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Optional, Union

from storage.event_codes import looks_like_code
from channels.slash_commands import strip_slash_command

# crypto.randomUUID() and uuid4: 36 characters; anything else is refused.
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
AUDIO_TYPES = ("audio/webm", "audio/ogg", "audio/mp4", "audio/mpeg", "audio/wav")
# A recording the page caps at 90 s of Opus at 32 kbit/s is about 360 kB; this leaves room.
MAX_AUDIO_BYTES = 600 * 1024
MAX_TEXT = 4000


class FrameError(ValueError):
    """Not a frame the page sends; the reason is safe to log (it never quotes the frame)."""


@dataclass(frozen=True)
class Hello:
    device: str
    after: int
    event: Optional[str]


@dataclass(frozen=True)
class Said:
    """A message, a voice note or a reset: what goes into the inbound log."""

    kind: str  # "message" | "voice" | "reset"
    client_id: str
    text: Optional[str] = None
    audio: Optional[bytes] = None
    mime: Optional[str] = None


@dataclass(frozen=True)
class Seen:
    up_to: int


Frame = Union[Hello, Said, Seen]


def parse_frame(raw: Union[str, bytes]) -> Frame:
    """One frame from the page; raises :class:`FrameError` for anything else."""
    try:
        data = json.loads(raw)
    except (TypeError, ValueError) as error:
        raise FrameError("not JSON") from error
    if not isinstance(data, dict):
        raise FrameError("not an object")
    kind = data.get("type")
    if kind == "hello":
        device = data.get("device")
        if not isinstance(device, str) or not _UUID.match(device):
            raise FrameError("hello without a device id")
        event = data.get("event")
        return Hello(device=device.lower(), after=_non_negative(data.get("after", 0)),
                     event=event.upper() if isinstance(event, str) and looks_like_code(event) else None)
    if kind == "seen":
        return Seen(up_to=_non_negative(data.get("upto")))
    if kind not in ("message", "voice", "reset"):
        raise FrameError("unknown frame type")
    client_id = data.get("id")
    if not isinstance(client_id, str) or not _UUID.match(client_id):
        raise FrameError(f"{kind} without a message id")
    if kind == "reset":
        return Said(kind="reset", client_id=client_id.lower())
    if kind == "message":
        text = data.get("text")
        if not isinstance(text, str) or not text.strip():
            raise FrameError("message without text")
        return Said(kind="message", client_id=client_id.lower(), text=text.strip()[:MAX_TEXT])
    mime = data.get("mime")
    base = mime.split(";", 1)[0].strip().lower() if isinstance(mime, str) else ""
    if base not in AUDIO_TYPES:
        raise FrameError("voice of a type we do not take")
    encoded = data.get("audio")
    if not isinstance(encoded, str) or len(encoded) > MAX_AUDIO_BYTES * 4 // 3 + 8:
        raise FrameError("voice missing or too large")
    try:
        audio = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as error:
        raise FrameError("voice not base64") from error
    if not audio:
        raise FrameError("empty voice")
    return Said(kind="voice", client_id=client_id.lower(), audio=audio, mime=base)


def provider_id(identity_hash: str, client_id: str) -> str:
    """The inbound log's key of a frame: the client id, scoped to its device (at most 53 characters).

    Scoped so that no page can block another device's message by reusing its id.
    """
    return f"{identity_hash[:16]}-{client_id}"


def stored_payload(identity_hash: str, said: Said, event_code: Optional[str]) -> dict:
    """What the inbound log keeps until the frame is handled (then it is scrubbed)."""
    payload = {"kind": said.kind, "hash": identity_hash, "event_code": event_code}
    if said.text is not None:
        payload["text"] = said.text
    if said.audio is not None:
        payload["audio"] = base64.b64encode(said.audio).decode("ascii")
        payload["mime"] = said.mime
    return payload


@dataclass(frozen=True)
class WebInbound:
    """A recorded frame, ready for handling."""

    kind: str
    identity_hash: str
    text: Optional[str]
    audio: Optional[bytes]
    mime: Optional[str]
    event_code: Optional[str]


def parse_stored(payload: dict) -> WebInbound:
    """The frame back from the inbound log; typed text never becomes a Rasa command (channels.slash_commands)."""
    audio = payload.get("audio")
    return WebInbound(kind=str(payload["kind"]), identity_hash=str(payload["hash"]),
                      text=strip_slash_command(payload.get("text")), audio=base64.b64decode(audio) if audio else None,
                      mime=payload.get("mime"), event_code=payload.get("event_code"))


def _non_negative(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FrameError("an id must be a whole number, 0 or more")
    return value
