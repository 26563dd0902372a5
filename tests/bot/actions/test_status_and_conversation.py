import datetime as dt

import pytest
from rasa_sdk.events import ActionExecuted, SessionStarted, SlotSet
from sqlalchemy import select

from bot.actions import runtime
from bot.actions.conversation import (
    ActionGreet,
    ActionHelp,
    ActionRepeat,
    ActionRequestHuman,
    ActionSessionStart,
    ActionSetPreference,
)
from bot.actions.status import STATUS_SLOTS, ActionCheckStatus, ValidateStatusForm
from storage.identity import parse_sender_id
from storage.models import ConversationEvent, HandoverRequest
from storage.repositories import ProfileRepository, ReportDraft, ReportRepository
from tests.bot.actions.conftest import make_tracker, responses

OWNER = "owner-1"
STRANGER = "stranger-2"


def file_report(database, sender=OWNER, privacy="biasa", pin=None):
    channel, identity_hash = parse_sender_id(sender, runtime.settings().identity_key)
    draft = ReportDraft(
        submission_key=f"key-{sender}-{privacy}",
        report_type="pengaduan",
        description="Lampu jalan mati sejak seminggu di gang kami.",
        location_text="Gang Mawar, Kota Bandung",
        incident_date=dt.date(2026, 11, 20),
        privacy=privacy,
        channel=channel,
        identity_hash=None if privacy == "anonim" else identity_hash,
        pin=pin,
    )
    with database.session() as session:
        return ReportRepository(session).file(draft).tracking_number


def a_wrong_check_digit(number: str) -> str:
    digits = number.replace("-", "")
    wrong = digits[:-1] + str((int(digits[-1]) + 1) % 10)
    return f"{wrong[:4]}-{wrong[4:]}"


async def run_status_form(dispatcher, domain, text, sender=OWNER, slots=None, intent="check_status"):
    slots = dict(slots or {})
    tracker = make_tracker(slots, text=text, intent=intent, active_loop=slots.pop("_loop", "status_form"), sender_id=sender)
    return await ValidateStatusForm().run(dispatcher, tracker, domain)


async def test_a_number_in_the_opening_message_is_looked_up_for_its_owner(database, dispatcher, domain):
    number = file_report(database)
    events = await run_status_form(dispatcher, domain, f"status laporan {number} gimana min", slots={"_loop": None})
    assert events == [
        SlotSet("tracking_number", number),
        SlotSet("status_needs_pin", False),
        SlotSet("requested_slot", None),
    ]


async def test_a_mistyped_check_digit_is_called_invalid(database, dispatcher, domain):
    number = file_report(database)
    events = await run_status_form(
        dispatcher, domain, a_wrong_check_digit(number).replace("-", ""), slots={"requested_slot": "tracking_number"},
        intent="nlu_fallback",
    )
    assert events == [
        SlotSet("tracking_number", None),
        SlotSet("ask_hint", "invalid"),
        SlotSet("requested_slot", "tracking_number"),
        SlotSet("reask_slot", "tracking_number"),
        SlotSet("reask_count", 1.0),
    ]


async def test_someone_elses_number_asks_for_a_pin_and_finds_nothing(database, dispatcher, domain):
    number = file_report(database)
    events = await run_status_form(dispatcher, domain, number, sender=STRANGER, slots={"requested_slot": "tracking_number"})
    assert events == [
        SlotSet("tracking_number", number),
        SlotSet("status_needs_pin", True),
        SlotSet("requested_slot", "status_pin"),
    ]
    skipped = await run_status_form(
        dispatcher, domain, "lewati", sender=STRANGER, intent="deny",
        slots={"tracking_number": number, "status_needs_pin": True, "requested_slot": "status_pin"},
    )
    assert skipped == [SlotSet("status_pin", "skip"), SlotSet("requested_slot", None)]
    tracker = make_tracker({"tracking_number": number, "status_pin": "skip"}, sender_id=STRANGER, active_loop=None)
    events = await ActionCheckStatus().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_status_not_found"]
    assert events == [SlotSet(name, None) for name in STATUS_SLOTS]


async def test_the_owner_sees_the_status_in_plain_words_and_its_date(database, dispatcher, domain):
    number = file_report(database)
    tracker = make_tracker({"tracking_number": number, "status_needs_pin": False}, active_loop=None, sender_id=OWNER)
    await ActionCheckStatus().run(dispatcher, tracker, domain)
    message, deadline = dispatcher.messages
    assert message["response"] == "utter_status"
    assert message["tracking_number"] == number
    assert message["status_label"] == "sudah diterima dan menunggu diperiksa petugas"
    today = dt.datetime.utcnow().date()
    assert message["status_date"].endswith(str(today.year))
    assert deadline["response"] == "utter_status_deadline"
    assert deadline["deadline"].startswith("Laporan akan diverifikasi paling lambat ")


async def test_an_anonymous_report_is_found_only_with_its_pin(database, dispatcher, domain):
    number = file_report(database, sender=STRANGER, privacy="anonim", pin="4321")
    wrong = make_tracker({"tracking_number": number, "status_pin": "1111"}, active_loop=None, sender_id=STRANGER)
    await ActionCheckStatus().run(dispatcher, wrong, domain)
    right = make_tracker({"tracking_number": number, "status_pin": "4321"}, active_loop=None, sender_id=STRANGER)
    await ActionCheckStatus().run(dispatcher, right, domain)
    assert responses(dispatcher) == ["utter_status_not_found", "utter_status", "utter_status_deadline"]


async def test_a_spoken_tracking_number_is_read_back_first(database, dispatcher, domain):
    number = file_report(database)
    tracker = make_tracker(
        {"requested_slot": "tracking_number"}, text=number, intent="check_status", active_loop="status_form",
        metadata={"input_mode": "voice", "stt_confidence": 0.95}, sender_id=OWNER,
    )
    events = await ValidateStatusForm().run(dispatcher, tracker, domain)
    assert events == [
        SlotSet("tracking_number", None),
        SlotSet("heard_text", number),
        SlotSet("heard_slot", "tracking_number"),
        SlotSet("heard_value", number),
        SlotSet("heard_confirmed", None),
        SlotSet("requested_slot", "heard_confirmed"),
    ]


async def test_a_handover_is_recorded_and_the_report_in_progress_is_kept(database, dispatcher, domain):
    tracker = make_tracker({"requested_slot": "location"}, text="mau bicara sama petugas", intent="request_human")
    events = await ActionRequestHuman().run(dispatcher, tracker, domain)
    assert events == []
    assert responses(dispatcher) == ["utter_handover", "utter_handover_form_kept"]
    assert dispatcher.messages[0]["service_hours"] == "Senin-Jumat, 08.00-16.00 WIB"
    with database.session() as session:
        [handover] = session.execute(select(HandoverRequest)).scalars().all()
    assert handover.report_in_progress is True
    assert handover.channel == "rest" and handover.sender_ref.startswith("rest-")


@pytest.mark.parametrize(
    "text, intent, entities, field, value",
    [
        ("pakai suara dong", "choose_voice", [], "voice_replies", True),
        ("pakai teks saja", "choose_voice", [], "voice_replies", False),
        ('/choose_voice{"voice_replies": false}', "choose_voice", [{"entity": "voice_replies", "value": False}], "voice_replies", False),
        ('/choose_simple_language{"simple_language": true}', "choose_simple_language",
         [{"entity": "simple_language", "value": True}], "simple_language", True),
    ],
)
async def test_a_preference_is_stored_in_the_profile_and_the_slot(database, dispatcher, domain, text, intent, entities, field, value):
    tracker = make_tracker({}, text=text, intent=intent, entities=entities, active_loop=None)
    events = await ActionSetPreference().run(dispatcher, tracker, domain)
    assert events == [SlotSet(field, value)]
    channel, identity_hash = parse_sender_id("reporter-1", runtime.settings().identity_key)
    with database.session() as session:
        profile = ProfileRepository(session).get(channel, identity_hash)
        assert getattr(profile, field) is value


async def test_a_new_person_is_offered_voice_and_simple_language_once(database, dispatcher, domain):
    await ActionGreet().run(dispatcher, make_tracker({}, text="halo", intent="greet", active_loop=None), domain)
    await ActionGreet().run(dispatcher, make_tracker({}, text="halo lagi", intent="greet", active_loop=None), domain)
    assert responses(dispatcher) == ["utter_greet_new", "utter_onboarding", "utter_greet"]


async def test_a_new_person_who_greets_by_voice_gets_voice_replies_and_the_menu_without_a_question(
    database, dispatcher, domain
):
    voice = {"input_mode": "voice", "stt_confidence": 0.42}
    tracker = make_tracker({}, text="Halo.", intent="greet", metadata=voice, active_loop=None)
    events = await ActionGreet().run(dispatcher, tracker, domain)
    assert events == [SlotSet("voice_replies", True)]
    assert responses(dispatcher) == ["utter_greet_new", "utter_voice_default", "utter_menu"]
    channel, identity_hash = parse_sender_id("reporter-1", runtime.settings().identity_key)
    with database.session() as session:
        profile = ProfileRepository(session).get(channel, identity_hash)
        assert (profile.voice_replies, profile.voice_chosen, profile.onboarded) == (True, True, True)
    await ActionGreet().run(dispatcher, make_tracker({}, text="halo", intent="greet", metadata=voice, active_loop=None), domain)
    assert responses(dispatcher)[-1] == "utter_greet"


async def test_a_person_who_chose_text_and_then_greets_by_voice_keeps_text_and_gets_the_offer(database, dispatcher, domain):
    channel, identity_hash = parse_sender_id("reporter-1", runtime.settings().identity_key)
    with database.session() as session:
        ProfileRepository(session).update(channel, identity_hash, voice_replies=False)
    voice = {"input_mode": "voice", "stt_confidence": 0.42}
    events = await ActionGreet().run(dispatcher, make_tracker({}, text="halo", intent="greet", metadata=voice, active_loop=None), domain)
    assert events == []
    assert responses(dispatcher) == ["utter_greet_new", "utter_onboarding"]
    with database.session() as session:
        assert ProfileRepository(session).get(channel, identity_hash).voice_replies is False


async def test_the_spoken_greeting_says_how_to_turn_voice_off_in_words_the_assistant_understands(domain):
    from bot import answers

    for variant in domain["responses"]["utter_voice_default"]:
        assert "pakai teks saja" in variant["text"] and variant["text"].count("?") == 0
    assert answers.preference_on("pakai teks saja", None) is False


async def test_a_session_starts_with_the_profile_an_event_code_and_a_random_reference(database, dispatcher, domain):
    channel, identity_hash = parse_sender_id("reporter-1", runtime.settings().identity_key)
    with database.session() as session:
        ProfileRepository(session).update(channel, identity_hash, simple_language=True)
    tracker = make_tracker({"session_started_metadata": {"event_code": "sosbdg01"}}, active_loop=None)
    events = await ActionSessionStart().run(dispatcher, tracker, domain)
    reference = events[1]["value"]
    assert len(reference) == 32 and int(reference, 16) >= 0
    assert events == [
        SessionStarted(),
        SlotSet("conversation_ref", reference),
        SlotSet("event_code", "sosbdg01"),
        SlotSet("voice_replies", False),
        SlotSet("simple_language", True),
        ActionExecuted("action_listen"),
    ]
    with database.session() as session:
        [row] = session.execute(select(ConversationEvent)).scalars().all()
    assert (row.step, row.conversation_ref, row.event_code, row.simple_language) == ("started", reference, "SOSBDG01", True)


async def test_help_explains_the_step_being_asked_without_the_domain_which_rasa_no_longer_sends_it(database, dispatcher):
    await ActionHelp().run(dispatcher, make_tracker({"requested_slot": "privacy"}, text="maksudnya?", intent="ask_help"), {})
    await ActionHelp().run(dispatcher, make_tracker({"requested_slot": "cancel_confirmed"}, text="hah?", intent="ask_help"), {})
    await ActionHelp().run(dispatcher, make_tracker({}, text="bisa apa aja?", intent="ask_help", active_loop=None), {})
    assert responses(dispatcher) == ["utter_help_privacy", "utter_help_general", "utter_help_general", "utter_menu"]


def conversation(*turns):
    events = []
    for kind, text, extra in turns:
        event = {"event": kind, "text": text}
        event.update(extra)
        events.append(event)
    return events


async def test_repeat_sends_the_last_bot_turn_again(database, dispatcher, domain):
    buttons = [{"title": "Ya", "payload": "/affirm"}]
    events = conversation(
        ("user", "halo", {}),
        ("bot", "Halo!", {"metadata": {"utter_action": "utter_greet_new"}}),
        ("bot", "Mau pakai suara?", {"data": {"buttons": buttons}, "metadata": {"utter_action": "utter_onboarding"}}),
        ("user", "ulangi", {}),
    )
    tracker = make_tracker({}, text="ulangi", intent="repeat", events=events, active_loop=None)
    await ActionRepeat().run(dispatcher, tracker, domain)
    assert [(message["text"], message["buttons"]) for message in dispatcher.messages] == [
        ("Halo!", []), ("Mau pakai suara?", buttons),
    ]


async def test_repeat_inside_a_form_leaves_the_question_to_the_form(database, dispatcher, domain):
    events = conversation(
        ("user", "jalan rusak", {}),
        ("bot", "Terima kasih.", {"metadata": {"utter_action": "utter_continue_form"}}),
        ("bot", "Di mana tempatnya?", {"metadata": {"utter_action": "utter_ask_location"}}),
        ("user", "apa tadi?", {}),
    )
    tracker = make_tracker({"requested_slot": "location"}, text="apa tadi?", intent="repeat", events=events)
    await ActionRepeat().run(dispatcher, tracker, domain)
    assert [message["text"] for message in dispatcher.messages] == ["Terima kasih."]
