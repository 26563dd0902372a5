"""python-telegram-bot's HTTP transport on aiohttp instead of httpx.

Why: measured on loopback, one ``sendMessage`` through PTB's default httpx transport costs about
3.5 ms of CPU, the same POST through aiohttp about 0.6 ms (bench/README.md, cause 3); a text
turn makes one or two such calls in the channel gateway. PTB keeps everything else (request
building, answers, its error types from status codes): this class only moves bytes, through
PTB's documented ``BaseRequest`` extension point.

Errors keep PTB's meaning, which channels.telegram.classify relies on: a timeout is
:class:`telegram.error.TimedOut`, caused by :class:`ConnectTimeout` only when the connection was
never made (so retrying cannot send twice); any other transport failure is
:class:`telegram.error.NetworkError`.
"""
from __future__ import annotations

import asyncio
from typing import Optional, Tuple

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from channels.sending import connect_timed_out
from shared.http_sessions import KeptSession

# PTB's HTTPXRequest defaults.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 5.0
WRITE_TIMEOUT = 5.0
MEDIA_WRITE_TIMEOUT = 20.0
POOL_SIZE = 256


class ConnectTimeout(Exception):
    """The connection to the Bot API could not be made in time: nothing was sent."""


def _seconds(value, default: Optional[float]) -> Optional[float]:
    return default if isinstance(value, type(BaseRequest.DEFAULT_NONE)) else value


class AiohttpRequest(BaseRequest):
    """A keep-alive aiohttp session per request object (the Bot has two: calls and getUpdates)."""

    def __init__(self, pool_size: int = POOL_SIZE, read_timeout: Optional[float] = READ_TIMEOUT) -> None:
        self._read_timeout = read_timeout
        self._sessions = KeptSession(limit=pool_size)
        self._initialized = False

    @property
    def read_timeout(self) -> Optional[float]:
        return self._read_timeout

    async def initialize(self) -> None:
        self._sessions.get()
        self._initialized = True

    async def shutdown(self) -> None:
        await self._sessions.close()
        self._initialized = False

    async def do_request(self, url: str, method: str, request_data: Optional[RequestData] = None,
                         read_timeout=BaseRequest.DEFAULT_NONE, write_timeout=BaseRequest.DEFAULT_NONE,
                         connect_timeout=BaseRequest.DEFAULT_NONE,
                         pool_timeout=BaseRequest.DEFAULT_NONE) -> Tuple[int, bytes]:
        if not self._initialized:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data else None
        fields = request_data.json_parameters if request_data else None
        if files:
            body = aiohttp.FormData(fields or {})
            for name, (filename, content, mimetype) in files.items():
                if hasattr(content, "read"):
                    content = content.read()
                body.add_field(name, content, filename=filename, content_type=mimetype)
        else:
            body = fields or None
        connect = _seconds(connect_timeout, CONNECT_TIMEOUT)
        read = _seconds(read_timeout, self._read_timeout)
        write = _seconds(write_timeout, MEDIA_WRITE_TIMEOUT if files else WRITE_TIMEOUT)
        # aiohttp has no separate write timeout: the whole call may take connect + write + read.
        total = None if None in (connect, read, write) else connect + write + read
        timeout = aiohttp.ClientTimeout(total=total, sock_connect=connect, sock_read=read)
        try:
            async with self._sessions.get().request(method, url, data=body, timeout=timeout,
                                             headers={"User-Agent": self.USER_AGENT}) as answer:
                return answer.status, await answer.read()
        except asyncio.TimeoutError as error:  # aiohttp's ServerTimeoutError is one too
            if connect_timed_out(error):
                raise TimedOut("Connect timeout: the request was not sent") from ConnectTimeout(str(error))
            raise TimedOut from error
        except aiohttp.ClientConnectorError as error:
            raise NetworkError(f"aiohttp.{type(error).__name__}: {error.os_error}") from error
        except aiohttp.ClientError as error:
            raise NetworkError(f"aiohttp.{type(error).__name__}: {error}") from error
