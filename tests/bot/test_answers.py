import pytest

from bot import answers


@pytest.mark.parametrize(
    "text, intent, expected",
    [
        ("ya", None, True), ("iya benar", None, True), ("ok kirim", None, True), ("/affirm", "affirm", True),
        ("tidak, ubah", None, False), ("bukan", None, False), ("gak", None, False), ("/deny", "deny", False),
        ("jalan di depan rumah", None, None), ("", None, None),
    ],
)
def test_yes_and_no_are_recognised(text, intent, expected):
    assert answers.yes_no(text, intent) is expected


@pytest.mark.parametrize(
    "text, intent, expected",
    [
        ("pengaduan", None, "pengaduan"), ("1", None, "pengaduan"), ("keluhan", None, "pengaduan"),
        ("usul", None, "aspirasi"), ("yang kedua", None, "aspirasi"), ("mau tanya info", None, "permintaan_informasi"),
        ("/file_aspiration", "file_aspiration", "aspirasi"), ("entahlah", None, None),
    ],
)
def test_the_report_type_is_understood_from_words_numbers_and_buttons(text, intent, expected):
    assert answers.report_type_from(text, intent) == expected


@pytest.mark.parametrize(
    "text, entity, expected",
    [
        ("biasa", None, "biasa"), ("3", None, "anonim"), ("rahasiakan nama saya", None, "anonim"),
        ("tertutup aja", None, "rahasia"), ('/affirm{"privacy": "rahasia"}', "rahasia", "rahasia"), ("hmm", None, None),
    ],
)
def test_the_privacy_level_is_understood(text, entity, expected):
    assert answers.privacy_from(text, entity) == expected


@pytest.mark.parametrize(
    "text, expected",
    [("2", "description"), ("lokasinya salah", "location"), ("tanggal", "incident_date"), ("privasi", "privacy"),
     ("jenis laporan", "report_type"), ("semuanya", None)],
)
def test_the_field_to_correct_is_understood(text, expected):
    assert answers.field_from(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [("5", 5), ("lima", 5), ("sangat puas", 5), ("puas", 4), ("biasa aja", 3), ("kurang puas", 2),
     ("sangat tidak puas", 1), ("tidak puas", 2), ("9", None), ("nanti saja", None)],
)
def test_a_satisfaction_answer_becomes_a_score(text, expected):
    assert answers.rating_from(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [("jalan rusak", True), ("ada jalan yang rusak", True), ("jalan rusak parah", True),
     ("jalan di depan rumah saya berlubang sejak bulan lalu", False),
     ("lampu penerangan jalan mati total", False)],
)
def test_a_description_too_short_to_act_on_is_recognised(text, expected):
    assert answers.too_short_to_act_on(text) is expected


@pytest.mark.parametrize(
    "text, expected",
    [("status 4821-7730", "48217730"), ("48217730", "48217730"), ("cek 4821 7730 dong", "48217730"),
     ("nomor saya 12", None), ("cek status", None)],
)
def test_a_tracking_number_attempt_is_found_in_a_message(text, expected):
    assert answers.tracking_candidate(text) == expected


@pytest.mark.parametrize(
    "text, entity, expected",
    [("pakai suara", None, True), ("pakai teks saja", None, False), ("bahasa biasa aja", None, False),
     ("bahasa sederhana", None, True), ("/choose_voice", True, True), ("/choose_voice", "false", False)],
)
def test_the_wording_decides_whether_a_preference_is_turned_on(text, entity, expected):
    assert answers.preference_on(text, entity) is expected


@pytest.mark.parametrize(
    "intent, text, fits, expected",
    [
        ("ask_help", "bantuan dong", False, True),
        ("ask_help", "Gang Mawar, Kota Bandung", False, False),
        ("ask_help", "anonim", True, False),
        ("cancel", "batal aja", False, True),
        ("cancel", "lupa", True, False),
        ("request_human", "mau ngomong sama petugas", False, True),
        ("request_human", "petugas puskesmas tidak datang padahal jadwalnya jam delapan pagi", False, False),
        ("repeat", "ulangi", False, True),
        ("deny", "tidak", False, False),
        ("choose_voice", '/choose_voice{"voice_replies": true}', False, True),
    ],
)
def test_only_real_control_requests_steer_the_conversation_inside_a_form(intent, text, fits, expected):
    assert answers.steers_conversation(intent, text, fits) is expected


PLACES = ["Kota Bandung, Jawa Barat", "Kabupaten Bandung, Jawa Barat", "Tidak ada yang cocok"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2", 1), ("yang kedua", 1), ("dua", 1), ("nomor 1", 0), ("Kabupaten Bandung", 1), ("kota", 0),
        ("kota bandumg, jawa barat", 0), ("tidak ada", 2), ("bandung", None), ("7", None), ("entahlah", None), ("", None),
    ],
)
def test_an_option_is_picked_by_number_number_word_name_or_a_word_only_it_has(text, expected):
    assert answers.pick_option(text, PLACES) == expected


@pytest.mark.parametrize(
    "text",
    ["kec. sukajadi, kota bandung", "kel. sukajadi, pekanbaru", "dusun jetis, kab bantul", "kota batu",
     "pasar minggu, jakarta selatan", "tanjung priok", "jalan bantul no 5", "desa jadi makmur"],
)
def test_a_place_holding_a_control_word_steers_nothing(text):
    for intent in answers.CONTROL_INTENTS:
        if intent not in ("choose_voice", "choose_simple_language", "request_human"):
            assert answers.steers_conversation(intent, text, False) is False, intent


@pytest.mark.parametrize(
    "text, expected",
    [
        ("ya", True), ("iya batalkan", True), ("1", True), ("batal aja", True), ("ya hapus saja", True),
        ("eh jangan, lanjut saja", False), ("tidak jadi", False), ("gak jadi deh", False), ("lanjut", False),
        ("eh salah", False), ("2", False), ("tidak", False), ("jangan", False),
        ("seminggu lalu", None), ("Kecamatan Coblong, Kota Bandung", None), ("", None),
    ],
)
def test_only_a_clear_yes_confirms_cancelling(text, expected):
    assert answers.cancel_decision(text) is expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("gak usah pakai nama saya", "anonim"), ("jangan sebut nama saya ya", "anonim"), ("nama saya jangan ditulis", "anonim"),
        ("saya tidak mau ketahuan", "anonim"), ("tanpa nama aja", "anonim"), ("sembunyikan identitas saya", "anonim"),
        ("rahasiakan saja ya, saya takut anak saya dimusuhi", "rahasia"), ("jangan disebar", "rahasia"),
        ("cuma petugas yang boleh baca", "rahasia"),
        ("tidak usah dirahasiakan", "biasa"), ("gak perlu anonim", "biasa"), ("boleh dipublikasi", "biasa"),
        ("pakai nama saya saja", "biasa"), ("gpp terbuka aja", "biasa"), ("terserah", None),
    ],
)
def test_privacy_is_understood_in_the_citizens_own_words(text, expected):
    assert answers.privacy_from(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("bagaimana cara daftar bpjs pbi untuk orang tua saya yang sudah lansia?", True),
        ("gimana cara urus kartu penyandang disabilitas?", True),
        ("mau tanya syarat bikin KTP elektronik", True),
        ("apakah bisa mengurus akta kelahiran di kecamatan?", True),
        ("berapa biaya balik nama sertifikat tanah?", True),
        ("bagaimana cara melapor?", False), ("bantuan dong", False), ("jalan rusak parah di depan rumah", False),
    ],
)
def test_a_question_about_a_public_service_is_an_information_request(text, expected):
    assert answers.asks_for_information(text) is expected


@pytest.mark.parametrize(
    "text, expected",
    [("nomom satu", True), ("nomor satu", True), ("satu", True), ("nomor dua", False), ("Tida.", False),
     ("betul", True), ("ya sudah benar", True), ("iya", True), ("bener", True), ("tiga.", None), ("7", None)],
)
def test_yes_and_no_are_understood_as_people_say_them_and_as_speech_to_text_writes_them(text, expected):
    assert answers.yes_no(text) is expected


@pytest.mark.parametrize(
    "text", ["sejak awal bulan lalu", "dari minggu lalu", "sudah lama sekali"],
)
def test_an_everyday_word_in_an_answer_picks_no_option(text):
    assert answers.pick_option(text, ["Angkutan umum dan lalu lintas", "Jalan dan jembatan", "Tidak tahu"]) is None


@pytest.mark.parametrize(
    "text, expected",
    [("minta tolong pakai nama saya, tidak usah anonim", False), ("saya mau laporan ini anonim saja", True),
     ("tolong rahasiakan identitas saya", True), ("biasanya jalan ini ramai", False)],
)
def test_a_privacy_wish_inside_a_story_needs_its_own_words(text, expected):
    assert answers.states_privacy(text) is expected


@pytest.mark.parametrize(
    "text, expected",
    [("kantor pelayanan tidak punya jalur kursi roda, ayah saya tidak bisa masuk, tolong segera diperbaiki", True),
     ("bantuan bpnt dipotong oleh pengurus, mohon ditindaklanjuti", True),
     ("saya usul dibangun jalur kursi roda di kantor kecamatan", False),
     ("semoga taman kota diperbanyak", False)],
)
def test_a_story_in_a_complaints_words_reads_as_a_complaint(text, expected):
    assert answers.reads_as_complaint(text) is expected
