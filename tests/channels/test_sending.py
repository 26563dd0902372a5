from __future__ import annotations

import asyncio

import aiohttp
import httpx
import pytest
from aiohttp.client_reqrep import ConnectionKey
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from twilio.base.exceptions import TwilioRestException

from channels import telegram_send as telegram, twilio_http
from channels.sending import Retry, RetryPolicy, send_with_retry


def timed_out(cause: Exception) -> TimedOut:
    try:
        raise TimedOut() from cause
    except TimedOut as error:
        return error


@pytest.mark.parametrize("error, retried", [
    (RetryAfter(3), True),
    (NetworkError("httpx.ConnectError: connection refused"), True),
    (NetworkError("Bad Gateway (502)"), True),
    (timed_out(httpx.ConnectTimeout("connect")), True),
    (timed_out(httpx.ReadTimeout("read")), False),
    (Forbidden("Forbidden: bot was blocked by the user"), False),
    (BadRequest("Bad Request: message text is empty"), False),
])
def test_telegram_retries_only_what_cannot_have_been_delivered(error, retried):
    assert (telegram.classify(error) is not None) == retried


@pytest.mark.parametrize("error, retried", [
    (twilio_http.ProviderBusy(429, 2.0), True),
    (twilio_http.ProviderBusy(503, None), True),
    (aiohttp.ClientConnectorError(ConnectionKey("api.twilio.com", 443, True, None, None, None, None),
                                  ConnectionRefusedError(111, "refused")), True),
    (aiohttp.ServerTimeoutError("Connection timeout to host https://api.twilio.com"), True),
    (aiohttp.ServerTimeoutError("Timeout on reading data from socket"), False),
    (asyncio.TimeoutError(), False),
    (aiohttp.ServerDisconnectedError(), False),
    (TwilioRestException(400, "uri", "unsubscribed", code=21610), False),
    (TwilioRestException(500, "uri", "server error"), True),
])
def test_twilio_retries_only_what_cannot_have_been_delivered(error, retried):
    assert (twilio_http.classify(error) is not None) == retried


def test_telegram_flood_control_waits_as_long_as_asked():
    assert telegram.classify(RetryAfter(7)).after == 7


async def test_backoff_is_exponential_and_honours_retry_after():
    waits = []

    async def sleep(seconds):
        waits.append(seconds)

    failures = iter([Retry("5xx"), Retry("5xx"), Retry("429", after=4.0)])
    calls = []

    async def operation():
        calls.append(1)
        if len(calls) <= 3:
            raise ConnectionError("boom")
        return "sent"

    result = await send_with_retry(operation, lambda error: next(failures), RetryPolicy(attempts=4, base_delay=0.5),
                                   sleep=sleep)

    assert result == "sent"
    assert waits == [0.5, 1.0, 4.0]


async def test_a_failure_that_may_have_been_delivered_is_raised_at_once():
    calls = []

    async def operation():
        calls.append(1)
        raise TimeoutError("read timeout")

    with pytest.raises(TimeoutError):
        await send_with_retry(operation, lambda error: None)
    assert len(calls) == 1


async def test_retries_stop_after_the_policy_attempts():
    calls = []

    async def operation():
        calls.append(1)
        raise ConnectionError("refused")

    async def sleep(seconds):
        pass

    with pytest.raises(ConnectionError):
        await send_with_retry(operation, lambda error: Retry("refused"), RetryPolicy(attempts=3), sleep=sleep)
    assert len(calls) == 3
