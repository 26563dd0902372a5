"""Run simulated citizens against the real assistant and measure each conversation.

Per conversation (:class:`Outcome`): filed or not (a tracking number in a filing message), user
turns until filed, loops (the same bot text ending three turns in a row), lost reports (a report
in progress emptied or cancelled although the citizen never said yes to cancelling), and the
stored report compared with the persona (type, privacy, date within what the citizen meant,
region inside the persona's kabupaten/kota, the description kept). The tracker is read only to
notice a lost report; the citizen itself sees nothing but the bot's messages.
"""
from __future__ import annotations

import concurrent.futures
import re
import time
import traceback
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

from sqlalchemy import select

from tests.conversations.citizen import Citizen, Persona
from tests.conversations.expectations import date_is_right, date_range, region_is_right
from tests.conversations.questions import recognise, tracking_number_in
from tests.conversations.transports import slots, transport_for

MAX_TURNS = 30
LOOP_RUN = 3          # the same text ending this many turns in a row is a loop
GIVE_UP_RUN = 5       # ... and a citizen gives up after this many
RICH_TURN_TARGET = 4
SLOW_TURN = 10.0      # seconds: noted in the transcript (a slow turn is a finding of its own)
FACT_SLOTS = ("report_type", "description", "location", "incident_date", "privacy")


@dataclass
class Outcome:
    persona: Persona
    transcript: List[str] = field(default_factory=list)
    filed: bool = False
    tracking_number: Optional[str] = None
    turns_to_file: Optional[int] = None
    user_turns: int = 0
    loops: int = 0
    loop_question: Optional[str] = None
    lost: int = 0
    wrong: Dict[str, str] = field(default_factory=dict)
    notes: List[str] = field(default_factory=list)
    error: Optional[str] = None
    seconds: float = 0.0

    @property
    def plain_rich(self) -> bool:
        """A rich opener with nothing else going on: the "at most 4 turns" target applies."""
        return self.persona.rich and not self.persona.interrupts and self.persona.slip is None

    @property
    def rich_too_long(self) -> bool:
        return self.plain_rich and self.filed and (self.turns_to_file or 0) > RICH_TURN_TARGET

    def causes(self) -> List[str]:
        """Why this conversation counts as a failure (empty when it is fine)."""
        found = []
        if self.error:
            found.append("driver error")
        if not self.filed:
            found.append(f"not filed: loop on {self.loop_question}" if self.loops else
                         f"not filed: stuck at {self.loop_question or 'max turns'}")
        if self.loops and self.filed:
            found.append(f"loop on {self.loop_question} (filed in the end)")
        if self.lost:
            found.append("report lost without a clear yes to cancelling")
        for name in sorted(self.wrong):
            found.append(f"wrong {name}")
        if self.rich_too_long:
            found.append(f"rich opener took more than {RICH_TURN_TARGET} turns")
        return found

    def score(self) -> int:
        """Badness, to pick the worst transcripts."""
        return ((0 if self.filed else 100) + 40 * self.loops + 60 * self.lost + 30 * ("privacy" in self.wrong)
                + 10 * len(self.wrong) + 5 * self.rich_too_long + (self.turns_to_file or self.user_turns))


def trailing_run(endings: Sequence[str]) -> int:
    """How many turns in a row, up to now, ended with the same bot text."""
    run = 1 if endings else 0
    while run < len(endings) and endings[-1 - run] == endings[-1]:
        run += 1
    return run


def has_report(values: dict) -> bool:
    """Whether the tracker's slots hold a report in progress (any of its facts)."""
    return any(values.get(name) not in (None, "", []) for name in FACT_SLOTS)


def converse(persona: Persona, transport, rasa_url: str, max_turns: int = MAX_TURNS) -> Outcome:
    citizen = Citizen(persona)
    outcome = Outcome(persona)
    started = time.monotonic()
    endings: List[str] = []
    messages: list = []
    in_progress = False
    try:
        while outcome.user_turns < max_turns:
            question = recognise(messages)
            if outcome.filed and question.kind != "satisfaction":
                break
            action = citizen.respond(question)
            sent_at = time.monotonic()
            shown, messages = transport.send(action)
            if time.monotonic() - sent_at > SLOW_TURN:
                outcome.notes.append(f"turn {outcome.user_turns + 1} took {time.monotonic() - sent_at:.0f} s")
            outcome.user_turns += 1
            note = f"   ({action.note})" if action.note else ""
            outcome.transcript.append(f"[{question.kind}] citizen: {shown}{note}")
            for message in messages:
                buttons = " | ".join(button.get("title", "") for button in message.buttons)
                outcome.transcript.append("    bot: " + message.text.replace("\n", " / ")
                                          + (f"  [{buttons}]" if buttons else ""))
            if outcome.filed:
                break  # the satisfaction answer was given
            number = tracking_number_in(messages)
            if number:
                outcome.filed, outcome.tracking_number, outcome.turns_to_file = True, number, outcome.user_turns
                continue
            endings.append(messages[-1].text if messages else "")
            run = trailing_run(endings)
            if run == LOOP_RUN:
                outcome.loops += 1
                outcome.loop_question = recognise(messages).kind
            if run >= GIVE_UP_RUN:
                outcome.notes.append("the citizen gave up: the same message five times")
                break
            values = slots(rasa_url, transport.sender)
            now = has_report(values)
            if in_progress and not now:
                outcome.lost += 1
                outcome.notes.append(f"turn {outcome.user_turns}: the report in progress was emptied")
            in_progress = now
        if not outcome.filed and outcome.loop_question is None:
            outcome.loop_question = recognise(messages).kind if messages else None
    except Exception:  # a broken conversation is a finding, not a crash of the whole run
        outcome.error = traceback.format_exc(limit=3)
    outcome.seconds = time.monotonic() - started
    return outcome


def _content_words(text: str) -> List[str]:
    return [word for word in re.findall(r"[a-z]{5,}", text.lower())]


def check_stored(outcome: Outcome, database) -> None:
    """Compare the filed report with what the persona meant."""
    from storage.models import Report

    if not outcome.filed:
        return
    with database.session() as session:
        report = session.execute(select(Report).where(Report.tracking_number == outcome.tracking_number)).scalar()
        if report is None:
            outcome.wrong["report missing"] = outcome.tracking_number or ""
            return
        persona = outcome.persona
        if report.report_type != persona.report_type:
            outcome.wrong["type"] = f"{report.report_type} (wanted {persona.report_type})"
        if report.privacy != persona.privacy:
            outcome.wrong["privacy"] = f"{report.privacy} (wanted {persona.privacy})"
        if persona.report_type != "permintaan_informasi" and not date_is_right(report.incident_date, persona.date):
            wanted = date_range(persona.date)
            outcome.wrong["date"] = f"{report.incident_date} (wanted {wanted[0]}..{wanted[1]})" if wanted else \
                f"{report.incident_date} (wanted none)"
        if not region_is_right(report.region_code, persona.place.get("code")):
            outcome.wrong["region"] = f"{report.region_code} {report.region_name} (wanted {persona.place['code']} " \
                                      f"{persona.place['region']})"
        words = _content_words(persona.description)
        kept = [word for word in words if word in (report.description or "").lower()]
        if words and len(kept) < len(words) / 2:
            outcome.wrong["description"] = (report.description or "")[:80]
        if report.category_code and report.category_code != persona.category:
            outcome.notes.append(f"category {report.category_code} (persona's topic {persona.category})")


def warm_up(rasa_url: str, budget: float = 300.0) -> float:
    """One throwaway conversation until it answers: the first turns load the region index and the
    category model (minutes on a busy machine), which must not count against a citizen."""
    from tests.support.rasa_client import say

    started = time.monotonic()
    sender = f"corpus-warm-up-{int(started)}"
    for text in ("mau lapor", "jalan di depan rumah rusak parah dan berlubang besar sekali", "kota bandung"):
        while True:
            try:
                say(rasa_url, sender, text, timeout=120)
                break
            except Exception:
                if time.monotonic() - started > budget:
                    raise
                time.sleep(2)
    return time.monotonic() - started


def run_all(personas: Sequence[Persona], rasa_url: str, database, stack: Optional[dict] = None,
            run_id: str = "run", workers: int = 2,
            progress: Optional[Callable[[Outcome], None]] = None) -> List[Outcome]:
    """REST conversations run ``workers`` at a time; channel ones one after another."""

    def one(index_persona):
        index, persona = index_persona
        transport = transport_for(persona, rasa_url, stack, run_id, index)
        outcome = converse(persona, transport, rasa_url)
        try:
            check_stored(outcome, database)
        except Exception:
            outcome.error = traceback.format_exc(limit=3)
        if progress:
            progress(outcome)
        return outcome

    indexed = list(enumerate(personas))
    rest = [item for item in indexed if item[1].channel == "rest"]
    other = [item for item in indexed if item[1].channel != "rest"]
    results: Dict[int, Outcome] = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for (index, _), outcome in zip(rest, pool.map(one, rest)):
            results[index] = outcome
    for item in other:
        results[item[0]] = one(item)
    return [results[index] for index, _ in indexed]
