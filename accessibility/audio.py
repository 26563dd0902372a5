"""Audio in and out through the system ffmpeg: whatever a phone sends -> 16 kHz mono samples,
and any synthesised speech -> an OGG/Opus voice note.

Why ffmpeg in a subprocess: one tool decodes every format the channels deliver (Telegram and
WhatsApp OGG/Opus, MP3, AMR from feature phones, M4A from iPhones, WAV), it runs outside the
Python process (a malformed file cannot crash the server), and its time is bounded.
Input goes through a temporary file, not a pipe: M4A keeps its index at the end and cannot be
decoded from a stream.
"""
from __future__ import annotations

import io
import json
import logging
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
# Longest any ffmpeg call may take; a two-minute voice note decodes in well under a second.
FFMPEG_TIMEOUT_SECONDS = 60
# Peak amplitude below this (on a -1..1 scale) is treated as silence: nothing was said.
SILENCE_PEAK = 0.01
_NICE = shutil.which("nice")

# Signatures of the formats we accept, to tell a damaged voice note from a file that is not audio.
_AUDIO_MAGIC = (b"OggS", b"ID3", b"#!AMR", b"RIFF", b"fLaC", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2", b"\xff\xf1", b"\xff\xf9")


class AudioProblem(Exception):
    """Why an upload cannot be transcribed: ``kind`` is empty, too_long, corrupt or not_audio."""

    def __init__(self, kind: str, detail: str = "", seconds: Optional[float] = None) -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.detail = detail
        self.seconds = seconds


@dataclass(frozen=True)
class Decoded:
    samples: np.ndarray  # float32, mono, 16 kHz
    seconds: float


def looks_like_audio(data: bytes, mime: Optional[str]) -> bool:
    """A known audio signature, or an audio/video MIME type from the provider."""
    head = data[:12]
    if any(head.startswith(magic) for magic in _AUDIO_MAGIC) or head[4:8] == b"ftyp":
        return True
    return bool(mime) and mime.split(";")[0].strip().lower().split("/")[0] in ("audio", "video")


def _run(arguments: list[str], stdin: Optional[bytes] = None, nice: int = 0) -> subprocess.CompletedProcess:
    """``nice`` > 0 runs the tool at lower CPU priority (through nice(1), never preexec_fn,
    which is unsafe in a threaded server), so it yields the CPU to the webhooks."""
    if nice > 0 and _NICE is not None:
        arguments = [_NICE, "-n", str(nice), *arguments]
    return subprocess.run(
        arguments, input=stdin, capture_output=True, timeout=FFMPEG_TIMEOUT_SECONDS, check=False
    )


def _has_audio_stream(path: Path) -> Optional[bool]:
    """True/False from ffprobe; None when ffprobe cannot read the file at all."""
    probe = _run(["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", str(path)])
    if probe.returncode != 0:
        return None
    try:
        streams = json.loads(probe.stdout or b"{}").get("streams", [])
    except ValueError:
        return None
    return any(stream.get("codec_type") == "audio" for stream in streams)


def decode_ogg_in_process(data: bytes, max_seconds: float) -> Optional[np.ndarray]:
    """OGG voice notes (Telegram, WhatsApp) decoded with PyAV in this process, or None.

    Why: starting ffmpeg costs 0.2-0.4 s on a busy machine, a fifth of a voice turn; PyAV
    (faster-whisper's own decoder) needs a few milliseconds. Only for the speech worker
    process: a malformed file that crashed the decoder there would cost a worker restart, not
    the server. None (use ffmpeg) for anything that is not a cleanly decoded OGG stream.
    """
    if not data.startswith(b"OggS"):
        return None
    try:
        import av

        chunks, limit = [], int((max_seconds + 1) * SAMPLE_RATE)
        with av.open(io.BytesIO(data), mode="r", format="ogg") as container:
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
            total = 0
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
                    total += chunks[-1].size
                if total > limit:
                    break
            else:
                chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(None))
        samples = np.concatenate(chunks).astype(np.float32, copy=False) if chunks else np.zeros(0, np.float32)
        return samples[:limit]
    except Exception as error:  # ffmpeg decides what is wrong with it
        logger.info("in-process OGG decode failed (%s); trying ffmpeg", type(error).__name__)
        return None


def decode(data: bytes, mime: Optional[str] = None, max_seconds: float = 120.0, *,
           in_process: bool = False) -> Decoded:
    """16 kHz mono float32 samples of an upload, or :class:`AudioProblem` saying why not.

    Decoding stops just past ``max_seconds``, so an hour-long file costs no more than a long
    voice note before it is refused. ``in_process``: try :func:`decode_ogg_in_process` first.
    """
    if not data:
        raise AudioProblem("empty", "no bytes")
    samples = decode_ogg_in_process(data, max_seconds) if in_process else None
    if samples is None or samples.size == 0:
        samples = _decode_with_ffmpeg(data, mime, max_seconds)
    seconds = samples.size / SAMPLE_RATE
    if seconds > max_seconds:
        raise AudioProblem("too_long", f"longer than {max_seconds:.0f} s", seconds=seconds)
    if samples.size == 0 or float(np.max(np.abs(samples))) < SILENCE_PEAK:
        raise AudioProblem("empty", "no sound", seconds=seconds)
    return Decoded(samples=samples.copy(), seconds=seconds)


# Quieter than this below the loudest 20 ms of a note is not speech (leading and trailing
# silence of a voice note: the thumb on the button before and after speaking).
TRIM_BELOW_PEAK_DB = 35.0
TRIM_FRAME_SECONDS = 0.02
# Whisper wants some quiet before the first word: with 0.2 s kept, generated one-word answers
# flipped both ways (choice 13 -> 9 of 21 right, yes/no 17 -> 20); half a second leaves every
# generated clip as it was and still cuts the long pauses of a real voice note.
TRIM_KEEP_SECONDS = 0.5


def trim_silence(samples: np.ndarray, below_peak_db: float = TRIM_BELOW_PEAK_DB,
                 keep_seconds: float = TRIM_KEEP_SECONDS) -> np.ndarray:
    """The samples from just before the first sound to just after the last one.

    Why: the recogniser's cost grows with what the encoder reads, and a short answer's window
    is fitted to its speech; a second of silence on either side of "tidak" tripled it. Quiet
    is judged against the note's own loudest frame, so a noisy line (noise within 35 dB of
    the speech) is left whole rather than cut into. ``keep_seconds`` of quiet stay on each side.
    """
    frame = int(SAMPLE_RATE * TRIM_FRAME_SECONDS)
    count = samples.size // frame
    if count < 3:
        return samples
    energy = np.sqrt(np.mean(np.square(samples[:count * frame].reshape(count, frame), dtype=np.float64), axis=1))
    loud = np.flatnonzero(energy > max(energy.max() * 10 ** (-below_peak_db / 20), 1e-4))
    if loud.size == 0:
        return samples
    keep = int(SAMPLE_RATE * keep_seconds)
    start = max(0, int(loud[0]) * frame - keep)
    end = min(samples.size, (int(loud[-1]) + 1) * frame + keep)
    return samples[start:end]


def _decode_with_ffmpeg(data: bytes, mime: Optional[str], max_seconds: float) -> np.ndarray:
    with tempfile.TemporaryDirectory(prefix="sapalapor-audio-") as folder:
        path = Path(folder) / "upload"
        path.write_bytes(data)
        result = _run([
            "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-i", str(path),
            "-t", f"{max_seconds + 1:.0f}", "-vn", "-ac", "1", "-ar", str(SAMPLE_RATE),
            "-f", "f32le", "-acodec", "pcm_f32le", "pipe:1",
        ])
        samples = np.frombuffer(result.stdout, dtype=np.float32)
        if result.returncode != 0 and samples.size == 0:
            # Only now ask ffprobe why: a usable note costs one process start, not two (each
            # one is 0.1-0.3 s on a busy machine, a real share of a voice turn).
            has_audio = _has_audio_stream(path)
            if has_audio is False or (has_audio is None and not looks_like_audio(data, mime)):
                raise AudioProblem("not_audio", f"no audio stream (mime {mime!r})")
            if has_audio is None:
                raise AudioProblem("corrupt", f"ffprobe could not read it (mime {mime!r})")
            raise AudioProblem("corrupt", result.stderr.decode("utf-8", "replace")[-300:].strip())
    return samples


def to_ogg_opus(audio: bytes, tempo: float = 1.0, nice: int = 0) -> bytes:
    """A mono OGG/Opus voice note (Telegram sendVoice, WhatsApp) from WAV or MP3 speech.

    ``tempo`` < 1 slows speech down without lowering the pitch (ffmpeg atempo, 0.5-2.0).
    ``nice``: see :func:`_run`.
    """
    filters = ["-filter:a", f"atempo={tempo:.2f}"] if abs(tempo - 1.0) > 1e-3 else []
    result = _run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-i", "pipe:0", *filters,
         "-ac", "1", "-ar", "48000", "-c:a", "libopus", "-b:a", "32k", "-application", "voip",
         "-f", "ogg", "pipe:1"],
        stdin=audio, nice=nice,
    )
    if result.returncode != 0 or not result.stdout:
        raise RuntimeError(f"ffmpeg could not encode OGG/Opus: {result.stderr.decode('utf-8', 'replace')[-300:]}")
    return result.stdout


def encode(samples_wav: bytes, fmt: str) -> bytes:
    """Re-encode WAV into another container/codec (tests and the benchmark make clips with it)."""
    codecs = {
        "ogg": ["-c:a", "libopus", "-f", "ogg"],
        "mp3": ["-c:a", "libmp3lame", "-f", "mp3"],
        "m4a": ["-c:a", "aac", "-f", "ipod"],
        "wav": ["-c:a", "pcm_s16le", "-f", "wav"],
    }
    if fmt not in codecs:
        raise ValueError(f"unsupported format {fmt!r}; one of {sorted(codecs)}")
    with tempfile.TemporaryDirectory(prefix="sapalapor-encode-") as folder:
        # ipod (M4A) needs a seekable output.
        out = Path(folder) / f"clip.{fmt}"
        result = _run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-i", "pipe:0",
                       "-ac", "1", "-ar", "48000" if fmt == "ogg" else "16000", *codecs[fmt], "-y", str(out)],
                      stdin=samples_wav)
        if result.returncode != 0:
            raise RuntimeError(result.stderr.decode("utf-8", "replace")[-300:])
        return out.read_bytes()
