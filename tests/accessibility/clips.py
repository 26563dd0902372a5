"""Indonesian speech clips made in the test run with espeak-ng (nothing recorded is shipped)."""
from __future__ import annotations

import io
import re
import subprocess
import wave

from accessibility.audio import encode
from accessibility.speech_text import digit_words, spoken_digits

# Read slowly (130 wpm): espeak-ng's default pace is hard for Whisper base to follow.
SENTENCES = [
    "Jalan di depan rumah saya rusak parah sejak bulan lalu.",
    "Nomor laporan saya empat delapan dua satu, tujuh tujuh tiga nol.",
    "Lampu jalan di Kecamatan Coblong, Kota Bandung, mati sudah dua minggu.",
    "Sampah menumpuk di pasar dan belum diangkut.",
]


def speak_wav(text: str, rate: int = 130) -> bytes:
    return subprocess.run(
        ["espeak-ng", "-v", "id", "-s", str(rate), "--stdout", text], capture_output=True, check=True
    ).stdout


def speak(text: str, fmt: str = "ogg") -> bytes:
    """A clip in ``fmt``: ogg (Opus voice note), mp3, m4a, wav, or amr (AMR-NB via sox)."""
    wav = speak_wav(text)
    if fmt == "amr":  # ffmpeg has no AMR encoder here; sox does. espeak's streamed WAV header
        # has no length, so ffmpeg rewrites it first or sox misjudges the end.
        return subprocess.run(
            ["sox", "-t", "wav", "-", "-r", "8000", "-c", "1", "-t", "amr-nb", "-"], input=encode(wav, "wav"),
            capture_output=True, check=True,
        ).stdout
    return encode(wav, fmt)


def silent_wav(seconds: float) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as clip:
        clip.setnchannels(1)
        clip.setsampwidth(2)
        clip.setframerate(16000)
        clip.writeframes(b"\x00\x00" * int(16000 * seconds))
    return out.getvalue()


def words_for_wer(text: str) -> list[str]:
    text = spoken_digits(text.lower())
    text = re.sub(r"\d+", lambda match: " " + digit_words(match.group(0)) + " ", text)
    return re.sub(r"[^\w\s]", " ", text).split()


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edit distance in words, reference length): the parts of a word error rate."""
    ref, hyp = words_for_wer(reference), words_for_wer(hypothesis)
    previous = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, start=1):
        current = [i] + [0] * len(hyp)
        for j, hyp_word in enumerate(hyp, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref_word != hyp_word))
        previous = current
    return previous[-1], len(ref)
