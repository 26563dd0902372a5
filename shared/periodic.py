"""A background loop that outlives one bad round: the gateway's delivery loops all run this way."""
from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable


async def run_every(interval: float, once: Callable[[], Awaitable[object]], log: logging.Logger,
                    failure: str) -> None:
    """Call ``once`` every ``interval`` seconds until cancelled; a failed round is logged with
    ``failure`` and the next one still runs (a provider or database hiccup must not stop sending)."""
    while True:
        try:
            await once()
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the loop must outlive one bad round
            log.exception(failure)
        await asyncio.sleep(interval)
