"""Rasa's output-channel methods, turned into one channel-neutral reply each.

Why: every connector answers Rasa's ``send_text_message`` / ``send_text_with_buttons`` /
``send_image_url`` the same way: wrap the content in an :class:`Outgoing` and send it with the
channel's own ``_send(recipient_id, reply)``, which knows the provider's limits.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, Dict, List, Text

from accessibility.pipeline import Outgoing

PARAGRAPH = "\n\n"


def merge_texts(replies: List[Outgoing], fits: Callable[[Outgoing], bool]) -> List[Outgoing]:
    """Consecutive plain-text replies joined into one message wherever the provider allows.

    Why: each message is one provider API call (and on SMS one more message on the phone); a
    greeting followed by a question reads as well as one message. Only text joins: a reply
    with a voice note or an image keeps its own message (the voice reads exactly its text),
    and so does one with buttons unless it comes last (the buttons stay under their question).
    ``fits(reply)`` says whether a joined reply still goes out as a single message.
    """
    merged: List[Outgoing] = []
    for reply in replies:
        previous = merged[-1] if merged else None
        if previous is not None and _joinable(previous) and not previous.buttons and _joinable(reply):
            joined = replace(previous, text=f"{previous.text.strip()}{PARAGRAPH}{reply.text.strip()}",
                             buttons=list(reply.buttons))
            if fits(joined):
                merged[-1] = joined
                continue
        merged.append(reply)
    return merged


def _joinable(reply: Outgoing) -> bool:
    return bool(reply.text and reply.text.strip()) and reply.voice_ogg is None and not reply.image


class SendsOutgoing:
    """Mixed into an ``OutputChannel`` that implements ``async _send(recipient_id, reply)``."""

    async def _send(self, recipient_id: Text, reply: Outgoing) -> None:  # pragma: no cover
        raise NotImplementedError

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self._send(recipient_id, Outgoing(text=text))

    async def send_text_with_buttons(self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]],
                                     **kwargs: Any) -> None:
        await self._send(recipient_id, Outgoing(text=text, buttons=list(buttons)))

    async def send_image_url(self, recipient_id: Text, image: Text, **kwargs: Any) -> None:
        await self._send(recipient_id, Outgoing(image=image))
