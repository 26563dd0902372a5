from channels.rest import as_choice

MENU = [{"title": "Buat pengaduan", "payload": "/file_complaint"}, {"title": "Minta informasi", "payload": "/request_information"},
        {"title": "Cek status laporan", "payload": "/check_status"}]
SHOWN = [{"event": "user", "text": "halo"}, {"event": "bot", "text": "Ada yang bisa saya bantu?", "data": {"buttons": MENU}}]


def test_a_typed_number_picks_the_button_shown_last():
    assert as_choice("2", SHOWN) == "/request_information"


def test_a_typed_button_title_picks_that_button():
    assert as_choice("cek status laporan", SHOWN) == "/check_status"


def test_a_message_that_picks_no_button_goes_to_the_nlu_as_typed():
    assert as_choice("jalan di depan rumah saya rusak", SHOWN) is None
    assert as_choice("7", SHOWN) is None


def test_buttons_answered_already_pick_nothing():
    assert as_choice("2", SHOWN + [{"event": "user", "text": "apa?"}]) is None


def test_a_payload_is_passed_as_it_is():
    assert as_choice("/file_complaint", SHOWN) is None
