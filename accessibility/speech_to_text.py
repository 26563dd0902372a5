"""Speech-to-text as the gateway uses it: voice notes to text, off the event loop, in Indonesian.

This is the client half: it reads the settings, admits or declines a voice note (the queue
limit), and hands the note to the speech worker process
(:mod:`accessibility.speech_worker_client`) or, with ``worker: false``, to the model half in a
thread here (:mod:`accessibility.speech_recogniser`). Why a separate, low-priority worker:
decoding never takes the CPU from the event loop that answers webhooks. With ``service_url``
set, the note goes to the speech service's replicas instead (:mod:`accessibility.speech_service`,
issue 19: voice load scales apart from text) and no worker is started here; their replies are
mapped exactly as the worker's.

What callers may rely on: :meth:`SpeechToText.transcribe` returns a
:class:`~accessibility.speech_transcript.Transcript` or raises
:class:`~accessibility.speech_transcript.AudioRejected` carrying a short, kind Indonesian
message (empty, too long, corrupt, not audio, busy, unavailable): the caller answers it and
nothing else happens. How notes are decoded, and why: :mod:`accessibility.speech_recogniser`.
"""
from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Optional, Sequence

from accessibility.speech_recogniser import (ANSWER_PRUNE_NATS, BUNDLED, COMPRESSION_RATIO_THRESHOLD,
                                             DEFAULT_CPU_THREADS, DEFAULT_PROMPT, DEFAULT_TEMPERATURES,
                                             LOG_PROB_THRESHOLD, NO_SPEECH_THRESHOLD, SCORED_MIN_FRAMES,
                                             Recogniser, RecogniserOptions)
from accessibility.speech_service import ServiceUnavailable, SpeechService, max_audio_bytes, speech_token
from accessibility.speech_transcript import AudioRejected, Transcript, rejection_message
from accessibility.speech_worker_client import SpeechWorker, WorkerUnavailable, shared_worker

logger = logging.getLogger(__name__)

__all__ = ["AudioRejected", "SpeechToText", "Transcript", "rejection_message"]

# Transcriptions wait for each other for seconds; on asyncio's default pool (cores + 4 threads)
# those waiting threads starved the webhooks' quick database writes, so the provider's answer
# waited behind speech (bench/README.md, cause 4). Speech has its own threads.
_SPEECH_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="speech-to-text")
_TRANSCRIPT_FIELDS = frozenset(field.name for field in dataclasses.fields(Transcript))


class SpeechToText:
    """Transcribes voice notes; see the module docstring for what callers may rely on."""

    def __init__(self, model: str, *, data_dir: Path, language: str = "id", max_seconds: float = 120.0,
                 beam_size: int = 5, cpu_threads: int = DEFAULT_CPU_THREADS,
                 initial_prompt: Optional[str] = DEFAULT_PROMPT, window_seconds: float = 15.0,
                 worker: bool = True, worker_nice: int = 10, max_queued: int = 16,
                 timestamps: bool = False, decode_in_process: bool = False,
                 temperatures: Sequence[float] = DEFAULT_TEMPERATURES,
                 compression_ratio_threshold: Optional[float] = COMPRESSION_RATIO_THRESHOLD,
                 log_prob_threshold: Optional[float] = LOG_PROB_THRESHOLD,
                 no_speech_threshold: Optional[float] = NO_SPEECH_THRESHOLD,
                 repetition_penalty: float = 1.0, no_repeat_ngram_size: int = 0,
                 best_of: int = 3, score_answers: bool = True, token_bonus: float = 1.0,
                 calibration: Optional[dict] = None, answer_prune_nats: Optional[float] = ANSWER_PRUNE_NATS,
                 answer_window_frames: int = SCORED_MIN_FRAMES, digit_vocabulary: bool = True,
                 trim_silence: bool = True, service_url: str = "", service_token: str = "") -> None:
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
        self.temperatures = tuple(float(value) for value in (temperatures or (0.0,)))
        self.compression_ratio_threshold = compression_ratio_threshold
        self.log_prob_threshold = log_prob_threshold
        self.no_speech_threshold = no_speech_threshold
        self.repetition_penalty = float(repetition_penalty)
        self.no_repeat_ngram_size = int(no_repeat_ngram_size)
        # False: every note decoded as free text (the benchmark compares the two).
        self.score_answers = score_answers
        self.token_bonus = float(token_bonus)
        self.best_of = int(best_of)  # samples per fallback temperature (Whisper: 5)
        self.calibration = dict(calibration or {})
        # How short answers and digits are decoded (accessibility.speech_recogniser).
        self.answer_prune_nats = None if answer_prune_nats is None else float(answer_prune_nats)
        self.answer_window_frames = int(answer_window_frames)
        self.digit_vocabulary = bool(digit_vocabulary)
        self.trim_silence = bool(trim_silence)
        # Empty: this process's worker (or model). Set: the speech service's replicas.
        self.service_url = (service_url or "").rstrip("/")
        self.service = (SpeechService(self.service_url, service_token, connections=max_queued)
                        if self.service_url else None)

    @classmethod
    def from_settings(cls, settings: Any) -> "SpeechToText":
        section = settings.section("accessibility.speech_to_text")
        temperatures = section.data.get("temperature", list(DEFAULT_TEMPERATURES))
        if not isinstance(temperatures, (list, tuple)):
            temperatures = [temperatures]
        service_url = section.get("service_url", "") or ""
        return cls(
            section.get("model", BUNDLED),
            data_dir=settings.data_dir,
            language=section.get("language", "id"),
            max_seconds=section.get("max_seconds", 120.0, kind=float),
            beam_size=section.get("beam_size", 5, kind=int),
            cpu_threads=section.get("cpu_threads", DEFAULT_CPU_THREADS, kind=int),
            initial_prompt=section.data.get("initial_prompt", DEFAULT_PROMPT),
            window_seconds=section.get("window_seconds", 15.0, kind=float),
            worker=section.flag("worker", True),
            worker_nice=section.get("worker_nice", 10, kind=int),
            max_queued=section.get("max_queued", 16, kind=int),
            temperatures=[float(value) for value in temperatures],
            compression_ratio_threshold=section.get("compression_ratio_threshold", COMPRESSION_RATIO_THRESHOLD,
                                                    kind=float),
            log_prob_threshold=section.get("log_prob_threshold", LOG_PROB_THRESHOLD, kind=float),
            no_speech_threshold=section.get("no_speech_threshold", NO_SPEECH_THRESHOLD, kind=float),
            repetition_penalty=section.get("repetition_penalty", 1.0, kind=float),
            no_repeat_ngram_size=section.get("no_repeat_ngram_size", 0, kind=int),
            best_of=section.get("best_of", 3, kind=int),
            score_answers=section.flag("score_answers", True),
            token_bonus=section.get("token_bonus", 1.0, kind=float),
            calibration=section.data.get("calibration") or None,
            answer_prune_nats=section.data.get("answer_prune_nats", ANSWER_PRUNE_NATS),
            answer_window_frames=section.get("answer_window_frames", SCORED_MIN_FRAMES, kind=int),
            digit_vocabulary=section.flag("digit_vocabulary", True),
            trim_silence=section.flag("trim_silence", True),
            service_url=service_url,
            # Only a client of the service needs the identity key (the token is derived from it).
            service_token=speech_token(settings.identity_key) if service_url else "",
        )

    def options(self) -> dict:
        """What a worker needs, besides the model, to transcribe exactly as this object would."""
        return {"language": self.language, "max_seconds": self.max_seconds, "beam_size": self.beam_size,
                "initial_prompt": self.initial_prompt or "", "timestamps": self.timestamps,
                "temperatures": list(self.temperatures),
                "compression_ratio_threshold": self.compression_ratio_threshold,
                "log_prob_threshold": self.log_prob_threshold, "no_speech_threshold": self.no_speech_threshold,
                "repetition_penalty": self.repetition_penalty, "no_repeat_ngram_size": self.no_repeat_ngram_size,
                "best_of": self.best_of, "score_answers": self.score_answers, "token_bonus": self.token_bonus,
                "calibration": self.calibration, "answer_prune_nats": self.answer_prune_nats,
                "answer_window_frames": self.answer_window_frames, "digit_vocabulary": self.digit_vocabulary,
                "trim_silence": self.trim_silence}

    def model(self) -> Any:
        """The model in *this* process (tests, the benchmark, ``worker: false``)."""
        return self.recogniser().model()

    def speech_worker(self) -> SpeechWorker:
        return shared_worker(self.model_setting, data_dir=self.data_dir, cpu_threads=self.cpu_threads,
                             window_seconds=self.window_seconds, nice=self.worker_nice,
                             max_queued=self.max_queued)

    def warm_up(self) -> None:
        """Load the model now (start the worker, or load it here) instead of on the first note.

        With a service, nothing is loaded here: its health is asked once, for the log.
        """
        if self.service is not None:
            if self.service.probe():
                logger.info("speech-to-text service at %s is ready", self.service_url)
            else:
                logger.warning("speech-to-text service at %s is not ready yet; voice notes wait for it or "
                               "are refused kindly", self.service_url)
            return
        if self.worker:
            self.speech_worker().start()
        else:
            self.model()

    def recogniser(self) -> Recogniser:
        """The model half, in this process, with this object's current options."""
        return Recogniser(self.model_setting, data_dir=self.data_dir, cpu_threads=self.cpu_threads,
                          window_seconds=self.window_seconds, options=RecogniserOptions.from_dict(self.options()),
                          decode_in_process=self.decode_in_process)

    def transcribe_sync(self, data: bytes, mime: Optional[str] = None, *, expects: Optional[str] = None,
                        titles: Sequence[str] = ()) -> Transcript:
        """Blocking transcription in this process (see :meth:`Recogniser.transcribe`)."""
        return self.recogniser().transcribe(data, mime, expects=expects, titles=titles)

    # ------------------------------------------------------------------ worker and async
    def transcribe_in_worker(self, data: bytes, mime: Optional[str] = None, *, expects: Optional[str] = None,
                             titles: Sequence[str] = ()) -> Transcript:
        """Blocking transcription in the worker process (see :mod:`accessibility.speech_worker_client`)."""
        # Generous: a two-minute note decodes in well under a minute; only a hung worker waits this.
        timeout = 60.0 + 2.0 * self.max_seconds
        request = self._request(data, mime, expects, titles)
        try:
            reply = self.speech_worker().transcribe(request, timeout)
        except WorkerUnavailable:
            logger.exception("speech-to-text worker unavailable (%s, %d bytes)", mime, len(data))
            raise AudioRejected("unavailable", rejection_message("unavailable", self.max_seconds)) from None
        return self._transcript_from(reply, mime, "worker")

    def _request(self, data: bytes, mime: Optional[str], expects: Optional[str], titles: Sequence[str]) -> dict:
        return {"audio": data, "mime": mime, "options": self.options(), "expects": expects,
                "titles": [str(title) for title in titles]}

    def _transcript_from(self, reply: dict, mime: Optional[str], where: str) -> Transcript:
        """A worker's (or the service's) reply as a transcript, or the rejection it names."""
        if "rejected" in reply:
            reason = reply["rejected"] if isinstance(reply["rejected"], str) else "unavailable"
            if reply.get("error"):
                logger.error("speech-to-text %s failed on a %s voice note: %s", where, mime, reply["error"])
            raise AudioRejected(reason, rejection_message(reason, self.max_seconds))
        # Only the fields this version knows: replicas of two versions meet during a rolling update.
        try:
            return Transcript(**{key: value for key, value in reply.items() if key in _TRANSCRIPT_FIELDS})
        except TypeError:
            logger.error("speech-to-text %s answered something that is no transcript: %r", where, sorted(reply))
            raise AudioRejected("unavailable", rejection_message("unavailable", self.max_seconds)) from None

    async def transcribe_by_service(self, data: bytes, mime: Optional[str] = None, *,
                                    expects: Optional[str] = None, titles: Sequence[str] = ()) -> Transcript:
        """Transcription by the speech service (see :mod:`accessibility.speech_service`)."""
        if len(data) > max_audio_bytes(self.max_seconds):  # the service would refuse the body
            raise AudioRejected("too_long", rejection_message("too_long", self.max_seconds))
        timeout = 60.0 + 2.0 * self.max_seconds  # as the worker's: only a hung service waits this
        try:
            reply = await self.service.transcribe(self._request(data, mime, expects, titles), timeout)
        except ServiceUnavailable as failure:
            logger.error("speech-to-text service unavailable (%s, %d bytes): %s", mime, len(data), failure)
            raise AudioRejected("unavailable", rejection_message("unavailable", self.max_seconds)) from None
        if reply.get("rejected") == "busy":
            logger.warning("speech-to-text service busy; a voice note declined")
        return self._transcript_from(reply, mime, "service")

    async def close(self) -> None:
        """Close the connections to the speech service (nothing to do without one)."""
        if self.service is not None:
            await self.service.close()

    async def transcribe(self, data: bytes, mime: Optional[str] = None, *, expects: Optional[str] = None,
                         titles: Sequence[str] = ()) -> Transcript:
        """Off the event loop: by the speech service (``service_url``), in the worker process, or
        (``worker: false``) in a thread here.

        More than ``max_queued`` voice notes waiting are declined with a kind "busy" message
        instead of queueing minutes of work (by the service's replica, with a service).
        """
        if self.service is not None:
            return await self.transcribe_by_service(data, mime, expects=expects, titles=tuple(titles))
        loop = asyncio.get_running_loop()
        call = functools.partial(self.transcribe_sync if not self.worker else self.transcribe_in_worker,
                                 data, mime, expects=expects, titles=tuple(titles))
        if not self.worker:
            return await loop.run_in_executor(_SPEECH_POOL, call)
        worker = self.speech_worker()
        if not worker.reserve():
            logger.warning("speech-to-text queue full (%d voice notes waiting); one declined", worker.max_queued)
            raise AudioRejected("busy", rejection_message("busy", self.max_seconds))
        try:
            return await loop.run_in_executor(_SPEECH_POOL, call)
        finally:
            worker.release()
