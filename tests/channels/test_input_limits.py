from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select

from channels.limits import FALLBACK, MAX_TEXT_CHARS
from channels.connector_runtime import runtime_for
from channels.sms import SmsInput
from channels.telegram import TelegramInput
from channels.twilio_parse import MAX_MEDIA, TwilioInbound, parse_form
from channels.whatsapp import WhatsAppInput
from storage.models import InboundDelivery
from tests.channels.fakes.telegram_api import update
from tests.channels.fakes.twilio_api import fixture, sign
from tests.channels.harness import (TELEGRAM_TOKEN, TWILIO_ACCOUNT, TWILIO_AUTH_TOKEN, Mounted, RecordingRasa,
                                    channel_environ, free_port, mounted_with_recording, sanic_test_mode, settings_for)

SECRET = "limits_secret-0123456789"
CONNECTORS = {"sms": SmsInput, "whatsapp": WhatsAppInput}
PAYLOADS = {"sms": "payload_sms_text", "whatsapp": "payload_whatsapp_text"}


@pytest.fixture
def port():
    return free_port()


@pytest.fixture
def runtime(tmp_path, fake_twilio, fake_telegram, port):
    environ = channel_environ(
        tmp_path / "data", SAPALAPOR_SMS_ENABLED="true", SAPALAPOR_WHATSAPP_ENABLED="true",
        TWILIO_ACCOUNT_SID=TWILIO_ACCOUNT, TWILIO_AUTH_TOKEN=TWILIO_AUTH_TOKEN,
        TWILIO_SMS_FROM="+6281100001708", TWILIO_WHATSAPP_FROM="+14155238886",
        TWILIO_API_BASE_URL=fake_twilio.base_url, SAPALAPOR_PUBLIC_URL=f"http://127.0.0.1:{port}",
        SAPALAPOR_TELEGRAM_ENABLED="true", TELEGRAM_BOT_TOKEN=TELEGRAM_TOKEN, TELEGRAM_WEBHOOK_SECRET=SECRET,
        TELEGRAM_API_BASE_URL=fake_telegram.base_url)
    return runtime_for(settings_for(environ))


def recorded(runtime) -> int:
    with runtime.database.session() as session:
        return session.execute(select(func.count()).select_from(InboundDelivery)).scalar_one()


async def post_form(server, kind, params):
    url = f"http://127.0.0.1:{server.port}/webhooks/{kind}/webhook"
    status, _ = await server.post(f"/webhooks/{kind}/webhook", data=params,
                                  headers={"X-Twilio-Signature": sign(TWILIO_AUTH_TOKEN, url, params)})
    await server.connector.intake.drain()
    return status


MALFORMED = [
    {"NumMedia": "abc"}, {"NumMedia": "1.5"}, {"NumMedia": "1e3"}, {"NumMedia": "-1"}, {"NumMedia": "30000000"},
    {"NumSegments": "dua"}, {"MessageSid": "SM' OR 1=1 --"}, {"MessageSid": "S" * 80}, {"From": "+62" + "1" * 100},
    {"NumMedia": "1", "MediaUrl0": "file:///etc/passwd"}, {"NumMedia": "1", "MediaUrl0": "https://x/" + "a" * 3000},
]


@pytest.mark.parametrize("kind", ["sms", "whatsapp"])
@pytest.mark.parametrize("change", MALFORMED, ids=[str(case) [:40] for case in MALFORMED])
async def test_a_signed_but_malformed_twilio_form_is_refused_with_400_and_a_log_line(
        runtime, fake_twilio, port, caplog, kind, change):
    params = {**fixture(PAYLOADS[kind], api=fake_twilio.base_url), **change}
    with sanic_test_mode():
        async with Mounted(CONNECTORS[kind](runtime), RecordingRasa(), port=port) as server:
            status = await post_form(server, kind, params)

    assert status == 400
    assert "malformed form refused" in caplog.text
    assert recorded(runtime) == 0
    assert server.on_new_message.messages == []


def test_num_media_is_read_as_at_most_twilios_ten():
    params = {"MessageSid": "MM" + "0" * 32, "From": "whatsapp:+6281234567890", "NumMedia": "11"}
    params.update({f"MediaUrl{index}": f"https://api.twilio.com/m/{index}" for index in range(11)})

    inbound = parse_form(params)

    assert len(inbound.media) == MAX_MEDIA == 10
    assert TwilioInbound.from_payload(inbound.as_payload()) == inbound


async def test_the_inbound_log_keeps_the_parsed_message_only(runtime, fake_twilio, port):
    params = fixture("payload_sms_text", api=fake_twilio.base_url)
    with sanic_test_mode():
        server = Mounted(SmsInput(runtime), RecordingRasa(), port=port)
        server.on_new_message.hold.clear()  # still handling: the payload is still there
        async with server:
            assert await post_form_no_drain(server, "sms", params) == 200
            with runtime.database.session() as session:
                payload = session.execute(select(InboundDelivery.payload)).scalar_one()
            server.on_new_message.hold.set()

    assert payload == {"sid": params["MessageSid"], "from": params["From"], "body": params["Body"], "media": []}


async def post_form_no_drain(server, kind, params):
    url = f"http://127.0.0.1:{server.port}/webhooks/{kind}/webhook"
    status, _ = await server.post(f"/webhooks/{kind}/webhook", data=params,
                                  headers={"X-Twilio-Signature": sign(TWILIO_AUTH_TOKEN, url, params)})
    return status


@pytest.mark.parametrize("typed, to_rasa", [
    ("/", FALLBACK), ("//", FALLBACK), ("/ ", FALLBACK), ("!!!", FALLBACK), ("👍", FALLBACK), ("...", FALLBACK),
    ("x" * 1_000_000, "x" * MAX_TEXT_CHARS), ("halo", "halo"), ("/halo", "halo"),
])
async def test_degenerate_and_huge_texts_reach_rasa_as_a_message_it_can_answer(runtime, typed, to_rasa):
    message = update("payload_text")
    message["message"]["text"] = typed
    async with mounted_with_recording(TelegramInput(runtime)) as server:
        status, _ = await server.post("/webhooks/telegram/webhook", json=message,
                                      headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
        await server.connector.intake.drain()

    assert status == 200
    assert server.rasa.texts() == [to_rasa]


def test_the_gateway_reads_no_request_body_over_a_megabyte(tmp_path):
    from channels.gateway import MAX_REQUEST_BYTES, build_app

    assert MAX_REQUEST_BYTES <= 1024 * 1024
    app = build_app(settings_for(channel_environ(tmp_path / "data")), "http://127.0.0.1:9",
                    name=f"limits_{free_port()}")
    assert app.config.REQUEST_MAX_SIZE == MAX_REQUEST_BYTES


@pytest.mark.parametrize("change", [
    {"chat": "5512345678"}, {"from": True}, {"date": {"x": 1}}, {"voice": 1.5}, {"text": {"a": 1}},
    {"photo": [1, 2]}, {"location": {}},
])
async def test_a_malformed_telegram_update_is_acknowledged_and_dropped_with_a_log_line(runtime, caplog, change):
    message = update("payload_text")
    message["message"].update(change)
    async with mounted_with_recording(TelegramInput(runtime)) as server:
        status, _ = await server.post("/webhooks/telegram/webhook", json=message,
                                      headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
        await server.connector.intake.drain()
        callback = {"update_id": 700100999, "callback_query": {"id": "1", "message": "not a message"}}
        second, _ = await server.post("/webhooks/telegram/webhook", json=callback,
                                      headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
        await server.connector.intake.drain()

    assert (status, second) == (200, 200)
    assert server.rasa.messages == []
    with runtime.database.session() as session:
        states = session.execute(select(InboundDelivery.state)).scalars().all()
    assert set(states) == {"handled"}
    assert "not a well-formed update" in caplog.text
