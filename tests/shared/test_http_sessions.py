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
