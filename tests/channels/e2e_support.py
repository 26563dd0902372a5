"""The whole stack for end-to-end channel tests: fakes, the real Rasa and action servers.

Reusable by other test packages (e.g. a voice-only complaint): ``channel_stack(trained_model,
runtime_dir)`` yields a dict with the fakes ("telegram", "twilio"), the server's public "url",
the "database" and the "servers"; ``TelegramUser`` / ``TwilioUser`` play a citizen and wait until
each of their messages is handled (the inbound log says so), so tests need no sleeps.
"""
from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import re
import threading
import time
import uuid
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Dict, List, Optional

from sqlalchemy import select

from bot.rasa_project import free_port, start_servers, wait_until_ready
from bot.settings import load_settings
from storage.db import Database
from storage.identity import identity_hash, sender_id
from storage.models import InboundDelivery, PendingReply
from tests.channels.fakes.telegram_api import FakeTelegram
from tests.channels.fakes.twilio_api import FakeTwilio, sign

TOKEN = "7000000001:AAF-e2e-token-0123456789abcdefghij"
SECRET = "e2e_webhook_secret-0123"
ACCOUNT = "AC00000000000000000000000000000001"
AUTH_TOKEN = "fedcba9876543210fedcba9876543210"
SMS_FROM = "+6281100001708"
WHATSAPP_FROM = "+14155238886"
KEY = os.environ.get("SAPALAPOR_IDENTITY_KEY", "test-identity-key-not-secret-0123456789")

class LoopThread:
    """The fakes' event loop, in a thread: the tests talk to a Rasa server in another process."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine, timeout: float = 60):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


async def _start_fakes():
    return await FakeTelegram(TOKEN).start(), await FakeTwilio(ACCOUNT, AUTH_TOKEN).start()


@contextlib.contextmanager
def channel_stack(trained_model: Path, runtime: Path, extra_env: Optional[Dict[str, str]] = None):
    loop = LoopThread()
    telegram, twilio = loop.run(_start_fakes())
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    env = dict(os.environ)
    env.update(
        SAPALAPOR_DATA_DIR=str(runtime / "data"),
        SAPALAPOR_DATABASE_URL=f"sqlite:///{runtime / 'data' / 'sapalapor.db'}",
        SAPALAPOR_TRACKER_URL=f"sqlite:///{runtime / 'data' / 'tracker.db'}",
        SAPALAPOR_IDENTITY_KEY=KEY,
        SAPALAPOR_PUBLIC_URL=public_url,
        SAPALAPOR_TELEGRAM_ENABLED="true", TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_WEBHOOK_SECRET=SECRET,
        TELEGRAM_API_BASE_URL=telegram.base_url,
        SAPALAPOR_SMS_ENABLED="true", SAPALAPOR_WHATSAPP_ENABLED="true",
        TWILIO_ACCOUNT_SID=ACCOUNT, TWILIO_AUTH_TOKEN=AUTH_TOKEN, TWILIO_SMS_FROM=SMS_FROM,
        TWILIO_WHATSAPP_FROM=WHATSAPP_FROM, TWILIO_API_BASE_URL=twilio.base_url,
        # gTTS aimed at a closed loopback port: the servers run outside the in-process network
        # guard, and must not try Google; the layer falls back to espeak-ng, as offline.
        GTTS_BASE_URL=f"http://127.0.0.1:{free_port()}",
    )
    env.update(extra_env or {})
    settings = load_settings(environ=env)
    database = Database.shared(settings.database_url)
    database.migrate()
    stack: Dict[str, object] = {"telegram": telegram, "twilio": twilio, "url": public_url, "database": database,
                                "servers": None}

    def start() -> None:
        servers = start_servers(settings, trained_model, runtime, port=port, env=env)
        stack["servers"] = servers
        for channel in ("telegram", "sms", "whatsapp"):  # connectors finish starting after the server
            wait_until_ready(f"{public_url}/webhooks/{channel}/", servers.gateway)

    def kill() -> None:
        """SIGKILL every server, as a crash would: nothing in flight gets to finish."""
        stack["servers"].stop(kill=True)

    stack["kill"], stack["start"] = kill, start
    try:
        start()
        yield stack
    finally:
        if stack["servers"] is not None:
            stack["servers"].stop()
        loop.run(telegram.stop())
        loop.run(twilio.stop())
        loop.stop()


def _post(url: str, body: bytes, headers: Dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def tracker(stack, sender: str) -> dict:
    with urllib.request.urlopen(f"{stack['servers'].rasa_url}/conversations/{sender}/tracker", timeout=30) as answer:
        return json.loads(answer.read().decode("utf-8"))


def delivery_state(stack, channel: str, provider_id: str) -> Optional[str]:
    with stack["database"].session() as session:
        return session.execute(select(InboundDelivery.state).where(
            InboundDelivery.channel == channel, InboundDelivery.provider_id == provider_id)).scalar()


def wait_handled(stack, channel: str, provider_id: str) -> str:
    """The delivery's final state, once it is handled or failed and its replies have gone out."""
    deadline = time.monotonic() + 300  # a hung server fails the test instead of hanging it
    pause = 0.05  # doubling to 1 s: hundreds of simulated citizens must not load the database themselves
    while time.monotonic() < deadline:
        with stack["database"].reading() as session:
            row = session.execute(select(InboundDelivery.id, InboundDelivery.state).where(
                InboundDelivery.channel == channel, InboundDelivery.provider_id == provider_id)).first()
            unsent = row is not None and session.execute(
                select(PendingReply.id).where(PendingReply.delivery_id == row.id)).first() is not None
        if row is not None and row.state in ("handled", "failed") and not unsent:
            return row.state
        time.sleep(pause)
        pause = min(pause * 2, 1.0)
    raise AssertionError(f"{channel} delivery {provider_id} was never handled; see {stack['servers'].log_files}")


class TelegramUser:
    channel = "telegram"

    def __init__(self, stack, chat_id: int) -> None:
        self.stack = stack
        self.chat_id = chat_id
        self.fake: FakeTelegram = stack["telegram"]
        self.ids = itertools.count(900000000 + chat_id % 1000 * 1000)
        self.sender = sender_id("telegram", identity_hash(KEY.encode(), "telegram", str(chat_id)))
        self.said: List[str] = []  # what the user typed or pressed, in order

    def post(self, update: dict) -> int:
        """Deliver an update as Telegram does, without waiting for it to be handled."""
        return _post(f"{self.stack['url']}/webhooks/telegram/webhook", json.dumps(update).encode(),
                     {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET})

    def _deliver(self, update: dict) -> None:
        status = self.post(update)
        assert status == 200, f"the telegram webhook answered {status}"
        state = wait_handled(self.stack, "telegram", str(update["update_id"]))
        assert state == "handled", f"telegram update {update['update_id']} ended {state}"

    def _chat(self) -> dict:
        return {"id": self.chat_id, "first_name": "Sari", "type": "private"}

    def say(self, text: str) -> None:
        self.said.append(text)
        user = {"id": self.chat_id, "is_bot": False, "first_name": "Sari", "language_code": "id"}
        self._deliver({"update_id": next(self.ids), "message": {
            "message_id": next(self.ids) % 100000, "from": user, "chat": self._chat(), "date": int(time.time()),
            "text": text}})

    def press(self, data: str) -> None:
        self.said.append(f"[button] {data}")
        user = {"id": self.chat_id, "is_bot": False, "first_name": "Sari"}
        self._deliver({"update_id": next(self.ids), "callback_query": {
            "id": f"cb{next(self.ids)}", "from": user, "chat_instance": "-88012345", "data": data,
            "message": {"message_id": 1, "chat": self._chat(), "date": int(time.time()), "text": "..."}}})

    def replies(self) -> List[str]:
        return self.fake.texts(self.chat_id)

    def voice_update(self, ogg: bytes) -> dict:
        file_id = f"AwACAgUAAxkBVoice{next(self.ids)}"
        self.fake.files[file_id] = ogg
        self.said.append("[voice note]")
        user = {"id": self.chat_id, "is_bot": False, "first_name": "Sari"}
        return {"update_id": next(self.ids), "message": {
            "message_id": next(self.ids) % 100000, "from": user, "chat": self._chat(), "date": int(time.time()),
            "voice": {"duration": 3, "mime_type": "audio/ogg", "file_id": file_id,
                      "file_unique_id": file_id[-12:], "file_size": len(ogg)}}}

    def send_voice(self, ogg: bytes) -> None:
        self._deliver(self.voice_update(ogg))

    def answer(self, text: str) -> None:
        """Press the button whose label matches the answer, as a person would; else type it."""
        calls = self.fake.sent("sendMessage", self.chat_id)
        markup = calls[-1].params.get("reply_markup") if calls else None
        for row in (markup or {}).get("inline_keyboard", []):
            for button in row:
                if text.lower() in button["text"].lower():
                    self.press(button["callback_data"])
                    return
        self.say(text)


class TwilioUser:
    def __init__(self, stack, channel: str, number: str) -> None:
        self.stack = stack
        self.channel = channel
        self.address = f"whatsapp:{number}" if channel == "whatsapp" else number
        self.to = f"whatsapp:{WHATSAPP_FROM}" if channel == "whatsapp" else SMS_FROM
        self.fake: FakeTwilio = stack["twilio"]
        self.sender = sender_id(channel, identity_hash(KEY.encode(), channel, number))
        self.said: List[str] = []

    def say(self, text: str, media: Optional[tuple] = None) -> None:
        """A message; ``media`` = (content type, bytes) is served by the fake as Twilio media."""
        self.said.append(text)
        # Like Twilio's: a two-letter prefix and 32 hex digits, unique across users and runs.
        sid = f"{'MM' if media else 'SM'}{uuid.uuid4().hex}"
        params = {"MessageSid": sid, "SmsMessageSid": sid, "SmsSid": sid, "AccountSid": ACCOUNT,
                  "From": self.address, "To": self.to, "Body": text, "NumMedia": "1" if media else "0",
                  "NumSegments": "1", "SmsStatus": "received", "ApiVersion": "2010-04-01"}
        if media:
            media_id = f"ME{sid[2:]}"
            self.fake.media[media_id] = media
            params["MediaContentType0"] = media[0]
            params["MediaUrl0"] = (f"{self.fake.base_url}/2010-04-01/Accounts/{ACCOUNT}/Messages/{sid}"
                                   f"/Media/{media_id}")
        url = f"{self.stack['url']}/webhooks/{self.channel}/webhook"
        status = _post(url, urllib.parse.urlencode(params).encode(),
                       {"Content-Type": "application/x-www-form-urlencoded",
                        "X-Twilio-Signature": sign(AUTH_TOKEN, url, params)})
        assert status == 200, f"the {self.channel} webhook answered {status}"
        state = wait_handled(self.stack, self.channel, sid)
        assert state == "handled", f"{self.channel} message {sid} ended {state}"

    def replies(self) -> List[str]:
        return self.fake.bodies(self.address)

    def answer(self, text: str) -> None:
        """Reply with the number of a matching "Balas N untuk ..." choice, as SMS users do."""
        bodies = self.replies()
        choices = re.findall(r"Balas (\d+) untuk (.+)", bodies[-1]) if bodies else []
        for number, label in choices:
            if text.lower() in label.lower():
                self.say(number)
                return
        self.say(text)


