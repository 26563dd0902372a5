"""Voice notes for the benchmark, spoken by espeak-ng and encoded as Telegram/WhatsApp send them.

Why synthesised: the benchmark needs Indonesian speech of a known length on any machine,
without recordings in the repository. espeak-ng speaks, ffmpeg pads or trims to the exact
length and encodes OGG/Opus mono, the format of a voice note.
"""
from __future__ import annotations

import hashlib
import subprocess
import tempfile
from pathlib import Path
from typing import Optional

# espeak-ng says this in about 4.8 s at 165 words per minute; padded to exactly 5 s.
COMPLAINT_5S = "Jalan di depan rumah saya rusak parah, mohon segera diperbaiki."
COMPLAINT_5S_SPEED = 165


def voice_note(text: str, directory: Path, seconds: Optional[float] = None, speed: int = 150) -> Path:
    """An OGG/Opus voice note of ``text``; exactly ``seconds`` long when given (padded or cut)."""
    directory.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha1(f"{text}|{seconds}|{speed}".encode()).hexdigest()[:12]
    target = directory / f"voice-{key}.ogg"
    if target.exists():
        return target
    with tempfile.TemporaryDirectory() as scratch:
        wav = Path(scratch) / "speech.wav"
        subprocess.run(["espeak-ng", "-v", "id", "-s", str(speed), "-w", str(wav), text],
                       check=True, capture_output=True)
        command = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(wav)]
        if seconds is not None:
            command += ["-af", "apad", "-t", f"{seconds:.3f}"]
        command += ["-ac", "1", "-ar", "48000", "-c:a", "libopus", "-b:a", "24k", str(target)]
        subprocess.run(command, check=True, capture_output=True)
    return target


def duration_of(path: Path) -> float:
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
        check=True, capture_output=True, text=True)
    return float(result.stdout.strip())


def speech_seconds(text: str, speed: int = 150) -> float:
    """How long espeak-ng takes to say ``text`` (to check a padded note really holds speech)."""
    with tempfile.TemporaryDirectory() as scratch:
        wav = Path(scratch) / "speech.wav"
        subprocess.run(["espeak-ng", "-v", "id", "-s", str(speed), "-w", str(wav), text],
                       check=True, capture_output=True)
        return duration_of(wav)
