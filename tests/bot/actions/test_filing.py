import datetime as dt

from rasa_sdk.events import ActiveLoop, FollowupAction, SlotSet
from sqlalchemy import select

from bot.actions import runtime
from bot.actions.rating import ActionSaveRating, ValidateRatingForm
from bot.actions.report_form import (
    FORM_STATE_SLOTS,
    ActionAskReportConfirmed,
    ActionCancelReport,
    ActionSubmitReport,
)
from bot.settings import ROOT
from storage import tracking_numbers
from storage.models import ConversationEvent, OutboxItem, Report, RoutingSuggestion, SatisfactionRating
from storage.repositories import ReportRepository
from storage.routing.agencies import load_agency_table, set_default_table
from tests.bot.actions.conftest import configure_runtime, make_tracker, responses, slot_events

REPORT = {
    "report_type": "pengaduan",
    "description": "Jalan di depan pasar berlubang besar sejak dua minggu, motor sering jatuh.",
    "location": "Pasar Cicalengka, Kabupaten Bandung",
    "incident_date": "2026-11-25",
    "privacy": "biasa",
    "report_confirmed": True,
    "form_started_at": 1764290000.0,
    "conversation_ref": "c0ffee",
    "event_code": "SOSBDG01",
}


def reports(database):
    with database.session() as session:
        return session.execute(select(Report)).scalars().all()


async def test_a_confirmed_report_is_filed_with_every_field_and_a_tracking_number(database, dispatcher, domain):
    events = await ActionSubmitReport().run(dispatcher, make_tracker(REPORT, active_loop=None), domain)
    [report] = reports(database)
    assert (report.report_type, report.description, report.location_text, report.incident_date, report.privacy) == (
        "pengaduan", REPORT["description"], REPORT["location"], dt.date(2026, 11, 25), "biasa"
    )
    assert (report.channel, report.event_code, report.status) == ("rest", "SOSBDG01", "diterima")
    assert report.reporter_id is not None
    assert tracking_numbers.is_valid(report.tracking_number)
    assert dispatcher.messages[0]["response"] == "utter_submitted"
    assert dispatcher.messages[0]["tracking_number"] == report.tracking_number
    assert events == [SlotSet(name, None) for name in FORM_STATE_SLOTS] + [SlotSet("last_report_id", float(report.id))]
    with database.session() as session:
        assert session.execute(select(ConversationEvent.step)).scalars().all() == ["filed"]


async def test_a_retried_submit_files_one_report(database, dispatcher, domain):
    await ActionSubmitReport().run(dispatcher, make_tracker(REPORT, active_loop=None), domain)
    await ActionSubmitReport().run(dispatcher, make_tracker(REPORT, active_loop=None), domain)
    assert len(reports(database)) == 1
    numbers = [message["tracking_number"] for message in dispatcher.messages]
    assert numbers[0] == numbers[1]


async def test_a_new_form_in_the_same_conversation_files_a_second_report(database, dispatcher, domain):
    await ActionSubmitReport().run(dispatcher, make_tracker(REPORT, active_loop=None), domain)
    later = dict(REPORT, form_started_at=1764299999.0)
    await ActionSubmitReport().run(dispatcher, make_tracker(later, active_loop=None), domain)
    assert len(reports(database)) == 2


async def test_an_anonymous_report_keeps_no_identity_and_its_pin_finds_it(database, dispatcher, domain):
    anonymous = dict(REPORT, privacy="anonim")
    await ActionSubmitReport().run(dispatcher, make_tracker(anonymous, active_loop=None), domain)
    await ActionSubmitReport().run(dispatcher, make_tracker(anonymous, active_loop=None), domain)
    [report] = reports(database)
    assert report.reporter_id is None and report.pin_hash
    assert responses(dispatcher) == ["utter_submitted", "utter_submitted_pin"] * 2
    latest_pin = dispatcher.messages[-1]["pin"]
    with database.session() as session:
        assert ReportRepository(session).anonymous(report.tracking_number, latest_pin) is not None


async def test_a_failed_filing_keeps_the_answers_and_reads_back_again(database, dispatcher, domain):
    broken = dict(REPORT, privacy="entah")
    events = await ActionSubmitReport().run(dispatcher, make_tracker(broken, active_loop=None), domain)
    assert events == [SlotSet("report_confirmed", None), FollowupAction("report_form")]
    assert responses(dispatcher) == ["utter_submit_failed"]
    assert reports(database) == []


async def test_the_read_back_names_every_field_and_says_the_privacy_plainly(database, dispatcher, domain):
    slots = dict(REPORT, privacy="anonim", incident_date="tidak_diketahui")
    await ActionAskReportConfirmed().run(dispatcher, make_tracker(slots), domain)
    [message] = dispatcher.messages
    assert message["response"] == "utter_readback"
    assert message["type_label"] == "Pengaduan"
    assert message["date_label"] == "tidak diketahui"
    assert message["privacy_label"] == "ANONIM. Nama Anda tidak disimpan, cek status pakai PIN"


async def test_a_confirmed_cancel_files_nothing_and_ends_the_form(database, dispatcher, domain):
    events = await ActionCancelReport().run(dispatcher, make_tracker(REPORT, text="ya", intent="affirm"), domain)
    assert reports(database) == []
    assert responses(dispatcher) == ["utter_cancelled"]
    assert events[:2] == [ActiveLoop(None), SlotSet("requested_slot", None)]
    assert all(value is None for value in slot_events(events).values())
    with database.session() as session:
        assert session.execute(select(ConversationEvent.step)).scalars().all() == ["cancelled"]


async def test_words_and_buttons_give_a_satisfaction_score(database, dispatcher, domain):
    form = ValidateRatingForm()
    expected = {"puas": 4, "sangat puas": 5, "lima": 5, "5": 5, "biasa aja": 3, "kurang puas": 2, "lewati": "skip"}
    for text, score in expected.items():
        tracker = make_tracker(
            {"last_report_id": 1.0, "requested_slot": "satisfaction"},
            text=text, intent="affirm" if text == "puas" else "nlu_fallback", active_loop="rating_form",
        )
        events = await form.run(dispatcher, tracker, domain)
        assert events == [SlotSet("satisfaction", score), SlotSet("requested_slot", None)], text


async def test_the_satisfaction_score_is_stored_for_the_filed_report(database, dispatcher, domain):
    await ActionSubmitReport().run(dispatcher, make_tracker(REPORT, active_loop=None), domain)
    [report] = reports(database)
    events = await ActionSaveRating().run(
        dispatcher, make_tracker({"last_report_id": float(report.id), "satisfaction": 4}, active_loop=None), domain
    )
    assert events == [SlotSet("satisfaction", None), SlotSet("last_report_id", None)]
    with database.session() as session:
        assert session.execute(select(SatisfactionRating.score)).scalars().all() == [4]
    assert responses(dispatcher)[-1] == "utter_thanks_rating"


def routed(database):
    with database.session() as session:
        report = session.execute(select(Report)).scalar_one()
        suggestion = session.execute(select(RoutingSuggestion)).scalars().all()
        outbox = session.execute(select(OutboxItem)).scalars().all()
        return report, suggestion, outbox


async def test_the_citizens_choices_are_filed_and_the_report_is_routed_and_queued(database, dispatcher, domain):
    chosen = dict(REPORT, category_code="perhubungan", region_code="32.04", region_name="Kabupaten Bandung, Jawa Barat",
                  location_latitude=-7.0, location_longitude=107.9)
    await ActionSubmitReport().run(dispatcher, make_tracker(chosen, active_loop=None), domain)
    report, [suggestion], [item] = routed(database)
    assert (report.category_code, report.region_code, report.region_name) == (
        "perhubungan", "32.04", "Kabupaten Bandung, Jawa Barat"
    )
    assert (report.latitude, report.longitude) == (-7.0, 107.9)
    assert report.agency == "Dinas Perhubungan Kabupaten Bandung"
    assert (suggestion.category_code, suggestion.region_code, suggestion.agency) == (
        "perhubungan", "32.04", "Dinas Perhubungan Kabupaten Bandung"
    )
    assert "Kabupaten Bandung" in suggestion.reason
    assert (item.report_id, item.state, item.idempotency_key) == (report.id, "pending", f"sapalapor-{report.tracking_number}")


async def test_what_the_citizen_did_not_choose_is_filled_by_the_suggestion(database, dispatcher, domain):
    await ActionSubmitReport().run(dispatcher, make_tracker(REPORT, active_loop=None), domain)
    report, [suggestion], _ = routed(database)
    assert (report.category_code, report.region_code) == ("pekerjaan_umum", "32.04.25")
    assert report.region_name == "Kecamatan Cicalengka, Kabupaten Bandung, Jawa Barat"
    assert report.agency == "Dinas Pekerjaan Umum dan Penataan Ruang Kabupaten Bandung"
    assert suggestion.reason.startswith("Kategori Pekerjaan Umum dan Penataan Ruang")


async def test_a_retried_submit_routes_and_queues_the_report_once(database, dispatcher, domain):
    await ActionSubmitReport().run(dispatcher, make_tracker(REPORT, active_loop=None), domain)
    await ActionSubmitReport().run(dispatcher, make_tracker(REPORT, active_loop=None), domain)
    _, suggestions, outbox = routed(database)
    assert (len(suggestions), len(outbox)) == (1, 1)


def configured_table(monkeypatch, tmp_path, table_text):
    table = tmp_path / "agencies.yml"
    table.write_text(table_text, encoding="utf-8")
    config = (ROOT / "config.yml").read_text(encoding="utf-8")
    assert "agencies_file: storage/routing/agencies.yml" in config
    config_file = tmp_path / "config.yml"
    config_file.write_text(config.replace("agencies_file: storage/routing/agencies.yml", f"agencies_file: {table}"),
                           encoding="utf-8")
    monkeypatch.setenv("SAPALAPOR_CONFIG", str(config_file))
    configure_runtime()


async def test_the_agency_table_named_in_the_config_is_used(database, dispatcher, domain, monkeypatch, tmp_path):
    original = (ROOT / "storage" / "routing" / "agencies.yml").read_text(encoding="utf-8")
    edited = original.replace("kabupaten: Dinas Pekerjaan Umum dan Penataan Ruang {region_name}",
                              "kabupaten: Dinas Bina Marga {region_name}")
    assert edited != original
    configured_table(monkeypatch, tmp_path, edited)
    try:
        await ActionSubmitReport().run(dispatcher, make_tracker(REPORT, active_loop=None), domain)
        report, _, _ = routed(database)
        assert report.agency == "Dinas Bina Marga Kabupaten Bandung"
    finally:
        runtime.reset_for_tests()
        set_default_table(load_agency_table())


async def test_a_bad_agency_table_still_files_and_queues_the_report(database, dispatcher, domain, monkeypatch, tmp_path,
                                                                    caplog):
    configured_table(monkeypatch, tmp_path, "keywords: []\nroutes:\n  - category: jalan_rusak\n")
    try:
        events = await ActionSubmitReport().run(dispatcher, make_tracker(REPORT, active_loop=None), domain)
    finally:
        runtime.reset_for_tests()
    report, suggestions, [item] = routed(database)
    assert responses(dispatcher) == ["utter_submitted"]
    assert events[-1] == SlotSet("last_report_id", float(report.id))
    assert suggestions == [] and report.agency is None
    assert "routing table could not be loaded" in caplog.text


async def test_a_question_asked_again_picks_its_clearer_wording_without_the_domain(dispatcher):
    """Rasa sends the domain only to the form validators (selective domain), so the asks choose
    their variant from the response names read from domain.yml."""
    from bot.actions.report_form import ActionAskPrivacy

    for count in (0, 1, 2):
        await ActionAskPrivacy().run(dispatcher, make_tracker({"reask_slot": "privacy", "reask_count": count}), {})
    assert responses(dispatcher) == ["utter_ask_privacy", "utter_ask_privacy_unclear", "utter_ask_privacy_way_on"]
