"""Checking a report's status by tracking number (bot/actions/status_form.mmd).

Privacy rules: a number with a wrong check digit is "tidak valid" (it must never find another
report); a reporter sees only reports filed under their own channel identity; an anonymous
report needs its PIN. A number that is not the caller's gets the same PIN question and the same
"tidak ditemukan" whether or not it exists, so nobody can probe for other people's reports.
A four-digit PIN has only 10,000 values: after ``MAX_PIN_ATTEMPTS`` wrong PINs in one
conversation (slot ``pin_attempts``, never reset by cancelling) no PIN is asked or checked any
more, and the citizen is told kindly to try again later or to ask for a person.

The reply also says which LAPOR! deadline runs now (``storage.lifecycle.clock_that_matters``).
The status labels and deadline sentences are in the catalogue of citizen text
(accessibility/citizen_text.yml, ``status_label.*`` and ``status_deadline.*``), each with its
simple-language variant, checked by the same test as every other citizen-facing text.
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
from bot.actions.report_form import WAY_ON_AFTER, _AskWithHint, misses
from bot.dates import format_indonesian_date
from storage import tracking_numbers
from shared.citizen_text import say
from storage.lifecycle import clock_that_matters, format_date
from storage.models import Report
from storage.repositories import ReportRepository

log = logging.getLogger(__name__)
SKIPPED = "skip"
MAX_PIN_ATTEMPTS = 3

STATUS_SLOTS = ("tracking_number", "status_pin", "status_needs_pin", "ask_hint", "reask_slot", "reask_count") + HEARD_SLOTS
# ask_hint value: the citizen started a new report instead of giving a number.
NEW_REPORT = "new_report"
# ask_hint value: no number after three tries; the citizen is offered a person.
GAVE_UP = "gave_up"
_REPORT_INTENTS = ("file_complaint", "file_aspiration", "request_information")


def status_label(status: str, simple: bool) -> str:
    try:
        return say(f"status_label.{status}", simple)
    except KeyError:  # a status added without its words: said as it is named, never a crash
        return status.replace("_", " ")


def status_deadline_text(report: Report, today: Optional[dt.date] = None, simple: bool = False) -> str:
    """One or two short sentences about the LAPOR! clock that runs now ("" when none does)."""
    clock = clock_that_matters(report, today)
    if clock is None:
        return ""
    kind, date = clock
    return say(f"status_deadline.{kind}", simple, date=format_date(date))


def simple_deadline_text(report: Report, today: Optional[dt.date] = None) -> str:
    """The deadline in everyday words (no "verifikasi", no "instansi"), short sentences."""
    return status_deadline_text(report, today, simple=True)


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

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        asked = tracker.get_slot("requested_slot")
        fresh = runtime.answered_just_now(tracker)
        text = runtime.latest_text(tracker)
        if asked is None and not tracker.get_slot("tracking_number") and answers.tracking_candidate(text) is None:
            own = await self._own_reports(tracker)
            if len(own) == 1:
                # "status laporan saya" with one report on file: that one, no number needed.
                return [SlotSet("tracking_number", own[0]), SlotSet("status_needs_pin", False),
                        SlotSet("requested_slot", None)]
            if own:
                dispatcher.utter_message(
                    response="utter_status_own_reports", reports="\n".join(
                        f"{index}. {number}" for index, number in enumerate(own, 1)),
                    buttons=[{"title": number, "payload": number}
                             for number in own],
                    expects="tracking_number",
                )
                return [SlotSet("requested_slot", "tracking_number"), SlotSet("reask_slot", "tracking_number"),
                        SlotSet("reask_count", 0.0)]
        if fresh and asked == "tracking_number" and self._starts_a_report(tracker, text):
            return [SlotSet("ask_hint", NEW_REPORT), SlotSet("requested_slot", None)]
        result = await super().run(dispatcher, tracker, domain)
        if fresh and asked == "tracking_number":
            taken = [event.get("value") for event in result
                     if event.get("event") == "slot" and event.get("name") == "tracking_number"]
            asked_next = [event.get("value") for event in result
                          if event.get("event") == "slot" and event.get("name") == "requested_slot"]
            if taken and all(value is None for value in taken) and asked_next[-1:] == ["tracking_number"]:
                count = misses(tracker, "tracking_number") + 1
                if count > WAY_ON_AFTER:
                    return [SlotSet("ask_hint", GAVE_UP), SlotSet("tracking_number", None), SlotSet("requested_slot", None)]
                result += [SlotSet("reask_slot", "tracking_number"), SlotSet("reask_count", float(count))]
        return result

    @staticmethod
    def _starts_a_report(tracker: Tracker, text: str) -> bool:
        """A new complaint or question instead of a number: the status look-up gives way to it."""
        if answers.tracking_candidate(text) is not None or (answers.is_command(text) and "check_status" in text):
            return False
        if runtime.latest_intent(tracker) in _REPORT_INTENTS:
            return True
        return answers.asks_for_information(text) or len(text.split()) >= 8

    @staticmethod
    async def _own_reports(tracker: Tracker) -> List[str]:
        try:
            who = runtime.caller(tracker)
            return await runtime.in_session(lambda session: [
                report.tracking_number for report in ReportRepository(session).of_reporter(who.channel, who.identity_hash)
            ])
        except Exception:  # noqa: BLE001 - the number is then asked for, as before
            log.exception("could not list the reports of conversation %s", tracker.get_slot("conversation_ref"))
            return []

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
        pick = answers.choice_number(value if isinstance(value, str) else None)
        if number is None and pick is not None:
            own = await self._own_reports(tracker)  # "2" after the list of the caller's own reports
            number = own[pick - 1] if 1 <= pick <= len(own) else None
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

    def response(self, tracker: Tracker, domain: DomainDict) -> Text:
        if misses(tracker, self.slot) >= WAY_ON_AFTER:
            return "utter_ask_tracking_number_way_on"
        return super().response(tracker, domain)


class ActionAskStatusPin(_AskWithHint, Action):
    slot = "status_pin"


class ActionCheckStatus(Action):
    def name(self) -> Text:
        return "action_check_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        reset = [SlotSet(name, None) for name in STATUS_SLOTS]
        number = tracker.get_slot("tracking_number")
        pin = tracker.get_slot("status_pin")
        if not number:
            hint = tracker.get_slot("ask_hint")
            if hint == NEW_REPORT:
                from bot.actions.conversation import start_report

                return reset + start_report(runtime.latest_text(tracker), runtime.latest_intent(tracker))
            if hint == GAVE_UP:
                dispatcher.utter_message(response="utter_status_gave_up")
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
                deadline = status_deadline_text(report, simple=simple)
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
