import datetime as dt
from unittest.mock import ANY

import pytest
from rasa_sdk.events import SlotSet
from sqlalchemy import select

from bot.actions.report_form import ValidateReportForm, local_today
from storage.models import ConversationEvent
from tests.bot.actions.conftest import make_tracker, user_message


def missed(slot, times=1):
    return [SlotSet("reask_slot", slot), SlotSet("reask_count", float(times))]

FILLED = {
    "report_type": "pengaduan",
    "description": "Jalan di depan pasar berlubang besar sejak dua minggu, motor sering jatuh.",
    "location": "Pasar Cicalengka, Kabupaten Bandung",
    "incident_date": "2026-11-25",
    "privacy": "biasa",
    "form_started_at": 1764290000.0,
    "conversation_ref": "c0ffee",
}


def answer(slot, value, text=None, intent="nlu_fallback", slots=None, metadata=None, entities=None, by_rasa=False):
    """The tracker the validation action gets for one form turn.

    The form's own slots are extracted by the action from the latest message; only a slot Rasa
    fills itself (report_type from the opening intent) arrives as a trailing slot event.
    """
    text = value if text is None else text
    current = dict(slots or {})
    current.setdefault("form_started_at", 1764290000.0)
    current["requested_slot"] = None if by_rasa else slot
    latest = user_message(text, intent, entities, metadata)
    events = [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": text, "parse_data": latest},
        {"event": "action", "name": "report_form"},
    ]
    if by_rasa:
        current[slot] = value
        events.append({"event": "slot", "name": slot, "value": value})
    return make_tracker(current, text, intent, entities, metadata, events=events)


async def run_form(tracker, dispatcher, domain):
    return await ValidateReportForm().run(dispatcher, tracker, domain)


async def test_a_complaint_opening_sets_the_type_and_asks_for_the_description(database, dispatcher, domain):
    tracker = answer("report_type", "pengaduan", text="mau lapor min jalan rusak", intent="file_complaint",
                     slots={"form_started_at": None}, by_rasa=True)
    events = await run_form(tracker, dispatcher, domain)
    assert events == [
        SlotSet("form_started_at", ANY),
        SlotSet("report_type", "pengaduan"),
        SlotSet("requested_slot", "description"),
    ]


async def test_an_opening_that_tells_the_whole_story_is_taken_as_the_description(database, dispatcher, domain):
    story = "jalan di depan pasar Cicalengka berlubang besar sejak dua minggu dan motor jatuh"
    tracker = answer("report_type", "pengaduan", text=story, intent="file_complaint",
                     slots={"form_started_at": None}, by_rasa=True)
    events = await run_form(tracker, dispatcher, domain)
    two_weeks_ago = (local_today() - dt.timedelta(days=14)).isoformat()
    assert events == [
        SlotSet("form_started_at", ANY),
        SlotSet("report_type", "pengaduan"),
        SlotSet("description", story),
        SlotSet("incident_date", two_weeks_ago),
        SlotSet("category_code", "pekerjaan_umum"),
        SlotSet("requested_slot", "location"),
    ]


async def test_a_menu_word_answers_the_report_type_question(database, dispatcher, domain):
    events = await run_form(answer("report_type", "usul", intent="nlu_fallback"), dispatcher, domain)
    assert events == [SlotSet("report_type", "aspirasi"), SlotSet("requested_slot", "description")]


async def test_a_too_short_description_is_asked_for_more_detail_once(database, dispatcher, domain):
    tracker = answer("description", "jalan rusak", slots={"report_type": "pengaduan"})
    events = await run_form(tracker, dispatcher, domain)
    assert events == [
        SlotSet("description", None),
        SlotSet("description_nudged", True),
        SlotSet("ask_hint", "more_detail"),
        SlotSet("requested_slot", "description"),
        *missed("description"),
    ]


async def test_a_short_description_is_kept_after_one_request_for_detail(database, dispatcher, domain):
    tracker = answer("description", "jalan rusak parah", slots={"report_type": "pengaduan", "description_nudged": True})
    events = await run_form(tracker, dispatcher, domain)
    assert events == [
        SlotSet("description", "jalan rusak parah"),
        SlotSet("category_code", "pekerjaan_umum"),
        SlotSet("requested_slot", "location"),
    ]


@pytest.mark.parametrize("text", ["", "Lokasi saya: -6.91750, 107.61910"])
async def test_a_telegram_location_pin_is_kept_and_the_place_name_is_asked(database, dispatcher, domain, text):
    slots = {key: FILLED[key] for key in ("report_type", "description")}
    pin = {"location_pin": {"latitude": -6.9175, "longitude": 107.6191}}
    events = await run_form(answer("location", text, slots=slots, metadata=pin), dispatcher, domain)
    assert events == [
        SlotSet("location", None),
        SlotSet("location_latitude", -6.9175),
        SlotSet("location_longitude", 107.6191),
        SlotSet("location_reasked", True),
        SlotSet("ask_hint", "pin_place"),
        SlotSet("requested_slot", "location"),
        *missed("location"),
    ]


async def test_the_place_name_after_a_pin_is_resolved_and_the_pin_stays(database, dispatcher, domain):
    slots = {key: FILLED[key] for key in ("report_type", "description")}
    slots.update(location_latitude=-6.9175, location_longitude=107.6191, location_reasked=True)
    events = await run_form(answer("location", "Gang Mawar, Kota Bandung", slots=slots), dispatcher, domain)
    assert events == [
        SlotSet("location", "Gang Mawar, Kota Bandung"),
        SlotSet("region_code", "32.73"),
        SlotSet("region_name", "Kota Bandung, Jawa Barat"),
        SlotSet("location_reasked", None),
        SlotSet("requested_slot", "incident_date"),
    ]


async def test_a_pin_with_a_caption_that_names_the_place_keeps_both(database, dispatcher, domain):
    slots = {key: FILLED[key] for key in ("report_type", "description")}
    pin = {"location_pin": {"latitude": -6.9175, "longitude": 107.6191}}
    events = await run_form(answer("location", "Gang Mawar, Kota Bandung", slots=slots, metadata=pin), dispatcher, domain)
    assert events == [
        SlotSet("location", "Gang Mawar, Kota Bandung"),
        SlotSet("location_latitude", -6.9175),
        SlotSet("location_longitude", 107.6191),
        SlotSet("region_code", "32.73"),
        SlotSet("region_name", "Kota Bandung, Jawa Barat"),
        SlotSet("requested_slot", "incident_date"),
    ]


async def test_a_pin_sent_again_instead_of_a_name_is_taken_as_the_location(database, dispatcher, domain):
    slots = {key: FILLED[key] for key in ("report_type", "description")}
    slots.update(location_latitude=-6.9175, location_longitude=107.6191, location_reasked=True)
    pin = {"location_pin": {"latitude": -6.9175, "longitude": 107.6191}}
    events = await run_form(answer("location", "", slots=slots, metadata=pin), dispatcher, domain)
    assert events == [
        SlotSet("location", "Titik lokasi -6.91750, 107.61910"),
        SlotSet("location_latitude", -6.9175),
        SlotSet("location_longitude", 107.6191),
        SlotSet("location_reasked", None),
        SlotSet("requested_slot", "incident_date"),
    ]


@pytest.mark.parametrize("text, days_ago", [("kemarin", 1), ("3 hari lalu", 3), ("tadi pagi", 0)])
async def test_a_relative_date_is_stored_as_an_iso_date(database, dispatcher, domain, text, days_ago):
    slots = {key: FILLED[key] for key in ("report_type", "description", "location")}
    events = await run_form(answer("incident_date", text, slots=slots), dispatcher, domain)
    expected = (local_today() - dt.timedelta(days=days_ago)).isoformat()
    assert events == [SlotSet("incident_date", expected), SlotSet("requested_slot", "privacy")]


async def test_a_future_date_is_rejected_and_asked_again_kindly(database, dispatcher, domain):
    slots = {key: FILLED[key] for key in ("report_type", "description", "location")}
    events = await run_form(answer("incident_date", "besok", slots=slots), dispatcher, domain)
    assert events == [
        SlotSet("incident_date", None),
        SlotSet("ask_hint", "future"),
        SlotSet("requested_slot", "incident_date"),
        *missed("incident_date"),
    ]


async def test_not_knowing_the_date_gets_one_request_for_an_estimate(database, dispatcher, domain):
    slots = {key: FILLED[key] for key in ("report_type", "description", "location")}
    events = await run_form(answer("incident_date", "lupa", slots=slots), dispatcher, domain)
    assert events == [
        SlotSet("incident_date", None),
        SlotSet("date_unknown_asked", True),
        SlotSet("ask_hint", "estimate"),
        SlotSet("requested_slot", "incident_date"),
        *missed("incident_date"),
    ]


async def test_not_knowing_the_date_twice_is_kept_as_unknown(database, dispatcher, domain):
    slots = {key: FILLED[key] for key in ("report_type", "description", "location")}
    slots["date_unknown_asked"] = True
    events = await run_form(answer("incident_date", "tetap tidak tahu", slots=slots), dispatcher, domain)
    assert events == [SlotSet("incident_date", "tidak_diketahui"), SlotSet("requested_slot", "privacy")]


async def test_privacy_is_taken_from_the_button_payload(database, dispatcher, domain):
    slots = {key: FILLED[key] for key in ("report_type", "description", "location", "incident_date")}
    tracker = answer(
        "privacy", '/affirm{"privacy": "anonim"}', intent="affirm", slots=slots,
        entities=[{"entity": "privacy", "value": "anonim"}],
    )
    events = await run_form(tracker, dispatcher, domain)
    assert events == [SlotSet("privacy", "anonim"), SlotSet("requested_slot", "report_confirmed")]


async def test_saying_no_at_the_read_back_asks_which_field_to_change(database, dispatcher, domain):
    tracker = answer("report_confirmed", "tidak, ubah", intent="deny", slots=FILLED)
    events = await run_form(tracker, dispatcher, domain)
    assert events == [SlotSet("report_confirmed", False), SlotSet("requested_slot", "field_to_correct")]


async def test_choosing_a_field_clears_only_that_field_and_asks_it_again(database, dispatcher, domain):
    slots = dict(FILLED, report_confirmed=False, requested_slot="field_to_correct")
    tracker = make_tracker(slots, text="3", intent="nlu_fallback")
    events = await run_form(tracker, dispatcher, domain)
    assert events == [
        SlotSet("field_to_correct", None),
        SlotSet("report_confirmed", None),
        SlotSet("location", None),
        SlotSet("location_latitude", None),
        SlotSet("location_longitude", None),
        SlotSet("requested_slot", "location"),
    ]


async def test_a_cancel_request_is_never_taken_as_the_field_to_change_but_asked_to_confirm(database, dispatcher, domain):
    slots = dict(FILLED, report_confirmed=False, requested_slot="field_to_correct")
    events = await run_form(make_tracker(slots, text="batal", intent="cancel"), dispatcher, domain)
    assert events == [
        SlotSet("cancel_pending", True), SlotSet("cancel_resume", "field_to_correct"),
        SlotSet("requested_slot", "cancel_confirmed"),
    ]


@pytest.mark.parametrize("text, intent", [("eh jangan, lanjut saja", "cancel"), ("tidak jadi", "deny"), ("2", None)])
async def test_going_on_after_a_cancel_question_keeps_the_report_and_asks_the_pending_question(
        database, dispatcher, domain, text, intent):
    slots = dict(FILLED, location=None, incident_date=None, privacy=None, cancel_pending=True,
                 cancel_resume="location", requested_slot="cancel_confirmed")
    events = await run_form(make_tracker(slots, text=text, intent=intent), dispatcher, domain)
    assert events == [
        SlotSet("cancel_pending", None), SlotSet("cancel_confirmed", None), SlotSet("cancel_resume", None),
        SlotSet("requested_slot", "location"),
    ]
    assert [message["response"] for message in dispatcher.messages] == ["utter_continue_form"]


async def test_an_answer_to_the_cancel_question_that_answers_the_pending_question_is_used(database, dispatcher, domain):
    slots = dict(FILLED, incident_date=None, privacy=None, cancel_pending=True,
                 cancel_resume="incident_date", requested_slot="cancel_confirmed")
    events = await run_form(make_tracker(slots, text="seminggu lalu", intent="nlu_fallback"), dispatcher, domain)
    week_ago = (local_today() - dt.timedelta(days=7)).isoformat()
    assert SlotSet("incident_date", week_ago) in events
    assert events[-1] == SlotSet("requested_slot", "privacy")


async def test_only_a_clear_yes_confirms_the_cancel_and_ends_the_form(database, dispatcher, domain):
    slots = dict(FILLED, cancel_pending=True, cancel_resume="privacy", requested_slot="cancel_confirmed")
    events = await run_form(make_tracker(slots, text="iya batalkan", intent="affirm"), dispatcher, domain)
    assert events == [SlotSet("cancel_confirmed", True), SlotSet("requested_slot", None)]


async def test_saying_yes_at_the_read_back_completes_the_form(database, dispatcher, domain):
    events = await run_form(answer("report_confirmed", "/affirm", intent="affirm", slots=FILLED), dispatcher, domain)
    assert events == [SlotSet("report_confirmed", True), SlotSet("requested_slot", None)]
    with database.session() as session:
        steps = session.execute(select(ConversationEvent.step)).scalars().all()
    assert steps == ["readback_confirmed"]


async def test_a_clearly_heard_spoken_location_is_kept_for_the_final_read_back(database, dispatcher, domain):
    slots = {key: FILLED[key] for key in ("report_type", "description")}
    voice = {"input_mode": "voice", "stt_confidence": 0.43}
    events = await run_form(answer("location", "pasar cicalengka", slots=slots, metadata=voice), dispatcher, domain)
    assert events == [
        SlotSet("location", "pasar cicalengka"),
        SlotSet("region_code", "32.04.25"),
        SlotSet("region_name", "Kecamatan Cicalengka, Kabupaten Bandung, Jawa Barat"),
        SlotSet("requested_slot", "incident_date"),
    ]


async def test_a_poorly_heard_spoken_location_is_read_back_before_it_is_kept(database, dispatcher, domain):
    slots = {key: FILLED[key] for key in ("report_type", "description")}
    voice = {"input_mode": "voice", "stt_confidence": 0.2}
    events = await run_form(answer("location", "pasar cicalengka", slots=slots, metadata=voice), dispatcher, domain)
    assert events == [
        SlotSet("location", None),
        SlotSet("heard_text", "pasar cicalengka"),
        SlotSet("heard_slot", "location"),
        SlotSet("heard_value", "pasar cicalengka"),
        SlotSet("heard_confirmed", None),
        SlotSet("requested_slot", "heard_confirmed"),
    ]


async def test_yes_to_what_was_heard_keeps_the_answer(database, dispatcher, domain):
    slots = {key: FILLED[key] for key in ("report_type", "description")}
    slots.update(heard_text="pasar cicalengka", heard_slot="location", heard_value="pasar cicalengka",
                 requested_slot="heard_confirmed", conversation_ref="c0ffee", form_started_at=1764290000.0)
    events = await run_form(make_tracker(slots, text="iya benar", intent="affirm"), dispatcher, domain)
    assert events == [
        SlotSet("heard_confirmed", None),
        SlotSet("heard_text", None),
        SlotSet("heard_slot", None),
        SlotSet("heard_value", None),
        SlotSet("location", "pasar cicalengka"),
        SlotSet("region_code", "32.04.25"),
        SlotSet("region_name", "Kecamatan Cicalengka, Kabupaten Bandung, Jawa Barat"),
        SlotSet("requested_slot", "incident_date"),
    ]
    with database.session() as session:
        assert session.execute(select(ConversationEvent.step)).scalars().all() == ["slot:location"]


async def test_no_to_what_was_heard_asks_the_question_again(database, dispatcher, domain):
    slots = {key: FILLED[key] for key in ("report_type", "description")}
    slots.update(heard_text="pasar cicalengka", heard_slot="location", heard_value="pasar cicalengka",
                 requested_slot="heard_confirmed", form_started_at=1764290000.0)
    events = await run_form(make_tracker(slots, text="bukan", intent="deny"), dispatcher, domain)
    assert events == [
        SlotSet("heard_confirmed", None),
        SlotSet("heard_text", None),
        SlotSet("heard_slot", None),
        SlotSet("heard_value", None),
        SlotSet("requested_slot", "location"),
    ]


async def test_a_spoken_date_is_read_back_only_below_the_confidence_threshold(database, dispatcher, domain):
    slots = {key: FILLED[key] for key in ("report_type", "description", "location")}
    poor = await run_form(
        answer("incident_date", "kemarin", slots=slots, metadata={"input_mode": "voice", "stt_confidence": 0.24}),
        dispatcher, domain,
    )
    assert SlotSet("requested_slot", "heard_confirmed") in poor
    for confidence in (0.25, 0.6):
        fair = await run_form(
            answer("incident_date", "kemarin", slots=slots, metadata={"input_mode": "voice", "stt_confidence": confidence}),
            dispatcher, domain,
        )
        assert fair[-1] == SlotSet("requested_slot", "privacy")


async def test_a_button_picked_by_a_poorly_heard_number_is_kept_for_the_final_read_back(database, dispatcher, domain):
    slots = {key: FILLED[key] for key in ("report_type", "description", "location", "incident_date")}
    voice = {"input_mode": "voice", "stt_confidence": 0.2}
    tracker = answer("privacy", '/affirm{"privacy": "rahasia"}', intent="affirm", slots=slots, metadata=voice,
                     entities=[{"entity": "privacy", "value": "rahasia"}])
    events = await run_form(tracker, dispatcher, domain)
    assert events == [SlotSet("privacy", "rahasia"), SlotSet("requested_slot", "report_confirmed")]


async def test_a_poorly_heard_spoken_word_for_a_choice_is_still_read_back(database, dispatcher, domain):
    slots = {key: FILLED[key] for key in ("report_type", "description", "location", "incident_date")}
    voice = {"input_mode": "voice", "stt_confidence": 0.2}
    events = await run_form(answer("privacy", "rahasia", slots=slots, metadata=voice), dispatcher, domain)
    assert events[-1] == SlotSet("requested_slot", "heard_confirmed")


async def test_a_spoken_answer_without_a_readable_confidence_is_read_back(database, dispatcher, domain):
    slots = {key: FILLED[key] for key in ("report_type", "description", "location")}
    tracker = answer("incident_date", "kemarin", slots=slots, metadata={"input_mode": "voice", "stt_confidence": "?"})
    assert (await run_form(tracker, dispatcher, domain))[-1] == SlotSet("requested_slot", "heard_confirmed")


async def test_a_typed_answer_is_never_read_back_on_its_own(database, dispatcher, domain):
    slots = {key: FILLED[key] for key in ("report_type", "description")}
    tracker = answer("location", "pasar cicalengka", slots=slots, metadata={"input_mode": "text", "stt_confidence": None})
    assert (await run_form(tracker, dispatcher, domain))[-1] == SlotSet("requested_slot", "incident_date")


async def test_each_accepted_answer_is_a_funnel_step(database, dispatcher, domain):
    slots = {key: FILLED[key] for key in ("report_type", "description", "conversation_ref")}
    await run_form(answer("location", "Pasar Cicalengka", slots=slots), dispatcher, domain)
    with database.session() as session:
        rows = session.execute(select(ConversationEvent)).scalars().all()
    assert [(row.step, row.channel, row.conversation_ref) for row in rows] == [("slot:location", "rest", "c0ffee")]


async def test_a_plain_answer_filed_under_a_control_intent_is_still_the_answer(database, dispatcher, domain):
    slots = {key: FILLED[key] for key in ("report_type", "description", "location", "incident_date")}
    events = await run_form(answer("privacy", "anonim", intent="ask_help", slots=slots), dispatcher, domain)
    assert events == [SlotSet("privacy", "anonim"), SlotSet("requested_slot", "report_confirmed")]
    slots = {key: FILLED[key] for key in ("report_type", "description")}
    events = await run_form(answer("location", "Gang Mawar, Kota Bandung", intent="ask_help", slots=slots), dispatcher, domain)
    assert events == [
        SlotSet("location", "Gang Mawar, Kota Bandung"),
        SlotSet("region_code", "32.73"),
        SlotSet("region_name", "Kota Bandung, Jawa Barat"),
        SlotSet("requested_slot", "incident_date"),
    ]


@pytest.mark.parametrize("text, intent", [("bantuan dong", "ask_help"), ("batal aja", "cancel"), ("ulangi", "repeat")])
async def test_a_control_request_is_not_taken_as_an_answer(database, dispatcher, domain, text, intent):
    slots = {key: FILLED[key] for key in ("report_type", "description")}
    events = await run_form(answer("location", text, intent=intent, slots=slots), dispatcher, domain)
    if intent == "cancel":  # asked inside the form, with the place question kept to come back to
        assert events == [SlotSet("cancel_pending", True), SlotSet("cancel_resume", "location"),
                          SlotSet("requested_slot", "cancel_confirmed")]
    else:
        assert events == [SlotSet("requested_slot", "location")]


async def test_after_a_withdrawn_cancel_the_no_is_not_an_answer(database, dispatcher, domain):
    slots = dict(FILLED, requested_slot="location", location=None, incident_date=None, privacy=None)
    events = [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "tidak", "parse_data": user_message("tidak", "deny")},
        {"event": "action", "name": "utter_continue_form"},
        {"event": "action", "name": "report_form"},
    ]
    tracker = make_tracker(slots, text="tidak", intent="deny", events=events)
    assert await run_form(tracker, dispatcher, domain) == [SlotSet("requested_slot", "location")]


async def test_a_spoken_answer_the_layer_flags_as_unsure_is_read_back_first(database, dispatcher, domain):
    slots = {key: FILLED[key] for key in ("report_type", "description", "location", "incident_date")}
    voice = {"input_mode": "voice", "stt_confidence": 0.9, "stt_read_back": True}
    events = await run_form(answer("privacy", "Anonim", slots=slots, metadata=voice), dispatcher, domain)
    assert SlotSet("heard_slot", "privacy") in events
    assert events[-1] == SlotSet("requested_slot", "heard_confirmed")
