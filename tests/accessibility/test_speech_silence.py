from __future__ import annotations

import numpy as np

from accessibility.audio import SAMPLE_RATE, TRIM_KEEP_SECONDS, decode, trim_silence
from tests.accessibility.clips import speak_wav


def padded(samples: np.ndarray, before: float, after: float, noise: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(7)
    quiet = lambda seconds: (rng.standard_normal(int(SAMPLE_RATE * seconds)) * noise).astype(np.float32)  # noqa: E731
    return np.concatenate([quiet(before), samples, quiet(after)])


def test_long_silence_around_a_spoken_word_is_cut_to_a_margin():
    word = decode(speak_wav("Tidak."), "audio/wav").samples
    note = padded(word, 2.0, 1.5, noise=0.0005)
    trimmed = trim_silence(note)
    assert trimmed.size / SAMPLE_RATE < word.size / SAMPLE_RATE + 2 * TRIM_KEEP_SECONDS + 0.05
    assert trimmed.size / SAMPLE_RATE > word.size / SAMPLE_RATE - 0.3


def test_the_speech_itself_is_never_cut():
    word = decode(speak_wav("Satu empat tiga tujuh."), "audio/wav").samples
    note = padded(word, 1.0, 1.0)
    trimmed = trim_silence(note)
    loudest = int(np.argmax(np.abs(note)))
    assert np.max(np.abs(trimmed)) == np.max(np.abs(note))
    start = int(np.flatnonzero(np.abs(note) > 0.05)[0])
    end = int(np.flatnonzero(np.abs(note) > 0.05)[-1])
    assert trimmed.size >= end - start and start <= loudest <= end


def test_a_noisy_line_is_left_whole_rather_than_cut_into():
    word = decode(speak_wav("Rahasia."), "audio/wav").samples
    note = padded(word, 1.0, 1.0, noise=0.05)
    assert trim_silence(note).size == note.size


def test_a_note_too_short_to_judge_is_left_as_it_is():
    assert trim_silence(np.ones(100, dtype=np.float32)).size == 100
