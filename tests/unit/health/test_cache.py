"""`Cached`: one computation shared by concurrent callers, reused for its period, computed
again once the period passed or when it failed."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from lookout_health.cache import Cached


class Computation:
    """Counts its runs; each run gives the next number after yielding to other tasks."""

    def __init__(self, fail_first: bool = False) -> None:
        self.runs = 0
        self.fail_first = fail_first
        self._numbers = itertools.count(1)

    async def __call__(self) -> int:
        self.runs += 1
        await asyncio.sleep(0.01)  # callers arriving meanwhile must wait for this run
        if self.fail_first and self.runs == 1:
            raise RuntimeError("the database went away")
        return next(self._numbers)


async def test_concurrent_callers_share_one_computation_and_its_value() -> None:
    cached: Cached[int] = Cached(60)
    compute = Computation()

    values = await asyncio.gather(*(cached.get(compute) for _ in range(10)))

    assert values == [1] * 10
    assert compute.runs == 1
    assert await cached.get(compute) == 1
    assert compute.runs == 1


async def test_the_value_expires_after_its_period() -> None:
    cached: Cached[int] = Cached(0.05)
    compute = Computation()

    assert await cached.get(compute) == 1
    assert await cached.get(compute) == 1
    await asyncio.sleep(0.06)
    assert await cached.get(compute) == 2
    assert compute.runs == 2


async def test_a_zero_period_computes_every_time() -> None:
    cached: Cached[int] = Cached(0)
    compute = Computation()

    assert [await cached.get(compute) for _ in range(3)] == [1, 2, 3]


async def test_a_failed_computation_is_not_kept() -> None:
    cached: Cached[int] = Cached(60)
    compute = Computation(fail_first=True)

    with pytest.raises(RuntimeError, match="went away"):
        await cached.get(compute)
    assert await cached.get(compute) == 1
    assert compute.runs == 2


async def test_a_new_key_computes_again_and_the_same_key_reuses() -> None:
    cached: Cached[int] = Cached(60)
    compute = Computation()

    values = [await cached.get(compute, key=key) for key in ("a", "a", "b", "b", "a")]

    assert values == [1, 1, 2, 2, 3]
    assert compute.runs == 3
