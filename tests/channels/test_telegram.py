from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select

from channels import telegram as telegram_module
from channels.connector_runtime import runtime_for
from channels.telegram import TelegramInput
from storage.identity import identity_hash
from storage.models import Attachment, InboundDelivery, Reporter
from tests.channels.fakes.telegram_api import fixture, update
from tests.channels.harness import IDENTITY_KEY, TELEGRAM_TOKEN, Mounted, RecordingRasa, channel_environ, mounted_with_recording, sanic_test_mode, settings_for

TOKEN = TELEGRAM_TOKEN
SECRET = "webhook-secret_0123456789"
PUBLIC_URL = "https://sapalapor.example.org"
CHAT = 5512345678
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}


@pytest.fixture
def runtime(tmp_path, fake_telegram):
    environ = channel_environ(
        tmp_path / "data",
        SAPALAPOR_TELEGRAM_ENABLED="true",
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_WEBHOOK_SECRET=SECRET,
        TELEGRAM_API_BASE_URL=fake_telegram.base_url,
        SAPALAPOR_PUBLIC_URL=PUBLIC_URL,
    )
    return runtime_for(settings_for(environ))


@pytest.fixture
async def mounted(runtime):
    async with mounted_with_recording(TelegramInput(runtime)) as server:
        yield server


def count(runtime, model, *where) -> int:
    with runtime.database.session() as session:
        return session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


async def deliver(server, payload: dict, headers=HEADERS):
    status, body = await server.post("/webhooks/telegram/webhook", json=payload, headers=headers)
    await server.connector.intake.drain()
    return status


CASES = [
    # payload, the text Rasa receives (None: not sent to Rasa), a reply the user sees (None: silence)
    ("payload_text", "Halo, saya mau lapor jalan rusak", "Pesan diterima: Halo, saya mau lapor jalan rusak"),
    ("payload_start_deeplink", "/greet", "Halo! Apa yang ingin Anda sampaikan?"),
    ("payload_command_batal", "/cancel", "Pesan diterima: /cancel"),
    ("payload_callback_query", "/file_complaint", "Pesan diterima: /file_complaint"),
    ("payload_location", "Lokasi saya: -6.91474, 107.60981", "Pesan diterima: Lokasi saya: -6.91474, 107.60981"),
    ("payload_photo", None, telegram_module.ATTACHMENT_SAVED_REPLY),
    ("payload_photo_caption", "Ini foto lubangnya", "Pesan diterima: Ini foto lubangnya"),
    ("payload_document", None, telegram_module.ATTACHMENT_SAVED_REPLY),
    ("payload_edited_message", None, telegram_module.EDITED_REPLY),
    ("payload_sticker", None, telegram_module.UNSUPPORTED_REPLY),
    ("payload_voice_too_large", None, telegram_module.TOO_LARGE_REPLY),
    ("payload_group_message", None, None),
    ("payload_member_update", None, None),
]


@pytest.mark.parametrize("name, to_rasa, reply", CASES, ids=[case[0] for case in CASES])
async def test_each_kind_of_update_reaches_rasa_or_gets_a_short_answer(mounted, fake_telegram, runtime,
                                                                       name, to_rasa, reply):
    for file_id in ("AgACAgUAAxkBAAIBPhotoLarge", "AgACAgUAAxkBAAIBPhotoCap", "BQACAgUAAxkBAAIBDoc01"):
        fake_telegram.files[file_id] = b"%PDF-1.4 or JPEG bytes of " + file_id.encode()

    assert await deliver(mounted, fixture(name)) == 200

    assert mounted.rasa.texts() == ([to_rasa] if to_rasa else [])
    assert fake_telegram.texts(CHAT) == ([reply] if reply else [])
    assert fake_telegram.sent("sendMessage", -1001234567890) == []
    assert count(runtime, InboundDelivery, InboundDelivery.state == "handled") == 1


async def test_deep_link_payload_becomes_the_event_code(mounted):
    await deliver(mounted, fixture("payload_start_deeplink"))

    message = mounted.rasa.messages[0]
    assert message.metadata["event_code"] == "SOSBDG01"
    assert message.metadata["channel"] == "telegram"
    assert message.sender_id == "telegram-" + identity_hash(IDENTITY_KEY.encode(), "telegram", str(CHAT))
    assert message.input_channel == "telegram"
    assert message.output_channel.name() == "telegram"  # channel-specific responses apply


async def test_buttons_become_an_inline_keyboard_with_word_labels(mounted, fake_telegram):
    await deliver(mounted, fixture("payload_start_deeplink"))

    markup = fake_telegram.sent("sendMessage", CHAT)[0].params["reply_markup"]
    assert markup["inline_keyboard"] == [
        [{"text": "Pengaduan", "callback_data": "/file_complaint"}],
        [{"text": "Aspirasi", "callback_data": "/file_aspiration"}],
        [{"text": "Minta informasi", "callback_data": "/request_information"}],
    ]


async def test_a_typed_number_picks_the_button_shown_last(mounted):
    await deliver(mounted, fixture("payload_start_deeplink"))
    typed = update("payload_text", update_id=700100050)
    typed["message"]["text"] = "dua"

    await deliver(mounted, typed)

    assert mounted.rasa.texts() == ["/greet", "/file_aspiration"]


@pytest.mark.parametrize("typed, to_rasa", [
    ('/affirm{"privacy": "anonim"}', 'affirm{"privacy": "anonim"}'),
    ("/halo", "halo"),
    ("/suara", '/choose_voice{"voice_replies": true}'),
    ("/bantuan@SapaLaporBot", "/ask_help"),
])
async def test_typed_slash_commands_cannot_inject_rasa_intents(mounted, typed, to_rasa):
    message = update("payload_text")
    message["message"]["text"] = typed

    await deliver(mounted, message)

    assert mounted.rasa.texts() == [to_rasa]


async def test_callback_queries_are_always_answered(mounted, fake_telegram):
    await deliver(mounted, fixture("payload_callback_query"))

    assert [call.params["callback_query_id"] for call in fake_telegram.sent("answerCallbackQuery")] == [
        "4382bfdwdsb323b2d9"]


async def test_location_pin_is_passed_as_coordinates(mounted):
    await deliver(mounted, fixture("payload_location"))

    assert mounted.rasa.messages[0].metadata["location_pin"] == {"latitude": -6.914744, "longitude": 107.60981}


async def test_photo_is_stored_as_an_attachment_and_counted_for_rasa(mounted, fake_telegram, runtime):
    first, second = b"\xff\xd8\xff\xe0 first photo", b"\xff\xd8\xff\xe0 the second photo"
    fake_telegram.files["AgACAgUAAxkBAAIBPhotoLarge"] = first
    fake_telegram.files["AgACAgUAAxkBAAIBPhotoCap"] = second

    await deliver(mounted, fixture("payload_photo"))
    await deliver(mounted, fixture("payload_photo_caption"))

    hashed = identity_hash(IDENTITY_KEY.encode(), "telegram", str(CHAT))
    with runtime.database.session() as session:
        rows = session.execute(select(Attachment).order_by(Attachment.id)).scalars().all()
    assert [(row.kind, row.media_type, row.sender_ref, row.size_bytes) for row in rows] == [
        ("photo", "image/jpeg", f"telegram-{hashed}", len(first)),
        ("photo", "image/jpeg", f"telegram-{hashed}", len(second)),
    ]
    assert [Path(row.storage_path).read_bytes() for row in rows] == [first, second]
    assert all(runtime.settings.data_dir / "attachments" in Path(row.storage_path).parents for row in rows)
    assert [call.params["file_id"] for call in fake_telegram.sent("getFile")] == [
        "AgACAgUAAxkBAAIBPhotoLarge", "AgACAgUAAxkBAAIBPhotoCap"]
    assert mounted.rasa.messages[0].metadata["attachments"] == 2


async def test_forged_or_missing_secret_token_is_refused_and_nothing_recorded(mounted, runtime, fake_telegram):
    forged = await deliver(mounted, fixture("payload_text"), headers={"X-Telegram-Bot-Api-Secret-Token": "guess"})
    missing = await deliver(mounted, fixture("payload_text"), headers={})

    assert (forged, missing) == (403, 403)
    assert count(runtime, InboundDelivery) == 0
    assert mounted.rasa.messages == []
    assert fake_telegram.sent("sendMessage") == []


async def test_replayed_delivery_is_acknowledged_and_handled_once(mounted, runtime, fake_telegram):
    statuses = [await deliver(mounted, fixture("payload_text")) for _ in range(3)]

    assert statuses == [200, 200, 200]
    assert len(mounted.rasa.messages) == 1
    assert len(fake_telegram.texts(CHAT)) == 1
    assert count(runtime, InboundDelivery) == 1


async def test_concurrent_copies_of_one_update_are_handled_once(mounted):
    payload = fixture("payload_text")
    await asyncio.gather(*[mounted.post("/webhooks/telegram/webhook", json=payload, headers=HEADERS)
                           for _ in range(5)])
    await mounted.connector.intake.drain()

    assert len(mounted.rasa.messages) == 1


async def test_provider_is_answered_before_slow_handling_finishes(mounted, runtime):
    mounted.rasa.hold.clear()

    status, _ = await mounted.post("/webhooks/telegram/webhook", json=fixture("payload_text"), headers=HEADERS)
    await mounted.rasa.received.wait()

    assert status == 200
    assert count(runtime, InboundDelivery, InboundDelivery.state == "received") == 1
    mounted.rasa.hold.set()
    await mounted.connector.intake.drain()
    assert count(runtime, InboundDelivery, InboundDelivery.state == "handled") == 1


async def test_update_acknowledged_but_not_handled_before_a_kill_is_handled_once_after_restart(runtime, fake_telegram):
    first_rasa = RecordingRasa()
    first_rasa.hold.clear()  # the process dies while Rasa is still working
    with sanic_test_mode():
        first = Mounted(TelegramInput(runtime), first_rasa)
        await first.__aenter__()
        status, _ = await first.post("/webhooks/telegram/webhook", json=fixture("payload_text"), headers=HEADERS)
        await first_rasa.received.wait()
        await first.kill()

        assert status == 200
        assert fake_telegram.texts(CHAT) == []

        second_rasa = RecordingRasa()
        async with Mounted(TelegramInput(runtime), second_rasa) as second:
            await second.connector.intake.drain()
            replay = await deliver(second, fixture("payload_text"))

    assert replay == 200
    assert second_rasa.texts() == ["Halo, saya mau lapor jalan rusak"]
    assert fake_telegram.texts(CHAT) == ["Pesan diterima: Halo, saya mau lapor jalan rusak"]
    assert count(runtime, InboundDelivery, InboundDelivery.state == "handled") == 1


async def test_blocked_user_is_marked_unreachable_without_retries(mounted, fake_telegram, runtime):
    fake_telegram.blocked.add(CHAT)

    await deliver(mounted, fixture("payload_text"))

    assert len(fake_telegram.sent("sendMessage", CHAT)) == 1
    hashed = identity_hash(IDENTITY_KEY.encode(), "telegram", str(CHAT))
    with runtime.database.session() as session:
        reporter = session.execute(select(Reporter).where(Reporter.identity_hash == hashed)).scalar_one()
    assert reporter.unreachable_at is not None
    assert reporter.address == str(CHAT)


async def test_blocking_the_bot_marks_the_user_unreachable_before_any_send_fails(mounted, fake_telegram, runtime):
    await deliver(mounted, fixture("payload_text"))
    await deliver(mounted, fixture("payload_member_update"))

    hashed = identity_hash(IDENTITY_KEY.encode(), "telegram", str(CHAT))
    with runtime.database.session() as session:
        reporter = session.execute(select(Reporter).where(Reporter.identity_hash == hashed)).scalar_one()
    assert reporter.unreachable_at is not None
    assert len(fake_telegram.texts(CHAT)) == 1


async def test_flood_control_is_retried_once_after_retry_after(mounted, fake_telegram):
    fake_telegram.flood_once.add("sendMessage")

    await deliver(mounted, fixture("payload_text"))

    assert len(fake_telegram.sent("sendMessage", CHAT)) == 2
    assert len(mounted.rasa.messages) == 1


async def test_webhook_is_registered_with_secret_and_allowed_updates(mounted, fake_telegram):
    assert fake_telegram.webhook["url"] == f"{PUBLIC_URL}/webhooks/telegram/webhook"
    assert fake_telegram.webhook["secret_token"] == SECRET
    assert fake_telegram.webhook["allowed_updates"] == ["message", "edited_message", "callback_query", "my_chat_member"]


async def test_long_polling_handles_updates_through_the_same_intake(tmp_path, fake_telegram):
    environ = channel_environ(tmp_path / "polling", SAPALAPOR_TELEGRAM_ENABLED="true", TELEGRAM_BOT_TOKEN=TOKEN,
                              TELEGRAM_API_BASE_URL=fake_telegram.base_url)
    polling_runtime = runtime_for(settings_for(environ))
    rasa = RecordingRasa()
    with sanic_test_mode():
        async with Mounted(TelegramInput(polling_runtime), rasa) as server:
            assert server.connector.mode == "polling"
            await fake_telegram.updates.put(fixture("payload_text"))
            await fake_telegram.updates.put(fixture("payload_text"))  # served twice: handled once
            await fake_telegram.wait_for(lambda: fake_telegram.texts(CHAT))
            await server.connector.intake.drain()

    assert rasa.texts() == ["Halo, saya mau lapor jalan rusak"]
    assert fake_telegram.sent("deleteWebhook")
    assert fake_telegram.webhook is None
