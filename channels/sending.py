"""When an outbound send may be tried again, and how long to wait.

Why: a provider call that timed out after the request left may well have been delivered;
retrying it is how users get the same reply three times. So only failures that prove nothing
was delivered are retried: the connection never opened, the provider answered 5xx, or it
throttled us (429, honouring Retry-After). Everything else is raised to the caller at once.
Each provider module supplies a ``classify(error) -> Retry | None`` for its own exceptions.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Awaitable, Callable, Optional, TypeVar

import aiohttp

log = logging.getLogger(__name__)
T = TypeVar("T")


def connect_timed_out(error: BaseException) -> bool:
    """aiohttp's timeout while opening the connection: the request never left, so it is safe to retry.

    aiohttp raises the same ServerTimeoutError for a read timeout; only its message tells them apart.
    """
    return isinstance(error, aiohttp.ServerTimeoutError) and str(error).startswith("Connection timeout")


@dataclass(frozen=True)
class Retry:
    """The failure is safe to retry; ``after`` is the provider's Retry-After in seconds, if any."""

    reason: str
    after: Optional[float] = None


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4  # the first try included
    base_delay: float = 0.5
    max_delay: float = 30.0

    def delay(self, attempt: int, retry: Retry) -> float:
        """Exponential backoff after the ``attempt``-th failure (1-based), or the provider's wish."""
        if retry.after is not None:
            return min(max(retry.after, 0.0), self.max_delay)
        return min(self.base_delay * (2 ** (attempt - 1)), self.max_delay)


DEFAULT_POLICY = RetryPolicy()


async def send_with_retry(
    operation: Callable[[], Awaitable[T]],
    classify: Callable[[BaseException], Optional[Retry]],
    policy: RetryPolicy = DEFAULT_POLICY,
    what: str = "send",
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """Run ``operation``; retry only failures ``classify`` marks as safe, up to the policy's attempts."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return await operation()
        except Exception as error:  # noqa: BLE001 - classified right below
            retry = classify(error)
            if retry is None or attempt >= policy.attempts:
                raise
            wait = policy.delay(attempt, retry)
            log.warning("%s failed (%s), attempt %d of %d; retrying in %.1f s",
                        what, retry.reason, attempt, policy.attempts, wait)
            await sleep(wait)
