"""The leader lease's loop under a supervisor, against a real Postgres: a lease loop that
raises is restarted (counted, /healthz failing while it keeps failing) and then takes
the lease."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from prometheus_client import REGISTRY
from support.wait import eventually

from lookout_common.infra import leader
from lookout_common.infra.leader import LeaderLease
from lookout_common.infra.settings import LookoutSettings
from lookout_common.infra.supervise import Supervisor

pytestmark = pytest.mark.integration


async def test_a_failing_lease_loop_is_restarted_and_then_leads(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    failures = 3
    connect = asyncpg.connect

    async def failing_connect(*args, **kwargs):
        nonlocal failures
        if failures:
            failures -= 1
            raise RuntimeError("injected lease bug")
        return await connect(*args, **kwargs)

    monkeypatch.setattr(leader.asyncpg, "connect", failing_connect)
    labels = {"loop": "leader-lease:supervision-test"}
    before = REGISTRY.get_sample_value("lookout_loop_restarts_total", labels) or 0.0
    settings = LookoutSettings(database_url=database_url)
    async with Supervisor(backoff_s=0.05, unhealthy_failures=3, stable_s=1.0) as loops:
        lease = LeaderLease(settings, "supervision-test", retry_s=0.05, supervisor=loops)
        async with lease:
            await eventually(lambda: asyncio.sleep(0, loops.failing()), timeout=10)
            assert loops.failing() == ["leader-lease:supervision-test"]
            await eventually(lambda: asyncio.sleep(0, lease.is_leader), timeout=10)
            await eventually(lambda: asyncio.sleep(0, not loops.failing()), timeout=10)
    after = REGISTRY.get_sample_value("lookout_loop_restarts_total", labels)
    assert after - before == 3
