"""One way to hold an aiohttp session: created on first use inside the running loop, kept alive, closed once.

Why: a provider call on a new connection costs a TCP (and TLS) handshake; a session per call,
or one created outside the event loop, was the difference between about 0.6 ms and several ms
of CPU per message (bench/README.md, cause 3). Every HTTP client of ours holds a
:class:`KeptSession` instead of its own lazily created ``aiohttp.ClientSession``.
"""
from __future__ import annotations

from typing import Any, Dict, Optional

import aiohttp


class KeptSession:
    """A keep-alive ``aiohttp.ClientSession`` with at most ``limit`` connections, made when first needed.

    ``limit=0`` is aiohttp's "no limit". ``keepalive_timeout`` is how long an idle connection is
    kept (aiohttp's default, 15 s, when None): a client of a server that closes idle connections
    itself keeps them for less, so it never sends a request on a connection being closed.
    ``session_options`` go to ``aiohttp.ClientSession`` (headers, auth, timeout, ...).
    """

    def __init__(self, limit: int = 64, *, keepalive_timeout: Optional[float] = None, **session_options: Any) -> None:
        self._limit = limit
        self._connector_options: Dict[str, Any] = {}
        if keepalive_timeout is not None:
            self._connector_options["keepalive_timeout"] = keepalive_timeout
        self._options = session_options
        self._session: Optional[aiohttp.ClientSession] = None

    def get(self) -> aiohttp.ClientSession:
        """The open session (a new one if there was none or it was closed); call inside the loop."""
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._limit, **self._connector_options)
            self._session = aiohttp.ClientSession(connector=connector, **self._options)
        return self._session

    @property
    def is_open(self) -> bool:
        return self._session is not None and not self._session.closed

    async def close(self) -> None:
        if self.is_open:
            await self._session.close()
        self._session = None
