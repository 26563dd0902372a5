"""Benchmark of the accessibility layer (a script, not a test).

Prints: speech-to-text real-time factor and word error rate on generated Indonesian clips,
text-to-speech latency cold and cached (espeak-ng offline, and gTTS through a loopback fake of
Google's endpoint), and the latency the layer adds to a text turn (prepare + render, voice off,
real SQLite database).

    .venv/bin/python -m bench.accessibility [--clips N] [--turns N] [--worker] [--compare]

Speech-to-text runs with the settings in config.yml (accessibility.speech_to_text), in this
process unless --worker (then through the worker process, as the server does; the RTF is the
worker's decode time). --compare also runs the settings used before the speed work (beam 5,
every core, Whisper's full 30-second window, timestamps) on the same clips, alternating clip by
clip, so both see the same CPU load: compare the two lines of one run, not runs with each other.

Speech clips are made with espeak-ng, so the WER measures Whisper on synthetic speech, which is
harder than a person reading clearly. Numbers depend on how busy the CPU is.
"""
from __future__ import annotations

import argparse
import asyncio
import os
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
    # Beyond the default 8 clips (--clips 24): enough words to tell settings apart by WER.
    "Jembatan di desa kami retak dan berbahaya untuk dilewati anak sekolah.",
    "Sudah satu bulan listrik di rumah saya sering padam setiap malam.",
    "Saya ingin tahu syarat membuat kartu tanda penduduk elektronik.",
    "Guru di sekolah dasar kami sering tidak datang mengajar.",
    "Tolong perbaiki saluran air yang tersumbat di gang tiga.",
    "Bantuan sosial untuk keluarga kami belum diterima sampai sekarang.",
    "Pelayanan di rumah sakit umum daerah sangat lambat.",
    "Saya mengusulkan agar taman kota dibuka sampai malam hari.",
    "Banyak truk besar lewat jalan kampung dan membuat jalan rusak.",
    "Lampu lalu lintas di perempatan pasar baru tidak menyala.",
    "Kami membutuhkan informasi jadwal vaksinasi untuk anak balita.",
    "Petugas kelurahan meminta uang untuk mengurus surat pindah.",
    "Banjir setinggi lutut masuk ke rumah warga setiap hujan deras.",
    "Angkutan umum di daerah kami berhenti beroperasi sejak tahun lalu.",
    "Nomor laporan saya tiga sembilan nol dua, lima enam satu delapan.",
    "Tempat pembuangan sampah liar di pinggir sungai menimbulkan bau.",
]
PROMPTS = [
    "Terima kasih. Laporan Anda sudah kami terima.",
    "Di mana kejadiannya? Sebutkan nama jalan dan kota.",
    "Nomor laporan Anda 4821-7730. Simpan nomor ini ya.",
    "Mau lapor apa?\n1. Pengaduan\n2. Aspirasi\n3. Permintaan informasi",
]


# What speech-to-text used before the speed work (bench/README.md, cause 5).
BEFORE = {"beam_size": 5, "cpu_threads": 0, "window_seconds": 30.0, "timestamps": True}


class _Tally:
    def __init__(self) -> None:
        self.errors = self.words = 0
        self.audio_seconds = self.elapsed = 0.0

    def add(self, sentence: str, transcript) -> tuple[int, int]:
        errors, words = word_errors(sentence, transcript.text)
        self.errors, self.words = self.errors + errors, self.words + words
        self.audio_seconds += transcript.seconds
        self.elapsed += transcript.elapsed
        return errors, words

    def summary(self) -> str:
        return (f"real-time factor {self.elapsed / self.audio_seconds:.2f}, "
                f"WER {self.errors / self.words:.2f} ({self.errors}/{self.words} words)")


def bench_stt(settings: Settings, count: int, worker: bool, compare: bool) -> None:
    configured = SpeechToText.from_settings(settings)
    configured.worker = worker
    before = SpeechToText(configured.model_setting, data_dir=configured.data_dir, worker=False, **BEFORE)
    started = time.perf_counter()
    configured.warm_up()
    if compare:
        before.model()
    where = f"worker process, nice {configured.worker_nice}" if worker else "this process"
    print(f"speech-to-text: model ready in {time.perf_counter() - started:.1f} s (Whisper base int8, language "
          f"{configured.language}, beam {configured.beam_size}, cpu_threads {configured.cpu_threads}, "
          f"window >= {configured.window_seconds:g} s, {where})")
    transcribe = configured.transcribe_in_worker if worker else configured.transcribe_sync
    sentences = (SENTENCES + EXTRA_SENTENCES)[:count]
    now, then = _Tally(), _Tally()
    for sentence in sentences:
        clip = speak(sentence, "ogg")
        transcript = transcribe(clip, "audio/ogg")
        sentence_errors, sentence_words = now.add(sentence, transcript)
        print(f"  {transcript.seconds:4.1f} s audio, RTF {transcript.elapsed / transcript.seconds:.2f}, "
              f"WER {sentence_errors / sentence_words:.2f}, confidence {transcript.confidence:.2f}: {transcript.text}")
        if compare:
            old = before.transcribe_sync(clip, "audio/ogg")
            old_errors, _ = then.add(sentence, old)
            print(f"  {'':4s}   before: RTF {old.elapsed / old.seconds:.2f}, WER {old_errors / sentence_words:.2f}, "
                  f"confidence {old.confidence:.2f}: {old.text}")
    # bench/run.py reads the first "real-time factor X, WER Y" below: keep it first.
    print(f"speech-to-text: {len(sentences)} clips, {now.audio_seconds:.1f} s audio, {now.summary()}")
    if compare:
        print(f"speech-to-text before the speed work ({', '.join(f'{k} {v}' for k, v in BEFORE.items())}), "
              f"same clips, alternating: {then.summary()}; speed-up {then.elapsed / now.elapsed:.2f}x")
    print(f"load average at the end: {' '.join(f'{value:.1f}' for value in os.getloadavg())}")


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
    parser.add_argument("--worker", action="store_true", help="transcribe through the worker process")
    parser.add_argument("--compare", action="store_true", help="also run the old settings on the same clips")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sapalapor-bench-") as folder:
        workdir = Path(folder)
        asyncio.run(bench_text_turn(workdir, arguments.turns))
        bench_tts(workdir / "tts")
        if not arguments.skip_stt:
            bench_stt(load_settings(), arguments.clips, arguments.worker, arguments.compare)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
