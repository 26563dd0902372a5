"""The contract between the channel gateway and a connector: routes, start/stop, send.

Why a contract of our own: connectors used to subclass Rasa's ``InputChannel`` and
``OutputChannel`` though Rasa no longer hosts them; the gateway needs only this much
(opsdroid's connect / listen / send / disconnect), and a test checks every connector keeps it
(tests/channels/test_connector_contract.py).

* ``from_runtime(runtime)``: built once by the gateway with the process's runtime (settings read
  by the entry point, the migrated database);
* ``name()``: the URL prefix (``/webhooks/<name>/``) and the channel's key everywhere;
* ``blueprint(on_new_message)``: its routes; ``on_new_message`` takes the turn to Rasa;
* ``start(on_new_message)`` / ``stop()``: background work (recovery, polling, notification loop);
* ``send(address, replies)``: outgoing units (text, buttons, voice note, image, template), in the
  channel's own rules; returns the outcome as ``storage.lifecycle.OUTCOMES`` spells it.
"""
from __future__ import annotations

from typing import Any, Awaitable, Callable, List, Protocol, runtime_checkable

from accessibility.pipeline import Outgoing

OnNewMessage = Callable[[Any], Awaitable[Any]]


@runtime_checkable
class Served(Protocol):
    """What the gateway mounts: a name and routes (the export API is only this)."""

    @classmethod
    def from_runtime(cls, runtime: Any) -> "Served": ...

    @classmethod
    def name(cls) -> str: ...

    def blueprint(self, on_new_message: OnNewMessage) -> Any: ...


@runtime_checkable
class Connector(Served, Protocol):
    """A messaging channel: also started, stopped, and able to send to an address."""

    async def start(self, on_new_message: OnNewMessage) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, address: str, replies: List[Outgoing]) -> str: ...
