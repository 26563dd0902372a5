from __future__ import annotations

import logging

from channels.connector_runtime import runtime_for
from channels.sms import SmsInput
from channels.telegram import TelegramInput
from tests.channels.fakes.telegram_api import FakeTelegram, fixture as telegram_fixture
from tests.channels.fakes.twilio_api import FakeTwilio, fixture as twilio_fixture, sign
from tests.channels.harness import Mounted, RecordingRasa, channel_environ, free_port, sanic_test_mode, settings_for

TOKEN = "7000000001:AAF-log-token-0123456789abcdefghijk"
SECRET = "log_secret-0123456789"
ACCOUNT = "AC00000000000000000000000000000001"
AUTH_TOKEN = "0123456789abcdef0123456789abcdef"
PHONE = "+6281234567890"


async def test_tokens_secrets_and_phone_numbers_never_reach_the_logs(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    telegram = await FakeTelegram(TOKEN).start()
    twilio = await FakeTwilio(ACCOUNT, AUTH_TOKEN).start()
    telegram.blocked.add(5512345678)
    twilio.opted_out.add(PHONE)
    port = free_port()
    environ = channel_environ(tmp_path / "data", TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_WEBHOOK_SECRET=SECRET,
                              TELEGRAM_API_BASE_URL=telegram.base_url, TWILIO_ACCOUNT_SID=ACCOUNT,
                              TWILIO_AUTH_TOKEN=AUTH_TOKEN, TWILIO_SMS_FROM="+6281100001708",
                              TWILIO_API_BASE_URL=twilio.base_url, SAPALAPOR_PUBLIC_URL=f"http://127.0.0.1:{port}")
    runtime = runtime_for(settings_for(environ))
    params = twilio_fixture("payload_sms_text")
    url = f"http://127.0.0.1:{port}/webhooks/sms/webhook"
    try:
        with sanic_test_mode():
            async with Mounted(TelegramInput(runtime), RecordingRasa(), port=port) as server:
                await server.post("/webhooks/telegram/webhook", json=telegram_fixture("payload_text"),
                                  headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
                await server.post("/webhooks/telegram/webhook", json=telegram_fixture("payload_text"),
                                  headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"})
                await server.connector.intake.drain()
            async with Mounted(SmsInput(runtime), RecordingRasa(), port=port) as server:
                await server.post("/webhooks/sms/webhook", data=params,
                                  headers={"X-Twilio-Signature": sign(AUTH_TOKEN, url, params)})
                await server.post("/webhooks/sms/webhook", data=params, headers={"X-Twilio-Signature": "forged"})
                await server.connector.intake.drain()
    finally:
        await telegram.stop()
        await twilio.stop()

    assert telegram.sent("sendMessage") and twilio.attempts == 1
    logged = caplog.text
    assert "refused" in logged
    for secret in (TOKEN, TOKEN.split(":")[1], SECRET, AUTH_TOKEN, PHONE, PHONE[1:]):
        assert secret not in logged
