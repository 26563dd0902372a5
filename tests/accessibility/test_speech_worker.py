from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from accessibility.speech_to_text import AudioRejected, SpeechToText, rejection_message
from accessibility.speech_worker_client import SpeechWorker, WorkerUnavailable
from tests.accessibility.clips import SENTENCES, speak, word_errors

ROOT = Path(__file__).resolve().parents[2]


def process_state(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def nice_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def running(pid: int) -> bool:
    return process_state(pid) not in (None, "Z", "X")


def wait_until_gone(pid: int, limit: float = 60.0) -> bool:
    deadline = time.monotonic() + limit
    while running(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not running(pid)


@pytest.fixture(scope="module")
def clip():
    return speak(SENTENCES[0], "ogg")


@pytest.fixture
def in_worker(stt):
    speech = SpeechToText("bundled-base", data_dir=stt.data_dir, worker=True)
    yield speech
    speech.speech_worker().close()


async def test_a_voice_note_is_transcribed_in_a_lower_priority_worker_as_in_process(in_worker, clip):
    in_process = SpeechToText("bundled-base", data_dir=in_worker.data_dir, worker=False)
    transcript = await in_worker.transcribe(clip, "audio/ogg", expects="free_text")
    pid = in_worker.speech_worker().pid
    assert pid is not None and pid != os.getpid()
    assert nice_of(pid) == min(19, nice_of(os.getpid()) + 10)
    local = in_process.transcribe_sync(clip, "audio/ogg", expects="free_text")
    # Not the exact text: the worker decodes OGG with PyAV, this process with ffmpeg, and the
    # temperature fallback turns tiny sample differences into different words.
    errors, words = word_errors(local.text, transcript.text)
    assert errors <= words // 2
    assert transcript.expects == local.expects == "free_text" and transcript.looping == local.looping
    assert 0.0 < transcript.confidence <= 1.0 and transcript.seconds > 3.0


async def test_a_short_answer_is_scored_in_the_worker_too(in_worker):
    transcript = await in_worker.transcribe(speak("Tidak."), "audio/ogg", expects="yes_no")
    assert transcript.answer in ("ya", "tidak") and transcript.margin is not None


async def test_the_worker_keeps_its_model_between_voice_notes(in_worker, clip):
    await in_worker.transcribe(clip, "audio/ogg")
    worker = in_worker.speech_worker()
    pid, starts = worker.pid, worker.starts
    await in_worker.transcribe(clip, "audio/ogg")
    assert (worker.pid, worker.starts) == (pid, starts)


async def test_audio_the_worker_rejects_comes_back_with_the_kind_indonesian_message(in_worker):
    with pytest.raises(AudioRejected) as rejected:
        await in_worker.transcribe(b"this is a text file, not a voice note", "text/plain")
    assert rejected.value.reason == "not_audio"
    assert rejected.value.message == rejection_message("not_audio", in_worker.max_seconds)


async def test_a_worker_that_was_killed_is_replaced_on_the_next_voice_note(in_worker, clip):
    in_worker.warm_up()
    worker = in_worker.speech_worker()
    killed = worker.pid
    os.kill(killed, signal.SIGKILL)
    assert wait_until_gone(killed)
    transcript = await in_worker.transcribe(clip, "audio/ogg")
    assert transcript.text
    assert worker.pid not in (None, killed)
    assert process_state(killed) is None  # reaped, not left as a zombie


def test_a_worker_that_does_not_answer_in_time_is_replaced(in_worker, clip):
    in_worker.warm_up()
    worker = in_worker.speech_worker()
    stuck = worker.pid
    request = {"audio": clip, "mime": "audio/ogg", "options": in_worker.options()}
    with pytest.raises(WorkerUnavailable):
        worker.transcribe(request, timeout=0.0001)
    assert process_state(stuck) is None
    assert worker.transcribe(request, timeout=600)["text"]
    assert worker.pid != stuck


async def test_voice_notes_beyond_the_queue_limit_are_declined_politely(stt, clip):
    limited = SpeechToText("bundled-base", data_dir=stt.data_dir, worker=True, max_queued=1)
    try:
        first, second = await asyncio.gather(
            limited.transcribe(clip, "audio/ogg"), limited.transcribe(clip, "audio/ogg"), return_exceptions=True
        )
    finally:
        limited.speech_worker().close()
    assert first.text
    assert isinstance(second, AudioRejected) and second.reason == "busy"
    assert second.message == rejection_message("busy", limited.max_seconds)


def test_the_queue_limit_counts_requests_until_they_are_released(tmp_path):
    worker = SpeechWorker("bundled-base", data_dir=tmp_path, cpu_threads=1, window_seconds=10, max_queued=2)
    assert [worker.reserve(), worker.reserve(), worker.reserve()] == [True, True, False]
    worker.release()
    assert worker.reserve()
    assert worker.pid is None  # admission alone never starts a process


def test_closing_the_worker_stops_it_and_leaves_no_child(in_worker):
    in_worker.warm_up()
    worker = in_worker.speech_worker()
    pid = worker.pid
    worker.close()
    assert worker.pid is None
    assert process_state(pid) is None


def test_a_model_that_cannot_be_loaded_makes_voice_notes_unavailable_not_a_crash(tmp_path, clip):
    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "model.bin").write_bytes(b"not a model")
    speech = SpeechToText(str(broken), data_dir=tmp_path, worker=True)
    try:
        with pytest.raises(AudioRejected) as rejected:
            speech.transcribe_in_worker(clip, "audio/ogg")
    finally:
        speech.speech_worker().close()
    assert rejected.value.reason == "unavailable"


SERVER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from accessibility.speech_to_text import SpeechToText
    speech = SpeechToText("bundled-base", data_dir=Path(sys.argv[1]), worker=True)
    speech.warm_up()
    print(speech.speech_worker().pid, flush=True)
    if sys.argv[2] == "wait":
        time.sleep(600)
""")


@pytest.mark.parametrize("ending", ["exits", "is_killed"])
def test_the_worker_does_not_outlive_its_server_when_the_server(stt, ending):
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(stt.data_dir), "wait" if ending == "is_killed" else "exit"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    try:
        worker_pid = int(server.stdout.readline())
        assert running(worker_pid)
        if ending == "is_killed":
            server.kill()
        server.wait(timeout=120)
        assert wait_until_gone(worker_pid)
    finally:
        server.kill()
        server.wait()
