"""Rasa's Redis lock store, with tickets that live while their server does (a lease).

Why: several Rasa servers share Rasa 3.6's ``RedisLockStore`` so the turns of one conversation
run one at a time (deploy/, ``bot cluster``). Its tickets simply expire ``TICKET_LOCK_LIFETIME``
(60 s) after they were issued, and that broke the one case the shared lock is there for, a
server dying mid-turn (kill -9, an evicted pod):

* the dead server's ticket blocks the conversation for up to 60 s;
* the turn retried on another server takes a ticket right behind it, within the same second,
  so both expire between two of the waiter's one-second polls. The lock is then empty, and
  Rasa's ``is_locked`` compares the *first* ticket's number (0 when there is none) with the
  waiter's own: it waits for ever, re-saving the empty lock every second, until the caller gives
  up (nginx's ``proxy_read_timeout``, 180 s: the cluster's kill test took 183 s instead of 27 s);
* a turn longer than 60 s lost its lock silently and a second turn could run beside it;
* every change is a read, then a write, of one Redis key: two servers changing one lock at
  once lose one of the changes (a ticket issued, or one removed).

Here (same key, same JSON, so Rasa's own store reads these locks):

* each holder and waiter renews its own ticket every ``ticket_lifetime / 5`` seconds while it
  lives, so a ticket outlives its lifetime only while its server is alive: a dead server's
  ticket lapses within ``ticket_lifetime`` (:data:`TICKET_LIFETIME_SECONDS`, well inside the
  relay's and nginx's timeouts) and the retried turn runs then, and a long turn keeps its lock;
* a waiter whose ticket is gone all the same (its event loop stalled longer than the lifetime)
  takes a new one at the end of the queue instead of waiting for ever;
* every change is one optimistic Redis transaction (WATCH/MULTI), so none is lost.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import AsyncGenerator, Callable, Optional, Text

from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore

logger = logging.getLogger(__name__)

# Longer than any stall of a Rasa server's event loop (a renewal is due every fifth of it), far
# shorter than the relay's (300 s) and nginx's (180 s) timeouts: what a dead server's turn
# costs the conversation's next turn.
TICKET_LIFETIME_SECONDS = 15.0
_KEEP = object()  # a change that leaves the stored lock as it is


def check_rasa_version(version: Optional[str] = None) -> None:
    """Refuse another Rasa: ``lock`` and the ticket methods replaced here follow Rasa 3.6.21's
    ``RedisLockStore`` and ``TicketLock`` (fenced like bot/rasa_patches.py)."""
    import rasa

    from bot.rasa_patches import RASA_VERSION

    version = version or rasa.__version__
    if version != RASA_VERSION:
        raise RuntimeError(f"bot/lock_store.py is written for Rasa {RASA_VERSION}, not {version}: "
                           "check it against the new RedisLockStore before changing RASA_VERSION")


class LeasedRedisLockStore(RedisLockStore):
    """``lock_store: {type: bot.lock_store.LeasedRedisLockStore, ...}`` in Rasa's endpoints.yml.

    Takes the keys of Rasa's ``redis`` lock store (url, port, db, password, key_prefix, ...) and
    ``ticket_lifetime`` (seconds).
    """

    def __init__(self, endpoint_config=None, ticket_lifetime: float = TICKET_LIFETIME_SECONDS, **kwargs) -> None:
        check_rasa_version()
        if endpoint_config is not None:  # how Rasa builds a lock store named by its class
            kwargs = {"host": endpoint_config.url or "localhost", **endpoint_config.kwargs, **kwargs}
            ticket_lifetime = float(kwargs.pop("ticket_lifetime", ticket_lifetime))
        if ticket_lifetime <= 0:
            raise ValueError("ticket_lifetime must be positive")
        super().__init__(**kwargs)
        self.ticket_lifetime = float(ticket_lifetime)

    # --- one transaction per change -------------------------------------------------------

    def _change(self, conversation_id: Text, change: Callable[[Optional[TicketLock]], object]) -> None:
        """Apply ``change`` to the stored lock atomically; it returns the lock to save, None to
        delete it, or ``_KEEP``. Retried when another server changed the lock meanwhile."""
        import redis

        key = self.key_prefix + conversation_id
        with self.red.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    stored = pipe.get(key)
                    lock = TicketLock.from_dict(json.loads(stored)) if stored else None
                    result = change(lock)
                    if result is _KEEP:
                        pipe.unwatch()
                        return
                    pipe.multi()
                    if result is None:
                        pipe.delete(key)
                    else:
                        pipe.set(key, result.dumps())
                    pipe.execute()
                    return
                except redis.WatchError:
                    continue

    def issue_ticket(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME) -> int:
        """A new ticket at the end of the queue (``lock_lifetime`` is Rasa's; ours is the lease's)."""
        issued = []

        def change(lock: Optional[TicketLock]):
            lock = lock or self.create_lock(conversation_id)
            issued.append(lock.issue_ticket(self.ticket_lifetime))
            return lock

        try:
            self._change(conversation_id, change)
        except Exception as error:  # noqa: BLE001 - as Rasa's: the turn fails with a LockError
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error
        return issued[0]

    def renew(self, conversation_id: Text, ticket_number: int) -> bool:
        """Push the ticket's expiry ``ticket_lifetime`` ahead; False when it is gone."""
        found = []

        def change(lock: Optional[TicketLock]):
            ticket = next((t for t in lock.tickets if t.number == ticket_number), None) if lock else None
            if ticket is None or ticket.has_expired():
                return _KEEP
            ticket.expires = time.time() + self.ticket_lifetime
            found.append(ticket)
            return lock

        self._change(conversation_id, change)
        return bool(found)

    def update_lock(self, conversation_id: Text) -> None:
        def change(lock: Optional[TicketLock]):
            if lock is None:
                return _KEEP
            lock.remove_expired_tickets()
            return lock

        self._change(conversation_id, change)

    def finish_serving(self, conversation_id: Text, ticket_number: int) -> None:
        def change(lock: Optional[TicketLock]):
            if lock is None:
                return _KEEP
            lock.remove_ticket_for(ticket_number)
            return lock

        self._change(conversation_id, change)

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        """Remove the ticket, and the lock when no one else holds a ticket (one transaction)."""

        def change(lock: Optional[TicketLock]):
            if lock is None:
                return _KEEP
            lock.remove_ticket_for(ticket_number)
            return lock if lock.is_someone_waiting() else None

        self._change(conversation_id, change)

    # --- the lease --------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def lock(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME,
                   wait_time_in_seconds: float = 1) -> AsyncGenerator[TicketLock, None]:
        ticket = [self.issue_ticket(conversation_id)]
        renewing = asyncio.ensure_future(self._keep_renewing(conversation_id, ticket))
        try:
            yield await self._wait_for_turn(conversation_id, ticket, wait_time_in_seconds)
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
            self.cleanup(conversation_id, ticket[0])

    async def _keep_renewing(self, conversation_id: Text, ticket: list) -> None:
        while True:
            await asyncio.sleep(self.ticket_lifetime / 5)
            try:
                if not self.renew(conversation_id, ticket[0]):
                    logger.warning("the lock ticket of conversation '%s' lapsed before it was renewed "
                                   "(the event loop stalled for %.0f s)", conversation_id, self.ticket_lifetime)
            except Exception:  # noqa: BLE001 - Redis away for a moment: the next renewal may work
                logger.exception("could not renew the lock ticket of conversation '%s'", conversation_id)

    async def _wait_for_turn(self, conversation_id: Text, ticket: list, wait_time_in_seconds: float) -> TicketLock:
        while True:
            lock = self.get_lock(conversation_id)
            if lock is not None:
                lock.remove_expired_tickets()
                if lock.now_serving == ticket[0] and lock.tickets:
                    logger.debug(f"Acquired lock for conversation '{conversation_id}'.")
                    return lock
            if lock is None or all(t.number != ticket[0] for t in lock.tickets):
                # Our ticket is gone (it lapsed while this loop stalled): queue again at the end,
                # never wait for a ticket no one holds.
                ticket[0] = self.issue_ticket(conversation_id)
                logger.warning("the lock ticket of conversation '%s' had lapsed: queued again", conversation_id)
                continue
            await asyncio.sleep(wait_time_in_seconds)
