"""The encoder output of a note is reused when the same window is decoded again (issue 20)."""
from __future__ import annotations

import numpy as np

from accessibility.speech_recogniser import reusing_last_output
from tests.accessibility.clips import speak


def _counting_encoder():
    calls = []

    def encode(features):
        calls.append(features.shape)
        return float(np.asarray(features).sum())

    return encode, calls


def test_the_same_features_are_encoded_once_and_other_features_again():
    encode, calls = _counting_encoder()
    cached = reusing_last_output(encode)
    features = np.random.default_rng(1).standard_normal((80, 1500)).astype(np.float32)
    first = cached(features)
    assert cached(features.copy()) == first
    assert len(calls) == 1
    other = features.copy()
    other[3, 700] += 0.5
    cached(other)
    assert len(calls) == 2
    # Same values, another length (a shorter window): a different encoder input.
    cached(np.ascontiguousarray(features[:, :1000]))
    assert len(calls) == 3


def test_forget_makes_the_next_encode_pay_again():
    encode, calls = _counting_encoder()
    cached = reusing_last_output(encode)
    features = np.ones((80, 200), dtype=np.float32)
    cached(features)
    cached.forget()
    cached(features)
    assert len(calls) == 2


def test_words_said_to_a_number_question_are_encoded_once_for_both_decodes(stt):
    model = stt.model()
    inner = model.model
    encodes, decodes = [], []

    class Counting:
        def __getattr__(self, name):
            return getattr(inner, name)

        def encode(self, features, *args, **kwargs):
            encodes.append(features.shape)
            return inner.encode(features, *args, **kwargs)

        def generate(self, *args, **kwargs):
            decodes.append(kwargs.get("beam_size"))
            return inner.generate(*args, **kwargs)

    model.encode.forget()
    model.model = Counting()
    try:
        transcript = stt.transcribe_sync(speak("Saya lupa nomornya."), "audio/ogg", expects="tracking_number")
    finally:
        model.model = inner
    # The digit decode found no number, so the note was decoded again as free text: one encode.
    assert transcript.answer is None
    assert len(transcript.text.split()) >= 2
    assert len(decodes) >= 2
    assert len(encodes) == 1
