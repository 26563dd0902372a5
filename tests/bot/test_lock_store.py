"""bot/lock_store.py: the Rasa servers' shared lock, on a real Redis, when a server dies mid-turn.

Each store below stands for one Rasa server; a ticket issued and never cleaned up is what a
server killed with SIGKILL during a turn leaves behind.
"""
from __future__ import annotations

import asyncio
import threading

import pytest
from rasa.core.lock_store import LockStore, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from bot.lock_store import LeasedRedisLockStore
from bot.rasa_project import lock_store_config

CONVERSATION = "telegram-" + "cd" * 32


def server(redis_url: str, ticket_lifetime: float) -> LockStore:
    """A Rasa server's lock store, built by Rasa from the endpoints.yml entry we write."""
    return LockStore.create(EndpointConfig.from_dict({**lock_store_config(redis_url),
                                                      "ticket_lifetime": ticket_lifetime}))


@pytest.fixture(autouse=True)
def _fresh_lock(redis_url):
    server(redis_url, 1).delete_lock(CONVERSATION)
    yield


def test_the_rasa_servers_get_the_leased_store_with_rasas_settings(redis_url):
    store = server(redis_url, 7)
    assert isinstance(store, LeasedRedisLockStore) and isinstance(store, RedisLockStore)
    assert store.ticket_lifetime == 7 and store.key_prefix == "sapalapor:lock:"
    assert LeasedRedisLockStore().ticket_lifetime < 60  # a dead server's ticket lapses well before nginx gives up


async def test_a_turn_retried_behind_a_killed_servers_ticket_runs_once_that_ticket_lapses(redis_url):
    killed, survivor = server(redis_url, 1.0), server(redis_url, 1.0)
    killed.issue_ticket(CONVERSATION)  # mid-turn when it was killed: never cleaned up

    async def retried_turn():
        # The retry takes its ticket right behind the dead one, within the same poll interval:
        # Rasa's own store then saw both expire together and waited for ever on an empty lock.
        async with survivor.lock(CONVERSATION, wait_time_in_seconds=1):
            return "ran"

    assert await asyncio.wait_for(retried_turn(), timeout=30) == "ran"
    assert survivor.get_lock(CONVERSATION) is None  # cleaned up: the next turn does not wait


async def test_a_turn_longer_than_the_ticket_lifetime_keeps_the_conversation_locked(redis_url):
    first, second = server(redis_url, 0.5), server(redis_url, 0.5)
    order = []

    async def long_turn():
        async with first.lock(CONVERSATION, wait_time_in_seconds=0.05):
            order.append("long start")
            await asyncio.sleep(2.0)  # four lifetimes: the lease is renewed while the turn runs
            order.append("long end")

    async def next_turn():
        while not order:
            await asyncio.sleep(0.01)
        async with second.lock(CONVERSATION, wait_time_in_seconds=0.05):
            order.append("next start")

    await asyncio.wait_for(asyncio.gather(long_turn(), next_turn()), timeout=30)
    assert order == ["long start", "long end", "next start"]


async def test_a_waiter_whose_ticket_vanished_queues_again_instead_of_waiting_for_ever(redis_url):
    holder, waiter = server(redis_url, 5), server(redis_url, 5)
    release = asyncio.Event()
    order = []

    async def holding():
        async with holder.lock(CONVERSATION, wait_time_in_seconds=0.05):
            order.append("held")
            await release.wait()

    async def waiting():
        async with waiter.lock(CONVERSATION, wait_time_in_seconds=0.05):
            order.append("waiter ran")

    tasks = [asyncio.ensure_future(holding())]
    while not order:
        await asyncio.sleep(0.01)
    tasks.append(asyncio.ensure_future(waiting()))
    while len(holder.get_lock(CONVERSATION).tickets) < 2:
        await asyncio.sleep(0.01)
    waiters_ticket = holder.get_lock(CONVERSATION).tickets[-1].number
    holder.finish_serving(CONVERSATION, waiters_ticket)  # gone, as if it had lapsed
    await asyncio.sleep(0.3)
    assert order == ["held"]  # still behind the live holder
    release.set()
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=30)
    assert order == ["held", "waiter ran"]


def test_tickets_issued_by_two_servers_at_once_are_all_kept(redis_url):
    stores = [server(redis_url, 60), server(redis_url, 60)]
    start = threading.Barrier(2)

    def issue(store):
        start.wait()
        for _ in range(100):
            store.issue_ticket(CONVERSATION)

    threads = [threading.Thread(target=issue, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    numbers = [ticket.number for ticket in stores[0].get_lock(CONVERSATION).tickets]
    assert numbers == list(range(200))  # none lost to a concurrent read-then-write


def test_the_leased_store_refuses_a_rasa_it_was_not_written_for():
    from bot.lock_store import check_rasa_version

    check_rasa_version()  # the installed one
    with pytest.raises(RuntimeError, match="written for Rasa 3.6.21"):
        check_rasa_version("3.7.0")
