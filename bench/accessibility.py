"""Benchmark of the accessibility layer (a script, not a test).

Prints: speech-to-text real-time factor and word error rate on generated Indonesian clips,
text-to-speech latency cold and cached (espeak-ng offline, and gTTS through a loopback fake of
Google's endpoint), and the latency the layer adds to a text turn (prepare + render, voice off,
real SQLite database).

    .venv/bin/python -m bench.accessibility [--clips N] [--turns N]

Speech clips are made with espeak-ng, so the WER measures Whisper on synthetic speech, which is
harder than a person reading clearly. Numbers depend on how busy the CPU is.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from accessibility.pipeline import AccessibilityLayer, Incoming  # noqa: E402
from accessibility.speech_text import speakable  # noqa: E402
from accessibility.speech_to_text import SpeechToText  # noqa: E402
from accessibility.text_to_speech import TextToSpeech  # noqa: E402
from bot.settings import Section, Settings, load_settings  # noqa: E402
from storage.db import Database  # noqa: E402
from tests.accessibility.clips import SENTENCES, speak, word_errors  # noqa: E402
from tests.accessibility.gtts_fake import FakeGoogleTTS  # noqa: E402

EXTRA_SENTENCES = [
    "Saya ingin melaporkan pungutan liar di kantor kelurahan.",
    "Air dari perusahaan daerah air minum tidak mengalir selama tiga hari.",
    "Anak saya belum mendapat kartu keluarga yang baru.",
    "Puskesmas di desa kami tutup pada hari Sabtu.",
]
PROMPTS = [
    "Terima kasih. Laporan Anda sudah kami terima.",
    "Di mana kejadiannya? Sebutkan nama jalan dan kota.",
    "Nomor laporan Anda 4821-7730. Simpan nomor ini ya.",
    "Mau lapor apa?\n1. Pengaduan\n2. Aspirasi\n3. Permintaan informasi",
]


def bench_stt(data_dir: Path, count: int) -> None:
    stt = SpeechToText("bundled-base", data_dir=data_dir)
    started = time.perf_counter()
    stt.model()
    print(f"speech-to-text: model ready in {time.perf_counter() - started:.1f} s (Whisper base int8, language id)")
    sentences = (SENTENCES + EXTRA_SENTENCES)[:count]
    errors = words = 0
    audio_seconds = elapsed = 0.0
    for sentence in sentences:
        transcript = stt.transcribe_sync(speak(sentence, "ogg"), "audio/ogg")
        sentence_errors, sentence_words = word_errors(sentence, transcript.text)
        errors, words = errors + sentence_errors, words + sentence_words
        audio_seconds += transcript.seconds
        elapsed += transcript.elapsed
        print(f"  {transcript.seconds:4.1f} s audio, RTF {transcript.elapsed / transcript.seconds:.2f}, "
              f"WER {sentence_errors / sentence_words:.2f}, confidence {transcript.confidence:.2f}: {transcript.text}")
    print(f"speech-to-text: {len(sentences)} clips, {audio_seconds:.1f} s audio, "
          f"real-time factor {elapsed / audio_seconds:.2f}, WER {errors / words:.2f} ({errors}/{words} words)")


def bench_tts(cache_root: Path) -> None:
    texts = [speakable(prompt) for prompt in PROMPTS]
    with FakeGoogleTTS() as fake:
        for engine in ("espeak", "gtts"):
            tts = TextToSpeech(cache_root / engine, engine=engine, gtts_base_url=fake.url)
            cold, cached = [], []
            for text in texts:
                started = time.perf_counter()
                assert not tts.synthesise(text).cached
                cold.append(time.perf_counter() - started)
                started = time.perf_counter()
                assert tts.synthesise(text).cached
                cached.append(time.perf_counter() - started)
            label = "espeak-ng" if engine == "espeak" else "gTTS (loopback fake)"
            print(f"text-to-speech {label}: cold median {statistics.median(cold) * 1000:.0f} ms "
                  f"(max {max(cold) * 1000:.0f}), cached median {statistics.median(cached) * 1000:.2f} ms "
                  f"(max {max(cached) * 1000:.2f})")


async def bench_text_turn(workdir: Path, turns: int) -> None:
    settings = Settings(root=Section("", {"data_dir": str(workdir / "data")}), base_dir=workdir)
    database = Database(f"sqlite:///{workdir / 'bench.db'}")
    database.migrate()
    layer = AccessibilityLayer(settings, database)
    buttons = [{"title": "Pengaduan", "payload": "/file_complaint"}, {"title": "Aspirasi", "payload": "/file_aspiration"}]
    prepare_times, render_times = [], []
    for turn in range(turns):
        identity = f"{turn % 10:064d}"
        started = time.perf_counter()
        await layer.prepare(Incoming(channel="telegram", identity_hash=identity, text="dua" if turn % 2 else "halo"))
        prepare_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        await layer.render("telegram", identity, [{"text": "Mau lapor apa?", "buttons": buttons}], can_send_voice=True)
        render_times.append(time.perf_counter() - started)
    total = [p + r for p, r in zip(prepare_times, render_times)]
    total.sort()
    print(f"text turn through the layer (voice off, SQLite): {turns} turns, prepare median "
          f"{statistics.median(prepare_times) * 1000:.1f} ms, render median {statistics.median(render_times) * 1000:.1f} ms, "
          f"total median {statistics.median(total) * 1000:.1f} ms, p95 {total[int(len(total) * 0.95) - 1] * 1000:.1f} ms")
    database.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--turns", type=int, default=100)
    parser.add_argument("--skip-stt", action="store_true")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sapalapor-bench-") as folder:
        workdir = Path(folder)
        asyncio.run(bench_text_turn(workdir, arguments.turns))
        bench_tts(workdir / "tts")
        if not arguments.skip_stt:
            bench_stt(load_settings().data_dir, arguments.clips)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
