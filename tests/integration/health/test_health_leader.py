"""Two monitor replicas on one real Postgres: only the lease holder runs the schedules,
a standby takes over when the leader goes, and a replica that leads again starts from
what Postgres says rather than from what it remembered."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from support.wait import eventually

from lookout_common.contracts.health_events import CheckStatus
from lookout_common.infra.leader import LeaderLease
from lookout_common.infra.settings import LookoutSettings
from lookout_health.checks.custom import add_custom_check
from lookout_health.config import HealthConfig
from lookout_health.monitor import Monitor
from lookout_health.store import incidents as incident_store

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("empty_registry")]


async def test_only_the_lease_holder_runs_checks_and_a_standby_takes_over(
    pool, database_url: str
) -> None:
    async def heartbeat() -> str:
        return "beating"

    config = HealthConfig(checks=[add_custom_check("heartbeat", heartbeat, interval_s=0.1)])
    settings = LookoutSettings(database_url=database_url)
    async with contextlib.AsyncExitStack() as stack:
        first = await stack.enter_async_context(LeaderLease(settings, "health-test", 0.1))
        await eventually(lambda: asyncio.sleep(0, first.is_leader))
        second = await stack.enter_async_context(LeaderLease(settings, "health-test", 0.1))
        leader = Monitor(pool, None, "", lambda: first.is_leader)
        standby = Monitor(pool, None, "", lambda: second.is_leader)
        stack.push_async_callback(standby.stop)
        leader.apply(config)
        standby.apply(config)

        await asyncio.sleep(1.0)
        runs = await pool.fetchval("SELECT count(*) FROM system_health_logs")
        # One schedule every 0.1 s, not two: the standby ran nothing.
        assert 6 <= runs <= 12
        assert "heartbeat" in leader.latest
        assert standby.latest == {}

        await leader.stop()
        await first.__aexit__(None, None, None)  # the leader's process goes away
        await eventually(lambda: asyncio.sleep(0, "heartbeat" in standby.latest))
        assert standby.latest["heartbeat"].message == "beating"


async def test_a_replica_leading_again_follows_incidents_changed_while_it_stood_by(
    pool,
) -> None:
    async def broken() -> str:
        raise ConnectionError("payments provider refused")

    check = add_custom_check("payments", broken, interval_s=0.1, failures_before_incident=1)
    leading = True
    monitor = Monitor(pool, None, "", lambda: leading)
    monitor.apply(HealthConfig(checks=[check]))
    try:
        await eventually(lambda: incident_store.open_incident_checks(pool))
        leading = False
        await asyncio.sleep(0.3)
        # Meanwhile the other replica saw the dependency recover and resolved the incident.
        resolved = await incident_store.update_incident(
            pool,
            "payments",
            status=CheckStatus.HEALTHY,
            message="ok",
            at=await pool.fetchval("SELECT now()"),
            resolve=True,
        )
        assert resolved["resolved_at"] is not None
        leading = True
        # Still failing here: a new incident opens rather than the old one being assumed.
        await eventually(lambda: incident_store.open_incident_checks(pool))
        assert await pool.fetchval("SELECT count(*) FROM incidents") == 2
    finally:
        await monitor.stop()
