"""Actions around the forms: session start, greeting, help, repeat, preferences, handover.

Why custom actions: each depends on the conversation (which step is being asked, what was
said last, whether a report is in progress) or on stored data (the profile, the handover log).
All of them work inside a form too; the rules then return to the form where it was.
"""
from __future__ import annotations

import logging
import uuid
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, FollowupAction, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot import answers
from bot.actions import runtime
from bot.actions.response_names import has_response
from storage.repositories import HandoverRepository, ProfileRepository, ReporterRepository

log = logging.getLogger(__name__)

FORMS = ("report_form", "status_form", "rating_form")


def _active_loop(tracker: Tracker) -> Any:
    return (tracker.active_loop or {}).get("name")


def _defaults() -> Dict[str, bool]:
    section = runtime.settings().section("accessibility.defaults")
    return {"voice_replies": section.flag("voice_replies"), "simple_language": section.flag("simple_language")}


class ActionSessionStart(Action):
    """Loads the accessibility profile and opens a measurement record for the conversation.

    ``conversation_ref`` is a random uuid4 hex: it links the steps of one conversation for the
    funnel and says nothing about the person. ``event_code`` comes from the first message's
    metadata (a socialisation event's deep link or keyword).
    """

    def name(self) -> Text:
        return "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        metadata = tracker.get_slot("session_started_metadata") or {}
        preferences = {"voice_replies": False, "simple_language": False}
        try:
            preferences = _defaults()
            who = runtime.caller(tracker)

            def load(session):
                profile = ProfileRepository(session).get(who.channel, who.identity_hash)
                if profile is not None:
                    return {"voice_replies": profile.voice_replies, "simple_language": profile.simple_language}
                return None

            stored = await runtime.in_session(load)
            if stored is not None:
                preferences = stored
        except Exception:
            log.exception("could not load the profile at session start; using the defaults")
        slots = {
            "conversation_ref": uuid.uuid4().hex,
            "event_code": metadata.get("event_code") or None,
            "voice_replies": bool(preferences["voice_replies"]),
            "simple_language": bool(preferences["simple_language"]),
        }
        await runtime.measure(tracker, "started", slots)
        events: List[EventType] = [SessionStarted()]
        events += [SlotSet(name, value) for name, value in slots.items()]
        events.append(ActionExecuted("action_listen"))
        return events


class ActionGreet(Action):
    """Greets; a new person also gets one skippable offer of voice replies and simple language.

    A new person who greets with a voice note is not asked: they very likely want to be answered
    by voice, so voice replies are switched on and stored as their choice (as "Pakai suara"
    would), one sentence says how to turn them off, and the menu follows in the same turn. That
    saves a spoken menu and an answer before the report even starts. Someone who chose text
    earlier (/teks) keeps text and gets the usual offer.
    """

    def name(self) -> Text:
        return "action_greet"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        wants_voice = runtime.latest_metadata(tracker).get("input_mode") == "voice"
        welcome = None  # None: known person; "offer" or "voice": a new person, and how to welcome them
        try:
            who = runtime.caller(tracker)

            def onboard(session):
                repository = ProfileRepository(session)
                profile = repository.get(who.channel, who.identity_hash)
                if profile is not None and profile.onboarded:
                    return None
                chose_text = profile is not None and profile.voice_chosen and not profile.voice_replies
                if wants_voice and not chose_text:
                    repository.update(who.channel, who.identity_hash, onboarded=True, voice_replies=True)
                    return "voice"
                # Marked at once: the offer is made once, whether it is taken or skipped.
                repository.update(who.channel, who.identity_hash, onboarded=True)
                return "offer"

            welcome = await runtime.in_session(onboard)
        except Exception:
            log.exception("could not read or update the profile while greeting")
        if welcome == "voice":
            dispatcher.utter_message(response="utter_greet_new")
            dispatcher.utter_message(response="utter_voice_default")
            dispatcher.utter_message(response="utter_menu")
            return [SlotSet("voice_replies", True)]
        if welcome == "offer":
            dispatcher.utter_message(response="utter_greet_new")
            dispatcher.utter_message(response="utter_onboarding")
        else:
            dispatcher.utter_message(response="utter_greet")
        return []


# A message this long that no intent fits is taken as the story of a report, not as noise.
STORY_WORDS = 8
_ASPIRATION = ("usul", "usulan", "saran", "mengusulkan", "menyarankan", "sebaiknya", "alangkah baiknya", "harapan",
               "berharap", "aspirasi", "masukan", "mohon dibangun", "tolong dibangun", "perlu dibangun")


def report_from_message(text: str) -> Optional[List[EventType]]:
    """Events that start a report with ``text`` as its story, or None when it reads as no report.

    A how-to question about a public service is a *permintaan informasi*; a long message
    that no intent fits is a story (an aspiration when it suggests, else a complaint). The
    report form then also takes the place, date and privacy the message names.
    """
    if not text or answers.is_command(text):
        return None
    if answers.asks_for_information(text):
        kind = "permintaan_informasi"
    elif len(text.split()) >= STORY_WORDS and not answers.too_short_to_act_on(text):
        kind = "aspirasi" if answers.phrase_in(text, _ASPIRATION) and not answers.reads_as_complaint(text) else "pengaduan"
    else:
        return None
    if answers.too_short_to_act_on(text) or len(text.split()) < 6:
        return [SlotSet("report_type", kind), FollowupAction("report_form")]  # "mau tanya dulu": asked next
    return [SlotSet("report_type", kind), SlotSet("description", text.strip()), FollowupAction("report_form")]


_TYPE_OF_INTENT = {"file_complaint": "pengaduan", "file_aspiration": "aspirasi", "request_information": "permintaan_informasi"}


def start_report(text: str, intent: Optional[str]) -> List[EventType]:
    """Events that start the report form from ``text`` (its story when it tells one)."""
    started = report_from_message(text)
    if started is not None:
        return started
    events: List[EventType] = []
    if intent in _TYPE_OF_INTENT:
        events.append(SlotSet("report_type", _TYPE_OF_INTENT[intent]))
    return events + [FollowupAction("report_form")]


class ActionFallback(Action):
    """A message no intent fits: a question or a story starts a report; else the menu, worded anew.

    The menu is never sent three times in the same words: the second time it asks for one
    sentence with an example, the third it offers a person.
    """

    def name(self) -> Text:
        return "action_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        started = report_from_message(runtime.latest_text(tracker))
        if started is not None:
            return started
        earlier = [event for event in last_bot_turns(tracker.events, 2)
                   if (event.get("metadata") or {}).get("utter_action", "").startswith("utter_fallback_menu")]
        response = ("utter_fallback_menu", "utter_fallback_menu_again", "utter_fallback_menu_person")[min(len(earlier), 2)]
        dispatcher.utter_message(response=response, expects="choice")
        return []


def last_bot_turns(events: List[Dict[Text, Any]], turns: int) -> List[Dict[Text, Any]]:
    """The bot messages of the last ``turns`` bot turns before the latest user message."""
    found: List[Dict[Text, Any]] = []
    users = 0
    for event in reversed(events):
        kind = event.get("event")
        if kind == "user":
            users += 1
            if users > turns:
                break
        elif kind == "bot" and users >= 1:
            found.append(event)
    return found


class ActionHelp(Action):
    """Explains the step being asked (or what the assistant does), then the rules resume the form.

    Outside a form, a how-to question about a public service ("bagaimana cara daftar BPJS?"),
    which the NLU often files as help, starts a *permintaan informasi* instead.
    """

    def name(self) -> Text:
        return "action_help"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        if not _active_loop(tracker) and answers.asks_for_information(runtime.latest_text(tracker)):
            started = report_from_message(runtime.latest_text(tracker))
            if started is not None:
                return started
        step = tracker.get_slot("requested_slot") if _active_loop(tracker) else None
        response = f"utter_help_{step}" if step else "utter_help_general"
        if not has_response(response):
            response = "utter_help_general"
        dispatcher.utter_message(response=response)
        if not _active_loop(tracker):
            dispatcher.utter_message(response="utter_menu")
        return []


def last_bot_turn(events: List[Dict[Text, Any]]) -> List[Dict[Text, Any]]:
    """The bot messages sent between the previous user message and the latest one."""
    seen_latest_user = False
    turn: List[Dict[Text, Any]] = []
    for event in reversed(events):
        kind = event.get("event")
        if kind == "user":
            if seen_latest_user:
                break
            seen_latest_user = True
        elif kind == "bot" and seen_latest_user:
            turn.append(event)
    turn.reverse()
    return turn


class ActionRepeat(Action):
    """Repeats the bot's last turn, from the tracker's events.

    Inside a form the question itself is left out: the form asks it again right after.
    """

    def name(self) -> Text:
        return "action_repeat"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        turn = last_bot_turn(tracker.events)
        if _active_loop(tracker) and tracker.get_slot("requested_slot"):
            turn = [event for event in turn if not _is_question(event)]
            if not turn:
                return []
        if not turn:
            dispatcher.utter_message(response="utter_nothing_to_repeat")
            return []
        for event in turn:
            data = event.get("data") or {}
            dispatcher.utter_message(
                text=event.get("text"),
                buttons=data.get("buttons") or [],
                image=data.get("image"),
                json_message=data.get("custom"),
            )
        return []


def _is_question(event: Dict[Text, Any]) -> bool:
    action = ((event.get("metadata") or {}).get("utter_action") or "")
    return action.startswith("utter_ask_") or action == "utter_readback"


class ActionSetPreference(Action):
    """Voice replies or simple language on/off, stored in the profile and in the slot."""

    def name(self) -> Text:
        return "action_set_preference"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        intent = runtime.latest_intent(tracker)
        field = "simple_language" if intent == "choose_simple_language" else "voice_replies"
        entity = answers.entity_value(runtime.latest_entities(tracker), field)
        value = answers.preference_on(runtime.latest_text(tracker), entity)
        try:
            who = runtime.caller(tracker)
            await runtime.in_session(
                lambda session: ProfileRepository(session).update(who.channel, who.identity_hash, **{field: value})
            )
        except Exception:
            log.exception("could not store the %s preference", field)
        prefix = "utter_simple" if field == "simple_language" else "utter_voice"
        dispatcher.utter_message(response=f"{prefix}_{'on' if value else 'off'}")
        if not _active_loop(tracker):
            dispatcher.utter_message(response="utter_menu")
        return [SlotSet(field, value)]


class ActionRequestHuman(Action):
    """Records a handover request; a report in progress stays and the form resumes."""

    def name(self) -> Text:
        return "action_request_human"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        in_progress = _active_loop(tracker) == "report_form"
        try:
            who = runtime.caller(tracker)

            def record(session):
                reporter = ReporterRepository(session).get(who.channel, who.identity_hash)
                HandoverRepository(session).request(
                    channel=who.channel,
                    sender_ref=who.sender_ref,
                    reporter_id=reporter.id if reporter else None,
                    report_in_progress=in_progress,
                    reason=runtime.latest_text(tracker)[:500] or None,
                )

            await runtime.in_session(record)
        except Exception:
            log.exception("could not record the handover request of conversation %s", tracker.get_slot("conversation_ref"))
            dispatcher.utter_message(response="utter_handover_failed")
            return []
        dispatcher.utter_message(response="utter_handover", service_hours=runtime.service_hours())
        if in_progress:
            dispatcher.utter_message(response="utter_handover_form_kept")
        return []
