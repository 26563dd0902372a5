"""Outreach events, and the aggregate figures a facilitator shows about them.

Why it exists: each socialisation event gets a code that people bring into the conversation,
and afterwards the programme must show its measurable benefit (how many reported, through
which channel, with which accessibility help, how far they got, how satisfied they were)
without revealing anybody.

Privacy (UU 27/2022): only aggregates leave this module, and every figure is a :class:`Stat`
that remembers the sizes of the groups of people it was computed from. :func:`disclose` is the
one place that decides what may be shown: a count below :data:`MIN_GROUP` becomes "< 5", and a
share, average, median or "most common step" computed from such a group is withheld. Every
output (table, CSV, charts) goes through it; ``Stat.raw`` is for tests and must not be printed.
"""
from __future__ import annotations

import datetime as dt
import re
import secrets
import statistics
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.measurement import (
    DEFAULT_IDLE_MINUTES,
    FUNNEL_STEPS,
    OUTCOME_ABANDONED,
    OUTCOME_CANCELLED,
    OUTCOME_FILED,
    OUTCOME_IN_PROGRESS,
    Conversation,
    load_conversations,
)
from storage.models import OutreachEvent, Report, SatisfactionRating

MIN_GROUP = 5
SUPPRESSED = "< 5"
WITHHELD = "-"
PRIVACY_NOTE = (
    f"{SUPPRESSED}: kelompok kurang dari {MIN_GROUP} orang; "
    f"{WITHHELD}: tidak ditampilkan karena dihitung dari kelompok kurang dari {MIN_GROUP} orang."
)

# Letters and digits that cannot be mistaken for each other when read aloud or copied from a
# poster: no 0/O and no 1/I (L stays: upper-case L is not confused with 1).
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_CODE_PATTERN = re.compile(r"[A-Z0-9]{4,12}")
_GENERATED_PREFIX = 3
_GENERATED_SUFFIX = 5
_CONFUSABLE = str.maketrans({"O": "0", "I": "1"})
MAIN_CHANNELS = ("telegram", "whatsapp", "sms")
ALL_CHANNELS = "semua"
RATING_SCORES = (1, 2, 3, 4, 5)


class EventError(ValueError):
    """An event cannot be created as asked; the message says why, for the operator."""


# --- events -------------------------------------------------------------------------------


def create_event(
    session: Session,
    name: str,
    place: str,
    event_date: dt.date,
    target_group: str,
    code: Optional[str] = None,
) -> OutreachEvent:
    """Add an event to ``session`` (flushed, so ``.id`` is set; the caller commits).

    A generated code is three letters of the place and five random characters, 8 in all,
    from :data:`CODE_ALPHABET` with at least one digit (the channels' parser relies on the
    digit). A chosen code must be 4-12 letters and digits with at least one of each, and must
    not equal an existing code once 0/O and 1/I are treated as the same character.
    """
    for label, value in (("name", name), ("place", place), ("target group", target_group)):
        if not value or not value.strip():
            raise EventError(f"the event's {label} is required")
    if not isinstance(event_date, dt.date):
        raise EventError("the event date must be a date")
    if code is None:
        code = _unused_generated_code(session, place)
    else:
        code = code.strip().upper()
        if not (_CODE_PATTERN.fullmatch(code) and re.search(r"\d", code) and re.search(r"[A-Z]", code)):
            raise EventError(f"event code {code!r} must be 4-12 letters and digits, with at least one of each")
        clash = _find_similar(session, code)
        if clash is not None:
            raise EventError(f"event code {code!r} is already used (or looks the same as {clash.code!r})")
    event = OutreachEvent(
        code=code, name=name.strip(), place=place.strip(), event_date=event_date, target_group=target_group.strip()
    )
    session.add(event)
    session.flush()
    return event


def get_event(session: Session, code: Optional[str]) -> Optional[OutreachEvent]:
    """The event for a code as a person typed it: case-insensitive, and forgiving of 0/O and 1/I
    mix-ups for chosen codes that contain them."""
    if not code or not code.strip():
        return None
    wanted = code.strip().upper()
    found = session.execute(select(OutreachEvent).where(OutreachEvent.code == wanted)).scalar_one_or_none()
    return found or _find_similar(session, wanted)


def canonical_code(session: Session, code: Optional[str]) -> Optional[str]:
    """The stored code of the event a typed code means, or None: what channels put in
    ``metadata["event_code"]``, so a typed "sosbdgO1" is counted under "SOSBDG01"."""
    event = get_event(session, code)
    return event.code if event is not None else None


def _find_similar(session: Session, code: str) -> Optional[OutreachEvent]:
    key = code.translate(_CONFUSABLE)
    candidates = session.execute(
        select(OutreachEvent).where(func.length(OutreachEvent.code) == len(code))
    ).scalars()
    for event in candidates:
        if event.code.upper().translate(_CONFUSABLE) == key:
            return event
    return None


def generate_code(place: str, random_choice=secrets.choice) -> str:
    """The prefix is taken from the place's last word ("Kota Bandung" -> "BAN"), its most telling one."""
    words = [word for word in re.split(r"[^A-Za-z]+", place.upper()) if word]
    letters = [c for c in (words[-1] if words else "") if c in CODE_ALPHABET]
    prefix = "".join(letters[:_GENERATED_PREFIX]).ljust(_GENERATED_PREFIX, "S")
    while True:
        suffix = "".join(random_choice(CODE_ALPHABET) for _ in range(_GENERATED_SUFFIX))
        if any(c.isdigit() for c in suffix):
            return prefix + suffix


def _unused_generated_code(session: Session, place: str) -> str:
    for _ in range(50):
        code = generate_code(place)
        if _find_similar(session, code) is None:
            return code
    raise EventError("could not find an unused event code; try again or choose one with --code")


# --- privacy gate ---------------------------------------------------------------------------


@dataclass(eq=False)
class Stat:
    """One figure with what it was computed from.

    ``kind`` is "count", "share" (0-1), "mean", "minutes" or "step" (a funnel step name).
    ``groups`` are sizes of groups of people behind it; ``depends`` are the counts a share,
    average or median was derived from (hidden when any of them is hidden); ``complementary``
    is set by :func:`protect_channel_breakdown` so a hidden cell cannot be recomputed.
    """

    raw: Any
    kind: str
    groups: Tuple[int, ...] = ()
    depends: Tuple["Stat", ...] = ()
    complementary: bool = False

    @classmethod
    def count(cls, value: int) -> "Stat":
        return cls(value, "count", (value,))

    @property
    def shown(self) -> str:
        return disclose_text(self)

    @property
    def visible(self) -> Any:
        return disclose(self)


def is_suppressed(stat: Stat) -> bool:
    """The rule, in one place: any group of fewer than five people (zero included) hides the
    figure, and so does hiding any count it was derived from."""
    return (
        stat.complementary
        or any(size < MIN_GROUP for size in stat.groups)
        or any(is_suppressed(source) for source in stat.depends)
    )


def disclose(stat: Stat) -> Any:
    """The raw value when it may be shown, else None. Charts use this."""
    return None if is_suppressed(stat) else stat.raw


def disclose_text(stat: Stat) -> str:
    """The figure as a facilitator may see it: in tables, CSV files and chart labels."""
    if is_suppressed(stat):
        return SUPPRESSED if stat.kind == "count" else WITHHELD
    value = stat.raw
    if value is None:
        return WITHHELD
    if stat.kind == "count":
        return str(int(value))
    if stat.kind == "share":
        return f"{value * 100:.0f}%"
    if stat.kind == "mean":
        return f"{value:.1f}"
    if stat.kind == "minutes":
        return f"{value:.1f}"  # filings at events often take under a minute: "0" would mislead
    if stat.kind == "step":
        return STEP_LABELS.get(value, str(value))
    return str(value)


# --- aggregates -----------------------------------------------------------------------------

STEP_LABELS = {
    "started": "Mulai percakapan",
    "slot:report_type": "Jenis laporan",
    "slot:description": "Isi laporan",
    "slot:location": "Lokasi",
    "slot:incident_date": "Tanggal kejadian",
    "slot:privacy": "Pilihan privasi",
    "readback_confirmed": "Ringkasan disetujui",
    "filed": "Laporan terkirim",
}


@dataclass(frozen=True)
class Satisfaction:
    ratings: Stat
    mean: Stat
    distribution: Dict[int, Stat]


@dataclass(frozen=True)
class Figures:
    """Everything measured for one group of conversations (all, or one channel)."""

    started: Stat
    filed: Stat
    cancelled: Stat
    abandoned: Stat
    in_progress: Stat
    completion_rate: Stat
    voice: Stat
    voice_share: Stat
    simple_language: Stat
    simple_language_share: Stat
    reached: Dict[str, Stat]
    gave_up_at: Dict[str, Stat]
    most_given_up_step: Stat
    median_minutes_to_file: Stat
    satisfaction_after_filing: Satisfaction
    satisfaction_after_closed: Satisfaction


@dataclass(frozen=True)
class OutreachFigures:
    """The whole report: a column for all channels together and one per channel."""

    start: dt.date
    end: dt.date  # inclusive
    event: Optional[OutreachEvent]
    idle_minutes: int
    computed_at: dt.datetime
    columns: Dict[str, Figures]  # ALL_CHANNELS first, then the channels

    @property
    def total(self) -> Figures:
        return self.columns[ALL_CHANNELS]

    def rows(self) -> List[Tuple[str, str, Dict[str, str]]]:
        """``(metric_key, Indonesian label, {column: disclosed text})`` for tables and CSV."""
        return [(key, label, {column: disclose_text(pick(figures)) for column, figures in self.columns.items()})
                for key, label, pick in _ROWS]


def outreach_figures(
    session: Session,
    *,
    start: dt.date,
    end: dt.date,
    event_code: Optional[str] = None,
    now: Optional[dt.datetime] = None,
    idle_minutes: int = DEFAULT_IDLE_MINUTES,
) -> OutreachFigures:
    """Figures for conversations started from ``start`` to ``end`` (both inclusive, UTC dates),
    optionally only those that came with ``event_code``.

    Satisfaction comes from ratings of reports created in the same period (and carrying the
    event code), broken down by the report's channel. ``now`` decides which quiet
    conversations count as abandoned (see ``storage.measurement``).
    """
    if end < start:
        raise ValueError("the period ends before it starts")
    begin = dt.datetime.combine(start, dt.time())
    finish = dt.datetime.combine(end + dt.timedelta(days=1), dt.time())
    now = now or dt.datetime.utcnow().replace(microsecond=0)
    event = get_event(session, event_code) if event_code else None
    code = event.code if event is not None else (event_code.strip().upper() if event_code else None)
    conversations = load_conversations(
        session, start=begin, end=finish, event_code=code, now=now, idle_minutes=idle_minutes
    )
    ratings = _ratings(session, begin, finish, code)
    channels = list(MAIN_CHANNELS) + sorted(
        ({c.channel for c in conversations} | {channel for channel, _, _ in ratings}) - set(MAIN_CHANNELS)
    )
    columns = {ALL_CHANNELS: _figures(conversations, ratings)}
    for channel in channels:
        columns[channel] = _figures(
            [c for c in conversations if c.channel == channel], [r for r in ratings if r[0] == channel]
        )
    protect_channel_breakdown(columns)
    return OutreachFigures(start, end, event, idle_minutes, now, columns)


def protect_channel_breakdown(columns: Dict[str, "Figures"]) -> None:
    """Complementary suppression: when the total of a count is shown and exactly one channel's
    cell is hidden, that cell would be the total minus the others; so the smallest shown channel
    cell is hidden too. Shares and averages derived from it follow (``Stat.depends``).

    Known limit: differences between funnel rows (reached one step, not the next) are not
    protected; the "stopped before" rows hide the same numbers only against a casual reader.
    """
    total = columns[ALL_CHANNELS]
    channels = [figures for name, figures in columns.items() if name != ALL_CHANNELS]
    for _key, _label, pick in _ROWS:
        head = pick(total)
        if head.kind != "count" or is_suppressed(head):
            continue
        cells = [pick(figures) for figures in channels]
        shown = [cell for cell in cells if not is_suppressed(cell)]
        if len(cells) - len(shown) == 1 and shown:
            min(shown, key=lambda cell: cell.raw).complementary = True


def _ratings(session: Session, begin: dt.datetime, finish: dt.datetime, code: Optional[str]):
    query = (
        select(Report.channel, SatisfactionRating.stage, SatisfactionRating.score)
        .join(Report, Report.id == SatisfactionRating.report_id)
        .where(Report.created_at >= begin, Report.created_at < finish)
    )
    if code is not None:
        query = query.where(func.upper(Report.event_code) == code)
    return [tuple(row) for row in session.execute(query)]


def _share(part: Stat, whole: Stat) -> Stat:
    return Stat(part.raw / whole.raw if whole.raw else None, "share", depends=(part, whole))


def _figures(conversations: Sequence[Conversation], ratings: Iterable[Tuple[str, str, int]]) -> Figures:
    started = len(conversations)
    by_outcome = {outcome: 0 for outcome in (OUTCOME_FILED, OUTCOME_CANCELLED, OUTCOME_ABANDONED, OUTCOME_IN_PROGRESS)}
    for conversation in conversations:
        by_outcome[conversation.outcome] += 1
    voice = sum(1 for c in conversations if c.voice)
    simple = sum(1 for c in conversations if c.simple_language)
    reached = {step: Stat.count(sum(1 for c in conversations if c.reached(step))) for step in FUNNEL_STEPS}
    gave_up = {step: 0 for step in FUNNEL_STEPS[1:]}
    for conversation in conversations:
        if conversation.gave_up_at is not None:
            gave_up[conversation.gave_up_at] += 1
    worst_step, worst_count = max(gave_up.items(), key=lambda item: item[1]) if gave_up else (None, 0)
    minutes = [c.minutes_to_file for c in conversations if c.minutes_to_file is not None]
    ratings = list(ratings)
    started_stat, filed_stat = Stat.count(started), Stat.count(by_outcome[OUTCOME_FILED])
    voice_stat, simple_stat = Stat.count(voice), Stat.count(simple)
    gave_up_at = {step: Stat.count(count) for step, count in gave_up.items()}
    return Figures(
        started=started_stat,
        filed=filed_stat,
        cancelled=Stat.count(by_outcome[OUTCOME_CANCELLED]),
        abandoned=Stat.count(by_outcome[OUTCOME_ABANDONED]),
        in_progress=Stat.count(by_outcome[OUTCOME_IN_PROGRESS]),
        completion_rate=_share(filed_stat, started_stat),
        voice=voice_stat,
        voice_share=_share(voice_stat, started_stat),
        simple_language=simple_stat,
        simple_language_share=_share(simple_stat, started_stat),
        reached=reached,
        gave_up_at=gave_up_at,
        # max() keeps the earliest step on a tie; no step when nobody gave up.
        most_given_up_step=(
            Stat(worst_step, "step", depends=(gave_up_at[worst_step],)) if worst_count else Stat(None, "step", (0,))
        ),
        median_minutes_to_file=Stat(
            statistics.median(minutes) if minutes else None, "minutes", (len(minutes),), depends=(filed_stat,)
        ),
        satisfaction_after_filing=_satisfaction([score for _, stage, score in ratings if stage == "after_filing"]),
        satisfaction_after_closed=_satisfaction([score for _, stage, score in ratings if stage == "after_closed"]),
    )


def _satisfaction(scores: List[int]) -> Satisfaction:
    ratings = Stat.count(len(scores))
    return Satisfaction(
        ratings=ratings,
        mean=Stat(statistics.fmean(scores) if scores else None, "mean", depends=(ratings,)),
        distribution={score: Stat.count(scores.count(score)) for score in RATING_SCORES},
    )


def _satisfaction_rows(stage: str, label: str):
    def get(figures: Figures) -> Satisfaction:
        return getattr(figures, f"satisfaction_{stage}")

    rows = [
        (f"satisfaction_{stage}_ratings", f"Kepuasan {label}: jumlah penilaian", lambda f: get(f).ratings),
        (f"satisfaction_{stage}_mean", f"Kepuasan {label}: rata-rata (1-5)", lambda f: get(f).mean),
    ]
    for score in RATING_SCORES:
        rows.append(
            (f"satisfaction_{stage}_score_{score}", f"Kepuasan {label}: nilai {score}",
             lambda f, score=score: get(f).distribution[score])
        )
    return rows


_ROWS = [
    ("started", "Percakapan dimulai", lambda f: f.started),
    ("filed", "Laporan terkirim", lambda f: f.filed),
    ("completion_rate", "Tingkat penyelesaian", lambda f: f.completion_rate),
    ("cancelled", "Dibatalkan", lambda f: f.cancelled),
    ("abandoned", "Ditinggalkan", lambda f: f.abandoned),
    ("in_progress", "Masih berlangsung", lambda f: f.in_progress),
    ("voice", "Memakai pesan suara", lambda f: f.voice),
    ("voice_share", "Memakai pesan suara (%)", lambda f: f.voice_share),
    ("simple_language", "Memakai bahasa sederhana", lambda f: f.simple_language),
    ("simple_language_share", "Memakai bahasa sederhana (%)", lambda f: f.simple_language_share),
    ("median_minutes_to_file", "Waktu sampai terkirim (median, menit)", lambda f: f.median_minutes_to_file),
    ("most_given_up_step", "Tahap paling sering berhenti", lambda f: f.most_given_up_step),
    *[(f"reached:{step}", f"Sampai tahap: {STEP_LABELS[step]}", lambda f, step=step: f.reached[step])
      for step in FUNNEL_STEPS],
    *[(f"gave_up_at:{step}", f"Berhenti sebelum: {STEP_LABELS[step]}", lambda f, step=step: f.gave_up_at[step])
      for step in FUNNEL_STEPS[1:]],
    *_satisfaction_rows("after_filing", "setelah melapor"),
    *_satisfaction_rows("after_closed", "setelah selesai"),
]
