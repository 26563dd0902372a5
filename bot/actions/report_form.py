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
* An answer is tried as an answer first (``runtime.answer_for`` with a ``fits`` test per
  question); only a message that does not answer and holds a whole control word steers.
* Cancelling asks first, inside the form (``cancel_confirmed``): only a clear yes ends the
  report; "jangan", "lanjut", "tidak jadi" continue, and any other message is tried as the
  answer to the question that was pending, so nothing typed is lost.
* No question is sent a third time in the same words: each miss is counted (``reask_slot``,
  ``reask_count``); the second ask shows the options and an example, the third offers a way on,
  and a third miss takes it (date: unknown; privacy: RAHASIA, said plainly; type: pengaduan;
  read-back: which part to change). The final read-back shows whatever was chosen.
* One message can fill several fields: the opener or any answer that clearly names a place
  (a known region with a marker such as "kec"/"kab"/"desa"), a date ("sejak 2 minggu lalu") or
  a privacy wish ("anonim", "tanpa nama") fills those too, and the form asks only what is missing.
* Filing is idempotent: the submission key hashes the sender id, the conversation reference and
  the moment this form started, so a retried ``action_submit_report`` returns the same report.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import re
import time
from typing import Any, Dict, List, Optional, Text, Tuple
from zoneinfo import ZoneInfo

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot import answers
from bot.actions import routing, runtime
from bot.actions.read_back import HEARD_SLOTS, ReadBackMixin, spoken
from bot.actions.response_names import has_response
from bot.dates import format_indonesian_date, is_approximate, parse_indonesian_date, says_unknown
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
    "category_code", "category_choices", "cancel_pending", "cancel_confirmed", "cancel_resume",
    "reask_slot", "reask_count", "date_approximate",
) + HEARD_SLOTS
# An opening message this long is taken as the description ("jalan di depan ... rusak").
OPENING_DESCRIPTION_WORDS = 8
LOCAL_TIME_ZONE = ZoneInfo("Asia/Jakarta")
# A question missed this many times takes its way on instead of being asked again.
WAY_ON_AFTER = 2
# What each question expects, sent with it (reply key "expects") so the accessibility layer can
# listen for that kind of answer (a yes/no, one of the buttons, a date, a place, free text).
EXPECTS = {
    "report_type": "choice", "description": "free_text", "location": "place", "region_code": "choice",
    "category_code": "choice", "incident_date": "date", "privacy": "choice", "report_confirmed": "yes_no",
    "field_to_correct": "choice", "heard_confirmed": "yes_no", "cancel_confirmed": "yes_no",
    "satisfaction": "rating", "tracking_number": "tracking_number", "status_pin": "pin",
}

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


def _names_a_date(text: str, intent: Optional[str] = None) -> bool:
    """Whether an answer names a date; with a control request's own words ("apa tadi?", a
    repeat), only a clear date counts, not the "tadi" or "sekarang" in it."""
    if says_unknown(text):
        return True
    strict = bool(intent) and answers.control_cue(intent, text)
    return parse_indonesian_date(text, local_today(), strict=strict) is not None


def misses(tracker: Tracker, slot: Text) -> int:
    """How often the answer to ``slot``'s question was not understood in a row."""
    if tracker.get_slot("reask_slot") != slot:
        return 0
    try:
        return int(tracker.get_slot("reask_count") or 0)
    except (TypeError, ValueError):
        return 0


def _slot_values(events: List[EventType], name: Text) -> List[Any]:
    return [event.get("value") for event in events if event.get("event") == "slot" and event.get("name") == name]


# Words that mark a place in a longer message; the words after them name it.
_PLACE_MARKERS = {
    "desa", "ds", "kelurahan", "kel", "kec", "kecamatan", "kab", "kabupaten", "kota", "provinsi", "prov",
    "dusun", "dsn", "kampung", "kp", "jl", "jln", "jalan", "gang", "gg", "rt", "rw", "perumahan", "perum",
    "komplek", "kompleks", "nagari", "gampong", "kelurahan", "lingkungan", "banjar",
}
_STRONG_MARKERS = {"desa", "ds", "kelurahan", "kel", "kec", "kecamatan", "kab", "kabupaten", "kota", "provinsi", "prov",
                   "dusun", "dsn", "nagari", "gampong"}


_REGENCY_MARKERS = {"kab", "kabupaten", "kota", "provinsi", "prov"}
_OFFICE_WORDS = {"kantor", "balai", "pak", "bu", "ibu", "bapak", "kepala", "pegawai", "petugas", "staf", "aparat",
                 "perangkat", "pemerintah", "pemkab", "pemkot", "dinas", "warga", "lurah", "camat", "sekretaris", "sekdes",
                 "dana", "anggaran", "musyawarah", "musdes", "tingkat", "setingkat", "antar", "se"}
# Words that end a place name inside a story ("... kab cianjur rusak parah").
_NOT_A_NAME = {
    "rusak", "berlubang", "sudah", "udah", "sejak", "dari", "banyak", "dan", "yang", "yg", "ada", "tidak", "tdk", "gak",
    "mohon", "tolong", "parah", "sangat", "mati", "banjir", "macet", "itu", "ini", "sering", "selalu", "belum", "masih",
    "tapi", "karena", "kalau", "saat", "waktu", "kemarin", "lalu", "minggu", "hari", "bulan", "tahun", "tanggal", "pak",
    "bu", "min", "kak", "terima", "kasih", "bisa", "harus", "perlu", "agar", "supaya", "untuk", "dengan", "di", "ke",
    "tadi", "pagi", "siang", "sore", "malam", "kira-kira", "kira", "sekitar", "seminggu", "sebulan", "tgl", "sekarang",
    "mohon", "tolong", "segera", "saya", "kami", "kita",
}


def _after_di(tokens: List[str], bare: List[str]) -> Optional[str]:
    """ "... di kulon progo, kec. wates, tadi pagi": the words after the last "di", up to a date."""
    starts = [index for index, token in enumerate(bare) if token in ("di", "dkt", "dekat", "deket")]
    if not starts:
        return None
    first = starts[-1] + 1
    end = first
    while end < len(tokens) and end < first + 6 and bare[end] not in _NOT_A_NAME:
        end += 1
    phrase = " ".join(tokens[first:end]).strip(" ,.")
    return phrase if len(phrase) >= 3 else None


def place_in_story(text: str) -> Optional[Tuple[str, bool]]:
    """(phrase, marked): the place a story names, and whether marker words back it up.

    A phrase after "di" without markers ("di pematangsiantar") is only a candidate: the caller
    accepts it for a kabupaten or kota, never for a desa named like an everyday word.
    """
    marked = place_phrase(text)
    if marked:
        return marked, True
    tokens = re.findall(r"[\w'./-]+[,.]?", text)
    bare = [token.lower().rstrip(".,") for token in tokens]
    loose = _after_di(tokens, bare)
    if not loose:
        return None
    words = [word.lower().rstrip(".,") for word in loose.split()]
    backed = any(word in _STRONG_MARKERS and not (index and words[index - 1] in _OFFICE_WORDS)
                 for index, word in enumerate(words))
    return loose, backed


def place_phrase(text: str) -> Optional[str]:
    """The part of a longer message that names a place ("desa sukamaju kec cibeber kab cianjur").

    It starts at the first strong marker (kec, kab, kota, desa, ...; or a street/RT marker
    just before it) and ends after the name that follows the last one, at a comma, a full stop
    or a word that is no name ("rusak", "sejak"). None without a strong marker: a story
    without one names no place that can be routed.
    """
    tokens = re.findall(r"[\w'./-]+[,.]?", text)
    bare = [token.lower().rstrip(".,") for token in tokens]
    # "kantor kelurahan", "pak camat", "petugas kecamatan": the office, not a place name.
    strong = [index for index, token in enumerate(bare)
              if token in _STRONG_MARKERS and not (index and bare[index - 1] in _OFFICE_WORDS)]
    # One lower-level marker alone ("kelurahan tutup ...") is too weak inside a story: it
    # needs a second marker or a kabupaten/kota/province marker.
    if not strong or (len(strong) < 2 and bare[strong[0]] not in _REGENCY_MARKERS):
        return None
    first = strong[0]
    for index in range(max(0, first - 4), first):
        if bare[index] in _PLACE_MARKERS:
            first = index
            break
    last = strong[-1]
    end = last + 1
    while end < len(tokens) and end <= last + 3 and bare[end] not in _NOT_A_NAME and bare[end] not in _STRONG_MARKERS:
        end += 1
        if tokens[end - 1].endswith((",", ".")):
            break
    phrase = " ".join(tokens[first:end]).strip(" ,.")
    return phrase or None


class ValidateReportForm(ReadBackMixin, FormValidationAction):
    # Nothing is always read back: the read-back of the whole report shows every field.
    never_read_back = ("report_type",)

    def name(self) -> Text:
        return "validate_report_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        events: List[EventType] = []
        asked = tracker.get_slot("requested_slot")
        fresh = runtime.answered_just_now(tracker)
        text = runtime.latest_text(tracker)
        if tracker.get_slot("form_started_at") is None:
            started = time.time()
            events.append(SlotSet("form_started_at", started))
            tracker.slots["form_started_at"] = started
            self._take_opening_description(tracker)
            if not fresh:  # started by action_fallback / action_help with the message as its story
                story = tracker.get_slot("description")
                if story:  # validated like a typed answer: the category suggestion follows from it
                    tracker.events.append({"event": "slot", "name": "description", "value": story})
                await self._take_other_fields(tracker, None, text)
        if fresh and asked == "cancel_confirmed":
            decision = answers.cancel_decision(text, runtime.latest_intent(tracker))
            if decision is True:
                return events + [SlotSet("cancel_confirmed", True), SlotSet("requested_slot", None)]
            resume = tracker.get_slot("cancel_resume")
            events += [SlotSet("cancel_pending", None), SlotSet("cancel_confirmed", None), SlotSet("cancel_resume", None)]
            tracker.slots.update(cancel_pending=None, cancel_confirmed=None, cancel_resume=None, requested_slot=resume)
            if decision is False or not resume:
                dispatcher.utter_message(response="utter_continue_form")
                tracker.slots["requested_slot"] = None  # nothing to take from "lanjut saja"
                next_slot = await self.next_requested_slot(dispatcher, tracker, domain)
                return events + [next_slot]
            asked = resume  # anything else is tried as the answer to the pending question
        elif fresh and asked and await self._asks_to_cancel(tracker, asked, text):
            return events + [
                SlotSet("cancel_pending", True), SlotSet("cancel_resume", asked), SlotSet("requested_slot", "cancel_confirmed"),
            ]
        if fresh and asked and self._asks_for_status(tracker, text):
            # "status laporan saya" in the middle of a report: said where to find it, then on.
            dispatcher.utter_message(response="utter_status_after_this_report")
            return events + [SlotSet("ask_hint", None), SlotSet("requested_slot", asked)]
        if fresh:
            await self._take_other_fields(tracker, asked, text)
        result = await super().run(dispatcher, tracker, domain)
        if fresh and asked:
            result += self._count_miss(tracker, asked, result)
        return events + result

    @staticmethod
    def _asks_for_status(tracker: Tracker, text: str) -> bool:
        """A status question, not an answer: short, with "status" or "cek laporan" in it."""
        if answers.is_command(text):
            return runtime.latest_intent(tracker) == "check_status"
        return (runtime.latest_intent(tracker) == "check_status" and len(text.split()) <= 6
                and answers.phrase_in(text, ("status", "cek laporan", "cek status", "nomor laporan")))

    async def _asks_to_cancel(self, tracker: Tracker, asked: Text, text: str) -> bool:
        """A cancel request that is no answer to the question being asked."""
        intent = runtime.latest_intent(tracker)
        if answers.is_command(text):
            return intent == "cancel"
        if intent != "cancel" and not (answers.control_cue("cancel", text) and len(text.split()) <= 4):
            return False
        fits = {
            "incident_date": lambda answer: _names_a_date(answer, "cancel"),
            "privacy": lambda answer: answers.privacy_from(answer) is not None,
            "location": lambda answer: False,
        }.get(asked)
        if asked == "location" and await self._names_a_place(text):
            return False
        return answers.steers_conversation("cancel", text, bool(fits and fits(text)))

    @staticmethod
    def _count_miss(tracker: Tracker, asked: Text, result: List[EventType]) -> List[EventType]:
        """Counts a question answered but not understood; any progress resets the count."""
        taken = _slot_values(result, asked)
        next_slot = (_slot_values(result, "requested_slot") or [None])[-1]
        if taken and all(value is None for value in taken) and next_slot == asked:
            return [SlotSet("reask_slot", asked), SlotSet("reask_count", float(misses(tracker, asked) + 1))]
        if tracker.get_slot("reask_count"):
            return [SlotSet("reask_slot", None), SlotSet("reask_count", None)]
        return []

    async def _take_other_fields(self, tracker: Tracker, asked: Optional[Text], text: str) -> None:
        """Fields a message names clearly besides the one asked: a place, a date, a privacy wish.

        Appended as slot candidates, so each is validated exactly like a direct answer.
        """
        if answers.is_command(text) or len(text.split()) < 3:
            return
        found: Dict[Text, Any] = {}
        if asked != "location" and not tracker.get_slot("location") and not tracker.get_slot("location_reasked"):
            candidate = place_in_story(text)
            if candidate and await self._names_a_unique_place(candidate[0], marked=candidate[1]):
                found["location"] = candidate[0]
        if asked != "incident_date" and not tracker.get_slot("incident_date"):
            day = parse_indonesian_date(text, local_today(), strict=True)
            if day is not None and day <= local_today():
                found["incident_date"] = text
        if asked != "privacy" and not tracker.get_slot("privacy"):
            wish = answers.privacy_from(text)
            if wish in ("anonim", "rahasia") and answers.states_privacy(text):
                found["privacy"] = text
        for name, value in found.items():
            tracker.events.append({"event": "slot", "name": name, "value": value})
            tracker.slots[name] = value

    @staticmethod
    async def _names_a_unique_place(text: str, marked: bool = True) -> bool:
        """One region for ``text``; without a marker word, only a kabupaten or kota ("di
        pematangsiantar") counts: a desa named like an everyday word ("Pasar Baru") does not."""
        try:
            resolution = await asyncio.to_thread(resolve_region, text)
            if resolution.status != UNIQUE:
                return False
            return marked or resolution.best.level in ("kota", "kabupaten")
        except Exception:  # noqa: BLE001 - the place is then asked as usual
            log.exception("resolving a place inside a message failed")
            return False

    @staticmethod
    def _take_opening_description(tracker: Tracker) -> None:
        """Someone who opens with the whole story is not asked to tell it again.

        A how-to question is a *permintaan informasi* whatever intent the NLU chose for it, and
        a story in a complaint's words is a *pengaduan* even when the NLU heard a wish in it.
        """
        text = runtime.latest_text(tracker).strip()
        corrected = None
        if answers.asks_for_information(text):
            corrected = "permintaan_informasi"
        elif tracker.get_slot("report_type") == "aspirasi" and answers.reads_as_complaint(text):
            corrected = "pengaduan"
        elif (tracker.get_slot("report_type") == "permintaan_informasi" and "?" not in text
              and len(text.split()) >= OPENING_DESCRIPTION_WORDS):
            # "min mau lapor: pengurus rt meminta iuran ..." is no question: its own words decide.
            corrected = answers.report_type_from(text) or None
        if corrected and tracker.get_slot("report_type") != corrected:
            tracker.events.append({"event": "slot", "name": "report_type", "value": corrected})
            tracker.slots["report_type"] = corrected
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
        if tracker.get_slot("cancel_confirmed") is True:
            return []  # confirmed: the form ends and action_submit_report cancels instead of filing
        slots = self.with_read_back(slots, tracker)
        if tracker.get_slot("cancel_pending"):
            slots.insert(0, "cancel_confirmed")
        return slots

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
        return _answer(tracker, "description", lambda text: len(text.split()) >= 5)

    async def extract_location(self, dispatcher, tracker: Tracker, domain) -> Dict[Text, Any]:
        if tracker.get_slot("requested_slot") != "location":
            return {}
        text = runtime.latest_text(tracker)
        # A place is an answer; but "pakai bahasa yang gampang" is a request, even though a
        # fuzzy match finds "Sampang" in it: with a control word, only a written place counts.
        asking = answers.control_cue(runtime.latest_intent(tracker), text)
        fits = answers.looks_like_place(text) or (not asking and await self._names_a_place(text))
        return _answer(tracker, "location", lambda answer: fits)

    async def extract_incident_date(self, dispatcher, tracker: Tracker, domain) -> Dict[Text, Any]:
        intent = runtime.latest_intent(tracker)
        return _answer(tracker, "incident_date", lambda text: _names_a_date(text, intent))

    async def extract_privacy(self, dispatcher, tracker: Tracker, domain) -> Dict[Text, Any]:
        return _answer(tracker, "privacy", lambda text: answers.privacy_from(text) is not None)

    async def extract_report_confirmed(self, dispatcher, tracker: Tracker, domain) -> Dict[Text, Any]:
        return _answer(tracker, "report_confirmed", lambda text: answers.yes_no(text) is not None)

    async def validate_report_type(self, value: Any, dispatcher, tracker: Tracker, domain) -> Dict[Text, Any]:
        text = value if isinstance(value, str) else None
        found = answers.report_type_from(text, runtime.latest_intent(tracker))
        if found is None and answers.asks_for_information(text):
            found = "permintaan_informasi"
        if found is None and misses(tracker, "report_type") >= WAY_ON_AFTER:
            dispatcher.utter_message(response="utter_report_type_defaulted")
            found = "pengaduan"  # the read-back shows it, and it can be changed there
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
        today = local_today()
        asked = tracker.get_slot("requested_slot") == "incident_date"
        # A date found inside another answer is read as it was found there: strictly.
        found = parse_indonesian_date(text, today, strict=not asked)
        if found is None and (says_unknown(text) or answers.wants_to_skip(text)):
            if not tracker.get_slot("date_unknown_asked") and not answers.wants_to_skip(text):
                return {"incident_date": None, "date_unknown_asked": True, "ask_hint": "estimate"}
            return await self._keep_date(UNKNOWN_DATE, False, tracker)
        if found is None or found > today:
            if asked and misses(tracker, "incident_date") >= WAY_ON_AFTER:
                # Third miss: the date may stay empty; the read-back says "tidak diketahui".
                dispatcher.utter_message(response="utter_date_left_unknown")
                return await self._keep_date(UNKNOWN_DATE, False, tracker)
            if not asked:
                return {"incident_date": None}  # found in another answer: simply asked later
            return {"incident_date": None, "ask_hint": "unclear" if found is None else "future"}
        return await self._keep_date(found.isoformat(), is_approximate(text), tracker)

    async def _keep_date(self, value: str, approximate: bool, tracker: Tracker) -> Dict[Text, Any]:
        kept = await self.keep("incident_date", value, tracker)
        flag = approximate and value != UNKNOWN_DATE
        if kept.get("incident_date") is not None and bool(tracker.get_slot("date_approximate")) != flag:
            kept["date_approximate"] = flag or None  # set only for estimates (fewer, clearer events)
        return kept

    async def validate_privacy(self, value: Any, dispatcher, tracker: Tracker, domain) -> Dict[Text, Any]:
        entity = answers.entity_value(runtime.latest_entities(tracker), "privacy")
        found = answers.privacy_from(value if isinstance(value, str) else None, entity)
        asked = tracker.get_slot("requested_slot") == "privacy"
        if found is None and asked and misses(tracker, "privacy") >= WAY_ON_AFTER:
            # Third miss: the choice that exposes no one publicly, said plainly and read back.
            dispatcher.utter_message(response="utter_privacy_defaulted")
            found = "rahasia"
        if found is None:
            return {"privacy": None}
        return await self.keep("privacy", found, tracker)

    async def validate_report_confirmed(self, value: Any, dispatcher, tracker: Tracker, domain) -> Dict[Text, Any]:
        if isinstance(value, bool):
            return {"report_confirmed": value}
        confirmed = answers.yes_no(value, runtime.latest_intent(tracker))
        plain = isinstance(value, str) and not answers.is_command(value) and answers.choice_number(value) is None
        field = answers.field_from(value) if plain else None
        if confirmed is not True and field is not None:
            return self._correction(field, tracker)  # "tidak, tanggalnya salah": that field, at once
        if confirmed is None and misses(tracker, "report_confirmed") >= WAY_ON_AFTER:
            confirmed = False  # third miss: "which part to change?" (with "send as it is")
        if confirmed:
            await runtime.measure(tracker, "readback_confirmed")
        return {"report_confirmed": confirmed}

    async def extract_field_to_correct(self, dispatcher, tracker: Tracker, domain) -> Dict[Text, Any]:
        return _answer(tracker, "field_to_correct", lambda text: answers.field_from(text) is not None)

    async def validate_field_to_correct(self, value: Any, dispatcher, tracker: Tracker, domain) -> Dict[Text, Any]:
        entity = answers.entity_value(runtime.latest_entities(tracker), "field")
        text = value if isinstance(value, str) else None
        field = answers.field_from(text, entity)
        number = answers.choice_number(text)
        if field is None and (entity == "none" or number == len(answers.CORRECTABLE_FIELDS) + 1
                              or (answers.yes_no(text) is True and number is None)):
            # "Sudah benar, kirim": nothing to change after all, a clear yes to send it.
            await runtime.measure(tracker, "readback_confirmed")
            return {"field_to_correct": None, "report_confirmed": True}
        if field is None and misses(tracker, "field_to_correct") >= 1:
            return {"field_to_correct": None, "report_confirmed": None}  # back to the read-back
        if field is None:
            return {"field_to_correct": None}
        return self._correction(field, tracker)

    @staticmethod
    def _correction(field: Text, tracker: Tracker) -> Dict[Text, Any]:
        """Clears one field (and what depends on it), so the form asks it again, then reads back."""
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
    Wording by what happened before: a hint from the validator ("future", "estimate") first;
    else after one miss ``utter_ask_<slot>_unclear`` (options and an example) and after two
    ``utter_ask_<slot>_way_on`` (a way on: skip, a person, or the default that will be taken),
    so the same words are never sent three times in a row. Each question says what it expects
    (reply key ``expects``), for the accessibility layer's speech recognition.
    """

    slot: Text = ""
    hints: Dict[Text, Text] = {}

    def name(self) -> Text:
        return f"action_ask_{self.slot}"

    def response(self, tracker: Tracker, domain: DomainDict) -> Text:
        count = misses(tracker, self.slot)
        if count >= WAY_ON_AFTER and has_response(f"utter_ask_{self.slot}_way_on"):
            return f"utter_ask_{self.slot}_way_on"
        hinted = self.hints.get(tracker.get_slot("ask_hint") or "")
        if hinted:
            return hinted
        if count >= 1 and has_response(f"utter_ask_{self.slot}_unclear"):
            return f"utter_ask_{self.slot}_unclear"
        return f"utter_ask_{self.slot}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        dispatcher.utter_message(response=self.response(tracker, domain), expects=EXPECTS.get(self.slot, "free_text"))
        return [SlotSet("ask_hint", None)]


class ActionAskReportType(_AskWithHint, Action):
    slot = "report_type"


class ActionAskPrivacy(_AskWithHint, Action):
    slot = "privacy"


class ActionAskFieldToCorrect(_AskWithHint, Action):
    slot = "field_to_correct"


class ActionAskHeardConfirmed(_AskWithHint, Action):
    slot = "heard_confirmed"


class ActionAskCancelConfirmed(_AskWithHint, Action):
    slot = "cancel_confirmed"


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
            expects="choice",
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
        count = misses(tracker, "report_confirmed")
        if count >= WAY_ON_AFTER:
            response = "utter_ask_report_confirmed_way_on"
        elif count == 1:
            response = "utter_ask_report_confirmed_unclear"  # a short question, not the whole report again
        else:
            response = "utter_readback"
        dispatcher.utter_message(response=response, expects="yes_no", **readback_values(tracker.slots))
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
        if slots.get("cancel_confirmed") is True:
            return await ActionCancelReport().run(dispatcher, tracker, domain) + [FollowupAction("action_listen")]
        missing = [name for name in REPORT_SLOTS if not slots.get(name)]
        if missing or slots.get("report_confirmed") is not True:
            # A form ended without its answers (e.g. a lost action call): never file it empty.
            log.warning("conversation %s reached filing with %s missing; the form continues",
                        slots.get("conversation_ref"), ", ".join(missing) or "no confirmation")
            return [SlotSet("report_confirmed", None), FollowupAction("report_form")]
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
                incident_date_approximate=bool(slots.get("date_approximate")),
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
        if loop == "report_form" or tracker.get_slot("cancel_confirmed") is True:
            dispatcher.utter_message(response="utter_cancelled")
            await runtime.measure(tracker, "cancelled")
        else:
            dispatcher.utter_message(response="utter_stopped")
        events: List[EventType] = [ActiveLoop(None), SlotSet("requested_slot", None)]
        events += reset_form_events()
        events += [SlotSet(name, None) for name in ("tracking_number", "status_pin", "status_needs_pin", "satisfaction", "last_report_id")]
        return events
