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

Cost per delivery (it is on every channel turn): two transactions. Recording a new delivery
also counts its first handling attempt (the task that recorded it is the one that handles it),
so only deliveries resumed by :meth:`Intake.recover` are claimed separately. A handler may
return a *finisher*, a function of a Session that writes what the handling produced (e.g. the
outbound log of the replies sent); it runs in the transaction that marks the delivery handled,
so the turn's last writes and "handled" commit together or not at all.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Awaitable, Callable, Optional, Set

from storage.repositories import InboundLog

log = logging.getLogger(__name__)

# Writes a handling leaves for the transaction that marks its delivery handled.
Finisher = Callable[[Any], None]
Handler = Callable[[dict], Awaitable[Optional[Finisher]]]
# Recording a delivery is what the provider waits for; it gets threads of its own, so it never
# queues behind the handling work (profiles, replies, status) on asyncio's shared pool.
_ACK_THREADS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="intake-ack")
# A delivery whose handling was started this many times without finishing is not tried again
# at start-up: it is what crashed the process.
MAX_ATTEMPTS = 3
DEDUPE_HORIZON = dt.timedelta(days=2)


class Intake:
    """Records, acknowledges and hands on the deliveries of one channel."""

    def __init__(self, database, channel: str, handler: Handler) -> None:
        self.database = database
        self.channel = channel
        self.handler = handler
        self._tasks: Set[asyncio.Task] = set()
        self._in_flight: Set[int] = set()
        self._sender_locks: "OrderedDict[str, asyncio.Lock]" = OrderedDict()

    async def accept(self, provider_id: str, sender_hash: Optional[str], payload: dict) -> bool:
        """Record the delivery and start handling it if it is new; returns whether it was new.

        Returns as soon as the record is committed, so the caller can answer the provider.
        """
        delivery_id, is_new = await asyncio.get_running_loop().run_in_executor(
            _ACK_THREADS, self._record, provider_id, sender_hash, payload)
        if is_new:
            self._spawn(delivery_id, sender_hash, payload, claimed=True)
        else:
            log.info("%s delivery %s was already received: acknowledged, not handled again",
                     self.channel, provider_id)
        return is_new

    async def recover(self, limit: int = 500) -> int:
        """Handle deliveries recorded but never handled (the process died in between).

        Also forgets finished deliveries older than the dedupe horizon: providers re-send within
        minutes, so two days of ids is plenty (courier keeps about as long).
        """
        await asyncio.to_thread(self._purge)
        pending = await asyncio.to_thread(self._unhandled, limit)
        started = 0
        for delivery_id, sender_hash, payload, attempts in pending:
            if delivery_id in self._in_flight:
                continue
            if attempts >= MAX_ATTEMPTS:
                await asyncio.to_thread(self._fail, delivery_id, f"gave up after {attempts} attempts")
                log.error("%s delivery #%d was started %d times without finishing; not retried",
                          self.channel, delivery_id, attempts)
                continue
            self._spawn(delivery_id, sender_hash, payload)
            started += 1
        if started:
            log.info("%s: handling %d delivery(ies) received before the last shutdown", self.channel, started)
        return started

    async def drain(self) -> None:
        """Wait until every handling started so far has finished (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _spawn(self, delivery_id: int, sender_hash: Optional[str], payload: dict, claimed: bool = False) -> None:
        self._in_flight.add(delivery_id)
        task = asyncio.get_running_loop().create_task(self._run(delivery_id, sender_hash, payload, claimed))
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

    async def _run(self, delivery_id: int, sender_hash: Optional[str], payload: dict, claimed: bool) -> None:
        try:
            async with self._lock_for(sender_hash):
                if not claimed:
                    await asyncio.to_thread(self._claim, delivery_id)
                try:
                    finisher = await self.handler(payload)
                except Exception as error:  # noqa: BLE001 - one bad delivery must not stop the rest
                    log.exception("%s delivery #%d could not be handled", self.channel, delivery_id)
                    await asyncio.to_thread(self._fail, delivery_id, f"{type(error).__name__}: {error}"[:500])
                    return
                await asyncio.to_thread(self._finish, delivery_id, finisher)
        finally:
            self._in_flight.discard(delivery_id)

    # Storage calls (synchronous; run in a worker thread).
    def _record(self, provider_id: str, sender_hash: Optional[str], payload: dict):
        with self.database.session() as session:
            return InboundLog(session).record(self.channel, provider_id, sender_hash, payload, claimed=True)

    def _unhandled(self, limit: int):
        with self.database.session() as session:
            rows = InboundLog(session).unhandled(self.channel, limit)
            return [(row.id, row.sender_hash, row.payload, row.attempts) for row in rows]

    def _purge(self) -> None:
        with self.database.session() as session:
            InboundLog(session).purge(DEDUPE_HORIZON)

    def _claim(self, delivery_id: int) -> None:
        with self.database.session() as session:
            InboundLog(session).claim(delivery_id)

    def _finish(self, delivery_id: int, finisher: Optional[Finisher]) -> None:
        if finisher is not None:
            try:
                with self.database.session() as session:
                    finisher(session)
                    InboundLog(session).mark_handled(delivery_id)
                return
            except Exception:  # noqa: BLE001 - the replies went out: never handle this delivery again
                log.exception("%s delivery #%d: the writes after handling failed; marking it handled alone",
                              self.channel, delivery_id)
        with self.database.session() as session:
            InboundLog(session).mark_handled(delivery_id)

    def _fail(self, delivery_id: int, error: str) -> None:
        with self.database.session() as session:
            InboundLog(session).mark_failed(delivery_id, error)
