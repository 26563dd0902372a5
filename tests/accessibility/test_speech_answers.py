from __future__ import annotations

import pytest

from accessibility import speech_answers
from accessibility.speech_answers import NO, YES, Candidate, calibrated, candidates, option_index
from storage.tracking_numbers import is_valid

MENU = ["Biasa", "Rahasia", "Anonim"]


@pytest.mark.parametrize("text", [
    "Harga tikernya, satu juta, 7773333333333333333333",
    "Harga tiketnya satu juta, tu juta, tu juta, tu juta, tu juta, tu juta",
    "Satu, satu, satu, satu, satu, satu.",
    "ya ya ya ya ya ya ya ya ya ya ya ya ya ya ya ya ya ya ya ya ya ya ya ya",
])
def test_a_looping_transcript_is_recognised(text):
    assert speech_answers.looks_like_loop(text)


@pytest.mark.parametrize("text", [
    "Jalan di depan rumah saya rusak parah sejak bulan lalu.",
    "iya, iya",
    "Nomor laporan saya 4821-7730.",
    "Harga tiketnya satu juta tujuh ratus lima puluh ribu rupiah.",
    "",
])
def test_ordinary_speech_is_not_taken_for_a_loop(text):
    assert not speech_answers.looks_like_loop(text)


def test_a_sentence_decoded_twice_in_a_row_is_kept_once():
    doubled = "Kenapa tiada masuk kantor? Kenapa tiada masuk kantor?"
    assert speech_answers.collapse_doubled(doubled) == "Kenapa tiada masuk kantor?"
    assert speech_answers.collapse_doubled("Iya. Iya.") == "Iya. Iya."


@pytest.mark.parametrize("text, digits", [
    ("empat delapan dua satu, tujuh tujuh tiga nol", "48217730"),
    ("Nomor laporan saya 4821 7730.", "48217730"),
    ("empat puluh delapan dua puluh satu", "4821"),
    ("satu tiga belas sebelas", "11311"),
    ("kosong delapan satu dua", "0812"),
    ("tidak ada", ""),
    ("enamdua enamnol, satu-lapan satu-satu", "62601811"),
    ("Nomor laporan sayaenam sembilan", "69"),
    ("satu o dua", "102"),
    ("yang kedua", ""),
])
def test_digits_are_read_from_words_and_figures(text, digits):
    assert speech_answers.heard_digits(text) == digits


def test_a_tracking_number_is_accepted_only_with_a_valid_check_digit():
    assert speech_answers.tracking_number("satu empat tiga tujuh, satu tiga dua lima") == "1437-1325"
    assert speech_answers.tracking_number("satu empat tiga tujuh, satu tiga dua enam") is None
    assert speech_answers.tracking_number("satu empat tiga tujuh") is None


def test_the_first_reading_whose_check_digit_holds_is_taken_with_its_rank():
    assert speech_answers.first_valid_tracking_number(["1437132", "14371326", "14371325"]) == ("14371325", 2)
    assert speech_answers.first_valid_tracking_number(["14371325", "62601811"]) == ("14371325", 0)
    assert speech_answers.first_valid_tracking_number(["14371326", "143713250"]) is None


def test_every_repair_of_a_bad_number_changes_one_digit_and_is_valid():
    repairs = speech_answers.single_digit_repairs("14371326")
    assert len(repairs) == 8
    assert "14371325" in repairs
    for repair in repairs:
        assert is_valid(repair)
        assert sum(a != b for a, b in zip(repair, "14371326")) == 1


def test_no_is_an_answer_of_its_own_in_a_numbered_menu():
    options = candidates("choice", MENU)
    assert {c.value for c in options if c.text in ("tidak", "bukan")} == {NO}
    assert {option_index(c.value) for c in options if c.text == "tiga"} == {2}
    assert all(option_index(c.value) is None for c in options if c.value in (YES, NO))


def test_a_yes_no_question_without_buttons_admits_only_yes_and_no():
    assert {c.value for c in candidates("yes_no")} == {YES, NO}


def test_numbered_yes_no_buttons_mean_yes_and_no():
    options = candidates("yes_no", ["Ya, kirim", "Tidak, ubah"])
    assert {c.value for c in options if c.text == "satu"} == {YES}
    assert {c.value for c in options if c.text == "dua"} == {NO}


@pytest.mark.parametrize("heard, value", [
    ("Iya, betul.", YES), ("ya sudah benar", YES), ("Nggak.", NO), ("bukan itu", NO), ("Tida.", NO),
    ("yang kedua", "#1"), ("Rahasia", "#1"), ("nomor tiga", "#2"),
])
def test_free_transcripts_match_the_answer_they_say(heard, value):
    found = speech_answers.match(heard, speech_answers.spellings("choice", MENU))
    assert found is not None and found.value == value


def test_a_sentence_matches_no_short_answer():
    assert speech_answers.match("saya mau mengganti lokasinya", speech_answers.spellings("yes_no")) is None


def test_control_words_pass_through_also_when_misspelt():
    assert speech_answers.control_word("Batal.") == "batal"
    assert speech_answers.control_word("Bata-l", fuzzy=True) == "batal"
    assert speech_answers.control_word("Bata-l") is None


def test_confidence_grows_with_the_margin_and_with_agreement():
    assert calibrated(0.0, False) < calibrated(1.0, False) < calibrated(3.0, False)
    assert calibrated(1.0, True) > calibrated(1.0, False)
    assert 0.0 <= calibrated(-50.0, False) < calibrated(50.0, True) <= 1.0


def test_a_candidate_is_a_value_and_a_way_of_saying_it():
    assert Candidate("#0", "satu") in candidates("choice", MENU)


def test_candidates_far_below_the_best_first_token_are_not_scored():
    from accessibility.speech_recogniser import prune_candidates

    forms = [Candidate(YES, " ya."), Candidate(YES, " iya."), Candidate(NO, " tidak."), Candidate(NO, " bukan.")]
    first_step = {1: -0.5, 2: -3.0, 3: -9.0, 4: -20.0}
    kept = prune_candidates(forms, [[1], [2], [3], [4, 2]], first_step, nats=6.0)
    assert [form.text for form in kept] == [" ya.", " iya.", " tidak.", " bukan."]
    forms = [Candidate(YES, " ya."), Candidate("#2", " tiga."), Candidate("#0", " satu.")]
    kept = prune_candidates(forms, [[1], [2], [3]], {1: -0.5, 2: -3.0, 3: -9.0}, nats=6.0)
    assert [form.text for form in kept] == [" ya.", " tiga."]


def test_pruning_always_leaves_a_rival_answer_for_the_margin():
    from accessibility.speech_recogniser import prune_candidates

    forms = [Candidate("#1", " dua."), Candidate("#2", " tiga."), Candidate("#0", " satu.")]
    kept = prune_candidates(forms, [[1], [2], [3]], {1: -0.1, 2: -12.0, 3: -30.0}, nats=6.0)
    assert {form.value for form in kept} == {"#1", "#2"}


def test_a_spoken_no_is_never_pruned_from_a_menu_however_unlikely_its_first_token():
    from accessibility.speech_recogniser import prune_candidates

    forms = [Candidate("#2", " tiga."), Candidate(NO, " tidak."), Candidate("#0", " satu.")]
    kept = prune_candidates(forms, [[1], [2], [3]], {1: -0.1, 2: -25.0, 3: -30.0}, nats=6.0)
    assert NO in {form.value for form in kept}


@pytest.mark.parametrize("heard, kept", [
    ("Rua Rua Rua", "rua"), ("Timak Timak Timak Ti", "timak"), ("Rahasia. Rahasia.", "rahasia"),
    ("iya, betul", "iya, betul"), ("ya sudah benar", "ya sudah benar"),
])
def test_a_quick_decode_that_repeats_one_word_is_kept_once(heard, kept):
    assert speech_answers.first_of_repeats(heard) == kept
