"""How a simulated citizen's messages reach the assistant: Rasa's REST channel, Telegram, SMS.

Each transport turns an :class:`~tests.conversations.citizen.Action` into what that channel's
user does (REST: the text, or a pressed button's payload as ``python -m bot chat`` sends it;
Telegram: a message or a callback query; SMS: a message, choices by number) and returns the
assistant's reply as :class:`~tests.conversations.questions.BotMessage` values. Telegram and SMS
go through the channel gateway against the loopback fakes (tests/channels/e2e_support.py).
"""
from __future__ import annotations

import itertools
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zlib
from typing import Optional

from tests.conversations.citizen import Action
from tests.conversations.questions import BotMessage
from tests.support.rasa_client import say


# Long: Rasa cancels a REST turn whose client hangs up, and a turn may wait minutes for a model
# being retrained on a busy machine. A turn slower than this is an error of the run, not a finding.
REST_TIMEOUT = 300.0
TURN_TIMEOUT = 240.0  # a Telegram/SMS delivery not handled by then


def slots(rasa_url: str, sender: str) -> dict:
    """The conversation's slots only (no events: a long tracker is costly to fetch each turn)."""
    url = f"{rasa_url}/conversations/{urllib.parse.quote(sender)}/tracker?include_events=NONE"
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read().decode("utf-8")).get("slots") or {}


class RestTransport:
    channel = "rest"

    def __init__(self, rasa_url: str, sender: str) -> None:
        self.rasa_url = rasa_url
        self.sender = sender

    def send(self, action: Action) -> tuple:
        """(what was sent, as the transcript shows it; the replies)."""
        text = action.text
        shown = text
        if action.option is not None and action.option.payload and action.how in ("press", "number"):
            text = action.option.payload  # as the chat client does for a pressed or numbered button
            shown = f"{action.text} [button: {action.option.title}]"
        replies = say(self.rasa_url, self.sender, text, timeout=REST_TIMEOUT)
        messages = [BotMessage(reply.get("text") or "", list(reply.get("buttons") or []))
                    for reply in replies if reply.get("text") or reply.get("buttons")]
        return shown, messages


class TurnTimeout(AssertionError):
    pass


def _wait_handled(stack, channel: str, provider_id: str) -> None:
    """Until the delivery is handled *and* its replies left the outbox.

    A turn's replies are sent after its delivery is marked handled (channels/reply_outbox.py);
    reading the fake provider at "handled" alone misses a slow turn's replies on a busy machine,
    and they are then counted as the next turn's.
    """
    from sqlalchemy import select

    from storage.models import InboundDelivery, PendingReply
    from tests.channels.e2e_support import delivery_state

    deadline = time.monotonic() + TURN_TIMEOUT
    while time.monotonic() < deadline:
        state = delivery_state(stack, channel, provider_id)
        if state == "handled":
            with stack["database"].reading() as session:
                unsent = session.execute(
                    select(PendingReply.id).join(InboundDelivery, PendingReply.delivery_id == InboundDelivery.id)
                    .where(InboundDelivery.channel == channel, InboundDelivery.provider_id == provider_id)
                ).first()
            if unsent is None:
                return
            time.sleep(0.05)
            continue
        if state == "failed":
            raise TurnTimeout(f"{channel} delivery {provider_id} failed")
        time.sleep(0.1)
    raise TurnTimeout(f"{channel} delivery {provider_id} not handled within {TURN_TIMEOUT:.0f} s")


class TelegramTransport:
    channel = "telegram"

    def __init__(self, stack, chat_id: int) -> None:
        from tests.channels.e2e_support import TelegramUser

        self.user = TelegramUser(stack, chat_id)
        self.sender = self.user.sender
        self.rasa_url = stack["servers"].rasa_url

    def send(self, action: Action) -> tuple:
        fake = self.user.fake
        before = len(fake.sent("sendMessage", self.user.chat_id))
        user = {"id": self.user.chat_id, "is_bot": False, "first_name": "Sari"}
        chat = {"id": self.user.chat_id, "first_name": "Sari", "type": "private"}
        if action.how == "press" and action.option is not None and action.option.payload is not None:
            update = {"update_id": next(self.user.ids), "callback_query": {
                "id": f"cb{next(self.user.ids)}", "from": user, "chat_instance": "-88012345",
                "data": action.option.payload,
                "message": {"message_id": 1, "chat": chat, "date": int(time.time()), "text": "..."}}}
            shown = f"{action.text} [button]"
        else:
            update = {"update_id": next(self.user.ids), "message": {
                "message_id": next(self.user.ids) % 100000, "from": user, "chat": chat, "date": int(time.time()),
                "text": action.text}}
            shown = action.text
        if self.user.post(update) != 200:
            raise TurnTimeout("telegram webhook refused the update")
        _wait_handled(self.user.stack, "telegram", str(update["update_id"]))
        messages = []
        for call in fake.sent("sendMessage", self.user.chat_id)[before:]:
            markup = call.params.get("reply_markup") or {}
            buttons = [{"title": button.get("text", ""), "payload": button.get("callback_data")}
                       for row in markup.get("inline_keyboard", []) for button in row]
            messages.append(BotMessage(call.params.get("text") or "", buttons))
        return shown, messages


class SmsTransport:
    channel = "sms"

    def __init__(self, stack, number: str) -> None:
        from tests.channels.e2e_support import TwilioUser

        self.user = TwilioUser(stack, "sms", number)
        self.sender = self.user.sender
        self.rasa_url = stack["servers"].rasa_url

    def send(self, action: Action) -> tuple:
        before = len(self.user.replies())
        text = str(action.option.number) if action.how == "press" and action.option is not None else action.text
        self._post(text)
        return text, [BotMessage(body) for body in self.user.replies()[before:]]

    def _post(self, text: str) -> None:
        """TwilioUser.say, with a shorter wait: a turn that hangs is a finding, not a 5-minute stall."""
        from tests.channels.e2e_support import ACCOUNT, AUTH_TOKEN, sign

        sid = f"SM{uuid.uuid4().hex}"
        params = {"MessageSid": sid, "SmsMessageSid": sid, "SmsSid": sid, "AccountSid": ACCOUNT,
                  "From": self.user.address, "To": self.user.to, "Body": text, "NumMedia": "0",
                  "NumSegments": "1", "SmsStatus": "received", "ApiVersion": "2010-04-01"}
        url = f"{self.user.stack['url']}/webhooks/sms/webhook"
        request = urllib.request.Request(url, data=urllib.parse.urlencode(params).encode(), method="POST", headers={
            "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": sign(AUTH_TOKEN, url, params)})
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                status = answer.status
        except urllib.error.HTTPError as error:
            status = error.code
        if status != 200:
            raise TurnTimeout(f"sms webhook answered {status}")
        _wait_handled(self.user.stack, "sms", sid)


# One stack serves many runs: every Telegram user needs its own chat id *and* its own update ids,
# which TelegramUser derives from the chat id's last three digits (the gateway drops a repeated
# update id as a re-delivery). So chat ids are handed out from one counter per process.
_telegram_users = itertools.count(1)


def transport_for(persona, rasa_url: str, stack: Optional[dict], run_id: str, index: int):
    if persona.channel == "rest":
        sender = re.sub(r"[^A-Za-z0-9_-]+", "_", f"corpus-{run_id}-{persona.pid}")
        return RestTransport(rasa_url, sender)
    if stack is None:
        raise ValueError(f"{persona.pid}: the {persona.channel} channel needs the channel stack")
    if persona.channel == "telegram":
        number = next(_telegram_users)
        if number >= 1000:
            raise ValueError("more than 999 Telegram users in one process: update ids would repeat")
        return TelegramTransport(stack, 7100000000 + (zlib.crc32(run_id.encode()) % 10000) * 1000 + number)
    if persona.channel == "sms":
        return SmsTransport(stack, f"+62813{zlib.crc32(run_id.encode()) % 1000:03d}{index:05d}")
    raise ValueError(f"unknown channel {persona.channel!r}")
