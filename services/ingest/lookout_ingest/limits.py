"""Rate limits: a token bucket per write key (counting events) and per client IP
(counting requests).

A bucket holds up to `burst` tokens and refills at `rate` per second; a request
takes as many tokens as it costs (a batch: one per event). A request that costs more
than the whole burst could never be admitted: the caller refuses it outright
(`RateLimiter.admits`).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

Clock = Callable[[], float]


class TokenBucket:
    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.updated = now

    def take(self, cost: int, now: float) -> float:
        """Take `cost` tokens and return 0, or take nothing and return the seconds until
        they will be there."""
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(float(self.burst), self.tokens + elapsed * self.rate)
        self.updated = now
        if self.tokens >= cost:
            self.tokens -= cost
            return 0.0
        return (cost - self.tokens) / self.rate


class RateLimiter:
    """One token bucket per client (write key or IP), the most recently used `max_clients`
    of them kept. A bucket left unused long enough is full again, so forgetting the least
    recently used one costs nothing but a client that rotates through that many addresses.
    """

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        max_clients: int = 100_000,
        clock: Clock = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._max_clients = max_clients
        self._clock = clock
        self._buckets: OrderedDict[Hashable, TokenBucket] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def admits(self, cost: int) -> bool:
        """Whether a request costing `cost` can ever pass (no bucket holds more than burst)."""
        return not self.enabled or cost <= self.burst

    def retry_after(self, client: Hashable, cost: int = 1) -> int:
        """0 if `client` may spend `cost` now (and it is spent), else whole seconds to wait.
        `cost` must be admitted (`admits`)."""
        if not self.enabled:
            return 0
        if cost > self.burst:
            raise ValueError(f"a cost of {cost} exceeds the burst of {self.burst}")
        now = self._clock()
        bucket = self._buckets.get(client)
        if bucket is None:
            bucket = self._buckets[client] = TokenBucket(self.rate, self.burst, now)
            if len(self._buckets) > self._max_clients:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(client)
        wait = bucket.take(cost, now)
        return 0 if wait == 0 else max(1, math.ceil(wait))
