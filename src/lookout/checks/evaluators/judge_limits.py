"""How hard a judge client may press its endpoint: requests per minute and pooled connections.

`RateLimiter` is a token bucket shared by every event loop and thread that uses a client;
`pool_limits` keeps one keep-alive connection per concurrency slot, so a full pipeline never
waits for a connection or reconnects.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import openai

__all__ = ["RateLimiter", "pool_limits"]


class RateLimiter:
    """Token bucket in requests per minute: `reserve()` books a slot and says how long to wait.

    Pure and thread-safe (a clock and a lock, no event loop), so one limiter serves every loop
    and thread using the client. burst=1 spaces requests evenly at 60/rpm seconds, so no
    60-second window ever holds more than rpm + 1 requests.
    """

    def __init__(
        self, per_minute: float, burst: int = 1, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError("a rate limiter needs per_minute > 0 and burst >= 1")
        self.rate = per_minute / 60.0  # tokens per second
        self.burst = float(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock()
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take one token (possibly in advance); seconds to wait before using it."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            self._tokens -= 1.0
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    async def acquire(self) -> None:
        delay = self.reserve()
        if delay > 0:
            await asyncio.sleep(delay)


def pool_limits(concurrency: int) -> Any:
    """Connection-pool limits of the HTTP library the installed SDK is built on.

    openai 1.x/2.x is built on httpx, 3.x on httpx2: the Limits object must come from the same
    library as the SDK's client class, so it is looked up from that class. None (SDK defaults:
    1000 connections, 100 kept alive) if it cannot be found.
    """
    for cls in getattr(openai, "DefaultAsyncHttpxClient", type).__mro__:
        module = sys.modules.get(cls.__module__.split(".")[0])
        limits = getattr(module, "Limits", None)
        if cls.__name__ == "AsyncClient" and limits is not None:
            slots = max(1, concurrency)
            return limits(
                max_connections=max(slots * 2, 10),
                max_keepalive_connections=slots,
                keepalive_expiry=30.0,
            )
    return None
