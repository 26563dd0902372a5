"""Rasa's REST channel (the local chat, the held-out checks) with typed choices understood.

Why: the other channels reach Rasa through the accessibility layer, which turns a typed "3" or
a button's title ("Lewati", "Tidak, ubah") into that button's payload. Rasa's own REST channel
skips that layer, so a typed "3" at the first menu was classified by the NLU alone (it opened
the status look-up instead of "Minta informasi"). This input channel keeps the REST channel's
name, URL and wire format, and maps a message to the button it picks among the buttons of the
last bot message in the conversation (``accessibility.choices.select``), exactly as the layer does.
"""
from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint

from accessibility import choices

log = logging.getLogger(__name__)


def last_buttons(events: List[Dict[str, Any]]) -> List[dict]:
    """The buttons of the latest bot message, if the user has not written since."""
    for event in reversed(events):
        kind = event.get("event")
        if kind == "user":
            return []
        if kind == "bot":
            return list((event.get("data") or {}).get("buttons") or [])
    return []


def as_choice(text: Optional[str], events: List[Dict[str, Any]]) -> Optional[str]:
    """The payload of the button ``text`` picks, or None when it picks none (or is a payload)."""
    if not text or text.lstrip().startswith("/"):
        return None
    picked = choices.select(text, last_buttons(events))
    return choices.payload_of(picked) if picked else None


class RestWithChoices(RestInput):
    """``rest`` in Rasa's credentials: the REST channel, with typed numbers and titles as buttons."""

    @classmethod
    def name(cls) -> Text:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        async def with_choices(message: UserMessage) -> Any:
            try:
                from sanic import Sanic

                tracker = await Sanic.get_app().ctx.agent.tracker_store.retrieve(message.sender_id)
                payload = as_choice(message.text, [event.as_dict() for event in tracker.events]) if tracker else None
            except Exception:  # noqa: BLE001 - the text then goes to the NLU as typed
                log.exception("could not read the last choices shown to a REST sender")
                payload = None
            if payload is not None:
                message.text = payload
            return await on_new_message(message)

        return super().blueprint(with_choices)
