from unittest.mock import ANY
import pytest
import yaml
from rasa_sdk.events import SlotSet

from accessibility.simple_language import check_simple
from bot.actions.report_form import (
    ActionAskCategoryCode,
    ActionAskLocation,
    ActionAskRegionCode,
    ActionAskReportConfirmed,
)
from bot.actions.routing import common_region, place_slots
from bot.settings import ROOT
from storage.routing.regions import resolve_region
from tests.bot.actions.conftest import make_tracker, responses
from tests.bot.actions.test_report_form import FILLED, answer, run_form

BANDUNG = ["32.73", "32.04"]
# Says no topic clearly, so the category model stays unsure whatever its training data.
UNSURE_DESCRIPTION = "Kami warga sudah lama menunggu tapi belum ada kabar dari petugas."
UNSURE_CHOICES = ["pekerjaan_umum", "ketertiban", "perhubungan"]
SLOTS_BEFORE_LOCATION = {key: FILLED[key] for key in ("report_type", "description")}


def choosing(slot, text, intent="nlu_fallback", entities=None, **slots):
    current = dict(FILLED, requested_slot=slot, **slots)
    current[slot] = None
    if slot == "region_code":
        current.update(incident_date=None, privacy=None)
    if slot == "category_code":
        current.update(location=None, incident_date=None, privacy=None)
    return make_tracker(current, text=text, intent=intent, entities=entities)


def rendered(domain, response, simple, **values):
    variants = domain["responses"][response]
    variant = next(v for v in variants if bool(v.get("condition")) == simple)
    return variant["text"].format(**values)


# --- the place -------------------------------------------------------------------------------


async def test_a_place_shared_by_a_kabupaten_and_a_kota_asks_which_one(database, dispatcher, domain):
    events = await run_form(answer("location", "Bandung", slots=SLOTS_BEFORE_LOCATION), dispatcher, domain)
    assert events == [
        SlotSet("location", "Bandung"),
        SlotSet("region_choices", BANDUNG),
        SlotSet("requested_slot", "region_code"),
    ]


async def test_the_place_question_lists_the_candidates_as_buttons_and_numbers(database, dispatcher, domain):
    tracker = make_tracker(dict(FILLED, location="Bandung", region_choices=BANDUNG, requested_slot="region_code"))
    events = await ActionAskRegionCode().run(dispatcher, tracker, domain)
    [message] = dispatcher.messages
    assert message["response"] == "utter_ask_region_code"
    assert message["choices"] == "1. Kota Bandung, Jawa Barat\n2. Kabupaten Bandung, Jawa Barat\n3. Tidak ada yang cocok"
    assert message["buttons"] == [
        {"title": "Kota Bandung, Jawa Barat", "payload": '/affirm{"region_code": "32.73"}'},
        {"title": "Kabupaten Bandung, Jawa Barat", "payload": '/affirm{"region_code": "32.04"}'},
        {"title": "Tidak ada yang cocok", "payload": "/deny"},
    ]
    assert events == [SlotSet("ask_hint", None)]
    for response in ("utter_ask_region_code", "utter_ask_region_code_unclear"):
        text = rendered(domain, response, simple=True, choices=message["choices"])
        titles = [button["title"] for button in message["buttons"]]
        assert check_simple(text, True, button_titles=titles) == [], response


@pytest.mark.parametrize(
    "text, intent, entities",
    [
        ("yang kedua", "nlu_fallback", None),
        ("2", "check_status", None),
        ("dua", "nlu_fallback", None),
        ("Kabupaten Bandung", "nlu_fallback", None),
        ("kab bandung", "nlu_fallback", None),
        ('/affirm{"region_code": "32.04"}', "affirm", [{"entity": "region_code", "value": "32.04"}]),
    ],
)
async def test_the_citizen_picks_a_place_by_number_word_name_or_button(database, dispatcher, domain, text, intent, entities):
    tracker = choosing("region_code", text, intent, entities, location="Bandung", region_choices=BANDUNG)
    events = await run_form(tracker, dispatcher, domain)
    assert events == [
        SlotSet("region_code", "32.04"),
        SlotSet("region_name", "Kabupaten Bandung, Jawa Barat"),
        SlotSet("region_choices", None),
        SlotSet("requested_slot", "incident_date"),
    ]


async def test_an_unclear_pick_is_asked_once_more_then_the_place_is_kept_without_a_region(database, dispatcher, domain):
    tracker = choosing("region_code", "hmm entah", location="Bandung", region_choices=BANDUNG)
    events = await run_form(tracker, dispatcher, domain)
    assert events == [
        SlotSet("region_code", None),
        SlotSet("choice_reasked", True),
        SlotSet("ask_hint", "unclear"),
        SlotSet("requested_slot", "region_code"),
        SlotSet("reask_slot", "region_code"),
        SlotSet("reask_count", 1.0),
    ]
    tracker = choosing("region_code", "hmm entah", location="Bandung", region_choices=BANDUNG, choice_reasked=True)
    events = await run_form(tracker, dispatcher, domain)
    assert events == [
        SlotSet("region_code", None),
        SlotSet("region_choices", None),
        SlotSet("choice_reasked", None),
        SlotSet("requested_slot", "incident_date"),
    ]


async def test_none_of_the_places_keeps_the_words_without_a_region(database, dispatcher, domain):
    tracker = choosing("region_code", "/deny", intent="deny", location="Bandung", region_choices=BANDUNG)
    events = await run_form(tracker, dispatcher, domain)
    assert events == [SlotSet("region_code", None), SlotSet("region_choices", None), SlotSet("requested_slot", "incident_date")]


async def test_a_name_repeated_inside_one_kabupaten_needs_no_question(database, dispatcher, domain):
    text = "Desa Sukamaju, Kabupaten Garut"
    assert resolve_region(text).status == "ambiguous"
    events = await run_form(answer("location", text, slots=SLOTS_BEFORE_LOCATION), dispatcher, domain)
    assert events == [
        SlotSet("location", text),
        SlotSet("region_code", "32.05"),
        SlotSet("region_name", "Kabupaten Garut, Jawa Barat"),
        SlotSet("requested_slot", "incident_date"),
    ]


def test_places_in_different_kabupaten_have_no_common_region():
    assert common_region(resolve_region("Kelurahan Sukajadi").candidates) is None
    assert place_slots(resolve_region("Bekasi"))["region_choices"] == ["32.75", "32.16"]


async def test_an_unknown_place_is_asked_again_once_for_the_kabupaten_or_kota(database, dispatcher, domain):
    events = await run_form(answer("location", "depan sd negeri tiga", slots=SLOTS_BEFORE_LOCATION), dispatcher, domain)
    assert events == [
        SlotSet("location", None),
        SlotSet("location_reasked", "depan sd negeri tiga"),
        SlotSet("ask_hint", "unknown_place"),
        SlotSet("requested_slot", "location"),
        SlotSet("reask_slot", "location"),
        SlotSet("reask_count", 1.0),
    ]
    ask = make_tracker(dict(SLOTS_BEFORE_LOCATION, ask_hint="unknown_place", requested_slot="location"))
    await ActionAskLocation().run(dispatcher, ask, domain)
    assert responses(dispatcher) == ["utter_ask_location_region"]


async def test_the_second_answer_is_kept_with_the_first_and_resolved(database, dispatcher, domain):
    slots = dict(SLOTS_BEFORE_LOCATION, location_reasked="depan sd negeri tiga")
    events = await run_form(answer("location", "Kabupaten Garut", slots=slots), dispatcher, domain)
    assert events == [
        SlotSet("location", "depan sd negeri tiga, Kabupaten Garut"),
        SlotSet("region_code", "32.05"),
        SlotSet("region_name", "Kabupaten Garut, Jawa Barat"),
        SlotSet("location_reasked", None),
        SlotSet("requested_slot", "incident_date"),
    ]


async def test_a_place_still_unknown_after_the_re_ask_is_kept_as_written(database, dispatcher, domain):
    slots = dict(SLOTS_BEFORE_LOCATION, location_reasked="depan sd negeri tiga")
    events = await run_form(answer("location", "dekat pasar lama", slots=slots), dispatcher, domain)
    assert events == [
        SlotSet("location", "depan sd negeri tiga, dekat pasar lama"),
        SlotSet("location_reasked", None),
        SlotSet("requested_slot", "incident_date"),
    ]


async def test_correcting_the_location_forgets_its_region(database, dispatcher, domain):
    slots = dict(FILLED, report_confirmed=False, requested_slot="field_to_correct", region_code="32.73",
                 region_name="Kota Bandung, Jawa Barat")
    events = await run_form(make_tracker(slots, text="lokasi", intent="nlu_fallback"), dispatcher, domain)
    assert events == [
        SlotSet("field_to_correct", None),
        SlotSet("report_confirmed", None),
        SlotSet("location", None),
        SlotSet("location_latitude", None),
        SlotSet("location_longitude", None),
        SlotSet("region_code", None),
        SlotSet("region_name", None),
        SlotSet("requested_slot", "location"),
    ]


async def test_the_read_back_names_the_resolved_place(database, dispatcher, domain):
    slots = dict(FILLED, location="Pasar Cicalengka", region_name="Kecamatan Cicalengka, Kabupaten Bandung, Jawa Barat")
    await ActionAskReportConfirmed().run(dispatcher, make_tracker(slots), domain)
    assert dispatcher.messages[0]["location_label"] == (
        "Pasar Cicalengka (Kecamatan Cicalengka, Kabupaten Bandung, Jawa Barat)"
    )
    dispatcher.messages.clear()
    slots = dict(FILLED, location="Kota Yogyakarta", region_name="Kota Yogyakarta, Daerah Istimewa Yogyakarta")
    await ActionAskReportConfirmed().run(dispatcher, make_tracker(slots), domain)
    assert dispatcher.messages[0]["location_label"] == "Kota Yogyakarta, Daerah Istimewa Yogyakarta"


# --- the category ----------------------------------------------------------------------------


async def test_a_confident_category_is_set_without_a_question(database, dispatcher, domain):
    text = "Bantuan sosial untuk lansia di desa kami belum cair padahal namanya sudah terdaftar."
    events = await run_form(answer("description", text, slots={"report_type": "pengaduan"}), dispatcher, domain)
    assert events == [
        SlotSet("description", text),
        SlotSet("category_code", "sosial"),
        SlotSet("requested_slot", "location"),
    ]


async def test_an_unsure_category_asks_the_citizen_to_pick_from_the_top_three(database, dispatcher, domain):
    events = await run_form(answer("description", UNSURE_DESCRIPTION, slots={"report_type": "pengaduan"}), dispatcher, domain)
    assert events == [
        SlotSet("description", UNSURE_DESCRIPTION),
        SlotSet("category_choices", ANY),
        SlotSet("requested_slot", "category_code"),
    ]
    assert len(events[1]["value"]) == 3


async def test_an_unsure_category_of_a_spoken_description_is_left_to_filing_without_a_question(
    database, dispatcher, domain
):
    voice = {"input_mode": "voice", "stt_confidence": 0.45}
    tracker = answer("description", UNSURE_DESCRIPTION, slots={"report_type": "pengaduan"}, metadata=voice)
    events = await run_form(tracker, dispatcher, domain)
    assert events == [SlotSet("description", UNSURE_DESCRIPTION), SlotSet("requested_slot", "location")]


async def test_a_spoken_description_confirmed_after_a_read_back_skips_the_topic_question(database, dispatcher, domain):
    slots = {"report_type": "pengaduan", "heard_text": UNSURE_DESCRIPTION, "heard_slot": "description",
             "heard_value": UNSURE_DESCRIPTION, "requested_slot": "heard_confirmed", "form_started_at": 1764290000.0}
    events = await run_form(make_tracker(slots, text="iya benar", intent="affirm"), dispatcher, domain)
    assert events[-2:] == [SlotSet("description", UNSURE_DESCRIPTION), SlotSet("requested_slot", "location")]


async def test_a_confident_category_of_a_spoken_description_is_still_set(database, dispatcher, domain):
    text = "Bantuan sosial untuk lansia di desa kami belum cair padahal namanya sudah terdaftar."
    voice = {"input_mode": "voice", "stt_confidence": 0.45}
    events = await run_form(answer("description", text, slots={"report_type": "pengaduan"}, metadata=voice),
                            dispatcher, domain)
    assert SlotSet("category_code", "sosial") in events


@pytest.mark.parametrize("simple", [False, True])
async def test_the_category_question_uses_plain_labels_and_numbers(database, dispatcher, domain, simple):
    tracker = make_tracker({"category_choices": UNSURE_CHOICES, "requested_slot": "category_code", "simple_language": simple})
    await ActionAskCategoryCode().run(dispatcher, tracker, domain)
    [message] = dispatcher.messages
    titles = [button["title"] for button in message["buttons"]]
    if simple:
        assert titles == ["Jalan, jembatan, dan air bersih", "Keamanan dan ketertiban", "Angkutan dan lalu lintas", "Tidak tahu"]
    else:
        assert titles == [
            "Jalan, jembatan, air bersih, dan bangunan umum", "Keamanan dan ketertiban umum",
            "Angkutan umum dan lalu lintas", "Tidak tahu",
        ]
    assert message["choices"].splitlines() == [f"{n}. {title}" for n, title in enumerate(titles, start=1)]
    assert message["buttons"][0]["payload"] == '/affirm{"category_code": "pekerjaan_umum"}'
    if simple:
        for response in ("utter_ask_category_code", "utter_ask_category_code_unclear"):
            text = rendered(domain, response, simple=True, choices=message["choices"])
            assert check_simple(text, True, button_titles=titles) == [], response


@pytest.mark.parametrize(
    "text, intent, entities, expected",
    [
        ("1", "check_status", None, "pekerjaan_umum"),
        ("yang ketiga", "nlu_fallback", None, "perhubungan"),
        ("keamanan", "nlu_fallback", None, "ketertiban"),
        ('/affirm{"category_code": "perhubungan"}', "affirm", [{"entity": "category_code", "value": "perhubungan"}],
         "perhubungan"),
    ],
)
async def test_the_citizen_picks_a_category(database, dispatcher, domain, text, intent, entities, expected):
    tracker = choosing("category_code", text, intent, entities, category_choices=UNSURE_CHOICES)
    events = await run_form(tracker, dispatcher, domain)
    assert events == [
        SlotSet("category_code", expected),
        SlotSet("category_choices", None),
        SlotSet("requested_slot", "location"),
    ]


async def test_not_knowing_the_category_leaves_it_to_the_suggestion(database, dispatcher, domain):
    tracker = choosing("category_code", "tidak tahu", category_choices=UNSURE_CHOICES)
    events = await run_form(tracker, dispatcher, domain)
    assert events == [SlotSet("category_code", None), SlotSet("category_choices", None), SlotSet("requested_slot", "location")]


async def test_a_control_request_is_not_taken_as_the_category(database, dispatcher, domain):
    tracker = choosing("category_code", "batal aja", intent="cancel", category_choices=UNSURE_CHOICES)
    assert await run_form(tracker, dispatcher, domain) == [
        SlotSet("cancel_pending", True), SlotSet("cancel_resume", "category_code"), SlotSet("requested_slot", "cancel_confirmed"),
    ]


async def test_correcting_the_description_suggests_the_category_again(database, dispatcher, domain):
    slots = dict(FILLED, report_confirmed=False, requested_slot="field_to_correct", category_code="pekerjaan_umum")
    events = await run_form(make_tracker(slots, text="2", intent="nlu_fallback"), dispatcher, domain)
    assert events == [
        SlotSet("field_to_correct", None),
        SlotSet("report_confirmed", None),
        SlotSet("description", None),
        SlotSet("category_code", None),
        SlotSet("requested_slot", "description"),
    ]


def test_every_new_question_is_an_action_the_domain_knows():
    domain = yaml.safe_load((ROOT / "bot" / "domain.yml").read_text(encoding="utf-8"))
    for action in (ActionAskLocation(), ActionAskRegionCode(), ActionAskCategoryCode()):
        assert action.name() in domain["actions"]
    for slot in ("region_code", "region_name", "region_choices", "category_code", "category_choices", "pin_attempts"):
        assert slot in domain["slots"]


async def test_a_confirmed_spoken_place_that_is_unknown_is_asked_again(database, dispatcher, domain):
    slots = dict(SLOTS_BEFORE_LOCATION, heard_text="depan sd negeri tiga", heard_slot="location",
                 heard_value="depan sd negeri tiga", requested_slot="heard_confirmed", form_started_at=1764290000.0)
    events = await run_form(make_tracker(slots, text="iya benar", intent="affirm"), dispatcher, domain)
    assert events == [
        SlotSet("heard_confirmed", None),
        SlotSet("heard_text", None),
        SlotSet("heard_slot", None),
        SlotSet("heard_value", None),
        SlotSet("location", None),
        SlotSet("location_reasked", "depan sd negeri tiga"),
        SlotSet("ask_hint", "unknown_place"),
        SlotSet("requested_slot", "location"),
    ]
