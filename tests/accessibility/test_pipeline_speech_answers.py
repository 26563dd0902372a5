from __future__ import annotations

import pytest

from accessibility.pipeline import NOTHING_HEARD, UNCLEAR, AccessibilityLayer, Incoming
from tests.accessibility.clips import speak

USER = "d" * 64
PRIVACY = [
    {"title": "Biasa", "payload": "/choose_privacy{\"privacy\": \"biasa\"}"},
    {"title": "Rahasia", "payload": "/choose_privacy{\"privacy\": \"rahasia\"}"},
    {"title": "Anonim", "payload": "/choose_privacy{\"privacy\": \"anonim\"}"},
]
CONFIRM = [{"title": "Ya, kirim", "payload": "/affirm"}, {"title": "Tidak, ubah", "payload": "/deny"}]


@pytest.fixture
def voice_layer(settings, database, stt, offline_tts):
    return AccessibilityLayer(settings, database, speech_to_text=stt, text_to_speech=offline_tts)


def voice(clip):
    return Incoming(channel="telegram", identity_hash=USER, audio=clip, audio_mime="audio/ogg")


async def asked(layer, message):
    await layer.render("telegram", USER, [message], can_send_voice=False)


async def test_a_spoken_no_to_a_numbered_menu_does_not_pick_an_option(voice_layer):
    await asked(voice_layer, {"text": "Siapa yang boleh melihat laporan ini?", "buttons": PRIVACY, "expects": "choice"})
    for_rasa, replies = await voice_layer.prepare(voice(speak("Tidak.")))
    assert replies == []
    assert not for_rasa.text.startswith("/")
    assert for_rasa.text == "tidak"
    assert for_rasa.metadata["stt_expects"] == "choice"


async def test_a_spoken_yes_to_a_yes_no_question_reaches_rasa_as_yes(voice_layer):
    await asked(voice_layer, {"text": "Apakah nomor ini benar?", "expects": "yes_no"})
    for_rasa, _ = await voice_layer.prepare(voice(speak("Iya, betul.")))
    assert for_rasa.text == "ya"
    assert for_rasa.metadata["input_mode"] == "voice"
    assert 0.0 <= for_rasa.metadata["stt_confidence"] <= 1.0


async def test_a_spoken_no_picks_the_no_button_of_a_confirmation(voice_layer):
    await asked(voice_layer, {"text": "Sudah benar dan siap dikirim?", "buttons": CONFIRM, "expects": "yes_no"})
    for_rasa, _ = await voice_layer.prepare(voice(speak("Tidak.")))
    assert for_rasa.text in ("/deny", "Tidak, ubah")


async def test_a_spoken_option_number_picks_that_option(voice_layer):
    await asked(voice_layer, {"text": "Siapa yang boleh melihat laporan ini?", "buttons": PRIVACY, "expects": "choice"})
    for_rasa, _ = await voice_layer.prepare(voice(speak("Tiga.")))
    assert for_rasa.text in (PRIVACY[2]["payload"], "Anonim")
    if for_rasa.text == "Anonim":
        assert for_rasa.metadata["stt_read_back"] is True


async def test_the_expected_kind_may_come_inside_custom(voice_layer):
    await asked(voice_layer, {"text": "Apakah nomor ini benar?", "custom": {"expects": "yes_no"}})
    for_rasa, _ = await voice_layer.prepare(voice(speak("Bukan.")))
    assert for_rasa.text == "tidak"


async def test_a_looping_transcript_is_refused_and_the_question_asked_again(voice_layer):
    question = {"text": "Ceritakan apa yang terjadi.", "expects": "free_text"}
    await asked(voice_layer, question)
    for_rasa, replies = await voice_layer.prepare(voice(speak("satu, " * 14)))
    assert for_rasa is None
    if replies[0].text == NOTHING_HEARD:
        # On some CPUs base Whisper drops this note as no speech instead of looping on it
        # (CTranslate2's numerics): the citizen is asked to send it again, nothing goes on.
        assert len(replies) == 1
        return
    assert replies[0].text == UNCLEAR["regular"]
    assert [reply.text for reply in replies[1:]] == [question["text"]]
