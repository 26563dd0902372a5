"""WhatsApp through Twilio (``channels.whatsapp.WhatsAppInput``, served by the channel gateway).

Addresses carry the ``whatsapp:`` prefix; voice notes and images arrive as media the server
downloads with the account credentials; replies are text plus voice notes served from
``/webhooks/whatsapp/media/<token>`` (unguessable, expiring), and free-form replies go out only
within 24 hours of the user's last message. Everything else is the shared Twilio path.
"""
from __future__ import annotations

from channels.twilio_connector import TwilioInput
from channels.twilio_kinds import WHATSAPP


class WhatsAppInput(TwilioInput):
    kind = WHATSAPP
