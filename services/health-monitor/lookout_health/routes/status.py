"""`GET /api/v1/health/status`: the system status card."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
from fastapi import APIRouter

from lookout_common.contracts.health_api import SystemStatus
from lookout_common.infra.auth import AUTH_ERRORS, Reader
from lookout_health import rollup_store
from lookout_health.bootstrap import MonitorDep, PoolDep
from lookout_health.sla import UPTIME_WINDOWS
from lookout_health.status import critical_issues, system_state
from lookout_health.store import incidents as incident_store
from lookout_health.store import results as result_store

router = APIRouter(tags=["health"])


@router.get("/api/v1/health/status", response_model=SystemStatus, responses=AUTH_ERRORS)
async def status(pool: PoolDep, monitor: MonitorDep, _: Reader) -> SystemStatus:
    now = datetime.now(UTC)
    results = await result_store.latest_results(pool, list(monitor.checks), monitor.quorum.window_s)
    maintenance = await incident_store.active_maintenance(pool, now)
    critical = [name for name, check in monitor.checks.items() if check.critical]
    return SystemStatus(
        status=system_state(results, maintenance is not None),
        uptime=await worst_uptime(pool, critical, now),
        last_check=max((r.timestamp for r in results), default=None),
        critical_issues=critical_issues(results),
        active_incidents=len(await incident_store.open_incident_checks(pool)),
    )


async def worst_uptime(pool: asyncpg.Pool, critical: list[str], now: datetime) -> float | None:
    """The lowest 30-day uptime of the critical checks, as `/checks` gives each (None when
    none has any known time)."""
    found = await rollup_store.rolling_uptime(pool, critical, now, [UPTIME_WINDOWS["30d"]])
    return min((pct for [pct] in found.values() if pct is not None), default=None)
