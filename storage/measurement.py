"""Conversation steps recorded for measurement, and the conversations rebuilt from them.

Why it exists: the programme must show how far people get (a funnel), through which channel and
with which accessibility help, without storing who they are. Each step is one
``ConversationEvent`` row keyed by an opaque per-conversation uuid that the dialogue creates; no
sender hash, text or phone number is ever written here.

*Abandoned* is derived, never recorded: a conversation that started, was neither filed nor
cancelled, and has had no step for ``idle_minutes`` (default 30) before ``now`` counts as
abandoned when a report is computed. Deriving keeps the data append-only, needs no scheduler,
and lets the facilitator choose the timeout after the fact; a conversation idle for less than
that is "in progress" and counts in no outcome. A late step simply moves it back.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Dict, FrozenSet, Iterable, List, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import ConversationEvent, utcnow

# The funnel, in the order a conversation normally passes it. Only slots the form asks for.
FUNNEL_STEPS = (
    "started",
    "slot:report_type",
    "slot:description",
    "slot:location",
    "slot:incident_date",
    "slot:privacy",
    "readback_confirmed",
    "filed",
)
STEPS = FUNNEL_STEPS + ("cancelled",)
DEFAULT_IDLE_MINUTES = 30

OUTCOME_FILED = "filed"
OUTCOME_CANCELLED = "cancelled"
OUTCOME_ABANDONED = "abandoned"
OUTCOME_IN_PROGRESS = "in_progress"

_CHANNEL = re.compile(r"[a-z][a-z0-9_]{0,19}")
_EVENT_CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")


class InvalidStep(ValueError):
    """A step, channel, reference or event code that the measurement would misread later."""


def record_step(
    session: Session,
    *,
    conversation_ref: str,
    channel: str,
    step: str,
    event_code: Optional[str] = None,
    voice: bool = False,
    simple_language: bool = False,
    occurred_at: Optional[dt.datetime] = None,
) -> None:
    """Add one step to ``session`` (the caller's transaction commits it).

    Validation is strict because a misspelt step would silently vanish from the funnel.
    ``event_code`` is stored upper-case (codes are issued upper-case; SMS users may type
    lower-case). ``occurred_at`` (naive UTC) defaults to now; tests and imports pass it.
    """
    if step not in STEPS:
        hint = " (abandoned is derived at report time, not recorded)" if step == "abandoned" else ""
        raise InvalidStep(f"unknown conversation step {step!r}{hint}; expected one of {', '.join(STEPS)}")
    if not conversation_ref or len(conversation_ref) > 64:
        raise InvalidStep("conversation_ref must be a non-empty opaque id of at most 64 characters")
    if not _CHANNEL.fullmatch(channel or ""):
        raise InvalidStep(f"channel {channel!r} is not a channel name")
    if event_code is not None:
        event_code = event_code.strip().upper() or None
        if event_code is not None and not _EVENT_CODE.fullmatch(event_code):
            raise InvalidStep(f"event code {event_code!r} is not a valid code")
    session.add(
        ConversationEvent(
            conversation_ref=conversation_ref,
            channel=channel,
            event_code=event_code,
            step=step,
            voice=bool(voice),
            simple_language=bool(simple_language),
            occurred_at=occurred_at or utcnow(),
        )
    )


@dataclass(frozen=True)
class Conversation:
    """One conversation as the measurement sees it: what it reached and how it ended."""

    ref: str
    channel: str
    event_code: Optional[str]
    started_at: dt.datetime
    last_step_at: dt.datetime
    steps: FrozenSet[str]
    voice: bool
    simple_language: bool
    outcome: str
    filed_at: Optional[dt.datetime] = None

    def reached(self, step: str) -> bool:
        """Reaching a later funnel step implies the earlier ones (an optional slot may be skipped)."""
        index = FUNNEL_STEPS.index(step)
        return any(later in self.steps for later in FUNNEL_STEPS[index:])

    @property
    def gave_up_at(self) -> Optional[str]:
        """The first funnel step a cancelled or abandoned conversation did not reach."""
        if self.outcome not in (OUTCOME_CANCELLED, OUTCOME_ABANDONED):
            return None
        for step in FUNNEL_STEPS:
            if not self.reached(step):
                return step
        return None

    @property
    def minutes_to_file(self) -> Optional[float]:
        if self.filed_at is None:
            return None
        return (self.filed_at - self.started_at).total_seconds() / 60.0


@dataclass
class _Builder:
    ref: str
    channel: str
    event_code: Optional[str] = None
    first_at: Optional[dt.datetime] = None
    started_at: Optional[dt.datetime] = None
    last_at: Optional[dt.datetime] = None
    filed_at: Optional[dt.datetime] = None
    steps: set = field(default_factory=set)
    voice: bool = False
    simple_language: bool = False


def load_conversations(
    session: Session,
    *,
    start: dt.datetime,
    end: dt.datetime,
    event_code: Optional[str] = None,
    now: Optional[dt.datetime] = None,
    idle_minutes: int = DEFAULT_IDLE_MINUTES,
) -> List[Conversation]:
    """Conversations that *started* in ``[start, end)``, with their outcome as of ``now``.

    Steps after ``end`` still count (a conversation started on the last day and filed the
    next morning is filed). A conversation's channel and event code are those of its first
    step that carries them; it counts as using voice or simple language if any step did.
    """
    now = now or utcnow()
    refs = select(ConversationEvent.conversation_ref).where(
        ConversationEvent.occurred_at >= start, ConversationEvent.occurred_at < end
    )
    query = (
        select(ConversationEvent)
        .where(ConversationEvent.conversation_ref.in_(refs.scalar_subquery()))
        .order_by(ConversationEvent.occurred_at, ConversationEvent.id)
    )
    builders: Dict[str, _Builder] = {}
    for row in session.execute(query).scalars():
        builder = builders.setdefault(row.conversation_ref, _Builder(row.conversation_ref, row.channel))
        builder.first_at = builder.first_at or row.occurred_at
        builder.last_at = row.occurred_at
        builder.event_code = builder.event_code or row.event_code
        builder.steps.add(row.step)
        builder.voice = builder.voice or row.voice
        builder.simple_language = builder.simple_language or row.simple_language
        if row.step == "started" and builder.started_at is None:
            builder.started_at = row.occurred_at
        if row.step == "filed" and builder.filed_at is None:
            builder.filed_at = row.occurred_at
    wanted = event_code.strip().upper() if event_code else None
    conversations = []
    for builder in builders.values():
        started_at = builder.started_at or builder.first_at
        if not (start <= started_at < end):
            continue
        if wanted is not None and builder.event_code != wanted:
            continue
        conversations.append(
            Conversation(
                ref=builder.ref,
                channel=builder.channel,
                event_code=builder.event_code,
                started_at=started_at,
                last_step_at=builder.last_at,
                steps=frozenset(builder.steps),
                voice=builder.voice,
                simple_language=builder.simple_language,
                outcome=_outcome(builder, now, idle_minutes),
                filed_at=builder.filed_at,
            )
        )
    conversations.sort(key=lambda conversation: (conversation.started_at, conversation.ref))
    return conversations


def _outcome(builder: _Builder, now: dt.datetime, idle_minutes: int) -> str:
    if "filed" in builder.steps:
        return OUTCOME_FILED
    if "cancelled" in builder.steps:
        return OUTCOME_CANCELLED
    if now - builder.last_at >= dt.timedelta(minutes=idle_minutes):
        return OUTCOME_ABANDONED
    return OUTCOME_IN_PROGRESS


def outcomes(conversations: Iterable[Conversation]) -> Dict[str, int]:
    counts = {OUTCOME_FILED: 0, OUTCOME_CANCELLED: 0, OUTCOME_ABANDONED: 0, OUTCOME_IN_PROGRESS: 0}
    for conversation in conversations:
        counts[conversation.outcome] += 1
    return counts
