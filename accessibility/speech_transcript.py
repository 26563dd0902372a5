"""What a transcription gives back, and why an upload was refused: plain values shared by the
gateway's side of speech-to-text (:mod:`accessibility.speech_to_text`) and the process that
decodes (:mod:`accessibility.speech_recogniser`), so neither has to import the other's half.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Optional


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
