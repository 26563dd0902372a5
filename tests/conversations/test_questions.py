import pytest

from tests.conversations.questions import BotMessage, classify, options_of, recognise, tracking_number_in

PRIVACY_BUTTONS = [{"title": "Biasa", "payload": '/affirm{"privacy": "biasa"}'},
                   {"title": "Rahasia", "payload": '/affirm{"privacy": "rahasia"}'},
                   {"title": "Anonim", "payload": '/affirm{"privacy": "anonim"}'}]


@pytest.mark.parametrize("text, kind", [
    ("Laporan Anda termasuk jenis apa?", "report_type"),
    ("Ini laporan jenis apa?\nPengaduan artinya ada masalah layanan.", "report_type"),
    ("Silakan ceritakan laporan Anda sejelas mungkin: apa yang terjadi, atau apa usul dan pertanyaan Anda.",
     "description"),
    ("Terima kasih. Boleh ditambah sedikit detailnya? Misalnya apa persisnya yang terjadi", "description_more"),
    ("Di mana tempatnya? Sebutkan alamat atau patokan, desa atau kelurahan, kecamatan", "location"),
    ("Maaf, saya belum mengenali tempat itu. Di kabupaten atau kota mana tempatnya?", "region_name"),
    ("Ada beberapa tempat dengan nama itu. Yang mana yang Anda maksud?\n1. Kota Bandung", "region_choice"),
    ("Laporan Anda paling cocok masuk topik apa?\n1. Jalan, jembatan", "category"),
    ("Terima kasih. Boleh ditambah sedikit detailnya? Misalnya apa yang terjadi, sejak kapan", "description_more"),
    ("Tidak ada laporan yang sedang dibuat, jadi tidak ada yang perlu dibatalkan.", "nothing_to_cancel"),
    ("Kapan kejadiannya? Boleh ditulis seperti 'kemarin', '3 hari lalu', atau '12 Oktober'.", "date"),
    ("Maaf, saya belum paham tanggalnya. Coba tulis seperti 'kemarin'", "date"),
    ("Tidak apa-apa. Perkiraan juga boleh, misalnya 'minggu lalu'", "date_estimate"),
    ("Siapa yang boleh melihat laporan ini?\n- Biasa: isi laporan terbuka untuk umum", "privacy"),
    ("Mohon periksa laporan Anda:\nJenis: Pengaduan\nCerita: warga tidak puas\nPrivasi: BIASA\nSudah benar?",
     "readback"),
    ("Bagian mana yang ingin diubah?", "field"),
    ("Yakin ingin membatalkan? Laporan yang belum dikirim ini akan dihapus.", "cancel_confirm"),
    ("Laporan ini belum dikirim.\nMau dibatalkan?", "cancel_confirm"),
    ("Baik, laporan dibatalkan dan tidak dikirim. Sapa saya lagi kapan saja", "cancelled"),
    ("Baik, laporan dibatalkan.\nTidak ada yang dikirim.", "cancelled"),
    ("Laporan ini belum dikirim; setelah dikirim Anda mendapat nomor untuk mengecek statusnya. Untuk laporan "
     "yang lama, ketik 'status' setelah laporan ini selesai atau dibatalkan.", "status"),
    ("Satu pertanyaan terakhir: seberapa puas Anda dengan layanan ini, dari 1 sampai 5?", "satisfaction"),
    ("Berapa nomor laporan Anda? Contohnya 4821-7730.", "tracking_number"),
    ("Status laporan 1437-1325: sudah diterima dan menunggu diperiksa petugas", "status"),
    ("Maaf, saya belum paham maksud Anda. Silakan pilih salah satu:", "menu"),
    ("Sebelum mulai: saya bisa membalas dengan pesan suara, atau dengan bahasa yang lebih sederhana.", "onboarding"),
    ("Baik, kita lanjutkan.", "unknown"),
])
def test_the_question_is_recognised_from_robust_cues(text, kind):
    assert classify(BotMessage(text)) == kind


def test_options_tell_the_question_when_the_words_do_not():
    unclear = BotMessage("Maaf, saya belum paham pilihannya. Balas dengan nomornya:\n1. Biasa: terbuka\n"
                         "2. Rahasia: hanya petugas yang membaca\n3. Anonim: nama tidak dicatat", PRIVACY_BUTTONS)

    assert classify(unclear) == "privacy"


def test_the_last_question_of_a_turn_is_the_one_asked():
    turn = [BotMessage("Baik, kita lanjutkan."), BotMessage("Kapan kejadiannya?")]

    assert recognise(turn).kind == "date"


def test_options_come_from_buttons_sms_menus_or_a_numbered_list():
    assert [o.title for o in options_of(BotMessage("Siapa yang boleh melihat?", PRIVACY_BUTTONS))] == [
        "Biasa", "Rahasia", "Anonim"]
    sms = options_of(BotMessage("Siapa yang boleh melihat?\nBalas 1 untuk Biasa\nBalas 2 untuk Rahasia"))
    assert [(o.number, o.title, o.payload) for o in sms] == [(1, "Biasa", None), (2, "Rahasia", None)]
    listed = options_of(BotMessage("Topik apa?\n1. Jalan dan jembatan\n2. Tidak tahu"))
    assert [o.title for o in listed] == ["Jalan dan jembatan", "Tidak tahu"]


def test_a_filing_message_gives_the_tracking_number_but_a_status_answer_does_not():
    filed = BotMessage("Terima kasih, laporan Anda sudah kami terima. Nomor laporan Anda: 1437-1325. Simpan nomor ini.")
    status = BotMessage("Status laporan 1437-1325: sudah diterima (sejak 28 November 2026).")
    example = BotMessage("Berapa nomor laporan Anda? Contohnya 4821-7730.")

    assert tracking_number_in([filed]) == "1437-1325"
    assert tracking_number_in([status, example]) is None


def test_after_the_tracking_number_the_satisfaction_question_is_what_is_asked():
    turn = [BotMessage("Nomor laporan Anda: 1437-1325. Simpan nomor ini."),
            BotMessage("Satu pertanyaan terakhir: seberapa puas Anda?")]

    assert recognise(turn).kind == "satisfaction"
