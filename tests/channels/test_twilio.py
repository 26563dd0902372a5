from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select, update as sql_update

from accessibility.pipeline import Outgoing
from channels import twilio_connector
from channels.sms import SmsInput
from channels.twilio_format import numbered_choices
from channels.twilio_send import TwilioSender
from channels.twilio_http import RoutedHttpClient
from channels.twilio_kinds import SMS
from channels.whatsapp import WhatsAppInput
from storage.identity import identity_hash
from storage.models import (Attachment, DeliveryStatusEvent, InboundDelivery, MediaLink, OutboundMessage, Reporter,
                            utcnow)
from tests.channels.fakes.twilio_api import FakeTwilio, fixture, sign
from tests.support.http import loopback_route
from tests.channels.harness import (IDENTITY_KEY, TWILIO_ACCOUNT, TWILIO_AUTH_TOKEN, Mounted, RecordingRasa, free_port,
                                    sanic_test_mode, twilio_runtime)

ACCOUNT = TWILIO_ACCOUNT
AUTH_TOKEN = TWILIO_AUTH_TOKEN
PHONE = "+6281234567890"
ADDRESS = {"sms": PHONE, "whatsapp": f"whatsapp:{PHONE}"}
CONNECTORS = {"sms": SmsInput, "whatsapp": WhatsAppInput}


@pytest.fixture
def port():
    return free_port()


@pytest.fixture
def runtime(tmp_path, fake_twilio, port):
    return twilio_runtime(tmp_path / "data", fake_twilio.base_url, port)


async def mount(kind, runtime, port, rasa=None):
    rasa = rasa or RecordingRasa()
    server = Mounted(CONNECTORS[kind](runtime), rasa, port=port)
    server.rasa = rasa
    await server.__aenter__()
    return server


@pytest.fixture(params=["sms", "whatsapp"])
async def mounted(request, runtime, port):
    with sanic_test_mode():
        server = await mount(request.param, runtime, port)
        server.kind = request.param
        yield server
        await server.stop()


def payload(name: str, fake: FakeTwilio) -> dict:
    return fixture(name, api=fake.base_url)


async def post_signed(server, route: str, params: dict, token: str = AUTH_TOKEN, signature=None):
    url = f"http://127.0.0.1:{server.port}/webhooks/{server.connector.name()}/{route}"
    headers = {"X-Twilio-Signature": signature if signature is not None else sign(token, url, params)}
    status, body = await server.post(f"/webhooks/{server.connector.name()}/{route}", data=params, headers=headers)
    if server.connector.intake is not None:
        await server.connector.intake.drain()
    return status, body


def count(runtime, model, *where) -> int:
    with runtime.database.session() as session:
        return session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def hashed(kind: str) -> str:
    return identity_hash(IDENTITY_KEY.encode(), kind, PHONE)


TEXT_PAYLOAD = {"sms": "payload_sms_text", "whatsapp": "payload_whatsapp_text"}


async def test_signed_message_is_acknowledged_with_empty_twiml_and_handled(mounted, fake_twilio, runtime):
    kind = mounted.kind
    status, body = await post_signed(mounted, "webhook", payload(TEXT_PAYLOAD[kind], fake_twilio))

    assert status == 200
    assert body.endswith("<Response></Response>")
    assert len(mounted.rasa.messages) == 1
    message = mounted.rasa.messages[0]
    assert message.sender_id == f"{kind}-{hashed(kind)}"
    assert message.metadata["channel"] == kind
    assert message.output_channel.name() == kind
    assert [(sent.to, sent.from_) for sent in fake_twilio.messages] == [
        (ADDRESS[kind], {"sms": "+6281100001708", "whatsapp": "whatsapp:+14155238886"}[kind])]
    assert fake_twilio.messages[0].status_callback == f"http://127.0.0.1:{mounted.port}/webhooks/{kind}/status"
    with runtime.database.session() as session:
        reporter = session.execute(select(Reporter)).scalar_one()
        outbound = session.execute(select(OutboundMessage)).scalar_one()
    assert (reporter.channel, reporter.identity_hash, reporter.address) == (kind, hashed(kind), ADDRESS[kind])
    # Only WhatsApp's window needs the time of the last message, and only to the hour.
    if kind == "whatsapp":
        assert (reporter.last_inbound_at.minute, reporter.last_inbound_at.second) == (0, 0)
    else:
        assert reporter.last_inbound_at is None
    assert (outbound.state, outbound.provider_message_id) == ("queued", fake_twilio.messages[0].sid)


@pytest.mark.parametrize("forgery", ["wrong token", "missing", "tampered body", "other url"])
async def test_forged_signature_is_refused_and_nothing_handled(mounted, fake_twilio, runtime, forgery):
    params = payload(TEXT_PAYLOAD[mounted.kind], fake_twilio)
    url = f"http://127.0.0.1:{mounted.port}/webhooks/{mounted.kind}/webhook"
    signature = {
        "wrong token": sign("f" * 32, url, params),
        "missing": "",
        "tampered body": sign(AUTH_TOKEN, url, {**params, "Body": "teks lain"}),
        "other url": sign(AUTH_TOKEN, url.replace("/webhook", "/other"), params),
    }[forgery]

    status, _ = await post_signed(mounted, "webhook", params, signature=signature)

    assert status == 403
    assert count(runtime, InboundDelivery) == 0
    assert mounted.rasa.messages == []
    assert fake_twilio.messages == []


async def test_replayed_delivery_is_acknowledged_and_handled_once(mounted, fake_twilio, runtime):
    params = payload(TEXT_PAYLOAD[mounted.kind], fake_twilio)

    statuses = [(await post_signed(mounted, "webhook", params))[0] for _ in range(3)]

    assert statuses == [200, 200, 200]
    assert len(mounted.rasa.messages) == 1
    assert len(fake_twilio.messages) == 1
    assert count(runtime, InboundDelivery) == 1


@pytest.mark.parametrize("kind", ["sms", "whatsapp"])
async def test_delivery_acknowledged_but_not_handled_before_a_kill_is_handled_once_after_restart(
        kind, runtime, port, fake_twilio):
    params = payload(TEXT_PAYLOAD[kind], fake_twilio)
    first_rasa = RecordingRasa()
    first_rasa.hold.clear()
    with sanic_test_mode():
        first = await mount(kind, runtime, port, first_rasa)
        url = f"http://127.0.0.1:{port}/webhooks/{kind}/webhook"
        status, _ = await first.post(f"/webhooks/{kind}/webhook", data=params,
                                     headers={"X-Twilio-Signature": sign(AUTH_TOKEN, url, params)})
        await first_rasa.received.wait()
        await first.kill()
        assert status == 200
        assert fake_twilio.messages == []

        second = await mount(kind, runtime, port)
        await second.connector.intake.drain()
        replay_status, _ = await post_signed(second, "webhook", params)
        await second.stop()

    assert replay_status == 200
    assert len(second.rasa.messages) == 1
    assert len(fake_twilio.messages) == 1
    assert count(runtime, InboundDelivery, InboundDelivery.state == "handled") == 1


async def test_sms_keyword_carries_the_event_code_and_buttons_become_numbered_choices(runtime, port, fake_twilio):
    with sanic_test_mode():
        server = await mount("sms", runtime, port)
        await post_signed(server, "webhook", payload("payload_sms_keyword", fake_twilio))
        answer = payload("payload_sms_text", fake_twilio)
        answer.update(Body="satu", MessageSid="SM" + "1" * 32, SmsSid="SM" + "1" * 32, SmsMessageSid="SM" + "1" * 32)
        await post_signed(server, "webhook", answer)
        await server.stop()

    first = server.rasa.messages[0]
    assert (first.text, first.metadata["event_code"]) == ("/greet", "SOSBDG01")
    assert fake_twilio.bodies()[0] == ("Halo! Apa yang ingin Anda sampaikan?\n"
                                       "Balas 1 untuk Pengaduan\nBalas 2 untuk Aspirasi\nBalas 3 untuk Minta informasi")
    assert server.rasa.texts()[1] == "/file_complaint"


async def test_typed_rasa_command_reaches_the_dialogue_as_plain_text(runtime, port, fake_twilio):
    params = payload("payload_sms_text", fake_twilio)
    params["Body"] = '/affirm{"privacy": "anonim"}'
    with sanic_test_mode():
        server = await mount("sms", runtime, port)
        await post_signed(server, "webhook", params)
        await server.stop()

    assert server.rasa.texts() == ['affirm{"privacy": "anonim"}']


async def test_whatsapp_prefilled_text_carries_the_event_code(runtime, port, fake_twilio):
    with sanic_test_mode():
        server = await mount("whatsapp", runtime, port)
        await post_signed(server, "webhook", payload("payload_whatsapp_text", fake_twilio))
        await server.stop()

    message = server.rasa.messages[0]
    assert (message.text, message.metadata["event_code"]) == ("Halo SapaLapor", "SOSBDG01")


async def test_whatsapp_image_is_downloaded_with_account_credentials_and_stored(runtime, port, fake_twilio):
    picture = b"\xff\xd8\xff\xe0" + b"JPEG bytes of a broken road" * 10
    fake_twilio.media["ME0000000000000000000000000image0"] = ("image/jpeg", picture)
    with sanic_test_mode():
        server = await mount("whatsapp", runtime, port)
        await post_signed(server, "webhook", payload("payload_whatsapp_image", fake_twilio))
        await server.stop()

    with runtime.database.session() as session:
        attachment = session.execute(select(Attachment)).scalar_one()
    assert (attachment.kind, attachment.media_type, attachment.sender_ref) == (
        "photo", "image/jpeg", f"whatsapp-{hashed('whatsapp')}")
    assert Path(attachment.storage_path).read_bytes() == picture
    assert fake_twilio.media_requests and all(header.startswith("Basic ") for header in fake_twilio.media_requests)
    assert fake_twilio.bodies() == [twilio_connector.ATTACHMENT_SAVED_REPLY]
    assert server.rasa.messages == []


async def test_sms_replies_are_gsm7_and_at_most_three_segments(runtime, port, fake_twilio):
    from channels.gsm7 import is_gsm7, segment_count

    long_reply = ("Terima kasih, laporan Anda “jalan rusak” sudah kami terima — kami akan mengecek… 🙏 " * 12)
    rasa = RecordingRasa()

    async def answer(message):
        await message.output_channel.send_text_message(message.sender_id, long_reply)
    with sanic_test_mode():
        server = await mount("sms", runtime, port, rasa)
        server.connector.intake.handler.conversation.on_new_message = answer
        await post_signed(server, "webhook", payload("payload_sms_text", fake_twilio))
        await server.stop()

    bodies = fake_twilio.bodies()
    assert len(bodies) >= 2
    assert all(is_gsm7(body) and segment_count(body) <= 3 for body in bodies)
    assert "“" not in "".join(bodies) and '"jalan rusak"' in bodies[0]


async def test_opted_out_recipient_is_marked_unreachable(runtime, port, fake_twilio):
    fake_twilio.opted_out.add(PHONE)
    with sanic_test_mode():
        server = await mount("sms", runtime, port)
        await post_signed(server, "webhook", payload("payload_sms_text", fake_twilio))
        await server.stop()

    with runtime.database.session() as session:
        reporter = session.execute(select(Reporter)).scalar_one()
        outbound = session.execute(select(OutboundMessage)).scalar_one()
    assert reporter.unreachable_at is not None
    assert (outbound.state, outbound.error_code) == ("unreachable", "21610")
    assert fake_twilio.attempts == 1


async def test_whatsapp_reply_outside_24_hours_is_kept_as_needs_template_and_not_sent(runtime, fake_twilio, caplog):
    connector = WhatsAppInput(runtime)
    with runtime.database.session() as session:
        from storage.repositories import ReporterRepository
        ReporterRepository(session).get_or_create("whatsapp", hashed("whatsapp"), ADDRESS["whatsapp"])
        ReporterRepository(session).touch_inbound("whatsapp", hashed("whatsapp"),
                                                  at=utcnow() - dt.timedelta(hours=25))

    result = await connector.sender.deliver(hashed("whatsapp"), ADDRESS["whatsapp"],
                                             [Outgoing(text="Laporan 4821-7730 sudah diteruskan.")])

    assert result.outcome == "needs_template"
    assert fake_twilio.attempts == 0
    with runtime.database.session() as session:
        outbound = session.execute(select(OutboundMessage)).scalar_one()
    # Stored without the tracking number (issue 13, D7: the outbound log never keeps one).
    assert (outbound.state, outbound.body) == ("needs_template", "Laporan <nomor laporan> sudah diteruskan.")
    assert any("24-hour window" in record.getMessage() and PHONE not in record.getMessage()
               for record in caplog.records)


async def test_whatsapp_voice_reply_is_served_from_an_expiring_media_link(runtime, port, fake_twilio):
    voice = b"OggS\x00\x02" + b"opus voice note" * 20
    with sanic_test_mode():
        server = await mount("whatsapp", runtime, port)
        with runtime.database.session() as session:
            from storage.repositories import ReporterRepository
            ReporterRepository(session).touch_inbound("whatsapp", hashed("whatsapp"))
        result = await server.connector.sender.deliver(
            hashed("whatsapp"), ADDRESS["whatsapp"], [Outgoing(text="Halo!", voice_ogg=voice)])
        media_url = fake_twilio.messages[1].media_urls[0]
        with runtime.database.session() as session:
            session.execute(sql_update(MediaLink).values(expires_at=utcnow() - dt.timedelta(seconds=1)))
        expired_status, _, _ = await server.get(media_url.split(str(port), 1)[1])
        await server.stop()

    assert result.sent == 2
    assert fake_twilio.messages[0].body == "Halo!"
    assert media_url.startswith(f"http://127.0.0.1:{port}/webhooks/whatsapp/media/")
    assert len(media_url.rsplit("/", 1)[1]) >= 40
    assert fake_twilio.messages[1].fetched_media == [(200, "audio/ogg", voice)]
    assert expired_status == 404


async def test_status_callback_is_recorded_when_signed(runtime, port, fake_twilio):
    with sanic_test_mode():
        server = await mount("whatsapp", runtime, port)
        await post_signed(server, "webhook", payload("payload_whatsapp_text", fake_twilio))
        sid = fake_twilio.messages[0].sid
        callback = fixture("payload_status_delivered", sid=sid)
        forged_status, _ = await post_signed(server, "status", callback, token="f" * 32)
        status, _ = await post_signed(server, "status", callback)
        await server.stop()

    assert (forged_status, status) == (403, 204)
    with runtime.database.session() as session:
        events = session.execute(select(DeliveryStatusEvent)).scalars().all()
        outbound = session.execute(select(OutboundMessage)).scalar_one()
    assert [(event.provider_message_id, event.status) for event in events] == [(sid, "delivered")]
    assert outbound.state == "delivered"


async def test_opt_out_reported_by_status_callback_marks_unreachable(runtime, port, fake_twilio):
    with sanic_test_mode():
        server = await mount("sms", runtime, port)
        await post_signed(server, "webhook", payload("payload_sms_text", fake_twilio))
        callback = fixture("payload_status_failed_opted_out", sid=fake_twilio.messages[0].sid)
        await post_signed(server, "status", callback)
        await server.stop()

    with runtime.database.session() as session:
        reporter = session.execute(select(Reporter)).scalar_one()
    assert reporter.unreachable_at is not None


async def test_throttled_send_is_retried_after_retry_after_and_sent_once(runtime, port, fake_twilio):
    fake_twilio.busy_once = 1
    with sanic_test_mode():
        server = await mount("sms", runtime, port)
        await post_signed(server, "webhook", payload("payload_sms_text", fake_twilio))
        await server.stop()

    assert fake_twilio.attempts == 2
    assert len(fake_twilio.messages) == 1


async def test_send_that_timed_out_after_leaving_is_not_retried(runtime, fake_twilio):
    from aiohttp import web

    attempts = []
    release = asyncio.Event()

    async def slow(request):
        attempts.append(await request.post())
        await release.wait()  # answers only after the client has given up
        return web.json_response({}, status=201)
    from twilio.rest import Client

    async with loopback_route("POST", "/2010-04-01/Accounts/{sid}/Messages.json", slow) as base:
        client = Client(ACCOUNT, AUTH_TOKEN, http_client=RoutedHttpClient(base, timeout=0.5))
        gateway = TwilioSender(SMS, runtime, client, "+6281100001708")
        try:
            result = await gateway.deliver(hashed("sms"), PHONE, [Outgoing(text="Halo")])
        finally:
            release.set()
            await client.http_client.close()

    assert result.outcome == "failed"
    assert len(attempts) == 1


def test_numbered_choices_do_not_repeat_a_number_already_in_the_label():
    buttons = [{"title": "1 Sangat tidak puas", "payload": "/affirm"}, {"title": "Puas", "payload": "/affirm"}]

    assert numbered_choices(buttons) == "Balas 1 untuk Sangat tidak puas\nBalas 2 untuk Puas"
