from __future__ import annotations

from types import SimpleNamespace

import pytest
from rasa.core.channels.channel import UserMessage
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from channels.collector import collector_class
from channels.delivery import CURRENT, Delivery
from channels.relay import PATH, RasaRelay, RelayError, RelayInput, relay_token
from tests.channels.harness import MENU_BUTTONS, Mounted, RecordingRasa, sanic_test_mode

TOKEN = relay_token(b"test-identity-key-not-secret-0123456789")
SENDER = "telegram-" + "ab" * 32


@pytest.fixture(autouse=True)
def _sanic_test_mode():
    with sanic_test_mode():
        yield


def relayed(text: str) -> UserMessage:
    return UserMessage(text, collector_class("telegram")(), SENDER, input_channel="telegram")


async def answered_store() -> InMemoryTrackerStore:
    store = InMemoryTrackerStore(Domain.empty())
    await store.save(DialogueStateTracker.from_events(SENDER, [
        UserUttered("halo", message_id="telegram:1"),
        BotUttered("Halo! Apa yang ingin Anda sampaikan?", {"buttons": MENU_BUTTONS}),
        ActionExecuted("action_listen"),
        UserUttered("jalan rusak", message_id="telegram:2"),
        BotUttered("Di mana tempatnya?", metadata={"expects": "location", "utter_action": "utter_ask_location"}),
        BotUttered("Sebutkan patokannya.", {"custom": {"expects": "location"}}),
        ActionExecuted("action_listen"),
        UserUttered("kemarin", message_id="telegram:3"),
    ]))
    return store


async def test_each_message_carries_its_delivery_id_into_rasa():
    rasa = RecordingRasa()
    async with Mounted(RelayInput(TOKEN), rasa) as server:
        relay = RasaRelay(f"{server.base_url}{PATH}", TOKEN)
        token = CURRENT.set(Delivery("telegram", "700100005", 7))
        try:
            await relay(relayed("halo"))
        finally:
            CURRENT.reset(token)
            await relay.close()
    assert rasa.messages[0].message_id == "telegram:700100005"


async def test_a_retried_message_rasa_already_answered_gets_the_stored_replies_and_is_not_run_again():
    rasa = RecordingRasa()
    async with Mounted(RelayInput(TOKEN), rasa) as server:
        server.app.ctx.agent = SimpleNamespace(tracker_store=await answered_store())
        relay = RasaRelay(f"{server.base_url}{PATH}", TOKEN)
        message = relayed("jalan rusak")
        token = CURRENT.set(Delivery("telegram", "2", 7, attempt=2))
        try:
            await relay(message)
        finally:
            CURRENT.reset(token)
            await relay.close()
    assert rasa.messages == []
    assert message.output_channel.messages == [
        {"recipient_id": SENDER, "text": "Di mana tempatnya?", "expects": "location"},
        {"recipient_id": SENDER, "text": "Sebutkan patokannya."},
        {"recipient_id": SENDER, "custom": {"expects": "location"}},
    ]


async def test_a_retried_message_rasa_never_completed_is_run():
    rasa = RecordingRasa()
    async with Mounted(RelayInput(TOKEN), rasa) as server:
        server.app.ctx.agent = SimpleNamespace(tracker_store=await answered_store())
        relay = RasaRelay(f"{server.base_url}{PATH}", TOKEN)
        token = CURRENT.set(Delivery("telegram", "4", 7, attempt=2))
        try:
            await relay(relayed("menu"))
        finally:
            CURRENT.reset(token)
            await relay.close()
    assert [message.message_id for message in rasa.messages] == ["telegram:4"]


async def test_a_failed_turn_is_retried_with_backoff_as_a_retry_and_then_answered():
    seen = []

    async def flaky(message):
        seen.append(message.message_id)
        if len(seen) < 3:
            raise RuntimeError("action server down")
        await message.output_channel.send_text_message(message.sender_id, "akhirnya")

    async with Mounted(RelayInput(TOKEN), flaky) as server:
        store = await answered_store()
        server.app.ctx.agent = SimpleNamespace(tracker_store=store)
        relay = RasaRelay(f"{server.base_url}{PATH}", TOKEN, base_delay=0.01)
        message = relayed("halo")
        token = CURRENT.set(Delivery("telegram", "9", 7))
        try:
            await relay(message)
        finally:
            CURRENT.reset(token)
            await relay.close()
    assert seen == ["telegram:9"] * 3
    assert message.output_channel.messages[0]["text"] == "akhirnya"


async def test_a_turn_failing_every_retry_raises_so_the_citizen_is_told():
    async def failing(message):
        raise RuntimeError("action server down")

    async with Mounted(RelayInput(TOKEN), failing) as server:
        relay = RasaRelay(f"{server.base_url}{PATH}", TOKEN, base_delay=0.01, attempts=3)
        token = CURRENT.set(Delivery("telegram", "9", 7))
        try:
            with pytest.raises(RelayError, match="3 time"):
                await relay(relayed("halo"))
        finally:
            CURRENT.reset(token)
            await relay.close()


@pytest.mark.parametrize("body, expected", [
    ({"text": "/", "message_id": "sms:SM1"}, ("/nlu_fallback", "sms:SM1", False)),
    ({"text": "x" * 10_000, "retry": True}, ("x" * 5000, None, True)),
    ({"text": "halo", "retry": "yes"}, ("halo", None, False)),
])
def test_rasas_side_caps_the_text_and_reads_the_message_id_and_retry_flag(body, expected):
    from channels.relay import parse_relayed

    message = parse_relayed({"sender": SENDER, "input_channel": "sms", **body})
    assert (message["text"], message["message_id"], message["retry"]) == expected


@pytest.mark.parametrize("message_id", [5, "", "sms", "sms:" + "a" * 81, "SMS:x", "sms:a b"])
def test_a_malformed_message_id_makes_no_relayed_message(message_id):
    from channels.relay import parse_relayed

    assert parse_relayed({"sender": SENDER, "text": "halo", "input_channel": "sms", "message_id": message_id}) is None
