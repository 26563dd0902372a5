from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest
from sqlalchemy import select

from shared.citizen_text import entry
from accessibility.profiles import ProfileStore
from accessibility.simple_language import check_simple, glossary_hits
from channels import gsm7
from channels.connector_runtime import runtime_for
from channels.sms import SmsInput
from channels.telegram import TelegramInput
from channels.whatsapp import WhatsAppInput
from storage import lifecycle
from storage.identity import identity_hash
from storage.models import OutboundMessage, SatisfactionRating, StatusChange, utcnow
from storage.outreach import outreach_figures
from storage.repositories import ReportDraft, ReporterRepository, ReportRepository
from tests.channels.fakes.telegram_api import FakeTelegram, update
from tests.channels.fakes.twilio_api import FakeTwilio
from tests.channels.harness import IDENTITY_KEY, RecordingRasa, channel_environ, mounted_with_recording, settings_for

TOKEN = "7000000001:AAF-status-token-0123456789abcdefg"
SECRET = "status_secret-0123456789"
ACCOUNT = "AC00000000000000000000000000000001"
AUTH_TOKEN = "0123456789abcdef0123456789abcdef"
CHAT = 5512345678
PHONE = "+6281234567890"
TEMPLATE_SID = "HX" + "0123456789abcdef" * 2
FORBIDDEN = ("instansi", "berwenang", "ditindaklanjuti")


def telegram_runtime(tmp_path, fake):
    environ = channel_environ(tmp_path / "data", TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_WEBHOOK_SECRET=SECRET,
                              TELEGRAM_API_BASE_URL=fake.base_url, SAPALAPOR_PUBLIC_URL="https://sapalapor.example.org")
    return runtime_for(settings_for(environ))


def twilio_runtime(tmp_path, fake, **extra):
    environ = channel_environ(tmp_path / "data", TWILIO_ACCOUNT_SID=ACCOUNT, TWILIO_AUTH_TOKEN=AUTH_TOKEN,
                              TWILIO_WHATSAPP_FROM="+14155238886", TWILIO_SMS_FROM="+6281100001708",
                              TWILIO_API_BASE_URL=fake.base_url, SAPALAPOR_PUBLIC_URL="https://sapalapor.example.org",
                              **extra)
    return runtime_for(settings_for(environ))


def file_report(runtime, channel: str, user_id: str, address: str, *statuses: str, note=None) -> str:
    """A report filed on ``channel`` and moved through ``statuses``; only the last change is left to tell."""
    hashed = identity_hash(IDENTITY_KEY.encode(), channel, user_id)
    with runtime.database.session() as session:
        report = ReportRepository(session).file(ReportDraft(
            submission_key=f"status-{channel}-{user_id}", report_type="pengaduan",
            description="Lampu jalan di gang kami mati sejak dua minggu lalu", location_text="Gang Mawar, Bandung",
            incident_date=None, privacy="biasa", channel=channel, identity_hash=hashed, address=address))
        for index, status in enumerate(statuses):
            last = index == len(statuses) - 1
            change = lifecycle.change_status(session, report.tracking_number, status,
                                             agency="Dinas Perhubungan Kota Bandung" if status == "diteruskan" else None,
                                             note=note if last else None)
            if not last:
                lifecycle.mark_notified(session, change.id, "sent")
        return report.tracking_number


def set_profile(runtime, channel: str, user_id: str, **changes) -> str:
    hashed = identity_hash(IDENTITY_KEY.encode(), channel, user_id)
    ProfileStore(runtime.database).update(channel, hashed, **changes)
    return hashed


def outcomes(runtime) -> list:
    with runtime.database.session() as session:
        return [(change.status, change.notification_outcome, change.notified_at is not None) for change in
                session.execute(select(StatusChange).order_by(StatusChange.id)).scalars() if change.status != "diterima"]


async def telegram_round(runtime) -> TelegramInput:
    connector = TelegramInput(runtime)
    await connector.prepare(RecordingRasa())
    try:
        assert await connector.notification_loop().once() == 1
        assert await connector.notification_loop().once() == 0
    finally:
        await connector.stop()
    return connector


async def test_a_voice_user_on_telegram_gets_the_status_update_as_text_and_a_voice_note(tmp_path):
    fake = await FakeTelegram(TOKEN).start()
    runtime = telegram_runtime(tmp_path, fake)
    number = file_report(runtime, "telegram", str(CHAT), str(CHAT), "diverifikasi", "diteruskan")
    set_profile(runtime, "telegram", str(CHAT), voice_replies=True)
    try:
        await telegram_round(runtime)
    finally:
        await fake.stop()

    texts = fake.texts(CHAT)
    assert len(texts) == 1 and number in texts[0] and "Dinas Perhubungan Kota Bandung" in texts[0]
    voice_notes = fake.sent("sendVoice", CHAT)
    assert len(voice_notes) == 1 and voice_notes[0].files["voice"][:4] == b"OggS"
    assert outcomes(runtime)[-1] == ("diteruskan", "sent", True)


async def test_slower_speech_makes_a_longer_voice_note_of_the_same_update(tmp_path):
    notes = {}
    for rate in ("normal", "slow"):
        fake = await FakeTelegram(TOKEN).start()
        runtime = telegram_runtime(tmp_path / rate, fake)
        file_report(runtime, "telegram", str(CHAT), str(CHAT), "diverifikasi", "diteruskan")
        set_profile(runtime, "telegram", str(CHAT), voice_replies=True, speech_rate=rate)
        try:
            await telegram_round(runtime)
        finally:
            await fake.stop()
        notes[rate] = fake.sent("sendVoice", CHAT)[0].files["voice"]

    assert len(notes["slow"]) > 1.1 * len(notes["normal"])


@pytest.mark.parametrize("status", ["diverifikasi", "ditunda", "bukan_wewenang", "selesai"])
async def test_a_simple_language_user_reads_the_status_update_in_plain_words(tmp_path, status):
    fake = await FakeTelegram(TOKEN).start()
    runtime = telegram_runtime(tmp_path, fake)
    path = {"diverifikasi": ["diverifikasi"], "ditunda": ["diverifikasi", "ditunda"],
            "bukan_wewenang": ["diverifikasi", "diteruskan", "bukan_wewenang"],
            "selesai": ["diverifikasi", "diteruskan", "ditindaklanjuti", "selesai"]}[status]
    number = file_report(runtime, "telegram", str(CHAT), str(CHAT), *path)
    set_profile(runtime, "telegram", str(CHAT), simple_language=True)
    try:
        await telegram_round(runtime)
    finally:
        await fake.stop()

    texts = fake.texts(CHAT)
    assert number in texts[0]
    assert texts[0] == entry(f"status_update.{status}").simple.format(tracking_number=number)
    for text in texts:
        assert not glossary_hits(text), text
        assert not [word for word in FORBIDDEN if word in text.lower()]
    buttons = fake.sent("sendMessage", CHAT)[-1].params.get("reply_markup")
    assert check_simple(texts[0], False) == []
    if status == "selesai":
        assert check_simple(texts[1], True, button_titles=["1 Sangat tidak puas", "2 Tidak puas", "3 Biasa saja",
                                                           "4 Puas", "5 Sangat puas"]) == []
        assert len(buttons["inline_keyboard"]) == 5
    assert not fake.sent("sendVoice", CHAT)


async def test_a_whatsapp_user_30_hours_after_their_last_message_gets_the_approved_template(tmp_path):
    fake = await FakeTwilio(ACCOUNT, AUTH_TOKEN).start()
    runtime = twilio_runtime(tmp_path, fake, TWILIO_WHATSAPP_STATUS_TEMPLATE_SID=TEMPLATE_SID)
    number = file_report(runtime, "whatsapp", PHONE, f"whatsapp:{PHONE}", "diverifikasi", "diteruskan")
    hashed = identity_hash(IDENTITY_KEY.encode(), "whatsapp", PHONE)
    with runtime.database.session() as session:
        ReporterRepository(session).touch_inbound("whatsapp", hashed, at=utcnow() - dt.timedelta(hours=30))
    fake.outside_window.add(f"whatsapp:{PHONE}")  # Twilio itself refuses free-form text now
    connector = WhatsAppInput(runtime)
    try:
        rounds = [await connector.notification_loop().once(), await connector.notification_loop().once()]
    finally:
        await connector.stop()
        await fake.stop()

    assert rounds == [1, 0]
    assert len(fake.messages) == 1
    template = fake.messages[0]
    assert (template.to, template.content_sid, template.body) == (f"whatsapp:{PHONE}", TEMPLATE_SID, None)
    assert template.content_variables["1"] == number
    assert number in template.content_variables["2"] and "\n" not in template.content_variables["2"]
    assert "Dinas Perhubungan Kota Bandung" in template.content_variables["2"]
    assert outcomes(runtime)[-1] == ("diteruskan", "sent_template", True)
    with runtime.database.session() as session:
        logged = [(message.kind, message.state) for message in session.execute(
            select(OutboundMessage).order_by(OutboundMessage.id)).scalars()]
        bodies = [message.body for message in session.execute(select(OutboundMessage)).scalars()]
    assert logged == [("text", "needs_template"), ("template", "queued")]
    assert not any(number in (body or "") for body in bodies)  # the outbound log never keeps the number


async def test_without_a_template_the_sms_fallback_tells_the_whatsapp_user_by_sms(tmp_path):
    fake = await FakeTwilio(ACCOUNT, AUTH_TOKEN).start()
    runtime = twilio_runtime(tmp_path, fake, SAPALAPOR_WHATSAPP_SMS_FALLBACK="true")
    number = file_report(runtime, "whatsapp", PHONE, f"whatsapp:{PHONE}", "diverifikasi")
    hashed = identity_hash(IDENTITY_KEY.encode(), "whatsapp", PHONE)
    with runtime.database.session() as session:
        ReporterRepository(session).touch_inbound("whatsapp", hashed, at=utcnow() - dt.timedelta(hours=30))
    connector = WhatsAppInput(runtime)
    try:
        assert await connector.notification_loop().once() == 1
    finally:
        await connector.stop()
        await fake.stop()

    assert [(message.to, message.from_) for message in fake.messages] == [(PHONE, "+6281100001708")]
    assert number in fake.messages[0].body and gsm7.is_gsm7(fake.messages[0].body)
    assert outcomes(runtime)[-1] == ("diverifikasi", "sent_sms", True)


async def test_an_sms_user_gets_the_status_update_within_gsm7_limits(tmp_path):
    fake = await FakeTwilio(ACCOUNT, AUTH_TOKEN).start()
    runtime = twilio_runtime(tmp_path, fake)
    note = ("Lampu sudah diganti oleh petugas “PJU” pada hari Senin 🙏; mohon kabari kami bila masih mati. " * 3).strip()
    number = file_report(runtime, "sms", PHONE, PHONE, "diverifikasi", "diteruskan", "ditindaklanjuti", "selesai",
                         note=note)
    connector = SmsInput(runtime)
    try:
        assert await connector.notification_loop().once() == 1
    finally:
        await connector.stop()
        await fake.stop()

    bodies = fake.bodies(PHONE)
    assert number in bodies[0] and "PJU" in bodies[0]
    assert any("Balas 5 untuk Sangat puas" in body for body in bodies)  # the closing question, as SMS can show it
    for body in bodies:
        assert gsm7.is_gsm7(body), body
        assert gsm7.segment_count(body) <= 3
    assert all(not message.media_urls for message in fake.messages)


async def told(fake, messages: int, seconds: float = 60.0) -> None:
    """Wait until the connector's background notification loop has sent ``messages`` texts."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while len(fake.texts(CHAT)) < messages:
        assert loop.time() < deadline, f"only {len(fake.texts(CHAT))} of {messages} messages sent"
        await asyncio.sleep(0.05)


def telegram_text(text: str, update_id: int) -> dict:
    data = update("payload_text", update_id=update_id)
    data["message"]["text"] = text
    return data


async def test_selesai_asks_the_satisfaction_question_and_the_next_message_is_stored_as_after_closed(tmp_path):
    fake = await FakeTelegram(TOKEN).start()
    runtime = telegram_runtime(tmp_path, fake)
    number = file_report(runtime, "telegram", str(CHAT), str(CHAT), "diverifikasi", "diteruskan", "ditindaklanjuti",
                         "selesai")
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    try:
        async with mounted_with_recording(TelegramInput(runtime)) as server:
            await told(fake, 2)  # the connector's own loop sends the update and the question
            await server.post("/webhooks/telegram/webhook", json=telegram_text("4", 700200001), headers=headers)
            await server.connector.intake.drain()
            await server.post("/webhooks/telegram/webhook", json=telegram_text("halo", 700200002), headers=headers)
            await server.connector.intake.drain()
            rasa_texts = server.rasa.texts()
    finally:
        await fake.stop()

    texts = fake.texts(CHAT)
    assert number in texts[0] and "selesai" in texts[0]
    assert "Seberapa puas" in texts[1]
    assert texts[2] == entry("closing_rating.thanks").regular
    assert rasa_texts == ["halo"]  # the rating never reached the dialogue; what follows does
    with runtime.database.session() as session:
        ratings = [(rating.stage, rating.score) for rating in session.execute(select(SatisfactionRating)).scalars()]
        figures = outreach_figures(session, start=utcnow().date() - dt.timedelta(days=1),
                                   end=utcnow().date() + dt.timedelta(days=1))
    assert ratings == [("after_closed", 4)]
    assert figures.total.satisfaction_after_closed.ratings.raw == 1


async def test_a_message_after_selesai_that_is_no_rating_goes_on_to_the_dialogue_and_the_question_is_settled(tmp_path):
    fake = await FakeTelegram(TOKEN).start()
    runtime = telegram_runtime(tmp_path, fake)
    file_report(runtime, "telegram", str(CHAT), str(CHAT), "diverifikasi", "diteruskan", "ditindaklanjuti", "selesai")
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    try:
        async with mounted_with_recording(TelegramInput(runtime)) as server:
            await told(fake, 2)
            for update_id, text in ((700200011, "saya mau lapor lagi jalan rusak"), (700200012, "3")):
                await server.post("/webhooks/telegram/webhook", json=telegram_text(text, update_id), headers=headers)
                await server.connector.intake.drain()
            rasa_texts = server.rasa.texts()
    finally:
        await fake.stop()

    assert rasa_texts == ["saya mau lapor lagi jalan rusak", "3"]
    with runtime.database.session() as session:
        assert session.execute(select(SatisfactionRating)).scalars().all() == []


def test_the_template_variables_are_json_of_numbered_strings():
    from accessibility.pipeline import Outgoing
    from channels.whatsapp_templates import StatusTemplate

    template = StatusTemplate(TEMPLATE_SID, (("1", "tracking_number"), ("2", "status_text")))
    notification = lifecycle.Notification(1, 1, "4821-7730", "selesai", "whatsapp", "h" * 64, "whatsapp:+62", None,
                                          utcnow())
    variables = json.loads(template.content_variables(notification, [Outgoing(text="Laporan 4821-7730\nsudah selesai."),
                                                                      Outgoing(text="Seberapa puas Anda?")]))
    assert variables == {"1": "4821-7730", "2": "Laporan 4821-7730 sudah selesai. Seberapa puas Anda?"}
