from __future__ import annotations

import itertools
import json
import time
import urllib.parse
import uuid
from typing import List

import pytest
from sqlalchemy import select

from storage.identity import identity_hash, sender_id
from storage.models import Profile, Report
from tests.accessibility.clips import speak
from tests.channels.e2e_support import (
    ACCOUNT,
    AUTH_TOKEN,
    KEY,
    SECRET,
    WHATSAPP_FROM,
    _post,
    channel_stack,
    tracker,
    wait_handled,
)
from tests.channels.fakes.twilio_api import sign

# What the citizen says, by the question the form asks; every answer is a voice note. Yes/no
# questions come with numbered choices ("1. Ya"), answered by number as docs/accessibility.md
# tells voice users: espeak-ng's short "ya" is too short for Whisper base to hear.
SPOKEN = {
    "report_type": "Pengaduan.",
    "description": "Jalan di depan sekolah berlubang besar sejak dua minggu lalu. Kemarin ada motor yang jatuh di sana.",
    "location": "Jalan Merdeka nomor sepuluh, Kota Bandung.",
    "incident_date": "Kemarin.",
    "privacy": "Biasa.",
}
YES = "Nomor satu."
MAX_TURNS = 20


@pytest.fixture(scope="module")
def stack(trained_model, tmp_path_factory):
    with channel_stack(trained_model, tmp_path_factory.mktemp("voice-only")) as running:
        yield running


def _wait_handled(stack, channel: str, provider_id: str) -> None:
    state = wait_handled(stack, channel, provider_id)
    assert state == "handled", f"{channel} delivery {provider_id} failed; see {stack['servers'].log_files}"


def _requested_slot(stack, sender: str):
    return tracker(stack, sender)["slots"].get("requested_slot")


class TelegramSpeaker:
    channel = "telegram"

    def __init__(self, stack, chat_id: int) -> None:
        self.stack, self.chat_id, self.fake = stack, chat_id, stack["telegram"]
        self.ids = itertools.count(800000000 + chat_id % 1000 * 1000)
        self.sender = sender_id("telegram", identity_hash(KEY.encode(), "telegram", str(chat_id)))

    def speak(self, sentence: str) -> None:
        file_id = f"AwACAgUAAxkBVoiceOnly{next(self.ids)}"
        self.fake.files[file_id] = speak(sentence, "ogg")
        user = {"id": self.chat_id, "is_bot": False, "first_name": "Budi", "language_code": "id"}
        update = {"update_id": next(self.ids), "message": {
            "message_id": next(self.ids) % 100000, "from": user, "date": int(time.time()),
            "chat": {"id": self.chat_id, "first_name": "Budi", "type": "private"},
            "voice": {"duration": 5, "mime_type": "audio/ogg", "file_id": file_id,
                      "file_unique_id": file_id[-12:], "file_size": len(self.fake.files[file_id])}}}
        status = _post(f"{self.stack['url']}/webhooks/telegram/webhook", json.dumps(update).encode(),
                       {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET})
        assert status == 200
        _wait_handled(self.stack, "telegram", str(update["update_id"]))

    def texts(self) -> List[str]:
        return self.fake.texts(self.chat_id)

    def voice_notes(self) -> List[bytes]:
        return [call.files["voice"] for call in self.fake.sent("sendVoice", self.chat_id)]


class WhatsAppSpeaker:
    channel = "whatsapp"

    def __init__(self, stack, number: str) -> None:
        self.stack, self.fake = stack, stack["twilio"]
        self.address = f"whatsapp:{number}"
        self.sender = sender_id("whatsapp", identity_hash(KEY.encode(), "whatsapp", number))

    def speak(self, sentence: str) -> None:
        turn = uuid.uuid4().hex
        sid, media_id = f"MM{turn}", f"ME{turn}"
        self.fake.media[media_id] = ("audio/ogg", speak(sentence, "ogg"))
        params = {"MessageSid": sid, "SmsMessageSid": sid, "SmsSid": sid, "AccountSid": ACCOUNT,
                  "From": self.address, "To": f"whatsapp:{WHATSAPP_FROM}", "Body": "", "NumMedia": "1",
                  "MediaContentType0": "audio/ogg", "MessageType": "audio", "NumSegments": "1",
                  "MediaUrl0": f"{self.fake.base_url}/2010-04-01/Accounts/{ACCOUNT}/Messages/{sid}/Media/{media_id}",
                  "SmsStatus": "received", "ApiVersion": "2010-04-01"}
        url = f"{self.stack['url']}/webhooks/whatsapp/webhook"
        status = _post(url, urllib.parse.urlencode(params).encode(),
                       {"Content-Type": "application/x-www-form-urlencoded",
                        "X-Twilio-Signature": sign(AUTH_TOKEN, url, params)})
        assert status == 200
        _wait_handled(self.stack, "whatsapp", sid)

    def _mine(self):
        return [message for message in self.fake.messages if message.to == self.address]

    def texts(self) -> List[str]:
        return [message.body for message in self._mine() if message.body]

    def voice_notes(self) -> List[bytes]:
        return [media[2] for message in self._mine() for media in message.fetched_media]


def file_by_voice(stack, user) -> Report:
    """Every user turn a voice note; after each, the bot must have answered in text and voice."""
    def turn(sentence: str) -> None:
        texts, voices = len(user.texts()), len(user.voice_notes())
        user.speak(sentence)
        new_texts, new_voices = user.texts()[texts:], user.voice_notes()[voices:]
        assert new_texts, f"no reply to {sentence!r}"
        assert len(new_voices) >= 1 and all(voice[:4] == b"OggS" for voice in new_voices), (
            f"no voice note with the reply {new_texts!r}")

    turn("Halo.")
    turn("Saya mau membuat pengaduan.")
    for _ in range(MAX_TURNS):
        with stack["database"].session() as session:
            report = session.execute(select(Report).where(Report.channel == user.channel)).scalar()
        if report is not None:
            return report
        slot = _requested_slot(stack, user.sender)
        assert slot is not None, f"the dialogue stopped asking before a report was filed: {user.texts()}"
        turn(SPOKEN.get(slot, YES))
    raise AssertionError(f"no report after {MAX_TURNS} spoken answers: {user.texts()}")


def assert_voice_report(stack, report: Report, user) -> None:
    assert report.report_type == "pengaduan"
    assert report.privacy == "biasa"
    assert "jalan" in report.description.lower()
    # What was heard, confirmed by the user, is what is filed (Whisper base mishears espeak-ng's
    # street names: "Jalan membeka nomom sapu, kota matu"; a person speaking is heard better).
    assert "jalan" in report.location_text.lower() and "kota" in report.location_text.lower()
    assert any(report.tracking_number in text for text in user.texts())
    with stack["database"].session() as session:
        profile = session.execute(select(Profile).where(Profile.channel == user.channel)).scalar_one()
    assert profile.voice_replies is True


def test_a_complaint_filed_only_by_voice_notes_over_telegram_is_answered_by_voice(stack):
    user = TelegramSpeaker(stack, 5519990001)
    report = file_by_voice(stack, user)
    assert_voice_report(stack, report, user)


def test_a_complaint_filed_only_by_voice_notes_over_whatsapp_is_answered_by_voice(stack):
    user = WhatsAppSpeaker(stack, "+6281299990002")
    report = file_by_voice(stack, user)
    assert_voice_report(stack, report, user)
