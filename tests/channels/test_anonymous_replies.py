from __future__ import annotations

import pytest
from sqlalchemy import select

from channels.sms import SmsInput
from channels.twilio_send import ANONYMOUS_SENDER
from channels.whatsapp import WhatsAppInput
from storage.identity import identity_hash
from storage.models import OutboundMessage
from tests.channels.fakes.twilio_api import fixture, sign
from tests.channels.harness import (IDENTITY_KEY, TWILIO_AUTH_TOKEN, Mounted, free_port, sanic_test_mode, twilio_runtime)

PHONE = "+6281234567890"
FILED = "Terima kasih, laporan Anda sudah kami terima. Nomor laporan Anda: 1437-1325. Simpan nomor ini."
PIN = "Laporan ini anonim, jadi nama Anda tidak disimpan. Untuk mengecek status, Anda perlu PIN ini: 7766."
STATUS = "Status laporan 4821-7730: sudah diterima dan menunggu diperiksa petugas."
CONNECTORS = {"sms": SmsInput, "whatsapp": WhatsAppInput}
PAYLOADS = {"sms": "payload_sms_text", "whatsapp": "payload_whatsapp_text"}


class FilingRasa:
    def __init__(self, replies) -> None:
        self.replies = replies

    async def __call__(self, message) -> None:
        for text in self.replies:
            await message.output_channel.send_text_message(message.sender_id, text)


@pytest.fixture
def port():
    return free_port()


@pytest.fixture
def runtime(tmp_path, fake_twilio, port):
    return twilio_runtime(tmp_path / "data", fake_twilio.base_url, port)


async def converse(runtime, fake_twilio, port, kind, replies):
    params = fixture(PAYLOADS[kind], api=fake_twilio.base_url)
    url = f"http://127.0.0.1:{port}/webhooks/{kind}/webhook"
    with sanic_test_mode():
        async with Mounted(CONNECTORS[kind](runtime), FilingRasa(replies), port=port) as server:
            await server.post(f"/webhooks/{kind}/webhook", data=params,
                              headers={"X-Twilio-Signature": sign(TWILIO_AUTH_TOKEN, url, params)})
            await server.connector.intake.drain()
    with runtime.database.session() as session:
        return session.execute(select(OutboundMessage.sender_hash, OutboundMessage.body)).all()


@pytest.mark.parametrize("kind", ["sms", "whatsapp"])
async def test_the_replies_filing_an_anonymous_report_are_logged_without_sender_number_or_pin(
        runtime, fake_twilio, port, kind):
    rows = await converse(runtime, fake_twilio, port, kind, [FILED, PIN])

    assert "7766" in " ".join(fake_twilio.bodies()) and "1437-1325" in " ".join(fake_twilio.bodies())
    assert rows
    for sender_hash, body in rows:
        assert sender_hash == ANONYMOUS_SENDER
        assert "7766" not in body and "1437" not in body and "1325" not in body


@pytest.mark.parametrize("kind", ["sms", "whatsapp"])
async def test_ordinary_replies_stay_linked_but_never_keep_a_tracking_number(runtime, fake_twilio, port, kind):
    rows = await converse(runtime, fake_twilio, port, kind, [STATUS])

    [(sender_hash, body)] = rows
    assert sender_hash == identity_hash(IDENTITY_KEY.encode(), kind, PHONE)
    assert body == "Status laporan <nomor laporan>: sudah diterima dan menunggu diperiksa petugas."
