from __future__ import annotations

import pytest

from accessibility.simple_language import GLOSSARY, check_simple, count_words, readability, sentences


def rules(text, has_buttons=False, **kwargs):
    return [violation.rule for violation in check_simple(text, has_buttons, **kwargs)]


def test_a_short_plain_message_with_one_question_passes():
    assert check_simple("Terima kasih. Di mana kejadiannya?", False) == []


def test_two_questions_in_one_message_are_one_violation():
    assert rules("Apa yang terjadi? Kapan terjadinya?") == ["one_question"]


def test_a_thirteen_word_sentence_fails_and_twelve_words_pass():
    twelve = "satu dua tiga empat lima enam tujuh delapan sembilan sepuluh sebelas duabelas."
    assert rules(twelve) == []
    assert rules(twelve.replace("duabelas.", "duabelas tigabelas.")) == ["sentence_length"]


def test_a_placeholder_counts_as_one_word_and_list_items_are_sentences():
    assert count_words("Nomor laporan Anda {tracking_number}.") == 4
    assert sentences("Pilih:\n1. Buat pengaduan\n2. Cek status") == ["Pilih:", "Buat pengaduan", "Cek status"]
    assert sentences("Mulai pukul 08.00 sampai 16.00.") == ["Mulai pukul 08.00 sampai 16.00."]


@pytest.mark.parametrize("word", [
    "disposisi", "didisposisikan", "instansi", "tindak lanjut", "ditindaklanjuti", "tindaklanjut", "verifikasi",
    "diverifikasi", "terverifikasi", "pelapor", "pelaporan", "kronologi", "kronologinya", "lampiran",
    "dilampirkan", "domisili", "berdomisili", "yurisdiksi", "wewenang", "kewenangan", "berwenang",
    "identitas", "identitasnya", "klasifikasi", "diklasifikasikan", "prosedur", "mekanisme", "terlapor",
    "substansi", "validasi", "divalidasi", "regulasi", "pemohon", "registrasi", "Instansi",
])
def test_every_glossary_term_is_caught_in_any_inflection(word):
    assert rules(f"Ini soal {word}.") == ["glossary"]


def test_everyday_words_close_to_glossary_terms_pass():
    assert rules("Mohon tulis laporan Anda. Saya akan melapor. Data ini sah.") == []


def test_every_glossary_term_has_a_plain_replacement_that_is_itself_plain():
    assert len(GLOSSARY) == 22
    for term, plain in GLOSSARY.items():
        assert plain and rules(plain) == [], term


def test_buttons_need_a_numbered_list_of_the_choices():
    assert rules("Mau lapor apa?", True) == ["numbered_choices"]
    assert rules("Mau lapor apa?\n1. Pengaduan\n2. Aspirasi", True, button_titles=["Pengaduan", "Aspirasi"]) == []
    assert rules("Mau lapor apa?\n1. Aspirasi\n2. Pengaduan", True, button_titles=["Pengaduan", "Aspirasi"]) == [
        "numbered_choices", "numbered_choices"
    ]
    assert rules("Pilih:\n1. Biasa: terbuka untuk umum.\n2. Anonim: nama tidak disimpan.", True,
                 button_titles=["Biasa", "2 Anonim"]) == []


def test_readability_counts_words_per_sentence_and_glossary_share():
    figures = readability(["Halo. Laporan Anda sudah diverifikasi.", "Terima kasih."])
    assert figures.sentences == 3
    assert figures.words == 7
    assert figures.glossary_terms == 1
    assert figures.words_per_sentence == pytest.approx(7 / 3)
    assert figures.glossary_share == pytest.approx(1 / 7)
