"""Exactly-once handling of provider deliveries, shared by every channel.

Why: providers re-send a webhook call that was not answered in time (Telegram within about
60 s, Twilio after 15 s), and a process can die between answering and handling. So each
delivery is recorded under the provider's id *before* the provider gets its answer; a delivery
seen before is acknowledged and dropped; handling runs in a background task and marks the
delivery handled (which scrubs its payload); on start-up, deliveries recorded but never handled
are handled then. The unique constraint on (channel, provider_id) decides what is new, so two
racing copies of one delivery yield one handling.

Handling of one sender is serialised in arrival order (a voice note that takes long to
transcribe is not overtaken by the text sent after it); different senders run concurrently.

Cost per delivery (it is on every channel turn): two transactions, plus one per reply sent
through the outbox (its deletion). Recording a new delivery
also counts its first handling attempt (the task that recorded it is the one that handles it),
so only deliveries resumed by :meth:`Intake.recover` are claimed separately. A handler may
return a *finisher*, a function of a Session that writes what the handling produced (e.g. the
outbound log of the replies sent); it runs in the transaction that marks the delivery handled,
so the turn's last writes and "handled" commit together or not at all. A handler whose turn
produced replies returns a :class:`channels.reply_outbox.Answer` instead of sending them: its
replies are recorded in that same transaction and sent only after it commits, each deleted from
the outbox once the provider took it (channels/reply_outbox.py), so a crash neither re-runs a
turn nor sends an accepted reply twice.

Failures are answered, never silent (issue 13, D2/D3): a handling that could not complete its
turn (Rasa or the action server down, after the relay's own retries) raises
:class:`channels.delivery.Postponed` once the citizen has been told their message is kept; the
delivery stays ``received`` and is tried again here with exponential backoff (and after a
restart), for a bounded number of attempts. Each try knows its delivery (channels.delivery), so
Rasa sees the same message id every time and never runs a completed turn twice.

The database locked past its busy timeout or unreachable (OperationalError) while a delivery is
handled postpones it like a failed turn, without an apology (it is a matter of seconds); a
webhook waits at most :data:`ACK_DEADLINE_SECONDS` for its record and otherwise answers 503.

Several gateway replicas may share the log (issue 19): each delivery is *claimed* by the
replica working on it (storage/repositories/inbound.py) for :data:`CLAIM_SECONDS`, renewed
every :data:`RECOVERY_SECONDS` while it works, extended while a postponed delivery waits for
its retry; every replica's recovery round takes over only deliveries whose claim lapsed (their
replica died). A sender's messages are handled in the order they were recorded whichever
replica received them: a delivery recorded while an earlier one of its sender is still
``received`` waits until that one is handled (:meth:`Intake._wait_for_earlier`); one that waits
too long gives its claim up and is taken, in order, by the next recovery round. One process
(``bash run.sh``) is the same with one replica: its name is stable across restarts
(``Runtime.replica``), so it resumes its own deliveries at once.

Payloads are scrubbed on a schedule too (:meth:`Intake.upkeep`, hourly): a failed delivery keeps
its payload for :data:`FAILED_RETENTION` at most, and on SQLite the write-ahead log is
checkpointed afterwards, so the scrubbed text does not linger in the -wal file.
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set, Union

from sqlalchemy.exc import OperationalError

from channels.delivery import CURRENT, Delivery, Postponed
from channels.reply_outbox import Answer, ReplyOutbox, ReplySender
from shared.periodic import run_every
from storage.repositories import InboundLog

log = logging.getLogger(__name__)

# Writes a handling leaves for the transaction that marks its delivery handled.
Finisher = Callable[[Any], None]
Handler = Callable[[dict], Awaitable[Union[Answer, Finisher, None]]]
# Recording a delivery is what the provider waits for; it gets threads of its own, so it never
# queues behind the handling work (profiles, replies, status) on asyncio's shared pool.
_ACK_THREADS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="intake-ack")
# A delivery whose handling was started this many times without finishing is not tried again
# at start-up: it is what crashed the process.
MAX_ATTEMPTS = 3
# A webhook waits at most this long for its delivery to be recorded, then answers 503: Twilio
# gives up after 15 s, and with the database locked every writer of the process waits its turn
# of SQLite's busy timeout (5 s), so a queue of them would outlast any provider.
ACK_DEADLINE_SECONDS = 8.0
# A postponed delivery (the stack was down) is tried this many times in all, the waits doubling
# from RETRY_BASE_SECONDS up to RETRY_MAX_SECONDS: about 1.5 hours before it is given up.
MAX_POSTPONED_ATTEMPTS = 12
RETRY_BASE_SECONDS = 30.0
RETRY_MAX_SECONDS = 600.0
DEDUPE_HORIZON = dt.timedelta(days=2)
# A failed delivery's payload (who wrote, what) is kept this long for an operator, then erased.
FAILED_RETENTION = dt.timedelta(hours=24)
UPKEEP_SECONDS = 3600.0
# A replica's claim on a delivery it works on; renewed every RECOVERY_SECONDS, when each replica
# also takes over deliveries whose claim lapsed. A crashed replica's messages wait at most
# about CLAIM_SECONDS + RECOVERY_SECONDS before another replica handles them.
CLAIM_SECONDS = 120.0
RECOVERY_SECONDS = 30.0
# How long a delivery waits for an earlier one of its sender handled by another replica.
WAIT_FOR_EARLIER_SECONDS = CLAIM_SECONDS + RECOVERY_SECONDS
DEFAULT_HOLDER = "gateway"
POSTPONED = "postponed"  # prefix of InboundDelivery.error while a delivery waits for a retry


class Intake:
    """Records, acknowledges and hands on the deliveries of one channel."""

    def __init__(self, database, channel: str, handler: Handler, retry_base: Optional[float] = None,
                 sender: Optional[ReplySender] = None, holder: str = DEFAULT_HOLDER) -> None:
        self.database = database
        self.channel = channel
        self.handler = handler
        self.retry_base = retry_base  # seconds before the first retry of a postponed delivery
        # This replica's name in the log's claims: unique among live replicas, stable across a restart.
        self.holder = holder
        # Where a handler's Answer goes; a channel whose handler sends its replies itself has none.
        self.outbox = (ReplyOutbox(database, channel, sender, self._lock_for, retry_base, holder=holder,
                                   claim_seconds=CLAIM_SECONDS) if sender else None)
        self._tasks: Set[asyncio.Task] = set()
        self._retries: Dict[int, asyncio.Task] = {}
        # Per sender, the deliveries waiting for a retry, the one to try first at the head; and
        # the payloads of those waiting only for the one before them.
        self._waiting: Dict[str, List[int]] = {}
        self._held: Dict[int, tuple] = {}
        self._in_flight: Set[int] = set()
        self._sender_locks: "OrderedDict[str, asyncio.Lock]" = OrderedDict()

    async def accept(self, provider_id: str, sender_hash: Optional[str], payload: dict,
                     deadline: Optional[float] = None) -> bool:
        """Record the delivery and start handling it if it is new; returns whether it was new.

        Returns as soon as the record is committed, so the caller can answer the provider.
        ``deadline``: seconds after which :class:`asyncio.TimeoutError` is raised (the provider
        is answered 503 and re-sends); a record that still commits later is handled then, so
        the re-sent copy, acknowledged as a replay, loses nothing.
        """
        recording = asyncio.get_running_loop().run_in_executor(
            _ACK_THREADS, self._record, provider_id, sender_hash, payload)
        try:
            delivery_id, is_new, behind = await asyncio.wait_for(asyncio.shield(recording), deadline)
        except asyncio.TimeoutError:
            recording.add_done_callback(
                lambda done: self._recorded_late(done, str(provider_id), sender_hash, payload))
            raise
        if is_new:
            self._spawn(delivery_id, sender_hash, payload, claimed=True, provider_id=str(provider_id), behind=behind)
        else:
            log.info("%s delivery %s was already received: acknowledged, not handled again",
                     self.channel, provider_id)
        return is_new

    async def accept_or_defer(self, provider_id: str, sender_hash: Optional[str], payload: dict) -> bool:
        """:meth:`accept` for a webhook: False (logged) when the delivery could not be recorded in time.

        The database may be locked past its busy timeout or unreachable, or the record may wait
        longer than :data:`ACK_DEADLINE_SECONDS`; the provider is then answered 503 and re-sends
        the delivery later, so nothing is lost and nothing half-done.
        """
        try:
            await self.accept(provider_id, sender_hash, payload, deadline=ACK_DEADLINE_SECONDS)
        except Exception as error:  # noqa: BLE001 - answered 503 by the caller
            log.error("%s delivery %s could not be recorded (%s); the provider is asked to re-send",
                      self.channel, provider_id, type(error).__name__)
            return False
        return True

    def _recorded_late(self, recording: "asyncio.Future", provider_id: str, sender_hash: Optional[str],
                       payload: dict) -> None:
        """A record that outlived its webhook's deadline committed after all: handle it now."""
        if recording.cancelled() or recording.exception() is not None:
            return  # nothing was recorded: the provider's re-sent copy will be
        delivery_id, is_new, behind = recording.result()
        if is_new:
            log.info("%s delivery %s was recorded after its webhook was answered 503; handling it",
                     self.channel, provider_id)
            self._spawn(delivery_id, sender_hash, payload, claimed=True, provider_id=provider_id, behind=behind)

    async def recover(self, limit: int = 500, scrub: bool = True) -> int:
        """Handle deliveries recorded but never handled (a replica died in between, or postponed).

        Only deliveries no live replica claims are taken (this replica's own from before a
        restart, free ones, lapsed ones). ``scrub``: also forget finished deliveries older than
        the dedupe horizon (at start-up; hourly after): providers re-send within minutes, so two
        days of ids is plenty (courier keeps about as long).
        """
        if scrub:
            await self.scrub()
        if self.outbox is not None:  # replies of turns already handled come first, in their order
            for task in await self.outbox.recover():
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        pending = await asyncio.to_thread(self._unhandled, limit)
        started = 0
        for delivery_id, sender_hash, payload, attempts, error in pending:
            if delivery_id in self._in_flight or delivery_id in self._retries or delivery_id in self._held:
                continue
            postponed = (error or "").startswith(POSTPONED)
            if attempts >= (MAX_POSTPONED_ATTEMPTS if postponed else MAX_ATTEMPTS):
                await asyncio.to_thread(self._fail, delivery_id, f"gave up after {attempts} attempts")
                log.error("%s delivery #%d was started %d times without finishing; not retried",
                          self.channel, delivery_id, attempts)
                continue
            self._spawn(delivery_id, sender_hash, payload)
            started += 1
        if started:
            log.info("%s: handling %d delivery(ies) received before the last shutdown", self.channel, started)
        return started

    async def upkeep(self, every: float = UPKEEP_SECONDS, recovery_every: float = RECOVERY_SECONDS) -> None:
        """For as long as the connector runs: keep this replica's claims, take over lapsed ones
        (another replica died) every ``recovery_every`` seconds; hourly, erase what the log no
        longer needs."""
        async def scrub_hourly() -> None:
            while True:
                await asyncio.sleep(every)
                try:
                    await self.scrub()
                except Exception:  # noqa: BLE001 - retried at the next round
                    log.exception("%s: scrubbing the inbound log failed", self.channel)

        async def claims() -> None:
            await asyncio.sleep(recovery_every)
            await run_every(recovery_every, self.keep_claims, log,
                            f"{self.channel}: renewing or recovering deliveries failed; trying again later")
        await asyncio.gather(scrub_hourly(), claims())

    async def keep_claims(self) -> int:
        """Renew the claims of what this replica works on, then recover lapsed deliveries; returns how many."""
        working = set(self._in_flight) | set(self._retries) | set(self._held)
        if self.outbox is not None:
            working |= self.outbox.working_ids()
        if working:
            def renew() -> int:
                with self.database.session() as session:
                    return InboundLog(session).renew(working, self.holder, CLAIM_SECONDS)
            await asyncio.to_thread(renew)
        return await self.recover(scrub=False)

    async def scrub(self) -> int:
        """Forget old deliveries, erase old failed payloads, checkpoint SQLite's log; returns rows erased."""
        def work() -> int:
            with self.database.session() as session:
                log_ = InboundLog(session)
                log_.purge(DEDUPE_HORIZON)
                erased = log_.scrub_failed(FAILED_RETENTION)
            self.database.checkpoint()
            return erased
        erased = await asyncio.to_thread(work)
        if erased:
            log.info("%s: erased the payloads of %d failed delivery(ies)", self.channel, erased)
        return erased

    def close(self) -> None:
        """Cancel the retries waiting for their time (they are tried again after a restart)."""
        for task in self._retries.values():
            task.cancel()
        self._retries.clear()
        if self.outbox is not None:
            self.outbox.close()

    async def drain(self) -> None:
        """Wait until every handling started so far has finished (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _spawn(self, delivery_id: int, sender_hash: Optional[str], payload: dict, claimed: bool = False,
               provider_id: str = "", behind: bool = False) -> None:
        self._in_flight.add(delivery_id)
        task = asyncio.get_running_loop().create_task(
            self._run(delivery_id, sender_hash, payload, claimed, provider_id, behind))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _lock_for(self, sender_hash: Optional[str]) -> asyncio.Lock:
        key = sender_hash or ""
        lock = self._sender_locks.get(key)
        if lock is None:
            lock = self._sender_locks[key] = asyncio.Lock()
            # Bounded: forget idle senders' locks (a held or awaited lock is never dropped).
            while len(self._sender_locks) > 10_000:
                oldest_key, oldest = next(iter(self._sender_locks.items()))
                if oldest.locked():
                    break
                del self._sender_locks[oldest_key]
        else:
            self._sender_locks.move_to_end(key)
        return lock

    async def _run(self, delivery_id: int, sender_hash: Optional[str], payload: dict, claimed: bool,
                   provider_id: str, behind: bool = False) -> None:
        try:
            async with self._lock_for(sender_hash):
                queue = self._waiting.get(sender_hash or "")
                if queue and queue[0] != delivery_id:
                    # An earlier message of this sender waits for a retry: this one goes after it,
                    # so the dialogue sees them in the order they were sent.
                    if delivery_id not in queue:
                        queue.append(delivery_id)
                    self._held[delivery_id] = (sender_hash, payload)
                    with contextlib.suppress(OperationalError):  # a note for operators only
                        await asyncio.to_thread(self._mark_postponed, delivery_id, f"after delivery #{queue[0]}")
                    return
                await self._handle(Delivery(self.channel, provider_id, delivery_id), sender_hash, payload, claimed,
                                   behind)
        finally:
            self._in_flight.discard(delivery_id)

    async def _handle(self, delivery: Delivery, sender_hash: Optional[str], payload: dict, claimed: bool,
                      behind: bool = False) -> None:
        """Claim, run the handler, finish (the caller holds the sender's lock).

        The database locked past its busy timeout or unreachable (OperationalError) at any step
        postpones the delivery, like a failed turn: it is tried again, nothing is lost. A step
        already done is safe to repeat (Rasa answers a completed turn from its stored replies).
        """
        delivery_id = delivery.id
        try:
            if not claimed:
                claim = await asyncio.to_thread(self._claim, delivery_id, sender_hash)
                if claim is None:  # handled or failed meanwhile, or another replica works on it
                    self._release_next(sender_hash, delivery_id)
                    return
                provider_id, attempts, error, behind = claim
                delivery = Delivery(self.channel, provider_id, delivery_id, attempts,
                                    apologised=(error or "").startswith(POSTPONED))
            if behind and not await self._wait_for_earlier(delivery_id, sender_hash):
                self._release_next(sender_hash, delivery_id)
                return
            token = CURRENT.set(delivery)
            try:
                result = await self.handler(payload)
            except Postponed as postponed:
                if not await self._postpone(delivery, sender_hash, payload, str(postponed)):
                    self._release_next(sender_hash, delivery_id)
                return
            except OperationalError:
                raise
            except Exception as error:  # noqa: BLE001 - one bad delivery must not stop the rest
                log.exception("%s delivery #%d could not be handled", self.channel, delivery_id)
                await asyncio.to_thread(self._fail, delivery_id, f"{type(error).__name__}: {error}"[:500])
                self._release_next(sender_hash, delivery_id)
                return
            finally:
                CURRENT.reset(token)
            recorded = await asyncio.to_thread(self._finish, delivery_id, result, sender_hash)
        except OperationalError as error:
            log.warning("%s delivery #%d: the database was not available (%s); tried again later",
                        self.channel, delivery_id, str(error.orig)[:80])
            if not await self._postpone(delivery, sender_hash, payload, "database not available"):
                self._release_next(sender_hash, delivery_id)
            return
        if isinstance(result, Answer):
            await self.outbox.send(delivery_id, sender_hash, recorded)  # still in line for this sender
        self._release_next(sender_hash, delivery_id)

    async def _wait_for_earlier(self, delivery_id: int, sender_hash: Optional[str]) -> bool:
        """Wait while an earlier delivery of this sender is still ``received`` (another replica
        handles it, or will); True when this one's turn has come.

        False after :data:`WAIT_FOR_EARLIER_SECONDS`: the claim is given up, so the next
        recovery round (any replica's) takes both in their order; nothing is lost.
        """
        started = asyncio.get_running_loop().time()
        pause = 0.05
        while True:
            state = await asyncio.to_thread(self._earlier_state, delivery_id, sender_hash)
            if state is None:
                return True
            if state == "free":  # its replica stopped (or it waits here): both are recovered, in order
                log.info("%s delivery #%d: an earlier message of its sender is in no live replica's hands; "
                         "recovering both in order", self.channel, delivery_id)
                break
            if asyncio.get_running_loop().time() - started > WAIT_FOR_EARLIER_SECONDS:
                log.warning("%s delivery #%d: an earlier message of its sender is still not handled; "
                            "left to the next recovery round", self.channel, delivery_id)
                break
            await asyncio.sleep(pause)
            pause = min(pause * 2, 1.0)
        with contextlib.suppress(OperationalError):
            await asyncio.to_thread(self._release_claim, delivery_id)
        if state == "free":
            task = asyncio.get_running_loop().create_task(self._recover_soon())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return False

    async def _recover_soon(self) -> None:
        """A recovery round right after this handling gave its place up (it runs once the lock is free)."""
        await asyncio.sleep(0)
        try:
            await self.recover(scrub=False)
        except Exception:  # noqa: BLE001 - the periodic round tries again
            log.exception("%s: recovering deliveries failed; the next round tries again", self.channel)

    async def _postpone(self, delivery: Delivery, sender_hash: Optional[str], payload: dict, reason: str) -> bool:
        """Keep the delivery for a later try; False when it has had its tries (then it is failed)."""
        if delivery.attempt >= MAX_POSTPONED_ATTEMPTS:
            await asyncio.to_thread(self._fail, delivery.id, f"gave up after {delivery.attempt} attempts: {reason}")
            log.error("%s delivery #%d still failed after %d attempts (%s); given up",
                      self.channel, delivery.id, delivery.attempt, reason)
            return False
        base = RETRY_BASE_SECONDS if self.retry_base is None else self.retry_base
        wait = min(base * 2 ** (delivery.attempt - 1), RETRY_MAX_SECONDS)
        try:
            await asyncio.to_thread(self._mark_postponed, delivery.id, reason, wait)
        except OperationalError:  # the retry below still happens; the row says "received" anyway
            log.warning("%s delivery #%d: could not note the postponement", self.channel, delivery.id)
        queue = self._waiting.setdefault(sender_hash or "", [])
        if delivery.id not in queue:
            queue.insert(0, delivery.id)
        log.warning("%s delivery #%d postponed after attempt %d (%s); next try in %.0f s",
                    self.channel, delivery.id, delivery.attempt, reason, wait)

        async def later() -> None:
            try:
                await asyncio.sleep(wait)
            finally:
                self._retries.pop(delivery.id, None)
            self._spawn(delivery.id, sender_hash, payload)
        self._retries[delivery.id] = asyncio.get_running_loop().create_task(later())
        return True

    def _release_next(self, sender_hash: Optional[str], delivery_id: int) -> None:
        """``delivery_id`` is done: the sender's next waiting message is handled now."""
        key = sender_hash or ""
        queue = self._waiting.get(key)
        if not queue or queue[0] != delivery_id:
            return
        queue.pop(0)
        if not queue:
            del self._waiting[key]
            return
        following = queue[0]
        held = self._held.pop(following, None)
        if held is not None:
            self._spawn(following, held[0], held[1])

    # Storage calls (synchronous; run in a worker thread).
    def _record(self, provider_id: str, sender_hash: Optional[str], payload: dict):
        """``(delivery_id, is_new, behind)``: behind, an earlier delivery of the sender still waits."""
        with self.database.session() as session:
            log_ = InboundLog(session)
            delivery_id, is_new = log_.record(self.channel, provider_id, sender_hash, payload, claimed=True,
                                              holder=self.holder, claim_seconds=CLAIM_SECONDS)
            behind = is_new and log_.earlier_waiting(self.channel, sender_hash, delivery_id)
            return delivery_id, is_new, behind

    def _unhandled(self, limit: int):
        with self.database.session() as session:
            rows = InboundLog(session).claim_for_recovery(self.channel, self.holder, CLAIM_SECONDS, limit)
            return [(row.id, row.sender_hash, row.payload, row.attempts, row.error) for row in rows]

    def _claim(self, delivery_id: int, sender_hash: Optional[str]):
        with self.database.session() as session:
            log_ = InboundLog(session)
            delivery = log_.claim(delivery_id, self.holder, CLAIM_SECONDS)
            if delivery is None:
                return None
            behind = log_.earlier_waiting(self.channel, delivery.sender_hash, delivery_id)
            return delivery.provider_id, delivery.attempts, delivery.error, behind

    def _earlier_state(self, delivery_id: int, sender_hash: Optional[str]) -> Optional[str]:
        with self.database.reading() as session:
            return InboundLog(session).earlier_state(self.channel, sender_hash, delivery_id, self.holder)

    def _release_claim(self, delivery_id: int) -> None:
        with self.database.session() as session:
            InboundLog(session).release(delivery_id, self.holder)

    def _mark_postponed(self, delivery_id: int, reason: str, wait: Optional[float] = None) -> None:
        """Noted for operators; with ``wait``, the claim is kept until the retry is due (and a margin)."""
        until = dt.datetime.utcnow() + dt.timedelta(seconds=wait + CLAIM_SECONDS) if wait is not None else None
        with self.database.session() as session:
            InboundLog(session).postpone(delivery_id, f"{POSTPONED}: {reason}", self.holder if until else None, until)

    def _finish(self, delivery_id: int, result: Union[Answer, Finisher, None], sender_hash: Optional[str]) -> list:
        """One transaction: the turn's writes, its replies into the outbox, and "handled"; returns the replies."""
        answer = result if isinstance(result, Answer) else None
        if answer is not None and self.outbox is None:
            raise RuntimeError(f"{self.channel}: a handler answered but the intake has no reply sender")
        finisher = answer.finisher if answer is not None else result

        def write(session, with_finisher: bool) -> list:
            if with_finisher and finisher is not None:
                finisher(session)
            recorded = self.outbox.record(session, delivery_id, sender_hash, answer) if answer is not None else []
            InboundLog(session).mark_handled(delivery_id)
            return recorded
        if finisher is not None:
            try:
                with self.database.session() as session:
                    return write(session, True)
            except OperationalError:  # the database locked or gone: nothing was written, tried again
                raise
            except Exception:  # noqa: BLE001 - Rasa's turn is done: never run this delivery again
                log.exception("%s delivery #%d: the writes after handling failed; marking it handled without them",
                              self.channel, delivery_id)
        with self.database.session() as session:
            return write(session, False)

    def _fail(self, delivery_id: int, error: str) -> None:
        with self.database.session() as session:
            InboundLog(session).mark_failed(delivery_id, error)
