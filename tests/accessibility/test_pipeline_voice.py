from __future__ import annotations

import pytest

from accessibility.pipeline import AccessibilityLayer, Incoming, Outgoing
from accessibility.profiles import ProfileStore
from accessibility.speech_to_text import SpeechToText
from tests.accessibility.clips import SENTENCES, silent_wav, speak
from tests.accessibility.conftest import make_settings

USER = "c" * 64
MENU = [
    {"title": "Pengaduan", "payload": "/file_complaint"},
    {"title": "Aspirasi", "payload": "/file_aspiration"},
    {"title": "Permintaan informasi", "payload": "/request_information"},
]


@pytest.fixture
def voice_layer(settings, database, stt, offline_tts):
    return AccessibilityLayer(settings, database, speech_to_text=stt, text_to_speech=offline_tts)


def voice(clip, mime="audio/ogg", **metadata):
    return Incoming(channel="whatsapp", identity_hash=USER, audio=clip, audio_mime=mime, metadata=metadata)


async def menu_shown(layer, can_send_voice=True):
    return await layer.render("whatsapp", USER, [{"text": "Mau lapor apa?", "buttons": MENU}], can_send_voice)


async def test_a_voice_note_reaches_rasa_as_text_with_voice_metadata_and_switches_voice_replies_on(voice_layer, database):
    for_rasa, replies = await voice_layer.prepare(voice(speak(SENTENCES[0]), event_code="SOSBDG01"))
    assert replies == []
    assert "jalan" in for_rasa.text.lower()
    assert for_rasa.metadata["input_mode"] == "voice"
    assert 0.0 < for_rasa.metadata["stt_confidence"] <= 1.0
    assert for_rasa.metadata["event_code"] == "SOSBDG01"
    assert ProfileStore(database).get("whatsapp", USER).voice_replies is True


async def test_after_a_voice_note_every_reply_carries_text_and_a_voice_note(voice_layer):
    await voice_layer.prepare(voice(speak(SENTENCES[3])))
    replies = await voice_layer.render(
        "whatsapp", USER, [{"text": "Terima kasih."}, {"text": "Mau lapor apa?", "buttons": MENU}], can_send_voice=True
    )
    assert [reply.text for reply in replies] == ["Terima kasih.", "Mau lapor apa?"]
    assert all(reply.voice_ogg and reply.voice_ogg.startswith(b"OggS") for reply in replies)
    assert replies[1].buttons == MENU


async def test_a_channel_that_cannot_send_voice_gets_text_only(voice_layer):
    await voice_layer.prepare(voice(speak(SENTENCES[3])))
    replies = await voice_layer.render("whatsapp", USER, [{"text": "Terima kasih."}], can_send_voice=False)
    assert replies == [Outgoing(text="Terima kasih.")]


async def test_a_voice_note_after_the_text_command_keeps_replies_in_text(voice_layer, database):
    await voice_layer.prepare(Incoming(channel="whatsapp", identity_hash=USER, text="/teks"))
    for_rasa, _ = await voice_layer.prepare(voice(speak(SENTENCES[3])))
    assert for_rasa.metadata["input_mode"] == "voice"
    assert ProfileStore(database).get("whatsapp", USER).voice_replies is False


async def test_a_spoken_number_picks_the_button_shown_last(voice_layer):
    await menu_shown(voice_layer)
    for_rasa, _ = await voice_layer.prepare(voice(speak("Nomor dua.")))
    # Unsure picks arrive as the option's words, flagged to be read back (issue 20).
    assert for_rasa.text == "/file_aspiration" or (for_rasa.text == "Aspirasi" and for_rasa.metadata["stt_read_back"])
    assert for_rasa.metadata["input_mode"] == "voice"


@pytest.mark.parametrize("case", ["empty", "silence", "corrupt", "not_audio", "too_long"])
async def test_unusable_uploads_are_answered_kindly_and_nothing_is_lost(case, tmp_path, database, stt, offline_tts):
    settings = make_settings(tmp_path, speech_to_text={"max_seconds": 3})
    short_stt = SpeechToText("bundled-base", data_dir=stt.data_dir, max_seconds=3)
    layer = AccessibilityLayer(settings, database, speech_to_text=short_stt, text_to_speech=offline_tts)
    clip, mime = {
        "empty": (b"", "audio/ogg"),
        "silence": (silent_wav(2.0), "audio/wav"),
        "corrupt": (speak(SENTENCES[0])[:40] + b"\x00garbage" * 50, "audio/ogg"),
        "not_audio": (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n" * 20, "application/pdf"),
        "too_long": (speak(" ".join(SENTENCES)), "audio/ogg"),
    }[case]
    await menu_shown(layer, can_send_voice=False)
    for_rasa, replies = await layer.prepare(voice(clip, mime))
    assert for_rasa is None
    assert len(replies) == 1 and replies[0].text.startswith("Maaf, ")
    expected = {"empty": "kosong", "silence": "kosong", "corrupt": "tidak bisa dibuka", "not_audio": "bukan pesan suara",
                "too_long": "terlalu panjang"}[case]
    assert expected in replies[0].text
    assert ProfileStore(database).get("whatsapp", USER).voice_replies is False
    for_rasa, _ = await layer.prepare(Incoming(channel="whatsapp", identity_hash=USER, text="dua"))
    assert for_rasa.text == "/file_aspiration"


async def test_a_rejected_upload_is_answered_by_voice_too_when_voice_is_on(voice_layer, database):
    ProfileStore(database).update("whatsapp", USER, voice_replies=True)
    await menu_shown(voice_layer, can_send_voice=True)
    for_rasa, replies = await voice_layer.prepare(voice(b""))
    assert for_rasa is None
    assert replies[0].voice_ogg.startswith(b"OggS")



async def test_a_missing_speech_model_is_logged_at_warm_up_and_voice_notes_are_answered_kindly(tmp_path, database, caplog):
    settings = make_settings(tmp_path, speech_to_text={"model": str(tmp_path / "no-such-model")})
    layer = AccessibilityLayer(settings, database)
    await layer.warm_up()
    assert any("could not be loaded" in record.getMessage() for record in caplog.records)
    for_rasa, replies = await layer.prepare(voice(speak(SENTENCES[3])))
    assert for_rasa is None
    assert replies[0].text == "Maaf, pesan suara belum bisa diproses sekarang. Silakan ketik pesan Anda."


async def test_a_text_only_choice_survives_a_restart_and_a_later_voice_note(settings, database, stt, offline_tts):
    await AccessibilityLayer(settings, database, speech_to_text=stt, text_to_speech=offline_tts).prepare(
        Incoming(channel="whatsapp", identity_hash=USER, text="/teks")
    )
    restarted = AccessibilityLayer(settings, database, speech_to_text=stt, text_to_speech=offline_tts)
    for_rasa, _ = await restarted.prepare(voice(speak(SENTENCES[3])))
    assert for_rasa.metadata["input_mode"] == "voice"
    assert ProfileStore(database).get("whatsapp", USER).voice_replies is False
