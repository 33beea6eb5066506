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


def refill_and_take(
    tokens: float, updated: float, rate: float, burst: int, cost: int, now: float
) -> tuple[float, float]:
    """A bucket that held `tokens` at `updated`, refilled at `rate` up to `burst` until
    `now`: the tokens it holds after `cost` is taken, and 0; or, when `cost` is more than
    it holds, the tokens it holds (nothing taken) and the seconds until they will be there.
    """
    elapsed = max(0.0, now - updated)
    tokens = min(float(burst), tokens + elapsed * rate)
    if tokens >= cost:
        return tokens - cost, 0.0
    return tokens, (cost - tokens) / rate


def whole_seconds(wait: float) -> int:
    """A wait as `Retry-After` states it: 0, or at least 1 whole second."""
    return 0 if wait == 0 else max(1, math.ceil(wait))


class TokenBucket:
    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.updated = now

    def take(self, cost: int, now: float) -> float:
        """Take `cost` tokens and return 0, or take nothing and return the seconds until
        they will be there."""
        self.tokens, wait = refill_and_take(
            self.tokens, self.updated, self.rate, self.burst, cost, now
        )
        self.updated = now
        return wait


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
        return whole_seconds(bucket.take(cost, now))
