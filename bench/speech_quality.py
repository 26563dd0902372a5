"""Speech-to-text quality on a folder of recordings (a script, not a test).

    .venv/bin/python -m bench.speech_quality DIR [--list FILE] [--windows 10,15,20,30] [--free]
    .venv/bin/python -m bench.speech_quality --make-demo DIR   # generated clips to try it on

DIR holds WAV (or any audio ffmpeg reads) files and a transcript list, ``transcripts.tsv`` unless
``--list`` says otherwise, in one of two shapes:

* ``file<TAB>text[<TAB>kind[<TAB>buttons]]``: ``kind`` is what the question expected (one of
  accessibility.speech_answers.KINDS, or ``sentence``); ``buttons`` the titles shown,
  separated by ``|``. Without a kind it is guessed from the text (a yes/no word, a number word,
  eight digits, else a sentence).
* Common Voice's ``validated.tsv`` (a header with ``path`` and ``sentence``): every clip a
  sentence. Common Voice Indonesian is CC0; the project ships no recordings.

Prints, for the settings in config.yml (accessibility.speech_to_text, one thread unless
SAPALAPOR_STT_THREADS says otherwise): sentence word error rate, runaway decodes, short-answer
accuracy by question kind (and how often a spoken "no" was taken as a numbered option),
digit strings exactly right, the real-time factor, and the reliability table of the calibrated
confidence. ``--windows`` repeats sentences and digit strings for each encoder window;
``--free`` also decodes every short answer as free text and matches it to the answers (the
way before issue 20) for comparison; ``--before`` runs the settings before issue 20 on the
same clips; ``--only short|sentences|digits`` measures one group; ``--set name=value``
changes one setting for the run; ``--pad SECONDS`` adds near-silence around every clip;
``--against name=value`` runs other settings on each clip
right after the configured ones, so that a busy machine slows both alike (CPU time per
clip inflates with the load average: compare settings only within one paired run);
``--plain`` does the same with plain faster-whisper (``WhisperModel.transcribe``, beam 5, no
prompt, 30 s window, faster-whisper's defaults) and prints both CPU-time RTFs, ours/plain and
WER; ``--profile`` prints where each clip's CPU went (encode, decodes and fallback
temperatures, scoring); ``--repeat N`` goes through the clips N times.
"""
from __future__ import annotations

import argparse
import copy
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from accessibility import speech_answers  # noqa: E402
from accessibility.speech_answers import NO, YES  # noqa: E402
from accessibility.speech_to_text import SpeechToText  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from tests.accessibility.clips import word_errors  # noqa: E402

SENTENCE = "sentence"
# accessibility.speech_to_text.DEFAULT_PROMPT until issue 20.
BEFORE_PROMPT = (
    "Laporan warga kepada pemerintah tentang jalan rusak, lampu jalan, sampah, air, listrik, "
    "di kecamatan, kota, kabupaten. Nomor laporan: empat, delapan, dua, satu, tujuh, tiga, nol."
)
DEFAULT_MENU = ("Biasa", "Rahasia", "Anonim")
BINS = (0.0, 0.25, 0.5, 0.75, 0.9, 1.0001)


@dataclass
class Clip:
    path: Path
    text: str
    kind: str
    titles: tuple


# --------------------------------------------------------------------------- the list
def guess_kind(text: str) -> str:
    said = speech_answers.normalise(text)
    if speech_answers.match(said, speech_answers.spellings("yes_no"), threshold=100) is not None:
        return "yes_no"
    digits = speech_answers.heard_digits(text)
    words = said.split()
    if len(digits) >= 4 and len(digits) >= len(words) - 3:
        return "tracking_number" if len(digits) == 8 else "number"
    if speech_answers.match(said, speech_answers.spellings("choice", DEFAULT_MENU), threshold=100) is not None:
        return "choice"
    return SENTENCE


def read_list(folder: Path, listing: Path) -> list[Clip]:
    clips = []
    with open(listing, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    if rows and "path" in rows[0] and "sentence" in rows[0]:
        header = rows[0]
        path_at, text_at = header.index("path"), header.index("sentence")
        return [Clip(folder / row[path_at], row[text_at], SENTENCE, ()) for row in rows[1:] if len(row) > text_at]
    for row in rows:
        if not row or row[0].startswith("#") or len(row) < 2:
            continue
        kind = row[2].strip() if len(row) > 2 and row[2].strip() else guess_kind(row[1])
        titles = tuple(title for title in row[3].split("|") if title) if len(row) > 3 else ()
        if kind == "choice" and not titles:
            titles = DEFAULT_MENU
        clips.append(Clip(folder / row[0], row[1], kind, titles))
    return clips


def expected_value(clip: Clip) -> Optional[str]:
    """The answer value a short-answer clip should produce."""
    if clip.kind == "rating":
        digits = speech_answers.heard_digits(clip.text)
        if digits:
            return digits
    found = speech_answers.match(clip.text, speech_answers.spellings(clip.kind, clip.titles), threshold=95)
    return found.value if found else None


def value_of(transcript, clip: Clip) -> Optional[str]:
    """What the recogniser's output means for the question (also for plain free decoding)."""
    if transcript.answer is not None:
        return transcript.answer
    if transcript.looping:
        return None
    found = speech_answers.match(transcript.text, speech_answers.spellings(clip.kind, clip.titles))
    return found.value if found else None


# --------------------------------------------------------------------------- measuring
class Tally:
    def __init__(self) -> None:
        self.errors = self.words = 0
        self.audio = self.elapsed = self.cpu = 0.0
        self.runaways = 0
        self.right = defaultdict(int)
        self.total = defaultdict(int)
        self.no_as_choice = 0
        self.digits_right = self.digits_total = 0
        self.reliability: list[tuple[float, bool]] = []
        # CPU seconds and audio seconds by group (sentences, short answers, digit strings).
        self.group_cpu: dict = defaultdict(float)
        self.group_audio: dict = defaultdict(float)
        self.clip_cpu: list = []  # (clip, CPU seconds, audio seconds)
        self.clip_fallbacks: dict = {}  # clip name -> decodes at a fallback temperature (counted runs)

    def time(self, transcript) -> None:
        self.audio += transcript.seconds
        self.elapsed += transcript.elapsed
        self.runaways += bool(transcript.looping)

    def rtf(self) -> float:
        return self.elapsed / self.audio if self.audio else 0.0


def padded_with_silence(data: bytes, seconds: float) -> bytes:
    """The clip as WAV with ``seconds`` of near-silence (a faint hiss) before and after it, as a
    voice note has while the thumb is on the button."""
    import io
    import wave

    import numpy as np

    from accessibility import audio

    samples = audio.decode(data).samples
    quiet = (np.random.default_rng(20).standard_normal(int(audio.SAMPLE_RATE * seconds)) * 3e-4).astype(np.float32)
    joined = np.concatenate([quiet, samples, quiet])
    out = io.BytesIO()
    with wave.open(out, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(audio.SAMPLE_RATE)
        handle.writeframes((np.clip(joined, -1, 1) * 32767).astype("<i2").tobytes())
    return out.getvalue()


def measure(stt: SpeechToText, clips: list[Clip], tally: Tally, *, free: bool = False, show: bool = False,
            kinds: Optional[set] = None, plain: bool = False, pad: float = 0.0) -> Tally:
    """``plain``: no question kind is passed (the recogniser before issue 20 had none)."""
    for clip in clips:
        if kinds is not None and clip.kind not in kinds:
            continue
        data = padded_with_silence(clip.path.read_bytes(), pad) if pad else clip.path.read_bytes()
        expects = None if clip.kind == SENTENCE or plain else clip.kind
        if free and clip.kind in speech_answers.SCORED_KINDS:
            stt.score_answers = False
        # The model keeps its last encoder output for a second decode of the same note; a paired
        # run of the same clip must not get it for free.
        forget = getattr(stt.model().encode, "forget", None)
        if forget is not None:
            forget()
        cpu = time.process_time()
        try:
            transcript = stt.transcribe_sync(data, None, expects=expects, titles=clip.titles)
        finally:
            stt.score_answers = True
        cpu = time.process_time() - cpu
        record(clip, transcript, cpu, tally, show)
    return tally


def record(clip: Clip, transcript, cpu: float, tally: Tally, show: bool = False) -> None:
    """One clip's transcript and CPU seconds into ``tally`` (WER, answers, digits, RTF)."""
    tally.cpu += cpu
    tally.time(transcript)
    group = group_of(clip.kind)
    tally.group_cpu[group] += cpu
    tally.group_audio[group] += transcript.seconds
    tally.clip_cpu.append((clip, cpu, transcript.seconds))
    verdict = ""
    if clip.kind in (SENTENCE, "free_text", "place", "date"):
        errors, words = word_errors(clip.text, "" if transcript.looping else transcript.text)
        tally.errors, tally.words = tally.errors + errors, tally.words + words
        verdict = f"WER {errors / max(words, 1):.2f}"
    elif clip.kind in speech_answers.DIGIT_KINDS:
        wanted = speech_answers.heard_digits(clip.text)
        got = speech_answers.heard_digits(transcript.text)
        tally.digits_total += 1
        tally.digits_right += got == wanted
        verdict = "right" if got == wanted else f"WRONG ({got})"
    else:
        wanted, got = expected_value(clip), value_of(transcript, clip)
        ok = wanted is not None and got == wanted
        tally.total[clip.kind] += 1
        tally.right[clip.kind] += ok
        if wanted == NO and speech_answers.option_index(got) is not None:
            tally.no_as_choice += 1
        if transcript.answer is not None:
            tally.reliability.append((transcript.confidence, ok))
        verdict = "right" if ok else f"WRONG ({got}, wanted {wanted})"
    if show:
        print(f"  {clip.path.name:34s} {clip.kind:15s} conf {transcript.confidence:.2f} "
              f"RTF {transcript.elapsed / transcript.seconds:.2f} CPU {cpu / transcript.seconds:.2f} "
              f"{verdict}: {transcript.text[:70]}")


# --------------------------------------------------------------------------- plain faster-whisper
@dataclass
class PlainTranscript:
    """What plain faster-whisper gives, shaped like a Transcript for :func:`record`."""

    text: str
    seconds: float
    elapsed: float
    confidence: float = 0.0
    answer: Optional[str] = None
    looping: bool = False  # plain faster-whisper has no loop check: its text is passed on as said
    margin: Optional[float] = None


class PlainWhisper:
    """faster-whisper as it comes (the issue's baseline, RTF 0.23 on human recordings):
    ``WhisperModel.transcribe`` with beam 5, best_of 5, temperatures 0-1.0 step 0.2 with
    Whisper's fallback rule (compression ratio > 2.4 or average log-probability < -1.0; a
    no-speech probability > 0.6 with a low log-probability is silence), no initial prompt, the
    full 30 s window, timestamps decoded (``without_timestamps=False``, faster-whisper's
    default), ``condition_on_previous_text`` as default; int8, one CPU thread, its own model
    instance (ours has a shortened encoder window). Only the language is given (``id``), as our
    recogniser does: auto-detection would cost an extra encode and answered Indonesian in Thai.
    The note is decoded to 16 kHz samples by the same :func:`accessibility.audio.decode` as ours
    (ffmpeg, a child process, so outside both CPU times)."""

    def __init__(self, stt: SpeechToText) -> None:
        from faster_whisper import WhisperModel

        from accessibility.speech_recogniser import resolve_model

        self.language = stt.language
        self.model = WhisperModel(resolve_model(stt.model_setting, stt.data_dir), device="cpu",
                                  compute_type="int8", cpu_threads=stt.cpu_threads or 0)

    def transcribe(self, data: bytes) -> PlainTranscript:
        import ctranslate2

        from accessibility import audio
        from accessibility.speech_text import spoken_digits

        decoded = audio.decode(data)
        started = time.perf_counter()
        ctranslate2.set_random_seed(20)  # the fallback temperatures sample; seeded as ours is
        segments, _info = self.model.transcribe(decoded.samples, language=self.language, beam_size=5)
        text = " ".join(segment.text.strip() for segment in segments).strip()
        # Figures as the dialogue wants them (ours does the same to free text).
        return PlainTranscript(text=spoken_digits(text), seconds=decoded.seconds,
                               elapsed=time.perf_counter() - started)


def measure_plain(plain: PlainWhisper, clips: list[Clip], tally: Tally, *, show: bool = False,
                  kinds: Optional[set] = None, pad: float = 0.0) -> Tally:
    for clip in clips:
        if kinds is not None and clip.kind not in kinds:
            continue
        data = padded_with_silence(clip.path.read_bytes(), pad) if pad else clip.path.read_bytes()
        cpu = time.process_time()
        transcript = plain.transcribe(data)
        cpu = time.process_time() - cpu
        record(clip, transcript, cpu, tally, show)
        # Not refused (plain faster-whisper has no loop check, the text counts in its WER), but counted.
        tally.runaways += speech_answers.looks_like_loop(transcript.text)
    return tally


def compare_with_plain(mine: Tally, plain: Tally) -> None:
    """Ours against plain faster-whisper, group by group, from one interleaved run."""
    print("ours against plain faster-whisper (same clips, interleaved clip by clip):")
    print("    group            CPU-time RTF ours   plain   ours/plain   ours WER/right   plain WER/right")
    for group in ("sentences", "short answers", "digit strings"):
        if not mine.group_audio.get(group):
            continue
        ours_rtf = mine.group_cpu[group] / mine.group_audio[group]
        plain_rtf = plain.group_cpu[group] / plain.group_audio[group]
        print(f"    {group:16s} {ours_rtf:17.3f} {plain_rtf:7.3f} {ours_rtf / plain_rtf:12.3f}   "
              f"{_quality(mine, group):>14s}   {_quality(plain, group):>15s}")
    if mine.group_audio.get("sentences"):
        ratio = (mine.group_cpu["sentences"] / mine.group_audio["sentences"]) / (
            plain.group_cpu["sentences"] / plain.group_audio["sentences"])
        print(f"    sentences: ours/plain {ratio:.3f}; at most {0.25 / 0.23:.3f} (0.25 / 0.23) means ours "
              f"would hold RTF <= 0.25 where plain measured 0.23 (issue 20's human recordings)")
    print(f"    runaways: ours {mine.runaways} (refused, asked again), plain {plain.runaways} (passed on as said)")
    # espeak-ng sends plain faster-whisper into long fallback loops (no token cap) far more often
    # than human voices do; the clips that neither side decoded again are the fairer comparison.
    for group in ("sentences", "short answers", "digit strings"):
        # Summed over --repeat: a clip's CPU and audio are in clip_cpu once per pass.
        ours_sum, plain_sum = _sums(mine, group), _sums(plain, group)
        if not ours_sum or not plain_sum:
            continue
        ratios = sorted((ours_sum[name][0] / ours_sum[name][1]) / (plain_sum[name][0] / plain_sum[name][1])
                        for name in ours_sum if name in plain_sum)
        calm = [name for name in ours_sum if name in plain_sum
                and not mine.clip_fallbacks.get(name) and not plain.clip_fallbacks.get(name)]
        line = f"    {group}: per-clip ours/plain median {ratios[len(ratios) // 2]:.3f}"
        if calm and mine.clip_fallbacks:
            ours_cpu = sum(ours_sum[name][0] for name in calm)
            plain_cpu = sum(plain_sum[name][0] for name in calm)
            audio_seconds = sum(ours_sum[name][1] for name in calm)
            line += (f"; {len(calm)} clips with no fallback decode on either side: ours {ours_cpu / audio_seconds:.3f}, "
                     f"plain {plain_cpu / audio_seconds:.3f}, ours/plain {ours_cpu / plain_cpu:.3f}")
        print(line)


def _sums(tally: Tally, group: str) -> dict:
    sums: dict = {}
    for clip, cpu, seconds in tally.clip_cpu:
        if group_of(clip.kind) == group:
            total = sums.setdefault(str(clip.path), [0.0, 0.0])
            total[0] += cpu
            total[1] += seconds
    return sums


def _quality(tally: Tally, group: str) -> str:
    if group == "sentences":
        return f"WER {tally.errors / tally.words:.3f}" if tally.words else "-"
    if group == "digit strings":
        return f"{tally.digits_right}/{tally.digits_total}"
    return f"{sum(tally.right.values())}/{sum(tally.total.values())}"


# --------------------------------------------------------------------------- profile
class _ProfiledModel:
    """Stands in for a WhisperModel's CTranslate2 model and counts CPU seconds per call kind."""

    def __init__(self, inner, counts: dict) -> None:
        self._inner, self._counts = inner, counts

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def _timed(self, kind: str, call, *args, **kwargs):
        started = time.process_time()
        try:
            return call(*args, **kwargs)
        finally:
            self._counts[kind + " s"] += time.process_time() - started
            self._counts[kind + " calls"] += 1

    def encode(self, features, *args, **kwargs):
        self._counts["encoded frames"] += int(features.shape[-1])
        return self._timed("encode", self._inner.encode, features, *args, **kwargs)

    def generate(self, encoded, prompts, *args, **kwargs):
        result = self._timed("generate", self._inner.generate, encoded, prompts, *args, **kwargs)
        kind = "sampled" if kwargs.get("sampling_temperature") else "beam/greedy"
        self._counts[f"generate {kind}"] += 1
        self._counts["generated tokens"] += sum(len(sequence) for item in result for sequence in item.sequences_ids[:1])
        return result

    def align(self, *args, **kwargs):
        return self._timed("align", self._inner.align, *args, **kwargs)


def profiled(whisper_model) -> dict:
    """Wrap ``whisper_model.model`` (once) and return its counters (reset them between clips)."""
    if not isinstance(whisper_model.model, _ProfiledModel):
        whisper_model.model = _ProfiledModel(whisper_model.model, defaultdict(float))
    return whisper_model.model._counts


def print_profile(label: str, clip: Clip, counts: dict, cpu: float, seconds: float) -> None:
    other = cpu - counts.get("encode s", 0.0) - counts.get("generate s", 0.0) - counts.get("align s", 0.0)
    print(f"    {label:5s} {clip.path.name:26s} {seconds:4.1f} s audio, CPU {cpu:5.2f} s (RTF {cpu / seconds:.2f}): "
          f"encode {counts.get('encode s', 0):.2f} s x{int(counts.get('encode calls', 0))} "
          f"({int(counts.get('encoded frames', 0))} frames), "
          f"decode {counts.get('generate s', 0):.2f} s x{int(counts.get('generate calls', 0))} "
          f"({int(counts.get('generate sampled', 0))} at a fallback temperature, "
          f"{int(counts.get('generated tokens', 0))} tokens), align {counts.get('align s', 0):.2f} s, "
          f"other {other:.2f} s")


def group_of(kind: str) -> str:
    if kind in speech_answers.SCORED_KINDS:
        return "short answers"
    if kind in speech_answers.DIGIT_KINDS:
        return "digit strings"
    return "sentences"


def report(label: str, tally: Tally) -> None:
    print(f"{label}:")
    if tally.words:
        print(f"  sentence WER {tally.errors / tally.words:.3f} ({tally.errors}/{tally.words} words)")
    print(f"  runaway (looping) decodes: {tally.runaways}")
    for kind in sorted(tally.total):
        print(f"  short answers, {kind}: {tally.right[kind]}/{tally.total[kind]} right")
    if tally.total:
        print(f"  short answers, all: {sum(tally.right.values())}/{sum(tally.total.values())}; "
              f"a spoken 'no' taken as a numbered option: {tally.no_as_choice}")
    if tally.digits_total:
        print(f"  digit strings exactly right: {tally.digits_right}/{tally.digits_total}")
    # CPU seconds of this process per second of audio: what one thread costs on an idle core,
    # whatever else the machine is doing (wall-clock RTF grows with the load average).
    cpu_rtf = tally.cpu / tally.audio if tally.audio else 0.0
    print(f"  real-time factor {tally.rtf():.3f} wall clock, {cpu_rtf:.3f} CPU time "
          f"({tally.elapsed:.1f} s wall, {tally.cpu:.1f} s CPU for {tally.audio:.1f} s of audio)")
    for group in sorted(tally.group_audio):
        print(f"    CPU-time RTF, {group}: {tally.group_cpu[group] / tally.group_audio[group]:.3f} "
              f"({tally.group_cpu[group]:.1f} s CPU for {tally.group_audio[group]:.1f} s of audio)")
    if tally.reliability:
        print("  reliability of the calibrated confidence (scored answers):")
        print("    confidence    answers  right  accuracy")
        for low, high in zip(BINS, BINS[1:]):
            inside = [ok for confidence, ok in tally.reliability if low <= confidence < high]
            if inside:
                print(f"    {low:.2f}-{min(high, 1.0):.2f}   {len(inside):7d}  {sum(inside):5d}  {sum(inside) / len(inside):8.2f}")
        threshold = 0.25
        wrong = [confidence for confidence, ok in tally.reliability if not ok]
        right = [confidence for confidence, ok in tally.reliability if ok]
        print(f"    wrong answers below {threshold}: {sum(c < threshold for c in wrong)}/{len(wrong)}; "
              f"right answers below it (read back needlessly): {sum(c < threshold for c in right)}/{len(right)}")


# --------------------------------------------------------------------------- demo folder
DEMO_SENTENCES = [
    "Jalan di depan rumah saya rusak parah sejak bulan lalu.",
    "Lampu jalan di Kecamatan Coblong, Kota Bandung, mati sudah dua minggu.",
    "Sampah menumpuk di pasar dan belum diangkut.",
    "Harga tiketnya satu juta tujuh ratus lima puluh ribu rupiah.",
    "Air dari perusahaan daerah air minum tidak mengalir selama tiga hari.",
    "Kenapa petugas tidak masuk kantor hari ini?",
]
DEMO_ANSWERS = [
    ("ya", "yes_no", ()), ("iya", "yes_no", ()), ("tidak", "yes_no", ()), ("bukan", "yes_no", ()),
    ("betul", "yes_no", ()), ("ya sudah benar", "yes_no", ()), ("salah", "yes_no", ()),
    ("satu", "choice", DEFAULT_MENU), ("dua", "choice", DEFAULT_MENU), ("tiga", "choice", DEFAULT_MENU),
    ("nomor dua", "choice", DEFAULT_MENU), ("rahasia", "choice", DEFAULT_MENU), ("anonim", "choice", DEFAULT_MENU),
    ("tidak", "choice", DEFAULT_MENU), ("empat", "rating", ()), ("lima", "rating", ()),
]
DEMO_DIGITS = ["6260-1811", "6908-3016", "1437-1325", "7065-2219"]  # check digits hold
# sox effects after espeak-ng: a slower and a faster voice, a phone line (band 300-3400 Hz,
# some noise, 8 kHz), and AMR-NB at 4.75 kbit/s (what a feature phone sends).
VARIANTS = {
    "clean": [],
    "fast-noisy-phone": ["speed", "1.1", "sinc", "300-3400", "rate", "8000"],
    "slow-amr": ["speed", "0.9", "rate", "8000"],
}


def _spoken(text: str) -> str:
    from accessibility.speech_text import digit_words, speakable

    if any(char.isdigit() for char in text) and "-" in text and len(text) == 9:
        left, right = text.split("-")
        return f"Nomor laporan saya {digit_words(left)}, {digit_words(right)}."
    return speakable(text) if any(char.isdigit() for char in text) else text


def make_demo(folder: Path) -> None:
    """espeak-ng speech, three sox variants each, and transcripts.tsv (about 80 clips)."""
    if not shutil.which("espeak-ng") or not shutil.which("sox"):
        raise SystemExit("the demo folder needs espeak-ng and sox")
    folder.mkdir(parents=True, exist_ok=True)
    items = [(text, SENTENCE, ()) for text in DEMO_SENTENCES] + DEMO_ANSWERS + [
        (number, "tracking_number", ()) for number in DEMO_DIGITS]
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for index, (text, kind, titles) in enumerate(items):
            raw = Path(scratch) / f"{index}.wav"
            subprocess.run(["espeak-ng", "-v", "id", "-s", "140", "-w", str(raw), _spoken(text)], check=True,
                           capture_output=True)
            for variant, effects in VARIANTS.items():
                name = f"{index:02d}-{variant}.wav"
                target = folder / name
                if variant == "fast-noisy-phone":
                    noisy = Path(scratch) / f"{index}-noise.wav"
                    subprocess.run(["sox", str(raw), str(noisy), *effects], check=True, capture_output=True)
                    # Mix in quiet white noise of the same length (about 25 dB below the speech).
                    noise = Path(scratch) / f"{index}-white.wav"
                    subprocess.run(["sox", str(noisy), str(noise), "synth", "whitenoise", "vol", "0.02"], check=True,
                                   capture_output=True)
                    subprocess.run(["sox", "-m", str(noisy), str(noise), "-e", "u-law", str(target)], check=True,
                                   capture_output=True)
                elif variant == "slow-amr":
                    slowed = Path(scratch) / f"{index}-slow.wav"
                    amr = Path(scratch) / f"{index}.amr"
                    subprocess.run(["sox", str(raw), "-c", "1", str(slowed), *effects], check=True, capture_output=True)
                    subprocess.run(["sox", str(slowed), "-C", "0", "-t", "amr-nb", str(amr)], check=True,
                                   capture_output=True)
                    subprocess.run(["sox", str(amr), "-e", "signed-integer", "-b", "16", str(target)], check=True,
                                   capture_output=True)
                else:
                    shutil.copyfile(raw, target)
                reference = _spoken(text) if kind == SENTENCE else text
                rows.append([name, reference, kind, "|".join(titles)])
    with open(folder / "transcripts.tsv", "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, delimiter="\t", lineterminator="\n").writerows(rows)
    print(f"{len(rows)} clips in {folder} (transcripts.tsv)")


def apply_setting(stt: SpeechToText, assignment: str) -> None:
    """``name=value`` onto the recogniser's settings, typed like the current value."""
    name, _, value = assignment.partition("=")
    name = name.strip()
    if not hasattr(stt, name):
        raise SystemExit(f"unknown speech-to-text setting {name!r}")
    current = getattr(stt, name)
    if value.lower() in ("none", "null", ""):
        parsed = None
    elif isinstance(current, tuple):
        parsed = tuple(float(part) for part in value.split(","))
    elif isinstance(current, bool):
        parsed = value.lower() in ("1", "true", "yes", "on")
    elif isinstance(current, int):
        parsed = int(value)
    elif isinstance(current, float) or current is None:
        parsed = float(value)
    else:
        parsed = value
    setattr(stt, name, parsed)


# --------------------------------------------------------------------------- main
def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--list", type=Path, help="transcript list (default DIR/transcripts.tsv)")
    parser.add_argument("--make-demo", action="store_true", help="write generated clips into DIR and stop")
    parser.add_argument("--windows", default="", help="also compare encoder windows, e.g. 10,15,20,30")
    parser.add_argument("--free", action="store_true", help="also decode short answers as free text")
    parser.add_argument("--before", action="store_true",
                        help="also run the settings before issue 20 (digit-list prompt, temperature 0 only)")
    parser.add_argument("--show", action="store_true", help="one line per clip")
    parser.add_argument("--only", choices=("short", "sentences", "digits"), help="measure one group of clips")
    parser.add_argument("--against", action="append", default=[], metavar="NAME=VALUE",
                        help="also run these settings on each clip right after the configured ones "
                             "(paired, so a busy machine slows both alike); repeatable")
    parser.add_argument("--plain", action="store_true",
                        help="also run plain faster-whisper (beam 5, no prompt, 30 s window, timestamps) on each "
                             "clip right after ours, and print both CPU-time RTFs, their ratio and WER")
    parser.add_argument("--profile", action="store_true",
                        help="per clip: CPU in encoding, decoding (and fallback temperatures) and scoring, "
                             "ours and (with --plain) plain faster-whisper's")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="go through the clips N times (more samples for a paired comparison)")
    parser.add_argument("--pad", type=float, default=0.0, metavar="SECONDS",
                        help="add this much near-silence before and after every clip (a voice note's button time)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="override one speech-to-text setting for this run (e.g. beam_size=1, "
                             "answer_prune_nats=none, temperatures=0,0.4,0.8); repeatable")
    arguments = parser.parse_args(argv)
    if arguments.make_demo:
        make_demo(arguments.folder)
        return 0
    clips = read_list(arguments.folder, arguments.list or arguments.folder / "transcripts.tsv")
    settings = load_settings()
    stt = SpeechToText.from_settings(settings)
    stt.worker = False
    for assignment in arguments.set:
        apply_setting(stt, assignment)
    started = time.perf_counter()
    stt.model()
    print(f"{len(clips)} clips; Whisper base int8, beam {stt.beam_size}, cpu_threads {stt.cpu_threads}, "
          f"settings overridden: {arguments.set or 'none'}, "
          f"window >= {stt.window_seconds:g} s, temperatures {stt.temperatures}; model ready in "
          f"{time.perf_counter() - started:.1f} s; load average {os.getloadavg()[0]:.1f}")
    groups = {"short": set(speech_answers.SCORED_KINDS), "digits": set(speech_answers.DIGIT_KINDS),
              "sentences": {SENTENCE, "free_text", "place", "date"}}
    only = groups.get(arguments.only) if arguments.only else None
    other = None
    if arguments.against:
        other = copy.copy(stt)
        for assignment in arguments.against:
            apply_setting(other, assignment)
    plain = PlainWhisper(stt) if arguments.plain else None
    if other is not None or plain is not None or arguments.profile:
        mine, theirs, plains = Tally(), Tally(), Tally()
        # Counted whenever plain runs (the comparison without fallbacks needs them); printed with --profile.
        counts = profiled(stt.model()) if arguments.profile or plain is not None else None
        plain_counts = profiled(plain.model) if plain is not None else None
        if arguments.profile:
            print("profile (CPU seconds of this process per clip; 'other' is feature extraction, "
                  "trimming and Python):")
        for _ in range(max(1, arguments.repeat)):
            for clip in clips:  # clip by clip (ours, other, plain), so all meet the same load
                if only is not None and clip.kind not in only:
                    continue
                for tally, run, profile_counts, label in ((mine, "ours", counts, "ours"),
                                                          (theirs, "other", counts, "other"),
                                                          (plains, "plain", plain_counts, "plain")):
                    if (run == "other" and other is None) or (run == "plain" and plain is None):
                        continue
                    if profile_counts is not None:
                        profile_counts.clear()
                    if run == "plain":
                        measure_plain(plain, [clip], tally, show=arguments.show, pad=arguments.pad)
                    else:
                        measure(stt if run == "ours" else other, [clip], tally, show=arguments.show,
                                pad=arguments.pad)
                    if profile_counts is not None:
                        _, cpu, seconds = tally.clip_cpu[-1]
                        key = str(clip.path)
                        tally.clip_fallbacks[key] = (tally.clip_fallbacks.get(key, 0)
                                                     + int(profile_counts.get("generate sampled", 0)))
                        if arguments.profile:
                            print_profile(label, clip, profile_counts, cpu, seconds)
        paired = other is not None or plain is not None
        report("configured settings (paired)" if paired else "configured settings", mine)
        if other is not None:
            report(f"against {', '.join(arguments.against)} (paired)", theirs)
        if plain is not None:
            report("plain faster-whisper (paired: beam 5, best_of 5, no prompt, 30 s window, timestamps)", plains)
            compare_with_plain(mine, plains)
            if other is not None:
                print("  (the other settings against plain:)")
                compare_with_plain(theirs, plains)
    else:
        report("configured settings", measure(stt, clips, Tally(), show=arguments.show, kinds=only, pad=arguments.pad))
    if arguments.free:
        report("short answers decoded as free text and matched (before issue 20)",
               measure(stt, clips, Tally(), free=True, kinds=set(speech_answers.SCORED_KINDS)))
    if arguments.before:
        before = SpeechToText(stt.model_setting, data_dir=stt.data_dir, worker=False, cpu_threads=stt.cpu_threads,
                              window_seconds=stt.window_seconds, initial_prompt=BEFORE_PROMPT, temperatures=(0.0,),
                              compression_ratio_threshold=None, log_prob_threshold=None, score_answers=False)
        report("settings before issue 20 (digit-list prompt, temperature 0 only, no scoring)",
               measure(before, clips, Tally(), kinds=only, plain=True))
    for window in [float(value) for value in arguments.windows.split(",") if value.strip()]:
        trial = SpeechToText(stt.model_setting, data_dir=stt.data_dir, worker=False, window_seconds=window,
                             cpu_threads=stt.cpu_threads, beam_size=stt.beam_size, temperatures=stt.temperatures)
        trial.model()
        kinds = {SENTENCE, "free_text", "place", "date", *speech_answers.DIGIT_KINDS}
        report(f"window {window:g} s (sentences and digit strings)", measure(trial, clips, Tally(), kinds=kinds))
    print(f"load average at the end: {' '.join(f'{value:.1f}' for value in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
