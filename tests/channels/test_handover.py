from __future__ import annotations

import asyncio
import copy
import datetime as dt

import pytest

from channels.handover import HELD_REFRESH_SECONDS, HandoverOutbox
from channels.connector_runtime import runtime_for
from channels.telegram import TelegramInput
from storage.identity import identity_hash, sender_id
from storage.repositories.handovers import HandoverRepository
from tests.channels.fakes.telegram_api import fixture
from tests.channels.harness import IDENTITY_KEY, TELEGRAM_TOKEN, channel_environ, mounted_with_recording, settings_for

SECRET = "webhook-secret_0123456789"
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
CHAT = fixture("payload_text")["message"]["chat"]["id"]
SENDER = sender_id("telegram", identity_hash(IDENTITY_KEY.encode(), "telegram", str(CHAT)))


def text_update(update_id: int, text: str) -> dict:
    data = copy.deepcopy(fixture("payload_text"))
    data["update_id"] = update_id
    data["message"]["text"] = text
    return data


@pytest.fixture
async def mounted(tmp_path, fake_telegram):
    environ = channel_environ(tmp_path / "data", SAPALAPOR_TELEGRAM_ENABLED="true", TELEGRAM_BOT_TOKEN=TELEGRAM_TOKEN,
                              TELEGRAM_WEBHOOK_SECRET=SECRET, TELEGRAM_API_BASE_URL=fake_telegram.base_url,
                              SAPALAPOR_PUBLIC_URL="https://sapalapor.example.org")
    async with mounted_with_recording(TelegramInput(runtime_for(settings_for(environ)))) as server:
        server.fake = fake_telegram
        yield server


async def say(server, update_id: int, text: str) -> None:
    status, _ = await server.post("/webhooks/telegram/webhook", json=text_update(update_id, text), headers=HEADERS)
    assert status == 200
    await server.connector.intake.drain()


WEDNESDAY_10_WIB = dt.datetime(2026, 12, 2, 3, 0)
FRIDAY_17_WIB = dt.datetime(2026, 12, 4, 10, 0)


def outbox(server, now: dt.datetime = WEDNESDAY_10_WIB) -> HandoverOutbox:
    connector = server.connector
    return HandoverOutbox("telegram", connector.runtime, connector.conversation.layer,
                          connector._send_staff_message, clock=lambda: now)


async def test_while_a_person_holds_the_conversation_the_citizen_talks_to_them_not_to_rasa(mounted):
    database = mounted.connector.runtime.database
    await say(mounted, 7001, "petugas")
    with database.session() as session:
        repository = HandoverRepository(session)
        handover = repository.request("telegram", SENDER, report_in_progress=True, reason="petugas")
        repository.take(handover.id, "ani")
        repository.say(handover.id, "ani", "Selamat siang, saya Ani. Ada yang bisa saya bantu?")
        handover_id = handover.id
    assert await outbox(mounted).once() == 2
    assert await outbox(mounted).once() == 0  # sent once
    texts = mounted.fake.texts(CHAT)
    assert "Anda sekarang dilayani oleh petugas kami, ani." in texts[-2]
    assert texts[-1] == "Selamat siang, saya Ani. Ada yang bisa saya bantu?"

    await asyncio.sleep(HELD_REFRESH_SECONDS)  # the gateway learns of the take within a second
    await say(mounted, 7002, "Jalan di depan rumah saya rusak parah")
    await say(mounted, 7002, "Jalan di depan rumah saya rusak parah")  # Telegram re-sends the update
    assert mounted.rasa.texts() == ["petugas"]
    with database.session() as session:
        kept = [(message.direction, message.body) for message in HandoverRepository(session).messages(handover_id)
                if message.direction == "in"]
    assert kept == [("in", "Jalan di depan rumah saya rusak parah")]

    with database.session() as session:
        HandoverRepository(session).hand_back(handover_id, "ani")
    await outbox(mounted).once()
    assert "Laporan yang sedang Anda isi masih tersimpan" in mounted.fake.texts(CHAT)[-1]
    await say(mounted, 7003, "lanjut")  # at once: a hand-back is never missed, even within the second
    assert mounted.rasa.texts() == ["petugas", "lanjut"]


async def test_a_staff_message_that_could_not_be_sent_is_tried_again_in_order(mounted):
    database = mounted.connector.runtime.database
    await say(mounted, 7101, "petugas")
    with database.session() as session:
        repository = HandoverRepository(session)
        handover = repository.request("telegram", SENDER)
        repository.take(handover.id, "ani")
        repository.say(handover.id, "ani", "Pesan kedua")
    attempts = []

    async def flaky(address, reply, last_inbound_at):
        attempts.append(reply.text)
        return "retry_later" if len(attempts) == 1 else "sent"
    loop = HandoverOutbox("telegram", mounted.connector.runtime, mounted.connector.conversation.layer, flaky,
                          clock=lambda: WEDNESDAY_10_WIB)
    assert await loop.once() == 0  # the first failed: the second waits behind it
    assert await loop.once() == 2
    assert attempts[0] == attempts[1] and attempts[2] == "Pesan kedua"


async def test_a_request_outside_service_hours_waits_and_the_citizen_is_told_when_a_person_answers(mounted):
    await say(mounted, 7201, "petugas")
    with mounted.connector.runtime.database.session() as session:
        HandoverRepository(session).request("telegram", SENDER, reason="petugas")
    assert await outbox(mounted, FRIDAY_17_WIB).once() == 1
    assert await outbox(mounted, FRIDAY_17_WIB).once() == 0  # told once
    assert mounted.fake.texts(CHAT)[-1] == (
        "Saat ini di luar jam layanan petugas (Senin-Jumat, 08.00-16.00 WIB). Permintaan Anda tetap tercatat; "
        "petugas akan membalas di sini mulai Senin, 7 Desember pukul 08.00 WIB. Sambil menunggu, asisten tetap "
        "bisa membantu.")


async def test_a_request_within_service_hours_gets_no_waiting_notice(mounted):
    await say(mounted, 7301, "petugas")
    with mounted.connector.runtime.database.session() as session:
        HandoverRepository(session).request("telegram", SENDER, reason="petugas")
    before = len(mounted.fake.texts(CHAT))
    assert await outbox(mounted, WEDNESDAY_10_WIB).once() == 0
    assert await outbox(mounted, FRIDAY_17_WIB).once() == 0  # decided when it was first seen
    assert len(mounted.fake.texts(CHAT)) == before


async def test_a_voice_user_hears_the_officers_words_as_a_voice_note_with_the_text(mounted):
    from storage.repositories import ProfileRepository

    database = mounted.connector.runtime.database
    await say(mounted, 7401, "petugas")
    with database.session() as session:
        ProfileRepository(session).update("telegram", SENDER.split("-", 1)[1], voice_replies=True)
        repository = HandoverRepository(session)
        handover = repository.request("telegram", SENDER)
        repository.take(handover.id, "ani", "Ani")
        repository.say(handover.id, "ani", "Laporan Anda sudah kami cek.")
    sent = []

    async def send(address, reply, last_inbound_at):
        sent.append(reply)
        return await mounted.connector._send_staff_message(address, reply, last_inbound_at)
    loop = HandoverOutbox("telegram", mounted.connector.runtime, mounted.connector.conversation.layer, send,
                          clock=lambda: WEDNESDAY_10_WIB)
    assert await loop.once() == 2
    assert [reply.text for reply in sent][1] == "Laporan Anda sudah kami cek."
    assert all(reply.voice_ogg[:4] == b"OggS" for reply in sent)
    assert mounted.fake.texts(CHAT)[-1] == "Laporan Anda sudah kami cek."
    assert len(mounted.fake.sent("sendVoice", CHAT)) >= 2
