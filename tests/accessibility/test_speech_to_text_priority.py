from __future__ import annotations

import os
import threading
from pathlib import Path

from accessibility import audio
from accessibility.text_to_speech import SYNTHESIS_NICE, Speech, TextToSpeech


def own_nice() -> int:
    return int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[16])


def test_a_tool_run_with_nice_gets_lower_cpu_priority_than_the_server():
    result = audio._run(["cat", "/proc/self/stat"], nice=10)
    tool_nice = int(result.stdout.decode().rsplit(")", 1)[1].split()[16])
    assert tool_nice == min(19, own_nice() + 10)


def test_a_tool_run_without_nice_keeps_the_server_priority():
    result = audio._run(["cat", "/proc/self/stat"])
    assert int(result.stdout.decode().rsplit(")", 1)[1].split()[16]) == own_nice()


def test_espeak_and_the_opus_encoder_are_started_at_lower_priority(tmp_path, monkeypatch):
    import subprocess

    started = []
    real_run = subprocess.run

    def recording_run(arguments, *args, **kwargs):
        started.append(list(arguments))
        return real_run(arguments, *args, **kwargs)

    monkeypatch.setattr(subprocess, "run", recording_run)
    TextToSpeech(tmp_path / "cache", engine="espeak").synthesise("Di mana kejadiannya?")
    assert [command[3] for command in started] == ["espeak-ng", "ffmpeg"]
    assert all(Path(command[0]).name == "nice" and command[1:3] == ["-n", str(SYNTHESIS_NICE)]
               for command in started)


async def test_replies_are_spoken_on_their_own_threads_not_the_default_pool(tmp_path, monkeypatch):
    seen = []

    def synthesise(self, text, speed="normal"):
        seen.append((threading.current_thread().name, os.getpid()))
        return Speech(b"OggS", "espeak", True)

    monkeypatch.setattr(TextToSpeech, "synthesise", synthesise)
    tts = TextToSpeech(tmp_path / "cache", engine="espeak")
    assert await tts.voice_note("Terima kasih.") == b"OggS"
    assert seen[0][0].startswith("text-to-speech")


def test_an_espeak_voice_note_made_at_lower_priority_is_still_a_voice_note(tmp_path):
    speech = TextToSpeech(tmp_path / "cache", engine="espeak").synthesise("Laporan Anda sudah kami terima.")
    assert speech.ogg.startswith(b"OggS") and not speech.cached
    assert audio.decode(speech.ogg, "audio/ogg").seconds > 1.0
