"""What every action needs: settings, the database, the caller's identity and measurement.

Why one place: settings are handed over once per process, the schema is migrated once per
process, and database work (synchronous SQLAlchemy) always runs in a worker thread so the action
server's event loop never blocks. Measurement must never break a conversation, so a failed
``record_step`` is logged and swallowed here.

The settings come from the action server's entry point (bot/action_server.py), which reads
config.yml once at start-up and calls :func:`configure`; this module never reads the
configuration itself (docs/architecture.md, "Layers"). Tests configure it the same way.
"""
from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional, TypeVar

from rasa_sdk import Tracker
from sqlalchemy.orm import Session

from storage.db import Database
from storage.identity import parse_sender_id, sender_id
from storage.measurement import record_step

if TYPE_CHECKING:  # the loader's type only: this module never reads config.yml itself
    from bot.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

FORM_NAMES = ("report_form", "status_form", "rating_form")

_lock = threading.Lock()
_settings: Optional["Settings"] = None
_migrated: set = set()


def configure(loaded: "Settings") -> None:
    """Hand the process's settings over; the action server's entry point calls it once at start-up."""
    global _settings
    with _lock:
        _settings = loaded


def settings() -> "Settings":
    """The settings :func:`configure` was given; a RuntimeError before that."""
    with _lock:
        if _settings is None:
            raise RuntimeError("bot.actions.runtime is not configured: the action server "
                               "(python -m bot.action_server) calls runtime.configure(load_settings()) "
                               "at start-up, before any action runs")
        return _settings


def reset_for_tests() -> None:
    """Forget the settings, migrations and agency table, so a test can configure its own."""
    global _settings
    with _lock:
        _settings = None
        _migrated.clear()
    from bot.actions.routing import forget_agency_table

    forget_agency_table()


def database() -> Database:
    current = settings()
    url = current.database_url
    db = Database.shared(url)
    with _lock:
        if url not in _migrated:
            db.migrate()
            _migrated.add(url)
    return db


def agency_table():
    """The operator's routing table (``routing.agencies_file``, relative to the repository root,
    which is where the settings' relative paths start: ``Settings.base_dir``)."""
    from bot.actions.routing import agency_table as load

    current = settings()
    return load(current.base_dir, current.section("routing").get("agencies_file"))


async def in_session(work: Callable[[Session], T]) -> T:
    """Run ``work(session)`` in one transaction, in a worker thread."""

    def run() -> T:
        with database().session() as session:
            return work(session)

    return await asyncio.to_thread(run)


@dataclass(frozen=True)
class Caller:
    """Who is talking, as stored: channel and keyed hash, never the raw chat id or number."""

    channel: str
    identity_hash: str

    @property
    def sender_ref(self) -> str:
        """The hashed Rasa sender id, used where a conversation must be found again."""
        return sender_id(self.channel, self.identity_hash)


def caller(tracker: Tracker) -> Caller:
    channel, hashed = parse_sender_id(tracker.sender_id, settings().identity_key)
    return Caller(channel, hashed)


def latest_metadata(tracker: Tracker) -> Dict[str, Any]:
    return dict((tracker.latest_message or {}).get("metadata") or {})


def latest_intent(tracker: Tracker) -> Optional[str]:
    return ((tracker.latest_message or {}).get("intent") or {}).get("name")


def latest_text(tracker: Tracker) -> str:
    return (tracker.latest_message or {}).get("text") or ""


def latest_entities(tracker: Tracker) -> list:
    return list((tracker.latest_message or {}).get("entities") or [])


def confirm_below() -> float:
    """Below this speech-to-text confidence a spoken answer is read back at once (read_back.py)."""
    section = settings().section("accessibility.speech_to_text")
    return float(section.get("confirm_below", 0.25, kind=float))


def service_hours() -> str:
    return settings().section("handover").get("service_hours", "Senin-Jumat, 08.00-16.00 WIB")


async def measure(tracker: Tracker, step: str, extra_slots: Optional[Dict[str, Any]] = None) -> None:
    """Record one funnel step; a failure is logged, never shown to the citizen."""
    slots = dict(tracker.slots)
    slots.update(extra_slots or {})
    reference = slots.get("conversation_ref")
    if not reference:
        return
    # Voice in counts as voice: this message, or voice replies switched on by an earlier note
    # (the channel's "profile" metadata; the voice_replies slot only follows next session).
    metadata = latest_metadata(tracker)
    voice = bool(slots.get("voice_replies") or (metadata.get("profile") or {}).get("voice_replies")
                 or metadata.get("input_mode") == "voice")
    try:
        who = caller(tracker)

        def work(session: Session) -> None:
            record_step(
                session,
                conversation_ref=reference,
                channel=who.channel,
                step=step,
                event_code=slots.get("event_code"),
                voice=voice,
                simple_language=bool(slots.get("simple_language")),
            )

        await in_session(work)
    except Exception:  # noqa: BLE001 - measurement is best effort by design
        log.exception("could not record conversation step %s for conversation %s", step, reference)


def answered_just_now(tracker: Tracker) -> bool:
    """True when the form runs right after the user's message (not when it resumes after a rule).

    Rasa itself does not fill the requested slot when the form comes back from an unhappy path
    ("tidak" to "batalkan laporan?" is no answer to the form's question); custom extractions
    must not either.
    """
    for event in reversed(tracker.events):
        if event.get("event") != "action":
            continue
        name = event.get("name") or ""
        # Rasa marks the form's own run in the tracker it sends to the validation action.
        if name == "action_extract_slots" or name in FORM_NAMES:
            continue
        return name == "action_listen"
    return False


def answer_for(tracker: Tracker, slot: str, fits: Optional[Callable[[str], bool]] = None) -> Optional[str]:
    """The latest message as the answer to ``slot`` (the question being asked), or None.

    None when another question is asked, when the form resumes after a rule rather than after
    the user's message, and when the message steers the conversation instead (cancel, help,
    repeat, ...; see bot.answers.steers_conversation). ``fits`` says whether the text is a
    plausible answer to this question, which overrides a control intent from the NLU.
    """
    from bot.answers import steers_conversation

    if tracker.get_slot("requested_slot") != slot or not answered_just_now(tracker):
        return None
    text = latest_text(tracker)
    if steers_conversation(latest_intent(tracker), text, bool(fits and fits(text))):
        return None
    return text
