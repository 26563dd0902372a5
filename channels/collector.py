"""Rasa's replies collected per channel, not sent by Rasa.

Why its own module: the Rasa-side relay endpoint (channels/relay.py) needs the same collectors
as the connectors, without importing the accessibility layer into the Rasa process.
"""
from __future__ import annotations

from typing import Dict

from rasa.core.channels.channel import CollectingOutputChannel

_COLLECTORS: Dict[str, type] = {}


def collector_class(channel: str) -> type:
    """A CollectingOutputChannel named after the channel.

    Rasa picks channel-specific response variations (``channel: telegram`` in the domain) by
    the output channel's name; the plain collector is called "collector" and would hide them.
    """
    if channel not in _COLLECTORS:
        _COLLECTORS[channel] = type(f"{channel.title()}Collector", (CollectingOutputChannel,),
                                    {"name": classmethod(lambda cls: channel)})
    return _COLLECTORS[channel]
