"""Rasa's replies collected per channel, not sent by Rasa.

Why its own module: the Rasa-side relay endpoint (channels/relay.py) needs the same collectors
as the connectors, without importing the accessibility layer into the Rasa process.
"""
from __future__ import annotations

from typing import Dict

from rasa.core.channels.channel import CollectingOutputChannel

_COLLECTORS: Dict[str, type] = {}


# Reply keys from the dialogue that travel with a message to the accessibility layer: what
# the question expects as an answer ("yes_no", "choice", "date", ...; bot.actions.report_form).
PASSED_THROUGH = ("expects",)


class _KeepsHints(CollectingOutputChannel):
    """Rasa's collector, keeping the dialogue's hints (``expects``) that it would drop."""

    async def send_response(self, recipient_id, message) -> None:
        hints = {key: message[key] for key in PASSED_THROUGH if message.get(key)}
        before = len(self.messages)
        await super().send_response(recipient_id, message)
        if hints:
            for collected in self.messages[before:]:
                collected.update(hints)


def collector_class(channel: str) -> type:
    """A CollectingOutputChannel named after the channel.

    Rasa picks channel-specific response variations (``channel: telegram`` in the domain) by
    the output channel's name; the plain collector is called "collector" and would hide them.
    """
    if channel not in _COLLECTORS:
        _COLLECTORS[channel] = type(f"{channel.title()}Collector", (_KeepsHints,),
                                    {"name": classmethod(lambda cls: channel)})
    return _COLLECTORS[channel]
