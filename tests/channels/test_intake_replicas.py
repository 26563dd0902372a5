"""Two gateway replicas on one inbound log: each delivery handled once, a sender's messages in order.

The intakes are two ``Intake`` objects with different replica names on one database, as two
gateway processes would be; storage/repositories/inbound.py's claims decide between them.
"""
from __future__ import annotations

import asyncio

import pytest

from channels import intake as intake_module
from channels.intake import Intake
from storage.db import Database
from storage.models import InboundDelivery
from storage.repositories import InboundLog


@pytest.fixture
def database(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'replicas.db'}")
    database.migrate()
    yield database
    database.dispose()


class Handler:
    """Records what it handled, by replica; a text in ``hold`` waits until released."""

    def __init__(self) -> None:
        self.handled = []
        self.hold = {}

    def for_replica(self, name: str):
        async def handle(payload: dict):
            self.handled.append((name, payload["text"]))
            gate = self.hold.get(payload["text"])
            if gate is not None:
                await gate.wait()
            return None
        return handle

    def texts(self):
        return [text for _, text in self.handled]


async def eventually(predicate, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "the expected state never came"
        await asyncio.sleep(0.02)


def two_gateways(database, holding: str = ""):
    """A handler and two gateways' intakes on one log; ``holding``: a text whose handling waits."""
    handler = Handler()
    if holding:
        handler.hold[holding] = asyncio.Event()
    return (handler, Intake(database, "telegram", handler.for_replica("a"), holder="host-a:5005"),
            Intake(database, "telegram", handler.for_replica("b"), holder="host-b:5005"))


def states(database) -> list:
    with database.reading() as session:
        return [row.state for row in session.query(InboundDelivery).order_by(InboundDelivery.id)]


async def test_a_senders_second_message_received_by_the_other_gateway_waits_for_the_first(database):
    handler, gateway_a, gateway_b = two_gateways(database, holding="satu")

    await gateway_a.accept("1", "citizen", {"text": "satu"})
    await eventually(lambda: handler.texts() == ["satu"])
    await gateway_b.accept("2", "citizen", {"text": "dua"})
    await gateway_b.accept("3", "someone-else", {"text": "lain"})  # another sender is not held up
    await eventually(lambda: "lain" in handler.texts())
    await asyncio.sleep(0.5)
    assert "dua" not in handler.texts()

    handler.hold["satu"].set()
    await eventually(lambda: "dua" in handler.texts())
    await gateway_a.drain()
    await gateway_b.drain()
    assert handler.texts().index("satu") < handler.texts().index("dua")
    assert sorted(handler.texts()) == ["dua", "lain", "satu"]
    assert states(database) == ["handled"] * 3


async def test_recovery_on_the_other_gateway_leaves_a_delivery_in_hand_alone(database):
    handler, gateway_a, gateway_b = two_gateways(database, holding="satu")

    await gateway_a.accept("1", "citizen", {"text": "satu"})
    await eventually(lambda: handler.texts() == ["satu"])
    assert await gateway_b.recover() == 0
    assert await gateway_b.keep_claims() == 0
    handler.hold["satu"].set()
    await gateway_a.drain()
    assert handler.handled == [("a", "satu")]
    assert await gateway_b.recover() == 0


async def test_a_dead_gateways_delivery_is_handled_once_by_one_other_gateway_after_its_claim_lapsed(database):
    handler = Handler()
    with database.session() as session:  # gateway a recorded it, acknowledged it, and died
        InboundLog(session).record("telegram", "1", "citizen", {"text": "satu"}, claimed=True,
                                   holder="host-a:5005", claim_seconds=0.2)
    gateway_b = Intake(database, "telegram", handler.for_replica("b"), holder="host-b:5005")
    gateway_c = Intake(database, "telegram", handler.for_replica("c"), holder="host-c:5005")
    assert await gateway_b.keep_claims() == 0  # a's claim still runs
    await asyncio.sleep(0.3)
    started = await asyncio.gather(gateway_b.keep_claims(), gateway_c.keep_claims())
    await gateway_b.drain()
    await gateway_c.drain()
    assert sorted(started) == [0, 1]
    assert handler.texts() == ["satu"]
    assert states(database) == ["handled"]


async def test_a_message_behind_one_a_dead_gateway_left_is_handled_right_after_it(database):
    handler = Handler()
    with database.session() as session:
        InboundLog(session).record("telegram", "1", "citizen", {"text": "satu"}, claimed=True,
                                   holder="host-a:5005", claim_seconds=0.3)
    gateway_b = Intake(database, "telegram", handler.for_replica("b"), holder="host-b:5005")
    await gateway_b.accept("2", "citizen", {"text": "dua"})
    await asyncio.sleep(0.1)
    assert handler.texts() == []  # a's claim still runs: "dua" waits for "satu"
    await eventually(lambda: handler.texts() == ["satu", "dua"], timeout=10)
    await gateway_b.drain()
    assert states(database) == ["handled", "handled"]


async def test_a_gateway_renews_the_claims_of_what_it_works_on(database, monkeypatch):
    monkeypatch.setattr(intake_module, "CLAIM_SECONDS", 0.5)
    handler, gateway_a, gateway_b = two_gateways(database, holding="satu")
    await gateway_a.accept("1", "citizen", {"text": "satu"})
    await eventually(lambda: handler.texts() == ["satu"])
    for _ in range(4):  # a turn that outlasts its first claim, a renewal every 0.3 s
        await asyncio.sleep(0.3)
        await gateway_a.keep_claims()
        assert await gateway_b.keep_claims() == 0
    handler.hold["satu"].set()
    await gateway_a.drain()
    assert handler.handled == [("a", "satu")]


async def test_a_replay_that_reaches_the_other_gateway_is_acknowledged_and_not_handled(database):
    handler, gateway_a, gateway_b = two_gateways(database)
    assert await gateway_a.accept("1", "citizen", {"text": "satu"})
    assert not await gateway_b.accept("1", "citizen", {"text": "satu"})
    await gateway_a.drain()
    await gateway_b.drain()
    assert handler.handled == [("a", "satu")]


class RecordingSender:
    """A provider that takes everything: what a ReplyOutbox sends, in order."""

    def __init__(self) -> None:
        self.sent = []

    def units(self, reply):
        return [reply]

    async def send(self, address, reply, anonymous):
        from channels.reply_outbox import Sent

        self.sent.append((address, reply.text))
        return Sent("sent")

    async def already_delivered(self, address, reply, since):
        return False


async def test_replies_a_live_gateway_still_sends_are_not_resumed_by_another_until_its_claim_lapsed(database):
    from sqlalchemy import update

    from channels.reply_outbox import ReplyOutbox
    from storage.repositories.pending_replies import PendingReplies

    with database.session() as session:  # gateway a handled the turn; its reply is on its way
        delivery_id, _ = InboundLog(session).record("telegram", "1", "citizen", {"text": "satu"}, claimed=True,
                                                    holder="host-a:5005", claim_seconds=120)
        InboundLog(session).mark_handled(delivery_id)
        PendingReplies(session).record(delivery_id, "telegram", "5512345678", [{"reply": {"text": "Halo"}}],
                                       sender_key="citizen")
    sender = RecordingSender()
    locks = {}
    outbox_b = ReplyOutbox(database, "telegram", sender, lambda key: locks.setdefault(key, asyncio.Lock()),
                           holder="host-b:5005", claim_seconds=120)
    assert await outbox_b.recover() == []

    with database.session() as session:  # gateway a died before the provider took the reply
        session.execute(update(InboundDelivery).values(claimed_until=None))
    for task in await outbox_b.recover():
        await task
    assert sender.sent == [("5512345678", "Halo")]
    assert await outbox_b.recover() == []


async def test_two_gateways_send_a_status_update_once_and_the_survivor_takes_over(tmp_path):
    import dataclasses

    from channels.connector_runtime import runtime_for
    from channels.notifications import NotificationLoop
    from storage import lifecycle
    from tests.channels.harness import channel_environ, settings_for
    from tests.channels.test_notifications import file_and_verify

    runtime = runtime_for(settings_for(channel_environ(tmp_path / "data")))
    tracking_number = file_and_verify(runtime, "telegram", "5512345678", "5512345678")
    sent = []

    def sender(name):
        async def send(address, text, last_inbound_at):
            sent.append((name, address))
            return "sent"
        return send

    loop_a = NotificationLoop("telegram", dataclasses.replace(runtime, replica="host-a:5005"), sender("a"))
    loop_b = NotificationLoop("telegram", dataclasses.replace(runtime, replica="host-b:5005"), sender("b"))
    loop_a.lease.seconds = loop_b.lease.seconds = 0.5
    results = await asyncio.gather(loop_a.once(), loop_b.once())
    assert sorted(results) == [0, 1] and len(sent) == 1

    with runtime.database.session() as session:
        lifecycle.change_status(session, tracking_number, "diteruskan", agency="Dinas Pekerjaan Umum Kota Bandung")
    assert await loop_b.once() == 0  # a still holds the lease: a sends it, b does not
    await asyncio.sleep(0.6)  # a died: its lease lapses
    assert await loop_b.once() == 1
    assert [name for name, _ in sent][1:] == ["b"]
