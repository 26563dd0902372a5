from __future__ import annotations

from typing import Optional

import pytest
from sqlalchemy import select

from channels.gsm7 import is_gsm7, segment_count
from storage.models import Report, Reporter
from tests.channels.e2e_support import (WHATSAPP_FROM, TelegramUser, TwilioUser, channel_stack, delivery_state,
                                        tracker, wait_handled)

ANSWERS = {
    "report_type": "pengaduan",
    "description": ("Jalan di depan SD Negeri 3 berlubang besar sejak dua minggu lalu "
                    "dan kemarin ada pengendara motor yang jatuh di sana"),
    "location": "Jalan Merdeka nomor 10, Kelurahan Citarum, Kecamatan Bandung Wetan, Kota Bandung",
    "incident_date": "kemarin",
    "privacy": "biasa",
    "report_confirmed": "ya",
}
MAX_TURNS = 16


@pytest.fixture(scope="module")
def stack(trained_model, tmp_path_factory):
    with channel_stack(trained_model, tmp_path_factory.mktemp("channels-e2e")) as running:
        yield running


def file_complaint(stack, user, opening: str) -> Report:
    user.say(opening)
    user.say("saya mau buat pengaduan")
    for _ in range(MAX_TURNS):
        with stack["database"].session() as session:
            report = session.execute(select(Report).where(Report.channel == user.channel)).scalar()
        if report is not None:
            return report
        slot = tracker(stack, user.sender)["slots"].get("requested_slot")
        assert slot is not None, f"the dialogue stopped asking before a report was filed: {user.replies()}"
        user.answer(ANSWERS.get(slot, "ya"))
    raise AssertionError(f"no report after {MAX_TURNS} answers: {user.replies()}")


def assert_report(stack, report: Report, user, event_code: Optional[str]) -> None:
    print(f"\n--- {user.channel} ---")
    for line in user.said:
        print(f"user: {line}")
    for reply in user.replies():
        print("bot: " + reply.replace("\n", " / "))
    assert report.report_type == "pengaduan"
    assert report.privacy == "biasa"
    assert "berlubang" in report.description
    assert "Merdeka" in report.location_text
    assert report.event_code == event_code
    with stack["database"].session() as session:
        reporter = session.get(Reporter, report.reporter_id)
    assert reporter.channel == user.channel
    assert any(report.tracking_number in reply for reply in user.replies())


def test_complaint_filed_end_to_end_over_telegram(stack):
    user = TelegramUser(stack, 5512349999)

    report = file_complaint(stack, user, "/start SOSBDG01")

    assert_report(stack, report, user, "SOSBDG01")
    replies = user.replies()
    assert replies and all(0 < len(reply) < 4096 for reply in replies)
    keyboards = [call.params["reply_markup"] for call in stack["telegram"].sent("sendMessage", user.chat_id)
                 if call.params.get("reply_markup")]
    assert keyboards
    assert any(answer.startswith("[button]") for answer in user.said)  # a choice picked by its button
    assert all(any(char.isalpha() for char in button["text"])
               for markup in keyboards for row in markup["inline_keyboard"] for button in row)
    assert stack["telegram"].webhook["url"] == f"{stack['url']}/webhooks/telegram/webhook"


def test_complaint_filed_end_to_end_over_sms(stack):
    user = TwilioUser(stack, "sms", "+6281234560001")

    report = file_complaint(stack, user, "LAPOR SOSBDG01")

    assert_report(stack, report, user, "SOSBDG01")
    replies = user.replies()
    assert replies and all(is_gsm7(reply) and segment_count(reply) <= 3 for reply in replies)
    assert any("Balas 1 untuk" in reply for reply in replies)
    assert any(answer.isdigit() for answer in user.said)  # a choice picked by its number


def test_complaint_filed_end_to_end_over_whatsapp(stack):
    user = TwilioUser(stack, "whatsapp", "+6281234560002")

    report = file_complaint(stack, user, "Halo SapaLapor, kode acara: SOSBDG01")

    assert_report(stack, report, user, "SOSBDG01")
    assert all(message.from_ == f"whatsapp:{WHATSAPP_FROM}" for message in stack["twilio"].messages
               if message.to == user.address)


def test_voice_note_acknowledged_before_the_server_is_killed_is_handled_once_after_restart(stack):
    from tests.accessibility.clips import speak

    user = TelegramUser(stack, 5512340077)
    update = user.voice_update(speak("Jalan di depan rumah saya rusak parah sejak bulan lalu.", "ogg"))

    assert user.post(update) == 200
    stack["kill"]()  # right after the acknowledgement: the transcription has not finished
    replies_before_restart = list(user.replies())
    stack["start"]()
    assert wait_handled(stack, "telegram", str(update["update_id"])) == "handled"
    assert user.post(update) == 200  # Telegram re-sends: acknowledged, not handled again
    assert wait_handled(stack, "telegram", str(update["update_id"])) == "handled"

    assert replies_before_restart == []
    heard = [event["text"] for event in tracker(stack, user.sender)["events"] if event["event"] == "user"]
    assert len(heard) == 1 and "rusak" in heard[0].lower()
    assert user.replies()
    assert delivery_state(stack, "telegram", str(update["update_id"])) == "handled"
