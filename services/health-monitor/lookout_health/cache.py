"""A value reused for a few seconds: the keyless `/api/health` answer and the status page."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Cached(Generic[T]):
    """The last value `compute` gave, reused for `ttl_s` seconds: however often it is asked
    for (load balancers polling `/api/health`, visitors of the status page), the database
    answers once per period. Concurrent callers share one computation; a computation that
    raises is not kept, so the next caller computes again."""

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._value: T | None = None
        self._at = -math.inf
        self._lock = asyncio.Lock()

    async def get(self, compute: Callable[[], Awaitable[T]]) -> T:
        async with self._lock:  # callers arriving during a computation wait for its value
            if self._value is None or time.monotonic() - self._at >= self.ttl_s:
                self._value = await compute()
                self._at = time.monotonic()
            return self._value
