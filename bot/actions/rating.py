"""One satisfaction question after filing (1-5), stored with the report it rates.

Why a form: the answer arrives as a button, a digit, a number word or words ("puas",
"biasa aja"), and a form takes any text as the answer. Anything that is not a rating ends the
question without asking again: it is one question, never a hurdle.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot import answers
from bot.actions import runtime
from bot.actions.read_back import ExplicitNextSlot
from bot.actions.report_form import _AskWithHint
from storage.repositories import RatingRepository

log = logging.getLogger(__name__)
SKIPPED = "skip"


class ValidateRatingForm(ExplicitNextSlot, FormValidationAction):
    def name(self) -> Text:
        return "validate_rating_form"

    async def required_slots(self, domain_slots, dispatcher, tracker: Tracker, domain) -> List[Text]:
        # Nothing to rate when filing failed.
        return list(domain_slots) if tracker.get_slot("last_report_id") is not None else []

    async def extract_satisfaction(self, dispatcher, tracker: Tracker, domain) -> Dict[Text, Any]:
        text = runtime.answer_for(
            tracker, "satisfaction", lambda answer: answers.rating_from(answer) is not None or answers.wants_to_skip(answer)
        )
        return {} if text is None else {"satisfaction": text}

    async def validate_satisfaction(self, value: Any, dispatcher, tracker: Tracker, domain) -> Dict[Text, Any]:
        entity = answers.entity_value(runtime.latest_entities(tracker), "rating")
        text = value if isinstance(value, str) else None
        score = answers.rating_from(text, entity)
        return {"satisfaction": SKIPPED if score is None else score}


class ActionSaveRating(Action):
    def name(self) -> Text:
        return "action_save_rating"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        report_id = tracker.get_slot("last_report_id")
        score = tracker.get_slot("satisfaction")
        reset = [SlotSet("satisfaction", None), SlotSet("last_report_id", None)]
        if report_id is None:
            return reset
        if not isinstance(score, int) or isinstance(score, bool):
            dispatcher.utter_message(response="utter_rating_skipped")
            return reset
        try:
            await runtime.in_session(lambda session: RatingRepository(session).record(int(report_id), score))
        except Exception:
            log.exception("could not store the satisfaction rating of report %s", int(report_id))
        dispatcher.utter_message(response="utter_thanks_rating")
        return reset


class ActionAskSatisfaction(_AskWithHint, Action):
    slot = "satisfaction"
