import asyncio

import aiohttp

from bench.fake_providers import Arrivals, timed_telegram, timed_twilio
from bench.load import percentile, summary


def test_percentile_is_nearest_rank():
    values = list(range(1, 101))
    assert percentile(values, 50) == 50
    assert percentile(values, 95) == 95
    assert percentile(values, 99) == 99
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) is None


def test_summary_reports_milliseconds():
    result = summary([0.001, 0.002, 0.003])
    assert result["n"] == 3
    assert result["p50"] == 2.0
    assert result["max"] == 3.0


async def test_a_waiter_resolves_at_the_nth_send_to_its_recipient():
    arrivals = Arrivals()
    loop = asyncio.get_running_loop()
    waiter = arrivals.wait_for(loop, "telegram", "42", 2)
    arrivals.record("telegram", "42", "sendMessage", 1.0)
    arrivals.record("telegram", "43", "sendMessage", 1.5)
    assert not waiter.done()
    arrivals.record("telegram", "42", "sendVoice", 2.0)
    assert await waiter == 2.0
    assert arrivals.count("telegram", "42") == 2


async def test_the_timed_fake_telegram_records_replies_but_not_chat_actions():
    arrivals = Arrivals()
    server, url, _ = await timed_telegram("123:abc", arrivals)
    try:
        async with aiohttp.ClientSession() as session:
            for method, data in (("sendChatAction", {"chat_id": "77", "action": "typing"}),
                                 ("sendMessage", {"chat_id": "77", "text": "Halo"})):
                async with session.post(f"{url}/bot123:abc/{method}", data=data) as response:
                    assert (await response.json())["ok"] is True
    finally:
        await server.stop()
    assert [method for method, _ in arrivals.by_recipient[("telegram", "77")]] == ["sendMessage"]


async def test_the_timed_fake_twilio_records_each_accepted_message():
    arrivals = Arrivals()
    server, url, _ = await timed_twilio("AC1", "token", arrivals)
    try:
        async with aiohttp.ClientSession(auth=aiohttp.BasicAuth("AC1", "token")) as session:
            async with session.post(f"{url}/2010-04-01/Accounts/AC1/Messages.json",
                                    data={"To": "+628111", "From": "+1500", "Body": "Halo"}) as response:
                assert response.status == 201
    finally:
        await server.stop()
    assert arrivals.count("twilio", "+628111") == 1
