"""A spoken answer is read back before it is kept only where that check is worth a turn.

Why not every spoken answer: each "Saya mendengar: «…». Benar?" costs the user one turn, and
the report form ends with a read-back of the whole report, which already lets the user change
any field ("Tidak, ubah"). So a spoken answer (metadata ``input_mode: "voice"``) is parked for
an immediate read-back only when

* the slot is in ``always_read_back``: no later step would show a mishearing (the tracking
  number of a status look-up), or
* the accessibility layer flagged it (``stt_read_back``: it scored the answers the question
  expects and the best one did not win clearly), or
* recognition was really poor: ``stt_confidence`` below
  ``accessibility.speech_to_text.confirm_below`` (0.25; an unreadable value counts as poor),
  unless the answer picked one of the buttons just shown (the layer then sends the button's
  "/payload"): short number words score low even when heard right ("Nomor dua." 0.262-0.265
  in two runs, "nomom satu." 0.256), and the pick is one of a closed list that the final
  read-back names in words.

Why 0.25 (measured 2026-11-28 with Whisper base int8 on espeak-ng speech, the benchmark's and
the tests' voices): answers heard right scored 0.26-0.69 ("Nomor dua." 0.262, "Nomor satu."
0.286, "biasa." 0.344, "kemarin." 0.597-0.694); names misheard but still recognisable scored
0.37-0.56 ("Jalan mereka nomor sapu, ..." 0.431), which the final read-back shows; transcripts
that were mostly wrong scored 0.175-0.254 (speech under loud white noise 0.175 and 0.254,
espeak-ng at 320-450 words per minute 0.207-0.22). The line sits between the two groups, which
touch: an answer just above it is still shown in the final read-back. Confidence is no proof
either way ("Kemarin." came back as "kamarin." at 0.782), which is why the whole-report
read-back stays. Real voices score higher than espeak-ng.

A parked answer waits in ``heard_value`` / ``heard_text`` / ``heard_slot``; ``required_slots``
then puts ``heard_confirmed`` in front of the parked slot, so the form asks "Saya mendengar:
«…». Benar?"; a yes keeps the value, anything else asks for the slot again.
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


def spoken(tracker: Tracker) -> bool:
    """The latest message was a voice note (the layer sets ``input_mode``)."""
    return runtime.latest_metadata(tracker).get("input_mode") == "voice"


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

    # Slots read back whenever the answer was spoken (no later step would show a mishearing);
    # others only when recognition was really poor (below confirm_below).
    always_read_back: tuple = ()
    # Slots never read back (their answer is a yes/no or a button, confirmed anyway).
    never_read_back: tuple = ()

    def needs_read_back(self, tracker: Tracker, slot: Text) -> bool:
        if slot in self.never_read_back:
            return False
        if not spoken(tracker):
            return False
        if slot in self.always_read_back:
            return True
        metadata = runtime.latest_metadata(tracker)
        if metadata.get("stt_read_back"):  # the layer scored the expected answers and is unsure
            return True
        if runtime.latest_text(tracker).startswith("/"):  # a spoken pick of a button shown
            return False
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
