"""The provider delivery a handling is working on, for the layers below the intake.

Why a context variable: the intake (channels/intake.py) knows which delivery it hands on and
how often it was tried; the conversation puts the delivery's id on the Rasa message (so Rasa can
tell a retry from a new message) and decides whether the citizen was already told about a delay,
without every handler passing these through. Dependency-free: the Rasa-side relay imports it.
"""
from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Optional


_UNSAFE = re.compile(r"[^0-9A-Za-z_.:-]")  # what channels.relay accepts in a message id


@dataclass(frozen=True)
class Delivery:
    channel: str
    provider_id: str
    id: int
    attempt: int = 1  # 1 for the first handling; more after a postponement or a restart
    apologised: bool = False  # the citizen was already told their message is kept

    @property
    def message_id(self) -> str:
        """Rasa's ``message_id`` of this delivery's message: unique per channel, stable across retries."""
        return f"{self.channel}:{_UNSAFE.sub('_', self.provider_id)[:80]}"

    @property
    def retry(self) -> bool:
        return self.attempt > 1


CURRENT: ContextVar[Optional[Delivery]] = ContextVar("sapalapor_delivery", default=None)


def current() -> Optional[Delivery]:
    return CURRENT.get()


class Postponed(Exception):
    """The turn could not be completed now (Rasa or the action server is down or failing).

    ``replies`` is what to tell the citizen (empty when they were told on an earlier attempt);
    the handler sends them and re-raises, and the intake keeps the delivery to try it again.
    """

    def __init__(self, reason: str, replies: Optional[list] = None) -> None:
        super().__init__(reason)
        self.replies = list(replies or [])
