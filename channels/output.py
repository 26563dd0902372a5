"""Shaping a turn's replies before a connector sends them (joining short texts).

Why: every provider call is a message on the citizen's phone; consecutive texts are joined
wherever the provider's limit allows, the same way on every channel.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable, List

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
