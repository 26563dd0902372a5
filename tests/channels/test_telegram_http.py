import asyncio

import pytest
from aiohttp import web
from telegram import Bot
from telegram.error import NetworkError, TimedOut

from channels.telegram import classify
from channels.telegram_http import AiohttpRequest
from tests.channels.fakes.telegram_api import FakeTelegram
from tests.channels.harness import TELEGRAM_TOKEN, free_port
from tests.support.http import loopback_route


async def test_bot_api_calls_and_uploads_reach_telegram_through_aiohttp():
    fake = await FakeTelegram(TELEGRAM_TOKEN).start()
    bot = Bot(TELEGRAM_TOKEN, base_url=f"{fake.base_url}/bot", request=AiohttpRequest())
    try:
        await bot.initialize()
        await bot.send_message(5512340001, "Halo, apa kabar?")
        await bot.send_voice(5512340001, b"OggS" + b"\0" * 60)
    finally:
        await bot.shutdown()
    assert fake.texts(5512340001) == ["Halo, apa kabar?"]
    assert len(fake.sent("sendVoice")) == 1
    await fake.stop()


async def test_a_refused_connection_is_a_network_error_that_is_retried():
    request = AiohttpRequest()
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as raised:
            await request.do_request(f"http://127.0.0.1:{free_port()}/bot1:a/getMe", "POST")
    finally:
        await request.shutdown()
    assert classify(raised.value) is not None


async def test_an_answer_that_does_not_come_is_a_timeout_that_is_not_retried():
    release = asyncio.Event()

    async def silent(_request):
        await release.wait()
        return web.Response(text="{}")

    async with loopback_route("POST", "/{tail:.*}", silent) as base:
        request = AiohttpRequest()
        await request.initialize()
        try:
            with pytest.raises(TimedOut) as raised:
                await request.do_request(f"{base}/bot1:a/sendMessage", "POST", read_timeout=0.3)
        finally:
            release.set()
            await request.shutdown()
    assert classify(raised.value) is None  # the message may have been sent: never twice
