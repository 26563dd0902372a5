from dataclasses import replace

from tests.conversations.citizen import Citizen, Interrupt
from tests.conversations.generator import generate
from tests.conversations.questions import BotMessage, recognise

PRIVACY = BotMessage("Siapa yang boleh melihat laporan ini?", [
    {"title": "Biasa", "payload": '/affirm{"privacy": "biasa"}'},
    {"title": "Rahasia", "payload": '/affirm{"privacy": "rahasia"}'},
    {"title": "Anonim", "payload": '/affirm{"privacy": "anonim"}'}])
READBACK = "Mohon periksa laporan Anda:\nJenis: Pengaduan\nPrivasi: {level}. Isi laporan\nSudah benar dan siap dikirim?"
YES_NO = [{"title": "Ya, kirim", "payload": "/affirm"}, {"title": "Tidak, ubah", "payload": "/deny"}]
CANCEL = BotMessage("Yakin ingin membatalkan?", [{"title": "Ya, batalkan", "payload": "/affirm"},
                                                 {"title": "Tidak, lanjutkan", "payload": "/deny"}])


def plain_persona(**changes):
    base = generate("dev", 1)[0]
    defaults = dict(openers=[], interrupts=[], slip=None, rich=False, multi=None, attentive=True,
                    report_type="pengaduan", privacy="anonim", privacy_text="gak usah pakai nama saya")
    defaults.update(changes)
    return replace(base, **defaults)


def ask(citizen, message):
    return citizen.respond(recognise([message]))


def test_a_clicking_citizen_presses_the_button_of_its_privacy_level_when_not_understood():
    citizen = Citizen(plain_persona(button_habit="click"))
    citizen.answered["privacy"] = 1  # its own words were not understood once

    action = ask(citizen, PRIVACY)

    assert action.how == "press" and action.option.title == "Anonim"


def test_a_citizen_who_types_titles_types_the_button_title():
    citizen = Citizen(plain_persona(button_habit="title", privacy="rahasia"))
    citizen.answered["privacy"] = 1

    action = ask(citizen, PRIVACY)

    assert (action.how, action.text) == ("type", "Rahasia")


def test_a_citizen_answers_privacy_in_its_own_words_first():
    citizen = Citizen(plain_persona(button_habit="words"))

    assert ask(citizen, PRIVACY).text == "gak usah pakai nama saya"


def test_an_unasked_cancel_confirmation_keeps_the_report():
    citizen = Citizen(plain_persona(button_habit="words"))

    action = ask(citizen, CANCEL)

    assert "batal" not in action.text or action.text.startswith(("bukan", "lho"))
    assert action.option is None or action.option.title == "Tidak, lanjutkan"


def test_cancel_then_continue_says_the_interruption_once_then_continues():
    interrupt = Interrupt(kind="cancel", at="date", text="batal", follow="eh jangan, lanjut saja")
    citizen = Citizen(plain_persona(button_habit="words", interrupts=[interrupt]))
    date_question = BotMessage("Kapan kejadiannya?")

    assert ask(citizen, date_question).text == "batal"
    assert ask(citizen, CANCEL).text == "eh jangan, lanjut saja"
    assert ask(citizen, date_question).text == citizen.p.date["text"]


def test_a_slipped_date_is_corrected_at_the_read_back():
    slip = {"field": "incident_date", "value": "kemarin", "phrase": "tidak, tanggalnya salah"}
    citizen = Citizen(plain_persona(button_habit="words", slip=slip))

    assert ask(citizen, BotMessage("Kapan kejadiannya?")).text == "kemarin"
    assert ask(citizen, BotMessage(READBACK.format(level="ANONIM"), YES_NO)).text == "tidak, tanggalnya salah"
    field = ask(citizen, BotMessage("Bagian mana yang ingin diubah?", [
        {"title": "Lokasi", "payload": "/a"}, {"title": "Tanggal kejadian", "payload": "/b"}]))
    assert field.text == "tanggalnya"
    assert ask(citizen, BotMessage("Kapan kejadiannya?")).text == citizen.p.date["text"]


def test_an_attentive_citizen_refuses_a_read_back_with_the_wrong_privacy():
    citizen = Citizen(plain_persona(button_habit="words", privacy="rahasia"))

    action = ask(citizen, BotMessage(READBACK.format(level="BIASA"), YES_NO))

    assert action.text.startswith("tidak")


def test_a_right_read_back_is_confirmed():
    citizen = Citizen(plain_persona(button_habit="click", privacy="anonim"))

    action = ask(citizen, BotMessage(READBACK.format(level="ANONIM"), YES_NO))

    assert action.option is not None and action.option.payload == "/affirm"


def test_an_unknown_message_gets_a_question_back_then_the_last_fact():
    citizen = Citizen(plain_persona(button_habit="words"))
    ask(citizen, BotMessage("Di mana tempatnya?"))

    first = ask(citizen, BotMessage("Hmm."))
    second = ask(citizen, BotMessage("Hmm."))

    assert first.text.startswith(("maksud", "gimana"))
    assert second.text == citizen.p.place["text"]


def test_playing_a_persona_twice_starts_with_its_interruptions_again():
    interrupt = Interrupt(kind="help", at="date", text="bantuan")
    persona = plain_persona(button_habit="words", interrupts=[interrupt])

    assert ask(Citizen(persona), BotMessage("Kapan kejadiannya?")).text == "bantuan"
    assert ask(Citizen(persona), BotMessage("Kapan kejadiannya?")).text == "bantuan"


def test_a_bare_digit_is_typed_only_where_the_text_shows_numbers():
    citizen = Citizen(plain_persona(button_habit="number", raw_numbers=True))
    citizen.answered["privacy"] = 1
    listed = BotMessage("Siapa yang boleh melihat?\n1. Biasa\n2. Rahasia\n3. Anonim", PRIVACY.buttons)

    assert ask(citizen, PRIVACY).how == "number"
    assert ask(citizen, listed).how == "raw_number"


def test_at_a_region_choice_the_citizen_picks_its_own_kabupaten_or_kota():
    choices = BotMessage("Ada beberapa tempat dengan nama itu. Yang mana yang Anda maksud?", [
        {"title": "Kota Bandung", "payload": "/a"}, {"title": "Kabupaten Bandung", "payload": "/b"},
        {"title": "Tidak ada yang cocok", "payload": "/deny"}])
    city = {"text": "bandung, deket gedung sate", "region": "Kota Bandung", "code": "32.73"}
    regency = {"text": "dekat pasar cicalengka, kab bandung", "region": "Kabupaten Bandung", "code": "32.04"}

    assert ask(Citizen(plain_persona(button_habit="click", place=city)), choices).option.title == "Kota Bandung"
    assert ask(Citizen(plain_persona(button_habit="click", place=regency)), choices).option.title == \
        "Kabupaten Bandung"


def test_a_citizen_may_give_the_date_and_its_privacy_in_one_answer():
    citizen = Citizen(plain_persona(button_habit="words", multi="date_privacy"))

    action = ask(citizen, BotMessage("Kapan kejadiannya?"))

    assert action.text == f"{citizen.p.date['text']}, gak usah pakai nama saya"
    assert "privacy" in citizen.told


def test_after_a_status_answer_mid_form_the_citizen_answers_the_question_it_interrupted():
    interrupt = Interrupt(kind="status", at="date", text="status laporan saya")
    citizen = Citizen(plain_persona(button_habit="words", interrupts=[interrupt]))

    assert ask(citizen, BotMessage("Kapan kejadiannya?")).text == "status laporan saya"
    action = ask(citizen, BotMessage("Laporan ini belum dikirim; untuk laporan yang lama, ketik 'status' nanti."))

    assert action.text == citizen.p.date["text"]
