from __future__ import annotations

import pytest

from accessibility.speech_text import number_words, speakable, spoken_digits


def test_tracking_numbers_are_read_digit_by_digit_in_groups():
    assert speakable("Nomor laporan Anda 4821-7730.") == (
        "Nomor laporan Anda empat delapan dua satu, tujuh tujuh tiga nol."
    )


@pytest.mark.parametrize("written, spoken", [
    ("12 Oktober 2026", "dua belas Oktober dua ribu dua puluh enam"),
    ("1 Januari 2000", "satu Januari dua ribu"),
    ("31 Des 1999", "tiga puluh satu Desember seribu sembilan ratus sembilan puluh sembilan"),
    ("05/11/2026", "lima November dua ribu dua puluh enam"),
])
def test_dates_are_read_in_words(written, spoken):
    assert speakable(f"Kejadian {written}.") == f"Kejadian {spoken}."


@pytest.mark.parametrize("short, long", [
    ("KTP", "Kartu Tanda Penduduk"), ("KK", "Kartu Keluarga"), ("BPJS", "Badan Penyelenggara Jaminan Sosial"),
    ("PDAM", "Perusahaan Daerah Air Minum"), ("PLN", "Perusahaan Listrik Negara"), ("SIM", "Surat Izin Mengemudi"),
    ("STNK", "Surat Tanda Nomor Kendaraan"), ("NIK", "Nomor Induk Kependudukan"),
    ("Dukcapil", "Dinas Kependudukan dan Pencatatan Sipil"), ("puskesmas", "puskesmas"),
])
def test_abbreviations_are_expanded_and_puskesmas_stays(short, long):
    assert speakable(f"Soal {short} di sini.") == f"Soal {long} di sini."


def test_rt_rw_with_numbers_is_read_as_words():
    assert speakable("Alamat RT/RW 05/02.") == "Alamat Rukun Tetangga lima, Rukun Warga dua."


def test_abbreviations_inside_words_are_left_alone():
    assert speakable("SIMPAN nomor ini.") == "SIMPAN nomor ini."


def test_emoji_and_urls_are_not_read():
    assert speakable("Terima kasih 🙏😊 Lihat https://www.lapor.go.id/laporan atau lapor.go.id ✅") == (
        "Terima kasih Lihat atau."
    )


def test_numbered_options_are_announced_as_choices():
    assert speakable("Mau lapor apa?\n1. Pengaduan\n2. Aspirasi") == (
        "Mau lapor apa? Pilihan satu: Pengaduan. Pilihan dua: Aspirasi."
    )


def test_buttons_not_listed_in_the_text_are_read_after_it_once():
    buttons = [{"title": "Ya"}, {"title": "Tidak"}]
    assert speakable("Sudah benar?", buttons) == "Sudah benar? Pilihan satu: Ya. Pilihan dua: Tidak."
    assert speakable("Sudah benar?\n1. Ya\n2. Tidak", buttons) == "Sudah benar? Pilihan satu: Ya. Pilihan dua: Tidak."


def test_amounts_times_and_phone_numbers():
    assert speakable("Biaya Rp 50.000 pukul 08.30 WIB.") == (
        "Biaya lima puluh ribu rupiah pukul delapan lewat tiga puluh menit Waktu Indonesia Barat."
    )
    assert speakable("Layanan 08.00-16.00.") == "Layanan pukul delapan sampai pukul enam belas."
    assert speakable("Telepon 0812345.") == "Telepon nol delapan satu dua, tiga empat lima."


@pytest.mark.parametrize("value, words", [
    (0, "nol"), (10, "sepuluh"), (11, "sebelas"), (19, "sembilan belas"), (100, "seratus"), (101, "seratus satu"),
    (1000, "seribu"), (1708, "seribu tujuh ratus delapan"), (2026, "dua ribu dua puluh enam"),
    (1_000_000, "satu juta"), (250_000, "dua ratus lima puluh ribu"),
])
def test_number_words(value, words):
    assert number_words(value) == words


def test_long_runs_of_spoken_digits_become_digits_but_amounts_stay_words():
    assert spoken_digits("nomor empat delapan dua satu, tujuh tujuh tiga nol") == "nomor 48217730"
    assert spoken_digits("Sudah dua minggu, tiga orang.") == "Sudah dua minggu, tiga orang."


def test_nothing_to_say_gives_an_empty_string():
    assert speakable("🙏 https://lapor.go.id") == ""


def test_quotes_and_markup_are_not_read():
    assert speakable("Saya mendengar: «Jalan Merdeka». Benar?") == "Saya mendengar: Jalan Merdeka. Benar?"
    assert speakable("Ketik *ulangi* atau \"batal\".") == "Ketik ulangi atau batal."
