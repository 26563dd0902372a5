"""The part of every connector's Sanic blueprint that is not about its provider.

Why shared: each connector starts its background work (intake recovery, polling,
notifications) after the server starts, stops it before the server stops, and answers a health
check with 503 until it is ready; that wiring must behave the same on every channel.
"""
from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Awaitable, Callable, List

from rasa.core.channels.channel import UserMessage
from sanic import Blueprint, response
from sanic.request import Request


class ConnectorLifecycle:
    """Readiness and background tasks, kept the same for every connector.

    A subclass creates ``self._ready`` (set when start-up finished) and ``self._background``
    (its long-running tasks) in ``__init__`` by calling :meth:`_init_lifecycle`.
    """

    def _init_lifecycle(self) -> None:
        self._background: List[asyncio.Task] = []
        self._ready = asyncio.Event()

    def is_ready(self) -> bool:
        return self._ready.is_set()

    async def wait_ready(self, timeout: float = 10.0) -> bool:
        """Webhook calls may arrive while start-up (recovery, webhook registration) still runs."""
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    def _warm_up_speech(self, conversation: Any) -> None:
        """Start speech-to-text in the background if config asks for it (voice channels only)."""
        section = conversation.settings.section("accessibility.speech_to_text")
        if section.flag("warm_up", False):
            self._background.append(asyncio.get_running_loop().create_task(conversation.layer.warm_up()))

    def _start_upkeep(self, intake: Any) -> None:
        """The inbound log's hourly scrub (old and failed payloads), for as long as the connector runs."""
        self._background.append(asyncio.get_running_loop().create_task(intake.upkeep()))

    async def _stop_background(self) -> None:
        intake = getattr(self, "intake", None)
        if intake is not None:
            intake.close()
        for task in self._background:
            task.cancel()
        for task in self._background:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._background.clear()
        conversation = getattr(self, "conversation", None)
        layer = getattr(conversation, "layer", None)
        if layer is not None and hasattr(layer, "close"):
            with contextlib.suppress(Exception):
                await layer.close()


def connector_blueprint(name: str, connector: Any,
                        on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
    """A blueprint with the connector's start/stop listeners and ``GET /`` health route.

    ``connector`` needs ``start(on_new_message)``, ``stop()`` and ``is_ready()``; the caller
    adds its provider routes (``/webhook``, ...) to the returned blueprint.
    """
    blueprint = Blueprint(f"{name}_webhook_{id(connector)}", __name__)

    @blueprint.listener("after_server_start")
    async def start(app, loop) -> None:
        await connector.start(on_new_message)

    @blueprint.listener("before_server_stop")
    async def stop(app, loop) -> None:
        await connector.stop()

    @blueprint.route("/", methods=["GET"])
    async def health(request: Request):
        if not connector.is_ready():
            return response.json({"status": "starting"}, status=503)
        return response.json({"status": "ok"})

    return blueprint
