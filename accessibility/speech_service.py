"""Speech-to-text as a service: the gateway's client, and what both halves agree on.

Why a service (issue 19): with the worker as each gateway's child process, voice load and text
load scale together; a gateway pod sized for Whisper idles on text. With
``accessibility.speech_to_text.service_url`` set, :class:`~accessibility.speech_to_text.SpeechToText`
sends each voice note to speech replicas of their own (``python -m bot serve speech``,
bot/speech_server.py), each holding the same :class:`~accessibility.speech_worker_client.SpeechWorker`
the gateway would otherwise start; empty, nothing changes (``bash run.sh``).

The contract, ``POST {service_url}/transcribe`` with ``Authorization: Bearer <speech_token>``:

* the body is the worker's request as JSON, the audio base64-encoded:
  ``{"audio", "mime", "options", "expects", "titles"}``;
* 200 answers the worker's reply (a :class:`~accessibility.speech_transcript.Transcript` as a
  dict, or ``{"rejected": reason}``); 503 ``{"rejected": "busy"}`` when the replica's queue is
  full; 413 when the body is larger than :func:`max_body_bytes`; 401 without the token.
* ``GET /health``: 200 once the model is loaded, 503 before.

What callers of :meth:`SpeechService.transcribe` may rely on: a reply dict, or
:class:`ServiceUnavailable` once a connection error or a 5xx (other than busy) happened twice;
the second try goes through the load balancer again, so it may reach another replica.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import math
import urllib.error
import urllib.request
from typing import Any, Dict, Optional

import aiohttp

from shared.http_sessions import KeptSession

logger = logging.getLogger(__name__)

TRANSCRIBE_PATH = "/transcribe"
HEALTH_PATH = "/health"
# 192 kbit/s: above any voice codec (Opus notes are ~32 kbit/s) and a 192k MP3, below a WAV's
# 256 kbit/s; with max_seconds 120 that is 2.9 MB of audio, a 3.9 MB body.
AUDIO_BYTES_PER_SECOND = 24 * 1024
MIN_AUDIO_BYTES = 1024 * 1024
RETRY_PAUSE_SECONDS = 0.2


def speech_token(identity_key: bytes) -> str:
    """The speech service's bearer token: a keyed hash of the identity key with its own label."""
    return hmac.new(identity_key, b"sapalapor channel gateway -> speech service", hashlib.sha256).hexdigest()


def max_audio_bytes(max_seconds: float) -> int:
    """The largest voice note the service accepts: ``max_seconds`` of audio at a generous bit rate."""
    return max(MIN_AUDIO_BYTES, int(AUDIO_BYTES_PER_SECOND * max_seconds))


def max_body_bytes(max_seconds: float) -> int:
    """The largest request body: the audio in base64 plus room for the options and titles."""
    return math.ceil(max_audio_bytes(max_seconds) / 3) * 4 + 64 * 1024


def encode_request(request: Dict[str, Any]) -> bytes:
    """The worker's request as the service's JSON body (the audio in base64)."""
    body = dict(request)
    body["audio"] = base64.b64encode(request["audio"]).decode("ascii")
    return json.dumps(body).encode("utf-8")


class ServiceUnavailable(Exception):
    """The service could not be reached, or failed, on both tries."""


class SpeechService:
    """The gateway's handle on the speech replicas (see the module docstring)."""

    def __init__(self, url: str, token: str, *, connections: int = 16) -> None:
        self.url = url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self._connections = max(1, connections)
        self._session: Optional[KeptSession] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None

    def _kept(self) -> KeptSession:
        # A session belongs to the loop that made it; a new loop (tests) gets a new session.
        loop = asyncio.get_running_loop()
        if self._session is None or self._loop is not loop:
            self._session, self._loop = KeptSession(self._connections, keepalive_timeout=30), loop
        return self._session

    async def transcribe(self, request: Dict[str, Any], timeout: float) -> Dict[str, Any]:
        """Post one request; the reply dict (busy included), or :class:`ServiceUnavailable`."""
        body = encode_request(request)
        for attempt in (1, 2):
            try:
                return await self._post(body, timeout)
            except _Retryable as failure:
                if attempt == 2:
                    raise ServiceUnavailable(f"speech service at {self.url}: {failure}") from None
                logger.warning("speech service at %s: %s; trying once more", self.url, failure)
                await asyncio.sleep(RETRY_PAUSE_SECONDS)
        raise AssertionError("not reached")

    async def _post(self, body: bytes, timeout: float) -> Dict[str, Any]:
        session = self._kept().get()
        try:
            async with session.post(self.url + TRANSCRIBE_PATH, data=body, headers=self._headers,
                                    timeout=aiohttp.ClientTimeout(total=timeout)) as answer:
                status = answer.status
                text = await answer.text()
        except asyncio.TimeoutError:
            # A replica that held the note this long is hung or overloaded: not sent again.
            raise ServiceUnavailable(f"speech service at {self.url} did not answer in {timeout:.0f} s") from None
        except aiohttp.ClientError as error:
            raise _Retryable(f"{type(error).__name__}: {error}") from None
        reply = _json_object(text)
        if status == 200 and reply is not None and ("rejected" in reply or "text" in reply):
            return reply
        if status == 503 and reply is not None and reply.get("rejected") == "busy":
            return reply
        if status == 413:
            return {"rejected": "too_long"}
        if status >= 500:
            raise _Retryable(f"HTTP {status} {text[:200]!r}")
        # 401 (the token differs: the identity keys differ), 400, a 200 that is no reply: a
        # configuration or version mismatch that another try would not fix.
        raise ServiceUnavailable(f"speech service at {self.url} answered HTTP {status} {text[:200]!r}")

    def probe(self, timeout: float = 5.0) -> bool:
        """``GET /health`` (blocking): True when a replica has its model loaded."""
        try:
            with urllib.request.urlopen(self.url + HEALTH_PATH, timeout=timeout) as answer:
                return answer.status == 200
        except (urllib.error.URLError, OSError):
            return False

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


class _Retryable(Exception):
    """A connection error or a 5xx: worth one more try, perhaps on another replica."""


def _json_object(text: str) -> Optional[Dict[str, Any]]:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
