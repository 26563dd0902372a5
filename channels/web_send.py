"""Sending on the web channel: store what a page must show, then push it to its open sockets.

Why store first: a page can lose its connection at any moment (a phone's signal, a closed lid,
a gateway restart). Every item (a reply, or the transcript of the citizen's voice note) is
written to the device's mailbox (storage.repositories.web_replies) under an id that only grows,
and pushed to whatever socket of that device is open. A page that reconnects says which id it
has last; it gets exactly the items after it, and confirming an item erases its content. Storing is
keyed by the delivery the items answer, so a retried turn stores (and pushes) nothing twice.

Per device, storing-and-pushing and the backlog of a (re)connecting page run under one lock,
so a page never receives a newer item before an older one.
"""
from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Set

from accessibility.pipeline import Outgoing
from channels.output import merge_texts
from storage.repositories.web_replies import WebReplyLog

log = logging.getLogger(__name__)

TEXT_LIMIT = 4000  # one item in the transcript; longer replies stay separate


@dataclass(frozen=True)
class Item:
    kind: str  # "reply" | "heard"
    body: dict  # {"text", "choices", "image"}
    voice_ogg: Optional[bytes] = None


def word_label(title: str, position: int) -> str:
    """Screen readers read an emoji-only label as its Unicode name: such a choice gets words."""
    return title if any(char.isalnum() for char in title) else f"Pilihan {position}"


def reply_items(replies: Iterable[Outgoing]) -> List[Item]:
    """The replies of one turn as transcript items: consecutive texts joined into one message,
    so a screen reader announces one complete message instead of several fragments."""
    items = []
    for reply in merge_texts(list(replies), lambda joined: len(joined.text) <= TEXT_LIMIT):
        choices = [word_label(str(button.get("title", "")), position)
                   for position, button in enumerate(reply.buttons or [], start=1)]
        if not (reply.text or choices or reply.image or reply.voice_ogg):
            continue
        items.append(Item("reply", {"text": reply.text or "", "choices": choices, "image": reply.image},
                          reply.voice_ogg))
    return items


def heard_item(text: str) -> Item:
    return Item("heard", {"text": text, "choices": [], "image": None})


def frame(item_id: int, kind: str, body: dict, voice_ogg: Optional[bytes]) -> str:
    """The JSON the page receives for one item."""
    return json.dumps({"type": "item", "id": item_id, "kind": kind, "text": body.get("text") or "",
                       "choices": list(body.get("choices") or []), "image": body.get("image"),
                       "voice": base64.b64encode(voice_ogg).decode("ascii") if voice_ogg else None})


class Mailbox:
    """The web channel's sender: the device mailboxes and the sockets open on each device."""

    def __init__(self, database) -> None:
        self.database = database
        self._sockets: Dict[str, Set[Any]] = {}
        self._locks: "OrderedDict[str, asyncio.Lock]" = OrderedDict()

    def _lock(self, hashed: str) -> asyncio.Lock:
        lock = self._locks.get(hashed)
        if lock is None:
            lock = self._locks[hashed] = asyncio.Lock()
            while len(self._locks) > 10_000:  # bounded: idle devices' locks are dropped
                oldest_key, oldest = next(iter(self._locks.items()))
                if oldest.locked():
                    break
                del self._locks[oldest_key]
        else:
            self._locks.move_to_end(hashed)
        return lock

    async def deliver(self, hashed: str, source: str, items: List[Item]) -> List[int]:
        """Store the items of one delivery (``source``) and push them; returns the new ids.

        A source stored before (the turn was retried) stores and pushes nothing again.
        """
        def store() -> List[tuple]:
            stored = []
            with self.database.session() as session:
                mailbox = WebReplyLog(session)
                for index, item in enumerate(items):
                    item_id = mailbox.add(hashed, f"{source}#{index}", item.kind, item.body, item.voice_ogg)
                    if item_id is not None:
                        stored.append((item_id, item))
            return stored

        async with self._lock(hashed):
            stored = await asyncio.to_thread(store)
            for item_id, item in stored:
                await self._push(hashed, frame(item_id, item.kind, item.body, item.voice_ogg))
        return [item_id for item_id, _ in stored]

    async def connect(self, hashed: str, after: int, socket: Any) -> int:
        """A page (re)connected having every item up to ``after``: those are erased, the rest
        sent, and the socket receives new items from now on; returns how many were sent."""
        def backlog() -> List[tuple]:
            with self.database.session() as session:
                mailbox = WebReplyLog(session)
                mailbox.acknowledge(hashed, after)
                return [(row.id, row.kind, row.body, row.voice_ogg) for row in mailbox.after(hashed, after)]

        async with self._lock(hashed):
            missed = await asyncio.to_thread(backlog)
            for row in missed:
                await socket.send(frame(*row))
            self._sockets.setdefault(hashed, set()).add(socket)
        return len(missed)

    def disconnect(self, hashed: str, socket: Any) -> None:
        sockets = self._sockets.get(hashed)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self._sockets[hashed]

    async def seen(self, hashed: str, up_to: int) -> None:
        def work() -> None:
            with self.database.session() as session:
                WebReplyLog(session).acknowledge(hashed, up_to)
        await asyncio.to_thread(work)

    async def forget(self, hashed: str) -> None:
        """A kiosk reset: nothing of this device stays in the mailbox."""
        def work() -> None:
            with self.database.session() as session:
                WebReplyLog(session).forget(hashed)
        async with self._lock(hashed):
            await asyncio.to_thread(work)

    async def _push(self, hashed: str, text: str) -> None:
        for socket in list(self._sockets.get(hashed, ())):
            try:
                await socket.send(text)
            except Exception as error:  # noqa: BLE001 - a closed page fetches it on reconnect
                log.info("web page of %s… is gone (%s); it gets the item when it reconnects",
                         hashed[:8], type(error).__name__)
                self.disconnect(hashed, socket)
