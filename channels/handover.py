"""A conversation a person took over: keep the citizen's messages for them, deliver theirs.

Why in the channels: the console only writes to storage (it is not reachable from the
gateway and must not hold provider credentials). While a staff member holds a conversation
(``storage.repositories.handovers``, state ``taken``), :func:`keep_for_person` stores each
citizen message (with its transcript, and the audio of a voice note) for the officer instead of
relaying it to Rasa; since Rasa never sees these messages, the dialogue, and any report in
progress, is exactly where it was when the person hands back. :class:`HandoverOutbox` is each
connector's loop that sends the officer's messages and the two notices ("a person answers
now", "the assistant answers again") on the citizen's channel, in the citizen's form (simple
language, voice notes for voice users), and records each outcome, so a message is sent once.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from pathlib import Path
from typing import Awaitable, Callable, List, Optional

from accessibility.pipeline import Outgoing
from accessibility.profiles import ProfileStore, defaults_from_settings
from channels.messages import Message, from_catalogue  # noqa: F401 - Message: callers
from storage.identity import parse_sender_id
from storage.repositories.attachments import write_content_addressed
from storage.models import utcnow
from storage.repositories.handovers import HandoverRepository, PendingMessage
from storage.service_hours import DAY_NAMES, parse_service_hours
from shared.periodic import run_every
from storage.leases import JobLease

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 2.0
LEASE_FLOOR_SECONDS = 15.0

# The words are in accessibility/citizen_text.yml (each with its simple variant).
TAKEN = from_catalogue("handover.taken")
RETURNED = from_catalogue("handover.returned")
REPORT_KEPT = from_catalogue("handover.report_kept")
WAITING = from_catalogue("handover.waiting")
CATALOGUE = {"handover_taken": TAKEN, "handover_returned": RETURNED, "handover_report_kept": REPORT_KEPT,
             "handover_waiting": WAITING}
_MONTHS = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
           "November", "Desember")


def notice_text(item: PendingMessage, simple_language: bool, service_hours: str = "") -> str:
    """What the citizen reads for one outgoing item: the officer's words, or a notice."""
    if item.kind == "taken":
        return TAKEN.text(simple_language).format(name=item.author or "petugas")
    if item.kind == "waiting" and item.body:
        opens = dt.datetime.fromisoformat(item.body)
        hours = parse_service_hours(service_hours)
        return WAITING.text(simple_language).format(
            hours=service_hours, day=DAY_NAMES[opens.weekday()], date=f"{opens.day} {_MONTHS[opens.month - 1]}",
            time=f"{opens:%H.%M} {hours.zone if hours else ''}".strip())
    if item.kind == "returned":
        text = RETURNED.text(simple_language)
        if item.report_in_progress:
            text += " " + REPORT_KEPT.text(simple_language)
        return text
    return item.body or ""


class _HeldConversations:
    """Which conversations a person holds, read at most once per :data:`HELD_REFRESH_SECONDS`.

    Why: the question is asked on every turn and the answer is almost always "none"; one query
    per second per process replaces one per turn (about 2 ms of CPU each on two cores). A "no"
    may be up to a second old: a message in the second after an officer takes a conversation
    is still answered by the assistant (nothing is lost). A "yes" is always checked against the
    database, so a message after the hand-back is never kept for an officer who has left.
    """

    def __init__(self) -> None:
        self._held: dict = {}  # id(database) -> (monotonic time read, frozenset of sender refs)

    def maybe_held(self, database, sender_ref: str) -> bool:
        read_at, held = self._held.get(id(database), (None, frozenset()))
        if read_at is None or time.monotonic() - read_at > HELD_REFRESH_SECONDS:
            with database.reading() as session:
                held = frozenset(HandoverRepository(session).held_conversations())
            self._held[id(database)] = (time.monotonic(), held)
        return sender_ref in held

    def forget(self, database) -> None:
        self._held.pop(id(database), None)


HELD_REFRESH_SECONDS = 1.0
_HELD = _HeldConversations()


async def keep_for_person(database, data_dir: Path, sender_ref: str, text: Optional[str],
                          audio: Optional[bytes], audio_mime: Optional[str], inbound_ref: Optional[str]) -> bool:
    """True (and the message stored for the officer) when a person holds this conversation.

    No query on most turns (see :class:`_HeldConversations`); a write only while a person answers.
    """
    def held() -> Optional[int]:
        if not _HELD.maybe_held(database, sender_ref):
            return None
        with database.reading() as session:
            handover = HandoverRepository(session).taken_for(sender_ref)
            return handover.id if handover is not None else None

    handover_id = await asyncio.to_thread(held)
    if handover_id is None:
        return False

    def keep() -> None:
        audio_path = None
        if audio:
            suffix = ".ogg" if "ogg" in (audio_mime or "ogg") else ".audio"
            audio_path = str(write_content_addressed(audio, Path(data_dir) / "handover-audio", suffix)[0])
        with database.session() as session:
            HandoverRepository(session).keep_inbound(handover_id, text, inbound_ref, audio_path=audio_path)
    await asyncio.to_thread(keep)
    log.info("conversation %s… is answered by a person: message kept for handover #%d", sender_ref[:16], handover_id)
    return True


# (address, reply, last_inbound_at) -> outcome ("sent", "unreachable", "needs_template", "failed")
Send = Callable[[str, Outgoing, object], Awaitable[str]]


class HandoverOutbox:
    """One channel's loop: sends what staff wrote to citizens on this channel, oldest first."""

    def __init__(self, channel: str, runtime, layer, send: Send, can_send_voice: bool = True,
                 interval: float = INTERVAL_SECONDS, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.channel = channel
        self.clock = clock
        self.can_send_voice = can_send_voice
        self.runtime = runtime
        self.layer = layer  # the connector's AccessibilityLayer: its voice notes
        self.profiles = ProfileStore(runtime.database, defaults_from_settings(runtime.settings))
        self.service_hours = runtime.settings.section("handover").get("service_hours", "")
        self.send = send
        self.interval = interval  # an officer and a citizen are talking: seconds, not a minute
        # Every gateway replica runs the loop; the lease's holder alone sends (storage/leases.py).
        # Short: if its holder dies, the next replica takes over while the citizen still waits.
        self.lease = JobLease(runtime.database, f"staff-messages:{channel}", getattr(runtime, "replica", "gateway"),
                              max(3 * interval, LEASE_FLOOR_SECONDS))

    async def run(self) -> None:
        await run_every(self.interval, self.once, log, f"{self.channel}: sending staff messages failed; trying again later")

    async def once(self) -> int:
        """Send what is due now; returns how many went out."""
        database = self.runtime.database
        await asyncio.to_thread(self._announce_waiting)

        def pending() -> List[PendingMessage]:
            with database.reading() as session:
                return HandoverRepository(session).undelivered(self.channel)
        # Read first, the lease only when there is something to send: the round runs every 2 s,
        # and taking the lease is a write (on SQLite, the database's one write lock).
        items = await asyncio.to_thread(pending)
        if not items or not await asyncio.to_thread(self.lease.held_now):
            return 0  # nothing to send, or another replica sends it
        sent = 0
        blocked = set()  # a conversation whose earlier message waits: later ones wait too (order)
        for item in items:
            if item.handover_id in blocked:
                continue
            if not await asyncio.to_thread(self.lease.held_now):
                break  # a stalled round: the lease's new holder sends the rest
            outcome = await self._deliver(item)
            sent += outcome == "sent"

            def mark(item=item, outcome=outcome) -> bool:
                with database.session() as session:
                    return HandoverRepository(session).mark_delivered(item.message_id, outcome)
            if not await asyncio.to_thread(mark):
                blocked.add(item.handover_id)
        return sent

    def _announce_waiting(self) -> None:
        """A request made outside service hours: queue "a person answers from <time>" for it, once."""
        hours = parse_service_hours(self.service_hours)
        if hours is None:
            return
        # Read first: this runs every round, and a write session would take SQLite's write lock.
        with self.runtime.database.reading() as session:
            waiting = [handover.id for handover in HandoverRepository(session).unannounced(self.channel)]
        if not waiting or not self.lease.held_now():
            return  # nothing to announce, or another replica announces it
        # The loop sees a request within seconds of it being made: now is when it was made.
        opens = hours.next_opening(self.clock())
        with self.runtime.database.session() as session:
            repository = HandoverRepository(session)
            for handover_id in waiting:
                repository.announce_waiting(handover_id, opens.isoformat() if opens else None)

    async def _deliver(self, item: PendingMessage) -> str:
        channel, hashed = parse_sender_id(item.sender_ref, self.runtime.settings.identity_key)
        if channel != self.channel:
            return "failed"

        def reporter():
            from storage.repositories import ReporterRepository
            with self.runtime.database.reading() as session:
                found = ReporterRepository(session).get(channel, hashed)
                return (found.address, found.last_inbound_at, found.unreachable_at) if found else (None, None, None)
        address, last_inbound_at, unreachable_at = await asyncio.to_thread(reporter)
        if not address:
            return "failed"
        if unreachable_at is not None:
            return "unreachable"
        profile = await asyncio.to_thread(self.profiles.get, channel, hashed)
        reply = Outgoing(text=notice_text(item, profile.simple_language, self.service_hours))
        if self.can_send_voice and profile.voice_replies:
            try:
                reply.voice_ogg = await self.layer.text_to_speech().voice_note(reply.text, profile.speech_rate)
            except Exception:  # noqa: BLE001 - the text still goes out
                log.exception("no voice note for a staff message; sending text only")
        try:
            return await self.send(address, reply, last_inbound_at)
        except Exception as error:  # noqa: BLE001 - tried again next round
            log.error("%s: staff message #%d not sent: %s", self.channel, item.message_id, type(error).__name__)
            return "retry_later"
