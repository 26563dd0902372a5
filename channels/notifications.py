"""Telling reporters about status changes of their reports, per channel, in the background.

Why in the channels: only a channel knows how to reach a person and under which rules (the
WhatsApp 24-hour window, templates, an SMS fallback). ``storage.lifecycle`` says what is due
(``pending_notifications(session, channel)``: facts, no words) and records the outcome
(``mark_notified``); the accessibility layer says it in the citizen's form
(:meth:`AccessibilityLayer.status_update`: simple language, a voice note when voice is on, the
satisfaction question with ``selesai``); the connector sends the replies. One loop per connector.

Every gateway replica runs the loop; only the holder of the channel's ``status-updates`` lease
(storage/leases.py) sends, and it renews the lease before each update, so with several
replicas each update still goes out once.

A connector's sender is ``send(notification, replies) -> outcome`` (one of
``storage.lifecycle.OUTCOMES``). An older sender ``send(address, text, last_inbound_at)`` (text
only) still works when the loop is made without ``layer``; it gets the text in the citizen's
language but no voice note.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable, List, Optional

from accessibility.pipeline import AccessibilityLayer, Outgoing
from storage import lifecycle
from storage.leases import JobLease
from shared.periodic import run_every

log = logging.getLogger(__name__)

Send = Callable[..., Awaitable[str]]
INTERVAL_SECONDS = 60.0
LEASE_FLOOR_SECONDS = 60.0


def delivered(outcome: str) -> bool:
    """``sent``, ``sent_template`` and ``sent_sms`` all reached the citizen."""
    return outcome.startswith("sent")


class NotificationLoop:
    def __init__(self, channel: str, runtime, send: Send, layer: Optional[AccessibilityLayer] = None,
                 can_send_voice: bool = False, interval: Optional[float] = None) -> None:
        self.channel = channel
        self.runtime = runtime
        self.send = send
        # Without a layer the sender is the older text-only kind (see the module docstring).
        self._renders = layer is not None
        self.layer = layer or AccessibilityLayer(runtime.settings, runtime.database)
        self.can_send_voice = can_send_voice and self._renders
        # server.status_update_seconds unless given (tests).
        self.interval = interval if interval is not None else getattr(runtime, "status_update_seconds", INTERVAL_SECONDS)
        self.lease = JobLease(runtime.database, f"status-updates:{channel}",
                              getattr(runtime, "replica", "gateway"), max(3 * self.interval, LEASE_FLOOR_SECONDS))
        # change id -> the user's last message time when the 24-hour window was found closed
        # (and no template could be sent): not tried again until the user writes and reopens it.
        self._waiting: dict = {}

    @classmethod
    def for_channel(cls, channel: str, runtime, send: Send, layer: Optional[AccessibilityLayer] = None,
                    can_send_voice: bool = False, interval: Optional[float] = None) -> "NotificationLoop":
        return cls(channel, runtime, send, layer, can_send_voice, interval)

    async def run(self) -> None:
        await run_every(self.interval, self.once, log, f"{self.channel}: sending status notifications failed; trying again later")

    async def once(self) -> int:
        """Send what is due now; returns how many reached the citizen (by any route)."""
        def pending() -> List[lifecycle.Notification]:
            with self.runtime.database.session() as session:
                return list(lifecycle.pending_notifications(session, self.channel))
        items = await asyncio.to_thread(pending)
        # The lease only when there is something to send: taking it is a write.
        if not items or not await asyncio.to_thread(self.lease.held_now):
            return 0  # nothing due, or another replica sends it
        sent = 0
        for item in items:
            if self._waiting.get(item.change_id, object()) == item.last_inbound_at:
                continue
            if not await asyncio.to_thread(self.lease.held_now):
                log.info("%s: the status-update lease passed to another replica; it sends the rest", self.channel)
                break
            try:
                replies = await self.layer.status_update(item, self.can_send_voice)
                outcome = await self._send(item, replies)
            except Exception as error:  # noqa: BLE001 - recorded, the next item still goes out
                log.error("%s: status notification #%s not sent: %s", self.channel, item.change_id,
                          type(error).__name__)
                outcome = "retry_later"
            if outcome == "needs_template":
                self._waiting[item.change_id] = item.last_inbound_at
            else:
                self._waiting.pop(item.change_id, None)
            if delivered(outcome):
                sent += 1
                await self.layer.status_update_delivered(item)

            def mark(change_id: int = item.change_id, outcome: str = outcome) -> None:
                with self.runtime.database.session() as session:
                    lifecycle.mark_notified(session, change_id, outcome)
            await asyncio.to_thread(mark)
        return sent

    async def _send(self, item: lifecycle.Notification, replies: List[Outgoing]) -> str:
        if self._renders:
            return await self.send(item, replies)
        text = "\n\n".join(reply.text for reply in replies if reply.text)
        return await self.send(str(item.address), text, item.last_inbound_at)


def flat_text(replies: List[Outgoing]) -> str:
    """The replies as one line of text (a template variable may hold no line breaks)."""
    return " ".join(" ".join((reply.text or "").split()) for reply in replies if reply.text)

