from __future__ import annotations

from accessibility.pipeline import Outgoing
from channels.output import merge_texts

MENU = [{"title": "Pengaduan", "payload": "/file_complaint"}, {"title": "Aspirasi", "payload": "/file_aspiration"}]


def any_length(reply: Outgoing) -> bool:
    return True


def test_plain_texts_join_into_one_message_that_keeps_the_last_buttons():
    replies = [Outgoing(text="Halo, selamat datang. "), Outgoing(text="Apa yang ingin Anda sampaikan?", buttons=MENU)]

    assert merge_texts(replies, any_length) == [
        Outgoing(text="Halo, selamat datang.\n\nApa yang ingin Anda sampaikan?", buttons=MENU)]


def test_voice_notes_images_and_buttons_before_more_text_keep_their_own_messages():
    replies = [
        Outgoing(text="Baik.", voice_ogg=b"OggS"),
        Outgoing(text="Ini peta lokasinya."),
        Outgoing(image="https://example.org/peta.png"),
        Outgoing(text="Pilih jenis laporan:", buttons=MENU),
        Outgoing(text="Atau ketik pesan Anda."),
    ]

    assert merge_texts(replies, any_length) == replies


def test_texts_that_would_not_fit_one_message_stay_apart():
    replies = [Outgoing(text="a" * 100), Outgoing(text="b" * 100), Outgoing(text="c" * 100)]

    merged = merge_texts(replies, lambda joined: len(joined.text) <= 210)

    assert [reply.text for reply in merged] == ["a" * 100 + "\n\n" + "b" * 100, "c" * 100]
