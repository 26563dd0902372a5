from __future__ import annotations

from shared.http_sessions import KeptSession


async def test_one_session_is_kept_until_closed_and_a_new_one_made_after():
    kept = KeptSession(limit=4)
    first = kept.get()
    assert kept.get() is first and kept.is_open
    await kept.close()
    assert first.closed and not kept.is_open
    second = kept.get()
    assert second is not first
    await kept.close()


async def test_the_connection_limit_keep_alive_and_session_options_are_those_given():
    import aiohttp

    kept = KeptSession(limit=0, keepalive_timeout=2.0, headers={"X-Test": "1"},
                       timeout=aiohttp.ClientTimeout(total=7))
    session = kept.get()
    try:
        assert session.connector.limit == 0
        assert session.connector._keepalive_timeout == 2.0
        assert session.headers["X-Test"] == "1" and session.timeout.total == 7
    finally:
        await kept.close()


async def test_without_a_keep_alive_given_aiohttps_default_is_kept():
    kept = KeptSession()
    session = kept.get()
    try:
        assert session.connector._keepalive_timeout == 15.0  # aiohttp 3.9
    finally:
        await kept.close()
