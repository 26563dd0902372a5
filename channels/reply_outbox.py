"""Replies recorded before they are sent, and sent once (issue 13).

Why: a process can die at any point of a turn. The intake marks a delivery handled in the same
transaction that records its turn's replies here (storage ``pending_replies``), one entry per
provider call, in order, before any provider is called; each entry is deleted once the
provider accepted it. So after a crash the turn is never run again (the delivery is handled)
and only the replies still recorded are sent: none is lost, none that was accepted goes twice.

The one case a database cannot settle: an entry still recorded at start-up. The process died
before its provider call, during it, or after the provider accepted it but before the entry was
deleted. Telegram's and Twilio's send APIs take no idempotency key, so sending it again may
double it and not sending it may lose it. What we do, per provider
(:meth:`ReplySender.already_delivered`):

* Twilio keeps every message it accepted: we ask it (the recent messages to that address from
  our number with the same body, created since the entry was written). Found: the entry is
  done, nothing is sent. Not found: it never arrived, and is sent now. Exactly once, except
  that the same words sent to the same number in the 5 s before the entry count as it (a
  clock-skew margin; identical replies that close together are rare and then harmless).
* Telegram has no way to ask what a bot sent. The reply is sent again, logged with the delivery
  id as a possible duplicate. A lost answer can leave a citizen with no tracking number and no
  idea whether their report was filed; a duplicate costs a second read of the same words, and
  only when the crash fell inside the fraction of a second between a call and its deletion.

With several gateway replicas (issue 19) the entries of a delivery belong to the replica that
claims the delivery (storage/repositories/inbound.py): the one that handled the turn, for as
long as it lives and renews the claim (a reply waiting for a provider that is down included).
A replica's recovery resumes only senders all of whose entries it could claim, so a reply is
never sent by two replicas at once.

Cost on the normal path: the entries ride on the transaction that marks the delivery handled,
and each sent reply costs one transaction more (its deletion, with the channel's outbound log).
No "about to send" mark is written before a call: it would cost a transaction per reply and
change nothing above (both cases are asked about or resent alike).

A provider refusal that proves nothing went out (no connection, 5xx, 429 after the sender's own
retries) leaves the entry where it is; the sender's remaining replies are tried again with a
doubling wait, a bounded number of times and after a restart. A refusal for good (blocked,
opted out, a bad request) drops the delivery's remaining replies: later ones would not make
sense without it.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Protocol, Set

from sqlalchemy.exc import OperationalError

from accessibility.pipeline import Outgoing
from storage.repositories import InboundLog
from storage.repositories.pending_replies import PendingReplies

log = logging.getLogger(__name__)

Finisher = Callable[[Any], None]
# A reply waiting for a provider that is down is tried this many times in all (the waits
# doubling from the intake's retry base up to RETRY_MAX_SECONDS) before it is dropped.
MAX_SEND_ATTEMPTS = 8
RETRY_BASE_SECONDS = 30.0
RETRY_MAX_SECONDS = 600.0

SENT, RETRY, FAILED = "sent", "retry", "failed"


@dataclass
class Answer:
    """A handler's result when its turn produced replies: the intake records, then sends them.

    ``replies`` are units the channel sends with one provider call each
    (:meth:`ReplySender.units`); ``finisher`` is the turn's other writes (channels.intake).
    """

    address: str
    replies: List[Outgoing]
    finisher: Optional[Finisher] = None
    anonymous: bool = False  # the replies file an anonim report: logged with no sender


@dataclass(frozen=True)
class Sent:
    """What became of one provider call; ``finisher`` is written with the entry's deletion."""

    outcome: str  # SENT | RETRY (nothing went out, try later) | FAILED (refused for good)
    finisher: Optional[Finisher] = None


class ReplySender(Protocol):
    """What a channel provides so its replies can go through the outbox."""

    def units(self, reply: Outgoing) -> List[Outgoing]:
        """The reply as units that take one provider call each (text parts, voice note, image)."""

    async def send(self, address: str, reply: Outgoing, anonymous: bool) -> Sent:
        """Send one unit; never raises for a provider's refusal (that is the outcome)."""

    async def already_delivered(self, address: str, reply: Outgoing, since: dt.datetime) -> Optional[bool]:
        """Whether the provider holds this unit sent since ``since``; None when it cannot be asked."""


def as_entry(reply: Outgoing) -> Dict[str, Any]:
    return {"reply": {"text": reply.text, "buttons": list(reply.buttons or []), "image": reply.image},
            "voice_ogg": reply.voice_ogg}


def from_entry(reply: dict, voice_ogg: Optional[bytes]) -> Outgoing:
    return Outgoing(text=reply.get("text"), buttons=list(reply.get("buttons") or []), voice_ogg=voice_ogg,
                    image=reply.get("image"))


@dataclass
class _Entry:
    id: int
    delivery_id: int
    address: str
    anonymous: bool
    reply: Outgoing
    attempts: int
    created_at: dt.datetime


@dataclass
class ReplyOutbox:
    """One channel's outbox: records a turn's replies, sends them in order, resumes after a crash.

    Order per sender: a turn's replies go out after those of the sender's earlier turns still
    waiting here (a provider that was down), never before them.
    """

    database: Any
    channel: str
    sender: ReplySender
    lock_for: Callable[[Optional[str]], asyncio.Lock]  # the intake's per-sender lock
    retry_base: Optional[float] = None
    holder: Optional[str] = None  # this replica's name in the inbound log's claims (None: the only one)
    claim_seconds: float = 120.0
    _retries: Dict[Any, asyncio.Task] = field(default_factory=dict)
    _working: Dict[Any, int] = field(default_factory=dict)  # slot -> a delivery resumed or retried here
    _accepted: Set[int] = field(default_factory=set)  # entries the provider took, not yet deleted
    _unsure: Set[int] = field(default_factory=set)  # entries that may have gone out: ask before sending
    _resuming: Set[Optional[str]] = field(default_factory=set)  # senders whose left-over replies go first

    def record(self, session, delivery_id: int, sender_key: Optional[str], answer: Answer) -> List["_Entry"]:
        """Queue ``answer``'s replies (in the caller's transaction: the one marking the delivery handled).

        Returns them as :meth:`send` takes them, so the turn's own send needs no read.
        """
        units = [unit for reply in answer.replies for unit in self.sender.units(reply)]
        rows = PendingReplies(session).record(delivery_id, self.channel, answer.address,
                                              [as_entry(unit) for unit in units],
                                              sender_key=sender_key, anonymous=answer.anonymous)
        return [_Entry(row.id, delivery_id, answer.address, answer.anonymous, unit, 0, row.created_at)
                for row, unit in zip(rows, units)]

    async def send(self, delivery_id: int, sender_key: Optional[str], recorded: Optional[List["_Entry"]] = None) -> None:
        """Send what waits for this sender (this delivery's replies last), in order.

        The caller holds the sender's lock. The database locked or unreachable meanwhile: tried
        again later; a reply the provider accepted whose entry could not be deleted then is
        remembered, so it is not sent twice. ``recorded``: the entries just recorded for this
        delivery; used as they are unless earlier replies of the sender still wait here.
        """
        try:
            await self._send(delivery_id, sender_key, recorded)
        except OperationalError as error:
            log.warning("%s delivery #%d: the database was not available while sending replies (%s)",
                        self.channel, delivery_id, str(error.orig)[:80])
            self._retry_later(delivery_id, sender_key, 1)

    async def _send(self, delivery_id: int, sender_key: Optional[str], recorded: Optional[List["_Entry"]]) -> None:
        dropped_delivery = None
        behind = (sender_key or delivery_id) in self._retries or sender_key in self._resuming
        if recorded is None or behind:
            recorded = await asyncio.to_thread(self._entries, delivery_id, sender_key)
        for entry in recorded:
            if entry.delivery_id == dropped_delivery:
                continue
            if entry.id in self._accepted or (entry.id in self._unsure and await self._was_delivered(entry)):
                await asyncio.to_thread(self._done, entry.id, None)
                self._accepted.discard(entry.id)
                self._unsure.discard(entry.id)
                continue
            if entry.attempts >= MAX_SEND_ATTEMPTS:
                await asyncio.to_thread(self._give_up, entry.delivery_id)
                log.error("%s delivery #%d: a reply still could not be sent after %d attempts; dropped",
                          self.channel, entry.delivery_id, entry.attempts)
                dropped_delivery = entry.delivery_id
                continue
            self._unsure.add(entry.id)  # until the provider answers
            try:
                result = await self.sender.send(entry.address, entry.reply, entry.anonymous)
            except Exception:  # noqa: BLE001 - a bug in a sender must not stop the other deliveries
                log.exception("%s delivery #%d: sending a reply raised; dropped", self.channel, entry.delivery_id)
                result = Sent(FAILED)
            if result.outcome == SENT:
                self._accepted.add(entry.id)
                await asyncio.to_thread(self._done, entry.id, result.finisher)
                self._accepted.discard(entry.id)
                self._unsure.discard(entry.id)
                continue
            self._unsure.discard(entry.id)  # the provider said no: nothing went out
            if result.outcome == RETRY:
                await asyncio.to_thread(self._not_sent, entry.id)
                self._retry_later(delivery_id, sender_key, entry.attempts + 1)
                return  # the sender's later replies wait behind this one
            dropped = await asyncio.to_thread(self._give_up, entry.delivery_id)
            log.warning("%s delivery #%d: the provider refused a reply for good; %d reply(ies) dropped",
                        self.channel, entry.delivery_id, dropped)
            dropped_delivery = entry.delivery_id

    def working_ids(self) -> Set[int]:
        """Deliveries whose replies this replica resumes or will retry: their claims are kept."""
        return set(self._working.values())

    async def recover(self) -> List[asyncio.Task]:
        """Resume every sender with replies still recorded (the process died before they all went out).

        Senders whose replies another live replica still sends (it claims their deliveries)
        and senders already being resumed or retried here are left alone.
        """
        ids, queues = await asyncio.to_thread(self._left)
        self._unsure.update(ids)
        if queues:
            log.info("%s: sending the replies left unsent at the last shutdown to %d sender(s)",
                     self.channel, len(queues))
        queues = [(key, delivery_id) for key, delivery_id in queues
                  if (key or delivery_id) not in self._retries and (key or delivery_id) not in self._working]
        self._resuming.update(key for key, _ in queues if key is not None)
        self._working.update({(key or delivery_id): delivery_id for key, delivery_id in queues})
        return [asyncio.get_running_loop().create_task(self._resume(delivery_id, key)) for key, delivery_id in queues]

    def close(self) -> None:
        for task in self._retries.values():
            task.cancel()
        self._retries.clear()

    async def _resume(self, delivery_id: int, sender_key: Optional[str]) -> None:
        try:
            await self._send_locked(delivery_id, sender_key)
        finally:
            self._resuming.discard(sender_key)
            if (sender_key or delivery_id) not in self._retries:
                self._working.pop(sender_key or delivery_id, None)

    async def _send_locked(self, delivery_id: int, sender_key: Optional[str]) -> None:
        async with self.lock_for(sender_key):
            await self.send(delivery_id, sender_key)

    async def _was_delivered(self, entry: _Entry) -> bool:
        """The entry may have gone out (an earlier process, a cut-short call): ask the provider."""
        try:
            known = await self.sender.already_delivered(entry.address, entry.reply, entry.created_at)
        except Exception as error:  # noqa: BLE001 - cannot ask now: treated as unknowable
            log.warning("%s delivery #%d: could not ask the provider about a reply (%s)",
                        self.channel, entry.delivery_id, type(error).__name__)
            known = None
        if known:
            log.info("%s delivery #%d: a reply left at the last shutdown had reached the provider; "
                     "not sent again", self.channel, entry.delivery_id)
            return True
        if known is None:
            log.warning("%s delivery #%d: a reply left at the last shutdown may have gone out and the provider "
                        "cannot be asked; sent again (the citizen may see it twice)", self.channel,
                        entry.delivery_id)
        else:
            log.info("%s delivery #%d: a reply left at the last shutdown never reached the provider; "
                     "sending it", self.channel, entry.delivery_id)
        return False

    def _retry_later(self, delivery_id: int, sender_key: Optional[str], made: int) -> None:
        base = RETRY_BASE_SECONDS if self.retry_base is None else self.retry_base
        wait = min(base * 2 ** (made - 1), RETRY_MAX_SECONDS)
        log.warning("%s delivery #%d: the provider could not take a reply now (attempt %d); next try in %.0f s",
                    self.channel, delivery_id, made, wait)
        slot = sender_key or delivery_id

        async def later() -> None:
            # A retry replaced by a newer one is cancelled too: only the current one may clear
            # the slot, or the newer retry would be forgotten (and its claim not kept).
            this = asyncio.current_task()
            try:
                await asyncio.sleep(wait)
            except asyncio.CancelledError:  # closed: a recovery (here or elsewhere) takes it up
                if self._retries.get(slot) in (this, None):  # not replaced by a newer retry
                    self._working.pop(slot, None)
                raise
            finally:
                if self._retries.get(slot) is this:
                    self._retries.pop(slot)
            try:
                await self._send_locked(delivery_id, sender_key)
            finally:
                if slot not in self._retries:
                    self._working.pop(slot, None)
        self._working[slot] = delivery_id
        previous = self._retries.pop(slot, None)
        if previous is not None:
            previous.cancel()
        self._retries[slot] = asyncio.get_running_loop().create_task(later())

    # Storage calls (synchronous; run in a worker thread).
    def _entries(self, delivery_id: int, sender_key: Optional[str]) -> List[_Entry]:
        with self.database.session() as session:
            replies = PendingReplies(session)
            rows = replies.of_sender(self.channel, sender_key) if sender_key else replies.of_delivery(delivery_id)
            return [_Entry(row.id, row.delivery_id, row.address, row.anonymous,
                           from_entry(row.reply, row.voice_ogg), row.attempts, row.created_at) for row in rows]

    def _left(self) -> tuple:
        """Entry ids and ``(sender_key, first delivery)`` queues this replica may resume (it claimed them)."""
        with self.database.session() as session:
            replies = PendingReplies(session)
            queues = replies.queues(self.channel)
            if not queues or self.holder is None:
                return replies.ids(self.channel), queues
            deliveries = replies.deliveries_by_sender(self.channel)
            wanted = sorted({delivery_id for ids in deliveries.values() for delivery_id in ids})
            held = set(InboundLog(session).claim_handled(wanted, self.holder, self.claim_seconds))
            mine = [(key, first) for key, first in queues
                    if all(delivery_id in held for delivery_id in deliveries.get(key if key is not None else first,
                                                                                 [first]))]
            kept = {delivery_id for key, first in mine
                    for delivery_id in deliveries.get(key if key is not None else first, [first])}
            return replies.ids(self.channel, kept), mine

    def _not_sent(self, reply_id: int) -> None:
        with self.database.session() as session:
            PendingReplies(session).not_sent(reply_id)

    def _done(self, reply_id: int, finisher: Optional[Finisher]) -> None:
        if finisher is not None:
            try:
                with self.database.session() as session:
                    finisher(session)
                    PendingReplies(session).sent(reply_id)
                return
            except Exception:  # noqa: BLE001 - the provider has it: never send it again
                log.exception("%s: the writes after a sent reply failed; deleting its entry alone", self.channel)
        with self.database.session() as session:
            PendingReplies(session).sent(reply_id)

    def _give_up(self, delivery_id: int) -> int:
        with self.database.session() as session:
            return PendingReplies(session).give_up(delivery_id)
