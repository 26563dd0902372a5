from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from channels.connector_runtime import runtime_for
from channels.telegram import TelegramInput
from channels.whatsapp import WhatsAppInput
from storage import lifecycle
from storage.identity import identity_hash
from storage.models import OutboundMessage, StatusChange, utcnow
from storage.repositories import ReportDraft, ReporterRepository, ReportRepository
from tests.channels.fakes.telegram_api import FakeTelegram
from tests.channels.fakes.twilio_api import FakeTwilio
from tests.channels.harness import IDENTITY_KEY, RecordingRasa, channel_environ, settings_for

TOKEN = "7000000001:AAF-notify-token-0123456789abcdefg"
ACCOUNT = "AC00000000000000000000000000000001"
AUTH_TOKEN = "0123456789abcdef0123456789abcdef"
CHAT = "5512345678"
PHONE = "+6281234567890"


def file_and_verify(runtime, channel: str, user_id: str, address: str) -> str:
    hashed = identity_hash(IDENTITY_KEY.encode(), channel, user_id)
    with runtime.database.session() as session:
        report = ReportRepository(session).file(ReportDraft(
            submission_key=f"notify-{channel}", report_type="pengaduan",
            description="Lampu jalan di gang kami mati sejak dua minggu lalu", location_text="Gang Mawar, Bandung",
            incident_date=None, privacy="biasa", channel=channel, identity_hash=hashed, address=address))
        lifecycle.change_status(session, report.tracking_number, "diverifikasi")
        return report.tracking_number


def notified(runtime) -> list:
    with runtime.database.session() as session:
        return [change.notified_at for change in session.execute(
            select(StatusChange).where(StatusChange.status == "diverifikasi")).scalars()]


async def test_telegram_sends_due_status_notifications_once(tmp_path):
    fake = await FakeTelegram(TOKEN).start()
    environ = channel_environ(tmp_path / "data", TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_WEBHOOK_SECRET="s3cret_token",
                              TELEGRAM_API_BASE_URL=fake.base_url, SAPALAPOR_PUBLIC_URL="https://sapalapor.example.org")
    runtime = runtime_for(settings_for(environ))
    tracking_number = file_and_verify(runtime, "telegram", CHAT, CHAT)
    connector = TelegramInput(runtime)
    try:
        await connector.prepare(RecordingRasa())
        loop = connector.notification_loop()
        first = await loop.once()
        second = await loop.once()
    finally:
        await connector.stop()
        await fake.stop()

    assert (first, second) == (1, 0)
    texts = fake.texts(int(CHAT))
    assert len(texts) == 1 and tracking_number in texts[0]
    assert all(notified(runtime))


async def test_whatsapp_notification_outside_24_hours_waits_as_needs_template(tmp_path):
    fake = await FakeTwilio(ACCOUNT, AUTH_TOKEN).start()
    environ = channel_environ(tmp_path / "data", TWILIO_ACCOUNT_SID=ACCOUNT, TWILIO_AUTH_TOKEN=AUTH_TOKEN,
                              TWILIO_WHATSAPP_FROM="+14155238886", TWILIO_API_BASE_URL=fake.base_url)
    runtime = runtime_for(settings_for(environ))
    file_and_verify(runtime, "whatsapp", PHONE, f"whatsapp:{PHONE}")
    hashed = identity_hash(IDENTITY_KEY.encode(), "whatsapp", PHONE)
    with runtime.database.session() as session:
        ReporterRepository(session).touch_inbound("whatsapp", hashed, at=utcnow() - dt.timedelta(hours=30))
    connector = WhatsAppInput(runtime)
    try:
        loop = connector.notification_loop()
        rounds = [await loop.once(), await loop.once()]
        with runtime.database.session() as session:
            ReporterRepository(session).touch_inbound("whatsapp", hashed)  # the user writes again
        rounds.append(await loop.once())
    finally:
        await fake.stop()

    assert rounds == [0, 0, 1]
    with runtime.database.session() as session:
        states = [message.state for message in session.execute(
            select(OutboundMessage).order_by(OutboundMessage.id)).scalars()]
    assert states == ["needs_template", "queued"]
    assert len(fake.messages) == 1 and fake.messages[0].to == f"whatsapp:{PHONE}"
    assert all(notified(runtime))
