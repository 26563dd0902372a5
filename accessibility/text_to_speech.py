"""Replies as OGG/Opus voice notes: gTTS when it answers, espeak-ng when it does not.

Why this shape:

* gTTS (Google Translate's voice, ``lang="id"``) sounds far better, but it is an unofficial
  endpoint that rate-limits (HTTP 429) and needs the internet. On any failure we switch to
  espeak-ng's Indonesian voice (offline, always installed), log one line, and leave gTTS alone
  for ``gtts_backoff_seconds`` before trying it again. ``engine: espeak`` makes a deployment
  fully offline; ``engine: gtts`` never falls back (useful only for testing gTTS itself).
* Every voice note is cached on disk under a sha256 of (engine, voice, speed, text), so each
  fixed prompt is synthesised once; a cached note is one file read.
* The text given here is already normalised for speech (``accessibility.speech_text``).
* Synthesis runs on its own threads, not asyncio's default pool, and its espeak-ng and
  ffmpeg processes run at lower CPU priority (``SYNTHESIS_NICE``): several replies being
  spoken at once must not delay the database write a webhook waits for before it answers
  (bench/README.md, cause 4). A cached prompt never starts a process.
* ``gtts_base_url`` replaces ``https://translate.google.com`` (tests point it at a loopback
  fake that answers in the same batchexecute format).
"""
from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import shutil
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from accessibility import audio
from storage.files import write_atomically

# Lower CPU priority of espeak-ng and ffmpeg while they speak a reply (see the module docstring).
SYNTHESIS_NICE = 10
_SYNTHESIS_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="text-to-speech")

logger = logging.getLogger(__name__)

ENGINES = ("auto", "gtts", "espeak")
# espeak-ng words per minute; its default (175) is hard to follow in Indonesian.
ESPEAK_RATE = {"normal": 150, "slow": 115}
# gTTS has one speed; slowing it with ffmpeg atempo keeps the pitch.
GTTS_TEMPO = {"normal": 1.0, "slow": 0.8}
_GTTS_PATH = "/_/TranslateWebserverUi/data/batchexecute"


class SpeechFailed(RuntimeError):
    """No engine could speak this text."""


@dataclass(frozen=True)
class Speech:
    ogg: bytes
    engine: str  # "gtts" | "espeak"
    cached: bool


class VoiceCache:
    """OGG files named by a sha256 of what made them; writes are atomic (temp file + rename)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    @staticmethod
    def key(text: str, engine: str, voice: str, speed: str) -> str:
        return hashlib.sha256("\x1f".join((engine, voice, speed, text)).encode("utf-8")).hexdigest()

    def path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.ogg"

    def get(self, key: str) -> Optional[bytes]:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            return None

    def put(self, key: str, data: bytes) -> None:
        write_atomically(self.path(key), data)


def espeak_ogg(text: str, voice: str = "id", speed: str = "normal", nice: int = 0) -> bytes:
    """espeak-ng speech as OGG/Opus (offline)."""
    command = ["espeak-ng", "-v", voice, "-s", str(ESPEAK_RATE.get(speed, ESPEAK_RATE["normal"])), "--stdout", "--stdin"]
    if nice > 0 and shutil.which("nice"):
        command = ["nice", "-n", str(nice), *command]
    result = subprocess.run(command, input=text.encode("utf-8"), capture_output=True, timeout=60, check=False)
    if result.returncode != 0 or not result.stdout:
        raise SpeechFailed(f"espeak-ng failed: {result.stderr.decode('utf-8', 'replace')[-200:]}")
    return audio.to_ogg_opus(result.stdout, nice=nice)


def gtts_ogg(text: str, lang: str = "id", speed: str = "normal", base_url: str = "", timeout: float = 10.0,
             nice: int = 0) -> bytes:
    """gTTS speech (MP3 from the endpoint) as OGG/Opus; raises on any HTTP or network failure."""
    from gtts import gTTS

    class _Endpoint(gTTS):
        def _prepare_requests(self):  # the only place gTTS builds its URL
            prepared = super()._prepare_requests()
            if base_url:
                for request in prepared:
                    request.url = base_url.rstrip("/") + _GTTS_PATH
            return prepared

    mp3 = io.BytesIO()
    _Endpoint(text, lang=lang, lang_check=False, timeout=timeout).write_to_fp(mp3)
    if not mp3.getvalue():
        raise SpeechFailed("gTTS returned no audio")
    return audio.to_ogg_opus(mp3.getvalue(), tempo=GTTS_TEMPO.get(speed, 1.0), nice=nice)


class TextToSpeech:
    """Voice notes with caching and automatic fallback (see the module docstring)."""

    def __init__(self, cache_dir: Path, *, engine: str = "auto", gtts_base_url: str = "", gtts_lang: str = "id",
                 espeak_voice: str = "id", gtts_timeout: float = 10.0, gtts_backoff_seconds: float = 300.0) -> None:
        if engine not in ENGINES:
            raise ValueError(f"accessibility.text_to_speech.engine must be one of {ENGINES}, got {engine!r}")
        self.cache = VoiceCache(cache_dir)
        self.engine = engine
        self.gtts_base_url = gtts_base_url or ""
        self.gtts_lang = gtts_lang
        self.espeak_voice = espeak_voice
        self.gtts_timeout = gtts_timeout
        self.gtts_backoff_seconds = gtts_backoff_seconds
        self._gtts_resume_at = 0.0
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Any) -> "TextToSpeech":
        section = settings.section("accessibility.text_to_speech")
        return cls(
            settings.path(section.get("cache_dir", "tts-cache")),
            engine=section.get("engine", "auto"),
            gtts_base_url=section.get("gtts_base_url", ""),
            gtts_lang=section.get("gtts_lang", "id"),
            espeak_voice=section.get("espeak_voice", "id"),
            gtts_timeout=section.get("gtts_timeout_seconds", 10.0, kind=float),
            gtts_backoff_seconds=section.get("gtts_backoff_seconds", 300.0, kind=float),
        )

    def _gtts_usable(self) -> bool:
        if self.engine == "espeak":
            return False
        if self.engine == "gtts":
            return True
        with self._lock:
            return time.monotonic() >= self._gtts_resume_at

    def _gtts_failed(self, error: Exception) -> None:
        with self._lock:
            first = time.monotonic() >= self._gtts_resume_at
            self._gtts_resume_at = time.monotonic() + self.gtts_backoff_seconds
        if first:
            logger.warning(
                "gTTS unavailable (%s); speaking with espeak-ng for the next %.0f s",
                str(error).splitlines()[0][:200] if str(error) else type(error).__name__,
                self.gtts_backoff_seconds,
            )

    def synthesise(self, text: str, speed: str = "normal") -> Speech:
        """An OGG/Opus voice note for ``text`` (already normalised for speech)."""
        text = " ".join(text.split())
        if not text:
            raise ValueError("nothing to say")
        if self._gtts_usable():
            key = self.cache.key(text, "gtts", self.gtts_lang, speed)
            cached = self.cache.get(key)
            if cached is not None:
                return Speech(cached, "gtts", True)
            try:
                ogg = gtts_ogg(text, self.gtts_lang, speed, self.gtts_base_url, self.gtts_timeout, SYNTHESIS_NICE)
            except Exception as error:  # gTTSError, network, 429: all mean "use the other engine"
                if self.engine == "gtts":
                    raise SpeechFailed(f"gTTS failed: {error}") from error
                self._gtts_failed(error)
            else:
                self.cache.put(key, ogg)
                return Speech(ogg, "gtts", False)
        key = self.cache.key(text, "espeak", self.espeak_voice, speed)
        cached = self.cache.get(key)
        if cached is not None:
            return Speech(cached, "espeak", True)
        ogg = espeak_ogg(text, self.espeak_voice, speed, SYNTHESIS_NICE)
        self.cache.put(key, ogg)
        return Speech(ogg, "espeak", False)

    async def voice_note(self, text: str, speed: str = "normal") -> bytes:
        """:meth:`synthesise` off the event loop; only the OGG bytes."""
        loop = asyncio.get_running_loop()
        return (await loop.run_in_executor(_SYNTHESIS_POOL, self.synthesise, text, speed)).ogg
