import asyncio

import pytest
from rasa.core.channels.channel import UserMessage

from channels.collector import collector_class
from channels.relay import PATH, RasaRelay, RelayError, RelayInput, parse_relayed, relay_token
from tests.channels.harness import MENU_BUTTONS, Mounted, RecordingRasa, free_port, sanic_test_mode

KEY = b"test-identity-key-not-secret-0123456789"
TOKEN = relay_token(KEY)


@pytest.fixture(autouse=True)
def _sanic_test_mode():
    with sanic_test_mode():
        yield


def relayed(text: str, channel: str = "telegram", metadata=None) -> UserMessage:
    return UserMessage(text, collector_class(channel)(), f"{channel}:abc123", input_channel=channel,
                       metadata=metadata)


async def test_a_relayed_turn_reaches_rasa_with_its_channel_and_metadata_and_brings_back_the_replies():
    rasa = RecordingRasa()
    async with Mounted(RelayInput(TOKEN), rasa) as server:
        relay = RasaRelay(f"{server.base_url}{PATH}", TOKEN)
        message = relayed("menu", metadata={"attachments": 2, "speech": {"confidence": 0.8}})
        try:
            await relay(message)
        finally:
            await relay.close()
    seen = rasa.messages[0]
    assert (seen.text, seen.sender_id, seen.input_channel) == ("menu", "telegram:abc123", "telegram")
    assert seen.metadata == {"attachments": 2, "speech": {"confidence": 0.8}}
    assert seen.output_channel.name() == "telegram"  # channel-specific responses still apply
    assert message.output_channel.messages == [{
        "recipient_id": "telegram:abc123", "text": "Halo! Apa yang ingin Anda sampaikan?", "buttons": MENU_BUTTONS,
    }]


async def test_turns_share_one_connection_to_rasa():
    rasa = RecordingRasa()
    async with Mounted(RelayInput(TOKEN), rasa) as server:
        relay = RasaRelay(f"{server.base_url}{PATH}", TOKEN)
        try:
            for text in ("satu", "dua", "tiga"):
                await relay(relayed(text, channel="sms"))
            connector = relay._client().connector
            assert sum(len(idle) for idle in connector._conns.values()) == 1
        finally:
            await relay.close()
    assert rasa.texts() == ["satu", "dua", "tiga"]


async def test_a_caller_without_the_gateways_token_is_refused_and_nothing_reaches_rasa():
    rasa = RecordingRasa()
    async with Mounted(RelayInput(TOKEN), rasa) as server:
        wrong = RasaRelay(f"{server.base_url}{PATH}", relay_token(b"another-key-0123456789"))
        try:
            with pytest.raises(RelayError, match="403"):
                await wrong(relayed("halo"))
        finally:
            await wrong.close()
        status, _ = await server.post(PATH, json={"sender": "telegram:x", "text": "halo", "input_channel": "telegram"})
    assert status == 403
    assert rasa.messages == []


async def test_a_turn_that_fails_in_rasa_is_reported_as_failed_not_as_no_replies():
    async def failing(message):
        await message.output_channel.send_text_message(message.sender_id, "setengah jalan")
        raise RuntimeError("action server down")

    async with Mounted(RelayInput(TOKEN), failing) as server:
        relay = RasaRelay(f"{server.base_url}{PATH}", TOKEN)
        message = relayed("halo")
        try:
            with pytest.raises(RelayError, match="500"):
                await relay(message)
        finally:
            await relay.close()
    assert message.output_channel.messages == []


async def test_a_body_that_is_not_a_relayed_message_gets_400():
    rasa = RecordingRasa()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with Mounted(RelayInput(TOKEN), rasa) as server:
        status, _ = await server.post(PATH, json={"text": "halo"}, headers=headers)
        assert status == 400
        status, _ = await server.post(PATH, data=b"{not json", headers={**headers, "Content-Type": "application/json"})
        assert status == 400
    assert rasa.messages == []


@pytest.mark.parametrize("body", [
    None, [], "halo",
    {"sender": "", "text": "halo", "input_channel": "telegram"},
    {"sender": "telegram:x", "text": None, "input_channel": "telegram"},
    {"sender": "telegram:x", "text": "halo", "input_channel": "../rest"},
    {"sender": "telegram:x", "text": "halo", "input_channel": "telegram", "metadata": ["a"]},
])
def test_only_a_sender_a_text_a_channel_name_and_a_metadata_object_make_a_relayed_message(body):
    assert parse_relayed(body) is None


def test_missing_metadata_is_an_empty_object():
    assert parse_relayed({"sender": "sms:x", "text": "1", "input_channel": "sms"})["metadata"] == {}


async def test_the_relay_waits_for_a_rasa_that_is_still_starting():
    rasa = RecordingRasa()
    port = free_port()
    relay = RasaRelay(f"http://127.0.0.1:{port}{PATH}", TOKEN, wait_for_rasa=30)
    message = relayed("halo")
    turn = asyncio.create_task(relay(message))
    await asyncio.sleep(0.6)
    assert not turn.done()
    try:
        async with Mounted(RelayInput(TOKEN), rasa, port=port):
            await asyncio.wait_for(turn, 20)
    finally:
        await relay.close()
    assert message.output_channel.messages[0]["text"] == "Pesan diterima: halo"


async def test_the_relay_gives_up_when_rasa_stays_away():
    relay = RasaRelay(f"http://127.0.0.1:{free_port()}{PATH}", TOKEN, wait_for_rasa=0.5)
    try:
        with pytest.raises(RelayError, match="unreachable"):
            await relay(relayed("halo"))
    finally:
        await relay.close()


async def test_a_reply_that_does_not_arrive_in_time_fails_the_turn():
    rasa = RecordingRasa()
    rasa.hold.clear()
    async with Mounted(RelayInput(TOKEN), rasa) as server:
        relay = RasaRelay(f"{server.base_url}{PATH}", TOKEN, timeout=0.5)
        try:
            with pytest.raises(RelayError, match="TimeoutError"):
                await relay(relayed("halo"))
        finally:
            rasa.hold.set()
            await relay.close()


def test_the_token_depends_on_the_identity_key():
    assert relay_token(KEY) == relay_token(KEY)
    assert relay_token(KEY) != relay_token(b"another-key-0123456789")
    assert len(relay_token(KEY)) == 64
