"""Rasa's output-channel methods, turned into one channel-neutral reply each.

Why: every connector answers Rasa's ``send_text_message`` / ``send_text_with_buttons`` /
``send_image_url`` the same way: wrap the content in an :class:`Outgoing` and send it with the
channel's own ``_send(recipient_id, reply)``, which knows the provider's limits.
"""
from __future__ import annotations

from typing import Any, Dict, List, Text

from accessibility.pipeline import Outgoing


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
