from __future__ import annotations

import pytest

from channels.gsm7 import is_gsm7, segment_count, split_messages, to_gsm7


@pytest.mark.parametrize("text, expected", [
    ("Laporan “jalan rusak” diterima", 'Laporan "jalan rusak" diterima'),
    ("Jam 08.00–16.00 — Senin‘s", "Jam 08.00-16.00 - Senin's"),
    ("Tunggu sebentar…", "Tunggu sebentar..."),
    ("Terima kasih 🙏 ya 👍🏽", "Terima kasih ya"),
    ("Café naïve façade ê", "Café naive facade e"),
    ("• poin satu", "- poin satu"),
    ("Biaya € 5 {gratis}", "Biaya € 5 {gratis}"),
    ("Suhu 30°", "Suhu 30 derajat"),
    ("سلام", ""),
])
def test_text_is_mapped_into_the_gsm7_alphabet(text, expected):
    assert to_gsm7(text) == expected
    assert is_gsm7(to_gsm7(text))


@pytest.mark.parametrize("text, segments", [
    ("a" * 160, 1),
    ("a" * 161, 2),
    ("a" * 306, 2),
    ("a" * 307, 3),
    ("a" * 459, 3),
    ("€" * 80, 1),
    ("€" * 81, 2),
    ("“" + "a" * 69, 1),
    ("“" + "a" * 70, 2),
    ("😀" * 35, 1),
    ("😀" * 36, 2),
])
def test_segments_are_counted_as_carriers_do(text, segments):
    assert segment_count(text) == segments


def test_long_reply_is_split_on_sentences_into_messages_of_at_most_three_segments():
    sentence = "Laporan Anda sudah kami terima dan akan segera diperiksa oleh petugas kami. "
    messages = split_messages(sentence * 20)

    assert len(messages) == 4
    assert all(segment_count(message) <= 3 for message in messages)
    assert all(message.endswith("petugas kami.") for message in messages)
    assert " ".join(messages) == (sentence * 20).strip()


def test_curly_quotes_do_not_force_ucs2_and_triple_the_cost():
    text = "Balas “1” untuk pengaduan. " * 5

    assert segment_count(text) == 3
    assert [segment_count(message) for message in split_messages(text)] == [1]


def test_a_sentence_longer_than_a_message_is_cut_on_words():
    messages = split_messages("kata " * 200, max_segments=1)

    assert all(len(message) <= 160 for message in messages)
    assert all(not message.startswith(" ") and not message.endswith("kat") for message in messages)
