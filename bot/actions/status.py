"""Checking a report's status by tracking number (bot/actions/status_form.mmd).

Privacy rules: a number with a wrong check digit is "tidak valid" (it must never find another
report); a reporter sees only reports filed under their own channel identity; an anonymous
report needs its PIN. A number that is not the caller's gets the same PIN question and the same
"tidak ditemukan" whether or not it exists, so nobody can probe for other people's reports.
A four-digit PIN has only 10,000 values: after ``MAX_PIN_ATTEMPTS`` wrong PINs in one
conversation (slot ``pin_attempts``, never reset by cancelling) no PIN is asked or checked any
more, and the citizen is told kindly to try again later or to ask for a person.

The reply also says which LAPOR! deadline runs now (``storage.lifecycle``): the regular wording
is ``deadline_text``; the simple-language wording says the same without office words.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot import answers
from bot.actions import runtime
from bot.actions.read_back import HEARD_SLOTS, ReadBackMixin
from bot.actions.report_form import _AskWithHint
from bot.dates import format_indonesian_date
from storage import tracking_numbers
from storage.lifecycle import deadline_text
from storage.models import Report
from storage.repositories import ReportRepository

log = logging.getLogger(__name__)
SKIPPED = "skip"
MAX_PIN_ATTEMPTS = 3

STATUS_LABELS = {
    "diterima": "sudah diterima dan menunggu diperiksa petugas",
    "diverifikasi": "sudah diperiksa petugas dan dinyatakan lengkap",
    "diteruskan": "sudah diteruskan ke instansi yang berwenang",
    "ditindaklanjuti": "sedang ditindaklanjuti oleh instansi terkait",
    "selesai": "sudah selesai ditangani",
    "ditunda": "ditunda sementara; petugas mungkin menghubungi Anda",
    "bukan_wewenang": "perlu diarahkan ke instansi lain karena bukan wewenang instansi tujuan",
    "diarsipkan": "sudah ditutup dan diarsipkan",
}
# Said to someone who asked for simple language: no office jargon.
SIMPLE_STATUS_LABELS = {
    "diterima": "sudah diterima, menunggu dibaca petugas",
    "diverifikasi": "sudah dibaca petugas",
    "diteruskan": "sudah dikirim ke kantor yang mengurusnya",
    "ditindaklanjuti": "sedang dikerjakan oleh kantor yang mengurusnya",
    "selesai": "sudah selesai",
    "ditunda": "ditunda dulu",
    "bukan_wewenang": "harus dikirim ke kantor lain",
    "diarsipkan": "sudah ditutup",
}
STATUS_SLOTS = ("tracking_number", "status_pin", "status_needs_pin", "ask_hint") + HEARD_SLOTS


def status_label(status: str, simple: bool) -> str:
    labels = SIMPLE_STATUS_LABELS if simple else STATUS_LABELS
    return labels.get(status, status.replace("_", " "))


SIMPLE_DEADLINE_WORDING = {
    "verification_overdue": "Batas waktu pemeriksaan sudah lewat, yaitu {date}.\nLaporan Anda akan kami dahulukan.",
    "verification": "Petugas akan memeriksa laporan ini paling lambat {date}.",
    "response_overdue": "Kantor yang mengurusnya belum menjawab sampai batas waktu {date}.",
    "response": "Kantor yang mengurusnya akan menjawab paling lambat {date}.",
}


def simple_deadline_text(report: Report, today: Optional[dt.date] = None) -> str:
    """``deadline_text`` in everyday words (no "verifikasi", no "instansi"), short sentences."""
    return deadline_text(report, today, SIMPLE_DEADLINE_WORDING)


def pin_attempts(tracker: Tracker) -> int:
    try:
        return int(tracker.get_slot("pin_attempts") or 0)
    except (TypeError, ValueError):
        return 0


class ValidateStatusForm(ReadBackMixin, FormValidationAction):
    always_read_back = ("tracking_number",)
    never_read_back = ("status_pin",)

    def name(self) -> Text:
        return "validate_status_form"

    async def required_slots(self, domain_slots, dispatcher, tracker: Tracker, domain) -> List[Text]:
        slots = list(domain_slots)
        # After too many wrong PINs the question is not asked; action_check_status explains.
        if tracker.get_slot("status_needs_pin") and pin_attempts(tracker) < MAX_PIN_ATTEMPTS:
            slots.append("status_pin")
        return self.with_read_back(slots, tracker)

    async def extract_tracking_number(self, dispatcher, tracker: Tracker, domain) -> Dict[Text, Any]:
        """From the opening message ("status 4821-7730") or the answer to the question."""
        if tracker.get_slot("tracking_number") or tracker.get_slot("heard_slot"):
            return {}
        text = runtime.latest_text(tracker)
        candidate = answers.tracking_candidate(text)
        if answers.steers_conversation(runtime.latest_intent(tracker), text, candidate is not None):
            return {}
        if not runtime.answered_just_now(tracker):
            return {}
        asked = runtime.answer_for(tracker, "tracking_number") is not None
        if candidate:
            return {"tracking_number": candidate}
        if asked and text.strip() and not answers.is_command(text):
            return {"tracking_number": text.strip()}
        return {}

    async def accepted(self, slot: Text, value: Any, tracker: Tracker) -> Dict[Text, Any]:
        if slot != "tracking_number":
            return {}
        who = runtime.caller(tracker)
        try:
            own = await runtime.in_session(
                lambda session: ReportRepository(session).for_reporter(value, who.channel, who.identity_hash) is not None
            )
        except Exception:
            log.exception("could not look up the reports of conversation %s", tracker.get_slot("conversation_ref"))
            own = False
        return {"status_needs_pin": not own}

    async def validate_tracking_number(self, value: Any, dispatcher, tracker: Tracker, domain) -> Dict[Text, Any]:
        number = tracking_numbers.normalise(value if isinstance(value, str) else None)
        if number is None:
            return {"tracking_number": None, "ask_hint": "invalid"}
        return await self.keep("tracking_number", number, tracker)

    async def extract_status_pin(self, dispatcher, tracker: Tracker, domain) -> Dict[Text, Any]:
        answer = runtime.answer_for(
            tracker, "status_pin", lambda text: answers.pin_from(text) is not None or answers.wants_to_skip(text)
        )
        return {} if answer is None else {"status_pin": answer}

    async def validate_status_pin(self, value: Any, dispatcher, tracker: Tracker, domain) -> Dict[Text, Any]:
        text = value if isinstance(value, str) else ""
        pin = answers.pin_from(text)
        if pin:
            return {"status_pin": pin}
        if answers.wants_to_skip(text, runtime.latest_intent(tracker)) or answers.yes_no(text) is False:
            return {"status_pin": SKIPPED}
        return {"status_pin": None}


class ActionAskTrackingNumber(_AskWithHint, Action):
    slot = "tracking_number"
    hints = {"invalid": "utter_ask_tracking_number_invalid"}


class ActionCheckStatus(Action):
    def name(self) -> Text:
        return "action_check_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        reset = [SlotSet(name, None) for name in STATUS_SLOTS]
        number = tracker.get_slot("tracking_number")
        pin = tracker.get_slot("status_pin")
        if not number:
            return reset
        simple = bool(tracker.get_slot("simple_language"))
        attempts = pin_attempts(tracker)
        locked = attempts >= MAX_PIN_ATTEMPTS
        tries_pin = bool(pin) and pin != SKIPPED and not locked
        try:
            who = runtime.caller(tracker)

            def look_up(session) -> Optional[tuple]:
                repository = ReportRepository(session)
                report = repository.for_reporter(number, who.channel, who.identity_hash)
                if report is None and tries_pin:
                    report = repository.anonymous(number, pin)
                if report is None:
                    return None
                change = repository.latest_change(report)
                changed_at = change.changed_at if change is not None else report.updated_at
                deadline = simple_deadline_text(report) if simple else deadline_text(report)
                return report.tracking_number, report.status, changed_at.date(), deadline

            found = await runtime.in_session(look_up)
        except Exception:
            log.exception("status look-up failed for conversation %s", tracker.get_slot("conversation_ref"))
            dispatcher.utter_message(response="utter_status_unavailable")
            return reset
        if found is None:
            if tries_pin:
                attempts += 1
                reset.append(SlotSet("pin_attempts", float(attempts)))
            if locked or attempts >= MAX_PIN_ATTEMPTS and tries_pin:
                log.info("conversation %s: PIN look-ups stopped after %d wrong PINs",
                         tracker.get_slot("conversation_ref"), attempts)
                dispatcher.utter_message(response="utter_status_pin_locked")
            else:
                dispatcher.utter_message(response="utter_status_not_found")
            return reset
        tracking_number, status, changed_on, deadline = found
        dispatcher.utter_message(
            response="utter_status",
            tracking_number=tracking_number,
            status_label=status_label(status, simple),
            status_date=format_indonesian_date(changed_on),
        )
        if deadline:
            dispatcher.utter_message(response="utter_status_deadline", deadline=deadline)
        return reset
