"""Spoken answers for Chromium's fake microphone: espeak-ng's Indonesian voice as 16-bit WAV.

Chromium reads the file named by ``--use-file-for-fake-audio-capture`` each time a page opens
the microphone (``%noloop``: played once, then silence), and the page opens it anew for every
recording, so a test speaks its next answer by rewriting the file before pressing the button.
"""
from __future__ import annotations

import io
import os
import wave
from pathlib import Path

from tests.accessibility.clips import silent_wav, speak


def _pcm(wav: bytes):
    with wave.open(io.BytesIO(wav)) as clip:
        return clip.getparams(), clip.readframes(clip.getnframes())


def padded_clip(text: str, lead: float = 0.3, tail: float = 0.8) -> bytes:
    """``text`` spoken, with a little silence before and after (as a person pauses)."""
    params, speech = _pcm(speak(text, "wav"))
    rate, width = params.framerate, params.sampwidth
    silence = lambda seconds: b"\x00" * width * int(rate * seconds)  # noqa: E731
    out = io.BytesIO()
    with wave.open(out, "wb") as clip:
        clip.setnchannels(1)
        clip.setsampwidth(width)
        clip.setframerate(rate)
        clip.writeframes(silence(lead) + speech + silence(tail))
    return out.getvalue()


def seconds_of(wav: bytes) -> float:
    params, frames = _pcm(wav)
    return len(frames) / (params.sampwidth * params.framerate)


def speak_into(microphone: Path, text: str) -> float:
    """Put ``text`` in the fake microphone; returns how long it plays."""
    clip = padded_clip(text)
    scratch = microphone.with_suffix(".tmp")
    scratch.write_bytes(clip)
    os.replace(scratch, microphone)
    return seconds_of(clip)


def silence_into(microphone: Path) -> None:
    microphone.write_bytes(silent_wav(1.0))
