"""Answers reused for a few seconds: the keyless `/api/health` and the status page."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from lookout_health.status_page.model import StatusPage

Answer = tuple[Mapping[str, object], int]  # (JSON body, HTTP status)


@dataclass
class CachedAnswer:
    """The last keyless `/api/health` answer, reused for `ttl_s` seconds: however often
    load balancers (or anyone) poll it, the database answers once per period."""

    ttl_s: float
    _answer: Answer | None = None
    _at: float = -math.inf
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def get(self, compute: Callable[[], Awaitable[Answer]]) -> Answer:
        async with self._lock:  # concurrent callers share one computation
            if self._answer is None or time.monotonic() - self._at >= self.ttl_s:
                self._answer = await compute()
                self._at = time.monotonic()
            return self._answer


@dataclass
class PageCache:
    """The last status page built, reused for `status_cache_s`: however many visitors,
    the database answers once per period. Callers hold `lock` while they read or build."""

    page: StatusPage | None = None
    at: float = -math.inf
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
