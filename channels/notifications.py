"""Telling reporters about status changes of their reports, per channel, in the background.

Why in the channels: only a channel knows how to reach a person and under which rules (the
WhatsApp 24-hour window). ``storage.lifecycle`` (routing engineer) says what is due with
``pending_notifications(session, channel)`` and records the outcome with
``mark_notified(session, change_id, outcome)``; each connector runs one loop that sends them.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Optional

log = logging.getLogger(__name__)

# (address, text, last_inbound_at) -> outcome ("sent", "unreachable", "needs_template", "failed")
Send = Callable[[str, str, Any], Awaitable[str]]
INTERVAL_SECONDS = 60.0


def _field(item: Any, *names: str) -> Any:
    for name in names:
        if isinstance(item, dict) and name in item:
            return item[name]
        if hasattr(item, name):
            return getattr(item, name)
    return None


class NotificationLoop:
    def __init__(self, channel: str, runtime, send: Send, lifecycle, interval: float = INTERVAL_SECONDS) -> None:
        self.channel = channel
        self.runtime = runtime
        self.send = send
        self.lifecycle = lifecycle
        self.interval = interval
        # change id -> the user's last message time when the 24-hour window was found closed:
        # not tried again (nor logged again) until the user writes and reopens it.
        self._waiting: dict = {}

    @classmethod
    def for_channel(cls, channel: str, runtime, send: Send, interval: float = INTERVAL_SECONDS
                    ) -> Optional["NotificationLoop"]:
        """None (and one log line) while storage.lifecycle has no notifications to offer."""
        try:
            from storage import lifecycle
        except ImportError:
            log.info("%s: status notifications are off (storage.lifecycle is not available)", channel)
            return None
        if not all(hasattr(lifecycle, name) for name in ("pending_notifications", "mark_notified")):
            log.info("%s: status notifications are off (storage.lifecycle has no pending_notifications)", channel)
            return None
        return cls(channel, runtime, send, lifecycle, interval)

    async def run(self) -> None:
        while True:
            try:
                await self.once()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the loop must outlive one bad round
                log.exception("%s: sending status notifications failed; trying again later", self.channel)
            await asyncio.sleep(self.interval)

    async def once(self) -> int:
        """Send what is due now; returns how many were handed to the provider."""
        def pending():
            with self.runtime.database.session() as session:
                return list(self.lifecycle.pending_notifications(session, self.channel))
        items = await asyncio.to_thread(pending)
        sent = 0
        for item in items:
            change_id = _field(item, "change_id", "id")
            address = _field(item, "address")
            text = _field(item, "text", "message")
            if change_id is None or not address or not text:
                continue
            last_inbound_at = _field(item, "last_inbound_at")
            if change_id in self._waiting and self._waiting[change_id] == last_inbound_at:
                continue
            try:
                outcome = await self.send(str(address), str(text), last_inbound_at)
            except Exception as error:  # noqa: BLE001 - recorded, the next item still goes out
                log.error("%s: status notification #%s not sent: %s", self.channel, change_id, error)
                outcome = "retry_later"
            sent += outcome == "sent"
            if outcome == "needs_template":
                self._waiting[change_id] = last_inbound_at
            else:
                self._waiting.pop(change_id, None)

            def mark(change_id=change_id, outcome=outcome) -> None:
                with self.runtime.database.session() as session:
                    self.lifecycle.mark_notified(session, change_id, outcome)
            await asyncio.to_thread(mark)
        return sent
