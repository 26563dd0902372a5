from __future__ import annotations

import json

from accessibility.choices import select
from accessibility.pipeline import Incoming, command_of
from accessibility.profiles import ProfileStore

MENU = [
    {"title": "Pengaduan", "payload": "/choose_type{\"report_type\": \"pengaduan\"}"},
    {"title": "Aspirasi", "payload": "/choose_type{\"report_type\": \"aspirasi\"}"},
    {"title": "Permintaan informasi", "payload": "/choose_type{\"report_type\": \"permintaan_informasi\"}"},
]
USER = "a" * 64


def said(text, channel="telegram", identity=USER, **metadata):
    return Incoming(channel=channel, identity_hash=identity, text=text, metadata=metadata)


async def show_menu(layer, channel="telegram", identity=USER):
    return await layer.render(
        channel, identity, [{"recipient_id": "x", "text": "Mau lapor apa?", "buttons": MENU}], can_send_voice=False
    )


async def test_plain_text_goes_to_rasa_with_text_metadata(layer):
    for_rasa, replies = await layer.prepare(said("jalan di depan rumah rusak", event_code="SOSBDG01"))
    assert replies == []
    assert for_rasa.text == "jalan di depan rumah rusak"
    assert for_rasa.metadata["channel"] == "telegram"
    assert for_rasa.metadata["event_code"] == "SOSBDG01"
    assert for_rasa.metadata["input_mode"] == "text"
    assert for_rasa.metadata["stt_confidence"] is None
    assert for_rasa.metadata["profile"] == {"voice_replies": False, "simple_language": False, "speech_rate": "normal"}


async def test_voice_command_updates_profile_and_tells_the_dialogue(layer, database, settings):
    for_rasa, replies = await layer.prepare(said("/suara"))
    assert replies == []
    assert for_rasa.text == '/choose_voice{"voice_replies": true}'
    assert ProfileStore(database).get("telegram", USER).voice_replies is True
    for_rasa, _ = await layer.prepare(said("/teks"))
    assert for_rasa.text == '/choose_voice{"voice_replies": false}'
    assert ProfileStore(database).get("telegram", USER).voice_replies is False


async def test_simple_language_commands_update_profile_and_tell_the_dialogue(layer, database):
    for_rasa, _ = await layer.prepare(said("/sederhana"))
    assert for_rasa.text == '/choose_simple_language{"simple_language": true}'
    assert json.loads(for_rasa.text[len("/choose_simple_language"):]) == {"simple_language": True}
    assert ProfileStore(database).get("telegram", USER).simple_language is True
    assert for_rasa.metadata["profile"]["simple_language"] is True
    for_rasa, _ = await layer.prepare(said("/biasa"))
    assert for_rasa.text == '/choose_simple_language{"simple_language": false}'
    assert ProfileStore(database).get("telegram", USER).simple_language is False


async def test_commands_are_recognised_with_a_bot_name_and_any_case():
    assert command_of("/suara@SapaLaporBot") == "/suara"
    assert command_of(" /Sederhana ") == "/sederhana"
    assert command_of("/start") is None
    assert command_of("pakai suara") is None


async def test_slow_command_confirms_and_repeats_the_last_question_with_its_buttons(layer, database):
    await show_menu(layer)
    for_rasa, replies = await layer.prepare(said("/pelan"))
    assert for_rasa is None
    assert replies[0].text == "Baik, saya akan bicara lebih pelan."
    assert replies[1].text == "Mau lapor apa?"
    assert replies[1].buttons == MENU
    assert ProfileStore(database).get("telegram", USER).speech_rate == "slow"
    for_rasa, _ = await layer.prepare(said("/normal"))
    assert ProfileStore(database).get("telegram", USER).speech_rate == "normal"


async def test_spoken_or_typed_numbers_pick_the_last_buttons_shown(layer):
    for answer, expected in [("1", 0), ("dua", 1), ("yang kedua", 1), ("nomor 3", 2), ("pilihan ketiga", 2),
                             ("tiga aja", 2), ("Aspirasi", 1), ("permintaan infromasi", 2)]:
        await show_menu(layer)
        for_rasa, replies = await layer.prepare(said(answer))
        assert replies == []
        assert for_rasa.text == MENU[expected]["payload"], answer


async def test_a_misheard_nomor_before_the_number_still_picks_the_button(layer):
    await show_menu(layer)
    for answer, index in (("nomom satu.", 0), ("Nombor dua", 1), ("nomer tiga", 2)):
        for_rasa, _ = await layer.prepare(said(answer))
        assert for_rasa.text == MENU[index]["payload"]
    for_rasa, _ = await layer.prepare(said("motor dua"))
    assert for_rasa.text == "motor dua"


async def test_a_number_after_a_turn_without_buttons_stays_text(layer):
    await show_menu(layer)
    await layer.render("telegram", USER, [{"text": "Berapa orang yang terdampak?"}], can_send_voice=False)
    for_rasa, _ = await layer.prepare(said("dua"))
    assert for_rasa.text == "dua"


async def test_buttons_are_remembered_per_channel_and_user(layer):
    await show_menu(layer, channel="telegram", identity=USER)
    other, _ = await layer.prepare(said("2", identity="b" * 64))
    same_user_other_channel, _ = await layer.prepare(said("2", channel="whatsapp"))
    mine, _ = await layer.prepare(said("2"))
    assert other.text == "2"
    assert same_user_other_channel.text == "2"
    assert mine.text == MENU[1]["payload"]


async def test_out_of_range_number_and_free_text_pass_through(layer):
    await show_menu(layer)
    assert (await layer.prepare(said("5")))[0].text == "5"
    assert (await layer.prepare(said("ulangi")))[0].text == "ulangi"
    assert (await layer.prepare(said("lampu jalan mati dua minggu")))[0].text == "lampu jalan mati dua minggu"


async def test_render_keeps_text_buttons_and_images_without_voice_when_voice_is_off(layer):
    replies = await layer.render(
        "telegram",
        USER,
        [
            {"recipient_id": "x", "text": "Terima kasih."},
            {"recipient_id": "x"},
            {"recipient_id": "x", "image": "https://example.org/peta.png"},
            {"recipient_id": "x", "text": "Mau lapor apa?", "buttons": MENU},
        ],
        can_send_voice=True,
    )
    assert [reply.text for reply in replies] == ["Terima kasih.", None, "Mau lapor apa?"]
    assert replies[1].image == "https://example.org/peta.png"
    assert replies[2].buttons == MENU
    assert all(reply.voice_ogg is None for reply in replies)


async def test_memory_is_bounded_and_an_evicted_users_choice_comes_from_the_profile(settings, database):
    from accessibility.pipeline import AccessibilityLayer

    layer = AccessibilityLayer(settings, database, remember=2)
    for identity in ("1" * 64, "2" * 64, "3" * 64):
        await show_menu(layer, identity=identity)
    assert layer.state.remembered() == 2
    assert (await layer.prepare(said("dua", identity="1" * 64)))[0].text == MENU[1]["payload"]
    assert (await layer.prepare(said("dua", identity="3" * 64)))[0].text == MENU[1]["payload"]


def test_label_matching_is_strict_enough_for_free_answers():
    assert select("tidak", [{"title": "Ya", "payload": "/affirm"}, {"title": "Tidak", "payload": "/deny"}])["payload"] == "/deny"
    assert select("tidak, lokasinya salah", [{"title": "Ya"}, {"title": "Tidak"}]) is None



async def test_a_numbered_answer_still_picks_the_choice_after_a_restart(settings, database):
    from accessibility.pipeline import AccessibilityLayer

    before = AccessibilityLayer(settings, database)
    await show_menu(before)
    await before.settle("telegram", USER)  # as the next turn would, had no channel stored them
    restarted = AccessibilityLayer(settings, database)
    for_rasa, _ = await restarted.prepare(said("2"))
    assert for_rasa.text == MENU[1]["payload"]


async def test_the_choices_shown_are_stored_by_the_transaction_the_channel_commits_after_sending(settings, database):
    from accessibility.pipeline import AccessibilityLayer
    from accessibility.profiles import ProfileStore

    layer = AccessibilityLayer(settings, database)
    await show_menu(layer)
    assert ProfileStore(database).get("telegram", USER).last_choices is None  # the reply did not wait
    write = layer.after_turn("telegram", USER)
    assert layer.after_turn("telegram", USER) is None  # taken once
    with database.session() as session:
        write(session)
    assert ProfileStore(database).get("telegram", USER).last_choices == MENU
    assert (await layer.prepare(said("2")))[0].text == MENU[1]["payload"]


async def test_choices_no_channel_stored_are_stored_before_the_next_turn_reads_them(settings, database):
    from accessibility.pipeline import AccessibilityLayer
    from accessibility.profiles import ProfileStore

    layer = AccessibilityLayer(settings, database)
    await show_menu(layer)
    await layer.prepare(said("halo"))
    assert ProfileStore(database).get("telegram", USER).last_choices == MENU


async def test_choices_are_forgotten_once_a_turn_shows_none(settings, database):
    from accessibility.pipeline import AccessibilityLayer

    layer = AccessibilityLayer(settings, database)
    await show_menu(layer)
    await layer.render("telegram", USER, [{"recipient_id": "x", "text": "Ceritakan kejadiannya."}], can_send_voice=False)
    for_rasa, _ = await AccessibilityLayer(settings, database).prepare(said("2"))
    assert for_rasa.text == "2"
    assert ProfileStore(database).get("telegram", USER).last_choices is None
