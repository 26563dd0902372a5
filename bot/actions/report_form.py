"""The report form: validation, the questions that depend on earlier answers, filing, cancelling.

Flow (bot/actions/report_form.mmd): report_type -> description [-> category_code when the
category suggestion is unsure] -> location [-> region_code when the place is ambiguous] ->
incident_date -> privacy -> read-back (report_confirmed). The routing rules (when to ask, what
is kept) are in bot.actions.routing. "Tidak, ubah" at the read-back asks which field
(field_to_correct), clears only that field, asks it again and reads back again. For voice users
that final read-back is the main check: a spoken answer is parked for a "Saya mendengar: ..."
confirmation first only when recognition was really poor (bot.actions.read_back).

Decisions:
* A description that is too short to act on ("jalan rusak") is asked for once more, politely;
  the second answer is kept whatever its length (people who cannot write more must not be stuck).
* "lupa" / "tidak tahu" for the date gets one request for an estimate; a second "tidak tahu"
  is kept as ``tidak_diketahui`` and filed as no date. A future date is never kept.
* A spoken description whose category the classifier is unsure of does not get the topic
  question: speech-to-text slips ("berlumang", "ruma") flatten the classifier's scores although
  the top suggestion stays right (typed 0.82, heard 0.40 vs 0.22 runner-up, same top category),
  and a four-option spoken menu is a long listen. The report is filed with the suggestion marked
  "perlu diperiksa" for the verifier, exactly as when a typing user answers "Tidak tahu".
* Filing is idempotent: the submission key hashes the sender id, the conversation reference and
  the moment this form started, so a retried ``action_submit_report`` returns the same report.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import time
from typing import Any, Dict, List, Optional, Text
from zoneinfo import ZoneInfo

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot import answers
from bot.actions import routing, runtime
from bot.actions.read_back import HEARD_SLOTS, ReadBackMixin, spoken
from bot.dates import format_indonesian_date, parse_indonesian_date, says_unknown
from storage.repositories import ReportDraft, ReportRepository, new_pin
from storage.repositories.reports import hash_pin, verify_pin
from storage.routing.categories import CATEGORIES
from storage.routing.regions import UNIQUE, UNKNOWN, region_by_code, region_from_coordinates, resolve_region

log = logging.getLogger(__name__)

REPORT_SLOTS = ("report_type", "description", "location", "incident_date", "privacy")
UNKNOWN_DATE = "tidak_diketahui"
# Everything a report in progress keeps; cleared after filing or cancelling.
FORM_STATE_SLOTS = REPORT_SLOTS + (
    "report_confirmed", "field_to_correct", "ask_hint", "description_nudged", "date_unknown_asked",
    "location_latitude", "location_longitude", "form_started_at",
    "location_reasked", "choice_reasked", "region_code", "region_name", "region_choices",
    "category_code", "category_choices",
) + HEARD_SLOTS
# An opening message this long is taken as the description ("jalan di depan ... rusak").
OPENING_DESCRIPTION_WORDS = 8
LOCAL_TIME_ZONE = ZoneInfo("Asia/Jakarta")

TYPE_LABELS = {"pengaduan": "Pengaduan", "aspirasi": "Aspirasi", "permintaan_informasi": "Permintaan informasi"}
# Said plainly in the read-back: a wrong privacy level has exposed reporters before.
PRIVACY_LABELS = {
    "biasa": "BIASA. Isi laporan terbuka untuk umum, nama Anda tercatat",
    "rahasia": "RAHASIA. Hanya petugas yang membaca, nama Anda tercatat",
    "anonim": "ANONIM. Nama Anda tidak disimpan, cek status pakai PIN",
}


def local_today() -> dt.date:
    return dt.datetime.now(LOCAL_TIME_ZONE).date()


def submission_key(sender_id: str, conversation_ref: Optional[str], form_started_at: Any) -> str:
    material = f"{sender_id}|{conversation_ref or ''}|{form_started_at or ''}"
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def reset_form_events() -> List[EventType]:
    return [SlotSet(name, None) for name in FORM_STATE_SLOTS]


def _answer(tracker: Tracker, slot: Text, fits=None) -> Dict[Text, Any]:
    text = runtime.answer_for(tracker, slot, fits)
    return {} if text is None else {slot: text}


def _related(code: str, other: str) -> bool:
    return code == other or code.startswith(other + ".") or other.startswith(code + ".")


def _changes(tracker: Tracker, values: Dict[Text, Any], keep: tuple = ()) -> Dict[Text, Any]:
    """``values`` without clearing slots that are empty already (fewer, clearer events)."""
    return {
        name: value for name, value in values.items()
        if name in keep or value is not None or tracker.get_slot(name) is not None
    }


def _clear_reask(tracker: Tracker) -> Dict[Text, Any]:
    return {"choice_reasked": None} if tracker.get_slot("choice_reasked") else {}


def _names_a_date(text: str) -> bool:
    return says_unknown(text) or parse_indonesian_date(text, local_today()) is not None


class ValidateReportForm(ReadBackMixin, FormValidationAction):
    # Nothing is always read back: the read-back of the whole report shows every field.
    never_read_back = ("report_type",)

    def name(self) -> Text:
        return "validate_report_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        events: List[EventType] = []
        if tracker.get_slot("form_started_at") is None:
            started = time.time()
            events.append(SlotSet("form_started_at", started))
            tracker.slots["form_started_at"] = started
            self._take_opening_description(tracker)
        return events + await super().run(dispatcher, tracker, domain)

    @staticmethod
    def _take_opening_description(tracker: Tracker) -> None:
        """Someone who opens with the whole story is not asked to tell it again."""
        text = runtime.latest_text(tracker).strip()
        if tracker.get_slot("description") or answers.is_command(text):
            return
        if runtime.latest_intent(tracker) not in ("file_complaint", "file_aspiration", "request_information"):
            return
        if len(text.split()) < OPENING_DESCRIPTION_WORDS or answers.too_short_to_act_on(text):
            return
        # Appended as a slot candidate, so it is validated like any other answer.
        tracker.events.append({"event": "slot", "name": "description", "value": text})
        tracker.slots["description"] = text

    async def required_slots(
        self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Text]:
        slots = list(domain_slots)
        if tracker.get_slot("category_choices"):
            slots.insert(slots.index("description") + 1, "category_code")
        if tracker.get_slot("region_choices"):
            slots.insert(slots.index("location") + 1, "region_code")
        if tracker.get_slot("report_confirmed") is False:
            slots.insert(slots.index("report_confirmed"), "field_to_correct")
        return self.with_read_back(slots, tracker)

    async def accepted(self, slot: Text, value: Any, tracker: Tracker) -> Dict[Text, Any]:
        extra: Dict[Text, Any] = {}
        if slot == "description":
            suggested = await asyncio.to_thread(routing.suggest_category_slots, value)
            if suggested.get("category_choices") and self._described_by_voice(tracker):
                suggested = {"category_code": None, "category_choices": None}  # decided at filing
            extra = _changes(tracker, suggested)
            extra.update(_clear_reask(tracker))
        elif slot == "location":
            extra = _changes(tracker, await self._place(value, tracker), keep=("location",))
            if "location" in extra and extra["location"] is None:
                return extra  # asked again: not a step yet
        if slot in REPORT_SLOTS:
            await runtime.measure(tracker, f"slot:{slot}")
        return extra

    @staticmethod
    def _described_by_voice(tracker: Tracker) -> bool:
        """The description was spoken (now, or parked for a read-back and confirmed now)."""
        return spoken(tracker) or tracker.get_slot("heard_slot") == "description"

    @staticmethod
    async def _names_a_place(text: str) -> bool:
        if len(text) < 3 or answers.is_command(text):
            return False
        try:
            return (await asyncio.to_thread(resolve_region, text)).status != UNKNOWN
        except Exception:  # noqa: BLE001 - the pin is kept either way
            log.exception("resolving a pin caption failed")
            return False

    @staticmethod
    async def _place(text: str, tracker: Tracker) -> Dict[Text, Any]:
        """Region slots for a place answer, or a re-ask (location None) for an unknown place.

        After the re-ask, the first answer and the second are kept together ("depan SD 3,
        Kabupaten Garut"), and an unknown place is accepted as written, with no region.
        """
        earlier = tracker.get_slot("location_reasked")
        combined = text
        if isinstance(earlier, str) and earlier.strip() and earlier.lower() not in text.lower():
            combined = f"{earlier}, {text}"
        try:
            found = routing.place_slots(await asyncio.to_thread(resolve_region, combined))
        except Exception:  # noqa: BLE001 - the words are kept; routing is re-done at filing
            log.exception("resolving the place of conversation %s failed", tracker.get_slot("conversation_ref"))
            found = routing.region_slots(None)
        if found is None:
            if not earlier:
                return {"location": None, "location_reasked": text, "ask_hint": "unknown_place"}
            found = routing.region_slots(None)
        result: Dict[Text, Any] = dict(found)
        if combined != text:
            result["location"] = combined
        if earlier:
            result["location_reasked"] = None
        return result

    # Answers to the question being asked; `fits` lets a plain answer win over a control intent.
    async def extract_report_type(self, dispatcher, tracker: Tracker, domain) -> Dict[Text, Any]:
        return _answer(tracker, "report_type", lambda text: answers.report_type_from(text) is not None)

    async def extract_description(self, dispatcher, tracker: Tracker, domain) -> Dict[Text, Any]:
        return _answer(tracker, "description")

    async def extract_location(self, dispatcher, tracker: Tracker, domain) -> Dict[Text, Any]:
        return _answer(tracker, "location")

    async def extract_incident_date(self, dispatcher, tracker: Tracker, domain) -> Dict[Text, Any]:
        return _answer(tracker, "incident_date", _names_a_date)

    async def extract_privacy(self, dispatcher, tracker: Tracker, domain) -> Dict[Text, Any]:
        return _answer(tracker, "privacy", lambda text: answers.privacy_from(text) is not None)

    async def extract_report_confirmed(self, dispatcher, tracker: Tracker, domain) -> Dict[Text, Any]:
        return _answer(tracker, "report_confirmed", lambda text: answers.yes_no(text) is not None)

    async def validate_report_type(self, value: Any, dispatcher, tracker: Tracker, domain) -> Dict[Text, Any]:
        found = answers.report_type_from(value if isinstance(value, str) else None, runtime.latest_intent(tracker))
        if found is None:
            return {"report_type": None}
        return await self.keep("report_type", found, tracker)

    async def validate_description(self, value: Any, dispatcher, tracker: Tracker, domain) -> Dict[Text, Any]:
        text = (value or "").strip() if isinstance(value, str) else ""
        if not text or answers.is_command(text):
            return {"description": None}
        if answers.too_short_to_act_on(text) and not tracker.get_slot("description_nudged"):
            return {"description": None, "description_nudged": True, "ask_hint": "more_detail"}
        return await self.keep("description", text, tracker)

    async def validate_location(self, value: Any, dispatcher, tracker: Tracker, domain) -> Dict[Text, Any]:
        text = (value or "").strip() if isinstance(value, str) else ""
        pin = runtime.latest_metadata(tracker).get("location_pin") or {}
        result: Dict[Text, Any] = {}
        try:
            latitude, longitude = float(pin["latitude"]), float(pin["longitude"])
        except (KeyError, TypeError, ValueError):
            latitude = longitude = None
        if latitude is not None:
            result.update(location_latitude=latitude, location_longitude=longitude)
            # Telegram sends "Lokasi saya: -6.91750, 107.61910" with a pin; a caption that names
            # a known place is the answer, anything else leaves the pin to speak for itself.
            if not await self._names_a_place(text):
                pinned = routing.place_slots(region_from_coordinates(latitude, longitude))
                if pinned is None and not tracker.get_slot("location_reasked"):
                    # No boundary data: the pin is kept, and the place name is asked for routing.
                    result.update(location=None, location_reasked=True, ask_hint="pin_place")
                    return result
                # A pin sent again instead of the name: the coordinates are the location.
                text = f"Titik lokasi {latitude:.5f}, {longitude:.5f}"
                result["location"] = text  # a map pin is exact: nothing to read back
                result.update(_changes(tracker, pinned or routing.region_slots(None)))
                if tracker.get_slot("location_reasked"):
                    result["location_reasked"] = None
                await runtime.measure(tracker, "slot:location")
                return result
        if len(text) < 3 or answers.is_command(text):
            return {"location": None}
        result.update(await self.keep("location", text, tracker))
        return result

    async def validate_incident_date(self, value: Any, dispatcher, tracker: Tracker, domain) -> Dict[Text, Any]:
        text = value if isinstance(value, str) else ""
        if says_unknown(text):
            if not tracker.get_slot("date_unknown_asked"):
                return {"incident_date": None, "date_unknown_asked": True, "ask_hint": "estimate"}
            return await self.keep("incident_date", UNKNOWN_DATE, tracker)
        today = local_today()
        found = parse_indonesian_date(text, today)
        if found is None:
            return {"incident_date": None, "ask_hint": "unclear"}
        if found > today:
            return {"incident_date": None, "ask_hint": "future"}
        return await self.keep("incident_date", found.isoformat(), tracker)

    async def validate_privacy(self, value: Any, dispatcher, tracker: Tracker, domain) -> Dict[Text, Any]:
        entity = answers.entity_value(runtime.latest_entities(tracker), "privacy")
        found = answers.privacy_from(value if isinstance(value, str) else None, entity)
        if found is None:
            return {"privacy": None}
        return await self.keep("privacy", found, tracker)

    async def validate_report_confirmed(self, value: Any, dispatcher, tracker: Tracker, domain) -> Dict[Text, Any]:
        if isinstance(value, bool):
            return {"report_confirmed": value}
        confirmed = answers.yes_no(value, runtime.latest_intent(tracker))
        if confirmed:
            await runtime.measure(tracker, "readback_confirmed")
        return {"report_confirmed": confirmed}

    async def extract_field_to_correct(self, dispatcher, tracker: Tracker, domain) -> Dict[Text, Any]:
        return _answer(tracker, "field_to_correct", lambda text: answers.field_from(text) is not None)

    async def validate_field_to_correct(self, value: Any, dispatcher, tracker: Tracker, domain) -> Dict[Text, Any]:
        entity = answers.entity_value(runtime.latest_entities(tracker), "field")
        field = answers.field_from(value if isinstance(value, str) else None, entity)
        if field is None:
            return {"field_to_correct": None}
        result: Dict[Text, Any] = {"field_to_correct": None, "report_confirmed": None, field: None}
        if field == "incident_date":
            result["date_unknown_asked"] = None
        if field == "location":
            result.update(location_latitude=None, location_longitude=None)
            result.update(_changes(tracker, {"location_reasked": None, **routing.region_slots(None)}))
        if field == "description":
            result.update(_changes(tracker, {"category_code": None, "category_choices": None}))
        result.update(_clear_reask(tracker))
        return result

    # --- choosing among candidates (bot.actions.routing) ---------------------------------------

    async def extract_region_code(self, dispatcher, tracker: Tracker, domain) -> Dict[Text, Any]:
        options = await asyncio.to_thread(routing.region_options, tracker.get_slot("region_choices") or [])
        labels = [option["label"] for option in options]
        return _answer(tracker, "region_code", lambda text: answers.pick_option(text, labels) is not None)

    async def validate_region_code(self, value: Any, dispatcher, tracker: Tracker, domain) -> Dict[Text, Any]:
        codes = list(tracker.get_slot("region_choices") or [])
        text = value if isinstance(value, str) else ""
        entity = answers.entity_value(runtime.latest_entities(tracker), "region_code")
        picked: Optional[str] = entity if isinstance(entity, str) and entity in codes else None
        none_fits = False
        if picked is None and not answers.is_command(text):
            options = await asyncio.to_thread(routing.region_options, codes)
            index = answers.pick_option(text, [option["label"] for option in options])
            if index is not None:
                picked = options[index]["code"] or None
                none_fits = picked is None
            elif answers.yes_no(text, runtime.latest_intent(tracker)) is False or answers.wants_to_skip(text):
                none_fits = True
            else:
                # "kab bandung" for Kota/Kabupaten Bandung: the place named again, more exactly.
                resolution = await asyncio.to_thread(resolve_region, text)
                if resolution.status == UNIQUE and any(_related(resolution.best.code, code) for code in codes):
                    picked = resolution.best.code
        elif picked is None and runtime.latest_intent(tracker) == "deny":
            none_fits = True
        region = await asyncio.to_thread(region_by_code, picked) if picked else None
        if region is not None:
            return {**routing.region_slots(region), **_clear_reask(tracker)}
        if none_fits or tracker.get_slot("choice_reasked"):
            # Kept as written, without a region: verifiers still read the place in the report.
            return {**_changes(tracker, routing.region_slots(None), keep=("region_code",)), **_clear_reask(tracker)}
        return {"region_code": None, "choice_reasked": True, "ask_hint": "unclear"}

    def _category_labels(self, tracker: Tracker) -> List[Dict[Text, str]]:
        simple = bool(tracker.get_slot("simple_language"))
        return routing.category_options(tracker.get_slot("category_choices") or [], simple)

    async def extract_category_code(self, dispatcher, tracker: Tracker, domain) -> Dict[Text, Any]:
        labels = [option["label"] for option in self._category_labels(tracker)]
        return _answer(tracker, "category_code", lambda text: answers.pick_option(text, labels) is not None)

    async def validate_category_code(self, value: Any, dispatcher, tracker: Tracker, domain) -> Dict[Text, Any]:
        text = value if isinstance(value, str) else ""
        entity = answers.entity_value(runtime.latest_entities(tracker), "category_code")
        picked: Optional[str] = entity if isinstance(entity, str) and entity in CATEGORIES else None
        none_fits = False
        if picked is None and not answers.is_command(text):
            options = self._category_labels(tracker)
            index = answers.pick_option(text, [option["label"] for option in options])
            if index is not None:
                picked = options[index]["code"] or None
                none_fits = picked is None
            else:
                none_fits = answers.yes_no(text, runtime.latest_intent(tracker)) is False or answers.wants_to_skip(text)
        elif picked is None and runtime.latest_intent(tracker) == "deny":
            none_fits = True
        if picked:
            return {"category_code": picked, "category_choices": None, **_clear_reask(tracker)}
        if none_fits or tracker.get_slot("choice_reasked"):
            # "Tidak tahu": the suggestion made at filing decides, marked for checking.
            return {"category_code": None, "category_choices": None, **_clear_reask(tracker)}
        return {"category_code": None, "choice_reasked": True, "ask_hint": "unclear"}


class _AskWithHint:
    """Asks a slot's question, choosing the wording by why it is asked (again).

    A mixin (not an Action itself), so the action server registers only the concrete asks.
    """

    slot: Text = ""
    hints: Dict[Text, Text] = {}

    def name(self) -> Text:
        return f"action_ask_{self.slot}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        response = self.hints.get(tracker.get_slot("ask_hint") or "", f"utter_ask_{self.slot}")
        dispatcher.utter_message(response=response)
        return [SlotSet("ask_hint", None)]


class ActionAskDescription(_AskWithHint, Action):
    slot = "description"
    hints = {"more_detail": "utter_ask_description_more"}


class ActionAskLocation(_AskWithHint, Action):
    slot = "location"
    hints = {"unknown_place": "utter_ask_location_region", "pin_place": "utter_ask_location_after_pin"}


class _AskChoice:
    """Asks to pick one of the options in a slot: buttons and the same numbered list in the text."""

    slot: Text = ""

    def name(self) -> Text:
        return f"action_ask_{self.slot}"

    def options(self, tracker: Tracker) -> List[Dict[Text, str]]:
        raise NotImplementedError

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        options = await asyncio.to_thread(self.options, tracker)
        unclear = tracker.get_slot("ask_hint") == "unclear"
        dispatcher.utter_message(
            response=f"utter_ask_{self.slot}_unclear" if unclear else f"utter_ask_{self.slot}",
            choices=routing.numbered(options),
            buttons=routing.buttons(options, self.slot),
        )
        return [SlotSet("ask_hint", None)]


class ActionAskRegionCode(_AskChoice, Action):
    slot = "region_code"

    def options(self, tracker: Tracker) -> List[Dict[Text, str]]:
        return routing.region_options(tracker.get_slot("region_choices") or [])


class ActionAskCategoryCode(_AskChoice, Action):
    slot = "category_code"

    def options(self, tracker: Tracker) -> List[Dict[Text, str]]:
        simple = bool(tracker.get_slot("simple_language"))
        return routing.category_options(tracker.get_slot("category_choices") or [], simple)


class ActionAskIncidentDate(_AskWithHint, Action):
    slot = "incident_date"
    hints = {
        "estimate": "utter_ask_incident_date_estimate",
        "future": "utter_ask_incident_date_future",
        "unclear": "utter_ask_incident_date_unclear",
    }


def readback_values(slots: Dict[Text, Any]) -> Dict[Text, Text]:
    """The labels the read-back fills in: words a person understands, never codes."""
    date_value = slots.get("incident_date")
    if date_value and date_value != UNKNOWN_DATE:
        date_label = format_indonesian_date(dt.date.fromisoformat(date_value))
    else:
        date_label = "tidak diketahui"
    location = slots.get("location") or "-"
    region_name = slots.get("region_name")
    if region_name and location.lower() in region_name.lower():
        location_label = region_name
    elif region_name:
        location_label = f"{location} ({region_name})"
    else:
        location_label = location
    return {
        "location_label": location_label,
        "type_label": TYPE_LABELS.get(slots.get("report_type") or "", "-"),
        "date_label": date_label,
        "privacy_label": PRIVACY_LABELS.get(slots.get("privacy") or "", "-"),
    }


class ActionAskReportConfirmed(Action):
    def name(self) -> Text:
        return "action_ask_report_confirmed"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        dispatcher.utter_message(response="utter_readback", **readback_values(tracker.slots))
        return [SlotSet("ask_hint", None)]


def _agency_table_or_none():
    """The routing table; None (report filed unrouted, logged) when the operator's file is bad."""
    try:
        return runtime.agency_table()
    except Exception:  # noqa: BLE001 - start-up (bot run) rejects a bad table; never lose a report
        log.exception("the routing table could not be loaded; reports are filed without a suggestion")
        return None


class ActionSubmitReport(Action):
    def name(self) -> Text:
        return "action_submit_report"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        slots = tracker.slots
        try:
            who = runtime.caller(tracker)
            anonymous = slots.get("privacy") == "anonim"
            pin = new_pin() if anonymous else None
            date_value = slots.get("incident_date")
            draft = ReportDraft(
                submission_key=submission_key(tracker.sender_id, slots.get("conversation_ref"), slots.get("form_started_at")),
                report_type=slots.get("report_type"),
                description=slots.get("description") or "",
                location_text=slots.get("location") or "",
                incident_date=dt.date.fromisoformat(date_value) if date_value and date_value != UNKNOWN_DATE else None,
                privacy=slots.get("privacy"),
                channel=who.channel,
                identity_hash=None if anonymous else who.identity_hash,
                pin=pin,
                event_code=slots.get("event_code"),
                latitude=slots.get("location_latitude"),
                longitude=slots.get("location_longitude"),
                sender_ref=who.sender_ref,
            )

            def work(session):
                table = _agency_table_or_none()  # read once per process, in this worker thread
                report = ReportRepository(session).file(draft)
                if pin is not None and not verify_pin(pin, report.pin_hash):
                    # A retried submit found the report filed earlier, whose PIN never reached
                    # the person: the same conversation gets a fresh PIN for it.
                    report.pin_hash = hash_pin(pin)
                    session.flush()
                routing.route_and_enqueue(session, report, dict(slots), table)
                return report.id, report.tracking_number

            report_id, tracking_number = await runtime.in_session(work)
        except Exception:
            log.exception("filing the report of conversation %s failed", slots.get("conversation_ref"))
            dispatcher.utter_message(response="utter_submit_failed")
            return [SlotSet("report_confirmed", None), FollowupAction("report_form")]
        dispatcher.utter_message(response="utter_submitted", tracking_number=tracking_number)
        if pin is not None:
            dispatcher.utter_message(response="utter_submitted_pin", pin=pin)
        await runtime.measure(tracker, "filed")
        return reset_form_events() + [SlotSet("last_report_id", float(report_id))]


class ActionCancelReport(Action):
    """Stops the active form without filing (after the confirmation the rules ask for)."""

    def name(self) -> Text:
        return "action_cancel_report"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        loop = (tracker.active_loop or {}).get("name")
        if loop == "report_form":
            dispatcher.utter_message(response="utter_cancelled")
            await runtime.measure(tracker, "cancelled")
        else:
            dispatcher.utter_message(response="utter_stopped")
        events: List[EventType] = [ActiveLoop(None), SlotSet("requested_slot", None)]
        events += reset_form_events()
        events += [SlotSet(name, None) for name in ("tracking_number", "status_pin", "status_needs_pin", "satisfaction", "last_report_id")]
        return events
