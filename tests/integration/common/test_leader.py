from __future__ import annotations

import asyncio

import pytest

from lookout_common.infra.leader import LeaderLease
from lookout_common.infra.settings import LookoutSettings

pytestmark = pytest.mark.integration


async def _wait(predicate, timeout: float = 5.0) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return predicate()


async def test_exactly_one_replica_leads_and_a_standby_takes_over(database_url: str) -> None:
    settings = LookoutSettings(database_url=database_url)
    first = LeaderLease(settings, "scheduler-under-test", retry_s=0.1)
    second = LeaderLease(settings, "scheduler-under-test", retry_s=0.1)
    async with first:
        assert await _wait(lambda: first.is_leader)
        async with second:
            await asyncio.sleep(0.5)
            assert first.is_leader
            assert not second.is_leader
            await first.__aexit__(None, None, None)  # the leader stops (or dies)
            assert await _wait(lambda: second.is_leader)
            assert not first.is_leader
