"""SMS through Twilio (``channels.sms.SmsInput``, served by the channel gateway).

Replies are GSM-7 safe and cut into messages of at most three segments; buttons become
"Balas 1 untuk ..." lines, and "1", "satu" or the label picks the choice (the accessibility
layer remembers the last choices per user). Everything else is the shared Twilio path.
"""
from __future__ import annotations

from channels.twilio_connector import TwilioInput
from channels.twilio_kinds import SMS


class SmsInput(TwilioInput):
    kind = SMS
