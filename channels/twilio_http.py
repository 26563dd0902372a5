"""The Twilio library's HTTP transport on one kept aiohttp session, and which failures may be retried.

Why our own transport: the library's synchronous client (requests, in a thread) cost several
times the CPU per message in the channel gateway (bench/README.md); its exceptions also drop
response headers, so throttling (429 with Retry-After) is raised here before the library sees it.
Retry rules as RapidPro's courier: connection failures, 5xx and 429 only, never a read timeout.
"""
from __future__ import annotations

import logging
from typing import Optional
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from twilio.base.exceptions import TwilioRestException
from twilio.http import AsyncHttpClient
from twilio.http.response import Response as TwilioResponse

from channels.sending import Retry, connect_timed_out
from shared.http_sessions import KeptSession


class ProviderBusy(Exception):
    """Twilio answered 429 or 5xx: nothing was accepted, so the send may be retried."""

    def __init__(self, status: int, retry_after: Optional[float]) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


class RoutedHttpClient(AsyncHttpClient):
    """The Twilio library's HTTP client: asynchronous, aimed at ``api_base_url``, 429/5xx raised.

    Asynchronous (the library's ``*_async`` calls) on one keep-alive aiohttp session, so a reply
    costs no worker thread and no new connection: the library's own synchronous client (requests,
    in a thread) cost several times the CPU per message in the channel gateway (bench/README.md).
    The library builds ``https://api.twilio.com/...`` itself; rewriting scheme and host here
    covers every Twilio domain at once. Its exceptions drop response headers, so throttling
    is raised before the library sees the response.
    """

    def __init__(self, api_base_url: str, timeout: float = 15.0) -> None:
        super().__init__(logging.getLogger("twilio.http_client"), True, timeout)
        self._base = urlsplit(api_base_url.rstrip("/"))
        self._sessions = KeptSession(limit=64)

    async def request(self, method, url, params=None, data=None, headers=None, auth=None, timeout=None,
                      allow_redirects=False) -> TwilioResponse:
        parts = urlsplit(url)
        if parts.hostname and parts.hostname.endswith("twilio.com"):
            url = urlunsplit((self._base.scheme, self._base.netloc, self._base.path + parts.path,
                              parts.query, parts.fragment))
        seconds = timeout or self.timeout
        # Repeated keys (MediaUrl) as Twilio expects them; form values are text.
        form = [(key, str(item)) for key, value in (data or {}).items()
                for item in (value if isinstance(value, (list, tuple)) else [value])] if data else None
        async with self._sessions.get().request(
                method.upper(), url, params=params, data=form, headers=headers,
                auth=aiohttp.BasicAuth(*auth) if auth else None, allow_redirects=allow_redirects,
                timeout=aiohttp.ClientTimeout(total=seconds, sock_connect=min(seconds, 10.0))) as answer:
            text = await answer.text()
            if answer.status == 429 or answer.status >= 500:
                raise ProviderBusy(answer.status, _retry_after(answer.headers.get("Retry-After")))
            return TwilioResponse(answer.status, text, dict(answer.headers))

    async def close(self) -> None:
        await self._sessions.close()


def _retry_after(value: Optional[str]) -> Optional[float]:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def classify(error: BaseException) -> Optional[Retry]:
    """Retry connection failures, 5xx and 429; never a read timeout (it may have been sent)."""
    if isinstance(error, ProviderBusy):
        return Retry(f"HTTP {error.status}", error.retry_after)
    if connect_timed_out(error):
        return Retry("connect timeout")
    if isinstance(error, aiohttp.ClientConnectorError):  # refused, unreachable: nothing was sent
        return Retry("connection failed")
    if isinstance(error, TwilioRestException) and (error.status == 429 or error.status >= 500):
        return Retry(f"HTTP {error.status}")
    return None
