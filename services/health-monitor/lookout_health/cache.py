"""A value reused for a few seconds: the keyless `/api/health` answer and the status page."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class Cached(Generic[T]):
    """The last value `compute` gave, reused for `ttl_s` seconds: however often it is asked
    for (load balancers polling `/api/health`, visitors of the status page), the database
    answers once per period, or sooner when the caller's `key` (what the value was
    computed from) changes. Concurrent callers share one computation; a computation that
    raises is not kept, so the next caller computes again."""

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._value: T | None = None
        self._at = -math.inf
        self._key: Hashable = None
        self._lock = asyncio.Lock()

    async def get(self, compute: Callable[[], Awaitable[T]], key: Hashable = None) -> T:
        async with self._lock:  # callers arriving during a computation wait for its value
            expired = time.monotonic() - self._at >= self.ttl_s
            if self._value is None or expired or key != self._key:
                self._value = await compute()
                self._at = time.monotonic()
                self._key = key
            return self._value
