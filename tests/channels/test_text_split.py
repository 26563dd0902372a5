from __future__ import annotations

from channels.text_split import split_text


def test_short_text_stays_one_message():
    assert split_text("Halo. Apa kabar?", 4096) == ["Halo. Apa kabar?"]


def test_long_text_is_cut_under_the_limit_on_sentence_boundaries():
    sentence = "Ini kalimat yang cukup panjang untuk diuji pemotongannya. "
    messages = split_text(sentence * 200, 4096)

    assert len(messages) == 3
    assert all(len(message) < 4096 for message in messages)
    assert all(message.endswith("pemotongannya.") for message in messages)


def test_line_breaks_count_as_boundaries_and_nothing_is_lost():
    text = "Pilihan:\n1. Pengaduan\n2. Aspirasi\n3. Minta informasi"
    messages = split_text(text, 25)

    assert all(len(message) <= 25 for message in messages)
    assert "".join(message.replace("\n", "") for message in messages).replace(" ", "") == text.replace(
        "\n", "").replace(" ", "")


def test_a_word_longer_than_the_limit_is_cut_on_characters():
    assert split_text("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]
