"""Voice answers are read back before they are kept (issue 4).

Why inside the form: speech recognition mishears names, streets and numbers, and a wrong
location or tracking number silently spoils a report. When an answer arrived as a voice note
(metadata ``input_mode: "voice"``) for a slot that matters, or with ``stt_confidence`` below
``accessibility.speech_to_text.confirm_below`` (0.6), the validator parks the value in
``heard_value`` / ``heard_text`` / ``heard_slot`` instead of keeping it. ``required_slots`` then
puts ``heard_confirmed`` in front of the parked slot, so the form asks "Saya mendengar: «…».
Benar?"; a yes keeps the value, anything else asks for the slot again.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot import answers
from bot.actions import runtime

HEARD_SLOTS = ("heard_text", "heard_slot", "heard_value", "heard_confirmed")


def clear_heard() -> Dict[Text, Any]:
    return {name: None for name in HEARD_SLOTS}


class ExplicitNextSlot:
    """For a ``FormValidationAction`` whose required slots change with the answers.

    rasa-sdk leaves the next question to Rasa when the list equals the domain's; naming it
    every turn keeps the events the same whichever list applies (and tests can assert them).
    """

    async def next_requested_slot(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Optional[Dict[Text, Any]]:
        """Always names the next question (None when done), so every turn says where the form is."""
        required = await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)
        missing = next((slot for slot in required if tracker.get_slot(slot) is None), None)
        return SlotSet("requested_slot", missing)


class ReadBackMixin(ExplicitNextSlot):
    """For a ``FormValidationAction``: call :meth:`keep` with every accepted value."""

    # Slots read back whenever the answer was spoken; others only when recognition was unsure.
    always_read_back: tuple = ()
    # Slots never read back (their answer is a yes/no or a button, confirmed anyway).
    never_read_back: tuple = ()

    def needs_read_back(self, tracker: Tracker, slot: Text) -> bool:
        if slot in self.never_read_back:
            return False
        metadata = runtime.latest_metadata(tracker)
        if metadata.get("input_mode") != "voice":
            return False
        if slot in self.always_read_back:
            return True
        confidence = metadata.get("stt_confidence")
        try:
            return confidence is not None and float(confidence) < runtime.confirm_below()
        except (TypeError, ValueError):
            return True

    async def accepted(self, slot: Text, value: Any, tracker: Tracker) -> Dict[Text, Any]:
        """Hook: extra slots to set once ``slot`` is kept (and measurement)."""
        return {}

    async def keep(self, slot: Text, value: Any, tracker: Tracker) -> Dict[Text, Any]:
        if self.needs_read_back(tracker, slot):
            heard = runtime.latest_text(tracker).strip()
            if not heard or heard.startswith("/"):  # a spoken choice arrives as its button's payload
                heard = str(value)
            return {slot: None, "heard_text": heard, "heard_slot": slot, "heard_value": value, "heard_confirmed": None}
        result = {slot: value}
        result.update(await self.accepted(slot, value, tracker))
        return result

    def with_read_back(self, slots: List[Text], tracker: Tracker) -> List[Text]:
        parked = tracker.get_slot("heard_slot")
        if parked in slots:
            slots = list(slots)
            slots.insert(slots.index(parked), "heard_confirmed")
        return slots

    async def extract_heard_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        answer = runtime.answer_for(tracker, "heard_confirmed", lambda text: answers.yes_no(text) is not None)
        return {} if answer is None else {"heard_confirmed": answer}

    async def validate_heard_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        slot = tracker.get_slot("heard_slot")
        confirmed = answers.yes_no(value if isinstance(value, str) else None, runtime.latest_intent(tracker))
        result = clear_heard()
        if confirmed and slot:
            kept = tracker.get_slot("heard_value")
            result[slot] = kept
            result.update(await self.accepted(slot, kept, tracker))
        return result
