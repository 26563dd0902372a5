from __future__ import annotations

import pytest

from accessibility import speech_answers
from accessibility.speech_answers import NO, YES
from accessibility.speech_to_text import COMPRESSION_RATIO_THRESHOLD, LOG_PROB_THRESHOLD, SpeechToText
from bot.settings import Section, Settings
from accessibility.speech_text import digit_words
from storage.tracking_numbers import is_valid
from tests.accessibility.clips import speak

MENU = ["Biasa", "Rahasia", "Anonim"]


def test_temperature_fallback_and_the_repetition_guard_are_configured(tmp_path):
    settings = Settings(root=Section("", {"data_dir": str(tmp_path), "accessibility": {"speech_to_text": {}}}),
                        base_dir=tmp_path)
    stt = SpeechToText.from_settings(settings)
    assert stt.temperatures[0] == 0.0 and len(stt.temperatures) > 1
    assert stt.compression_ratio_threshold == COMPRESSION_RATIO_THRESHOLD == 2.4
    assert stt.log_prob_threshold == LOG_PROB_THRESHOLD == -1.0
    assert stt.initial_prompt is None
    worker_options = stt.options()
    assert worker_options["temperatures"] == list(stt.temperatures)
    assert worker_options["compression_ratio_threshold"] == 2.4


def test_the_configured_fallback_comes_from_config_yml():
    from bot.settings import load_settings

    stt = SpeechToText.from_settings(load_settings())
    assert stt.temperatures[0] == 0.0 and len(stt.temperatures) > 1
    assert stt.compression_ratio_threshold == 2.4


def test_a_spoken_no_to_a_numbered_menu_picks_no_option(stt):
    transcript = stt.transcribe_sync(speak("Tidak."), "audio/ogg", expects="choice", titles=MENU)
    assert transcript.answer == NO
    assert speech_answers.option_index(transcript.answer) is None
    assert not transcript.looping


@pytest.mark.parametrize("said, value", [("Tiga.", "#2"), ("Satu.", "#0")])
def test_a_spoken_number_picks_its_option(stt, said, value):
    transcript = stt.transcribe_sync(speak(said), "audio/ogg", expects="choice", titles=MENU)
    assert transcript.answer == value
    assert transcript.text == MENU[speech_answers.option_index(value)]


@pytest.mark.parametrize("said, value", [("Iya, betul.", YES), ("Bukan.", NO), ("Tidak.", NO)])
def test_a_yes_no_question_hears_yes_or_no(stt, said, value):
    transcript = stt.transcribe_sync(speak(said), "audio/ogg", expects="yes_no")
    assert transcript.answer == value
    assert transcript.text == value
    assert 0.0 <= transcript.confidence <= 1.0


def test_a_spoken_number_to_a_yes_no_question_is_never_a_number(stt):
    transcript = stt.transcribe_sync(speak("Tiga."), "audio/ogg", expects="yes_no")
    assert transcript.answer in (YES, NO, None)
    assert not any(char.isdigit() for char in transcript.text)


def test_a_tracking_number_with_a_bad_check_digit_is_not_accepted(stt):
    clip = speak("Nomor laporan saya satu empat tiga tujuh, satu tiga dua enam.")
    transcript = stt.transcribe_sync(clip, "audio/ogg", expects="tracking_number")
    assert transcript.answer is None or is_valid(transcript.answer)
    assert transcript.answer != "1437-1326"


def test_a_sentence_to_a_yes_no_question_is_decoded_as_free_text(stt):
    said = "Saya mau mengganti lokasi kejadiannya di dekat pasar."
    transcript = stt.transcribe_sync(speak(said), "audio/ogg", expects="yes_no")
    assert transcript.answer is None
    assert len(transcript.text.split()) >= 4


def test_a_note_that_makes_whisper_loop_is_never_passed_on(stt):
    """Whether base Whisper loops on this note or drops it as no speech depends on the CPU
    (CTranslate2's numerics): on one it decodes a loop, which is flagged; on another every
    fallback fails and nothing is heard. Either way the dialogue asks again (pipeline: "unclear"
    or "nothing heard"); what must never happen is the loop's text going on as the answer."""
    transcript = stt.transcribe_sync(speak("satu, " * 14), "audio/ogg", expects="free_text")
    assert transcript.answer is None
    assert transcript.looping or not transcript.text.strip(), f"a loop was passed on: {transcript.text!r}"


@pytest.mark.parametrize("number", ["1437-1325", "6260-1811"])
def test_a_read_out_tracking_number_comes_back_damm_valid_or_is_asked_again(stt, number):
    left, right = number.split("-")
    clip = speak(f"Nomor laporan saya {digit_words(left)}, {digit_words(right)}.")
    transcript = stt.transcribe_sync(clip, "audio/ogg", expects="tracking_number")
    assert not transcript.looping
    if transcript.answer is not None:
        assert is_valid(transcript.answer)
    else:
        # Nothing the dialogue could take for a report's number: it asks again.
        assert not is_valid(transcript.text)


def test_words_said_to_a_number_question_are_passed_on_not_turned_into_digits(stt):
    transcript = stt.transcribe_sync(speak("Saya lupa nomornya."), "audio/ogg", expects="tracking_number")
    assert transcript.answer is None
    assert len(speech_answers.heard_digits(transcript.text)) < 4
    assert len(transcript.text.split()) >= 2


@pytest.mark.parametrize("fmt", ["ogg", "amr"])
@pytest.mark.parametrize("menu", [MENU, ["Pengaduan", "Aspirasi", "Permintaan informasi", "Tidak jadi"]])
def test_a_generated_tidak_never_selects_a_numbered_option(stt, fmt, menu):
    transcript = stt.transcribe_sync(speak("Tidak.", fmt), None, expects="choice", titles=menu)
    assert speech_answers.option_index(transcript.answer) is None or menu[speech_answers.option_index(transcript.answer)].lower().startswith("tidak")


def test_a_number_question_is_decoded_among_figures_and_digit_words_only(stt):
    from accessibility.speech_recogniser import digit_suppression

    tokenizer = stt.recogniser()._tokenizer(stt.model())
    suppressed = set(digit_suppression(tokenizer))
    for allowed in (" 4821-7730", " empat delapan dua satu, tujuh tujuh tiga nol.", " Nomor laporan saya", " batal"):
        assert not suppressed.intersection(tokenizer.encode(allowed)), allowed
    for other in (" pengaduan", " rumah", " Thank you."):
        assert suppressed.intersection(tokenizer.encode(other)), other
