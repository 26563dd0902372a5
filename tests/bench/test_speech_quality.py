"""bench/speech_quality.py's paired baseline (plain faster-whisper) and its profile, without a model."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace

from bench import speech_quality as bench


class FakeWhisper:
    def __init__(self):
        self.calls = []

    def transcribe(self, samples, **kwargs):
        self.calls.append(kwargs)
        return iter([SimpleNamespace(text=" Jalan rusak.")]), None


def test_plain_faster_whisper_is_called_with_its_own_defaults(monkeypatch):
    import numpy as np

    from accessibility import audio

    plain = object.__new__(bench.PlainWhisper)
    plain.language, plain.model = "id", FakeWhisper()
    monkeypatch.setattr(audio, "decode", lambda data, *a, **k: SimpleNamespace(samples=np.zeros(16000, np.float32),
                                                                                seconds=1.0))
    transcript = plain.transcribe(b"RIFF")
    # beam 5 and the language only: everything else (prompt, temperatures, window, timestamps) as
    # faster-whisper has it.
    assert plain.model.calls == [{"language": "id", "beam_size": 5}]
    assert transcript.text == "Jalan rusak." and transcript.seconds == 1.0 and not transcript.looping


def _clip(name, kind="sentence"):
    return bench.Clip(Path(name), "jalan rusak parah", kind, ())


def test_the_comparison_prints_both_rtfs_the_ratio_and_wer(capsys):
    mine, plain = bench.Tally(), bench.Tally()
    for name, ours_cpu, plain_cpu in (("a.wav", 1.0, 2.0), ("b.wav", 1.0, 4.0)):
        clip = _clip(name)
        bench.record(clip, bench.PlainTranscript("jalan rusak parah", 5.0, ours_cpu), ours_cpu, mine)
        bench.record(clip, bench.PlainTranscript("jalan rusak", 5.0, plain_cpu), plain_cpu, plain)
    plain.clip_fallbacks = {"b.wav": 5}
    mine.clip_fallbacks = {"a.wav": 0, "b.wav": 0}
    bench.compare_with_plain(mine, plain)
    out = capsys.readouterr().out
    assert "0.200" in out and "0.600" in out  # ours 2 s / 10 s, plain 6 s / 10 s
    assert "0.333" in out  # ours/plain
    assert "WER 0.000" in out and "WER 0.333" in out
    # Only a.wav had no fallback decode on either side: 1 s against 2 s.
    assert "1 clips with no fallback decode on either side" in out and "ours/plain 0.500" in out


def test_the_profile_counts_encodes_decodes_and_fallback_temperatures():
    class Inner:
        is_multilingual = True

        def encode(self, features, to_cpu=False):
            return "encoded"

        def generate(self, encoded, prompts, **kwargs):
            return [SimpleNamespace(sequences_ids=[[1, 2, 3]])]

    model = SimpleNamespace(model=Inner())
    counts = bench.profiled(model)
    assert bench.profiled(model) is counts  # wrapped once
    import numpy as np

    model.model.encode(np.zeros((1, 80, 1500), np.float32))
    model.model.generate("encoded", [[1]], beam_size=5)
    model.model.generate("encoded", [[1]], beam_size=1, sampling_temperature=0.2)
    assert model.model.is_multilingual
    assert counts["encode calls"] == 1 and counts["encoded frames"] == 1500
    assert counts["generate calls"] == 2 and counts["generate sampled"] == 1
    assert counts["generated tokens"] == 6
    assert isinstance(counts, defaultdict)
