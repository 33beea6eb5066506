"""The checks: each with its latest result and uptime, a check's history, what each
location last saw of it, run now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, HTTPException, Query

from lookout_common.contracts.health_api import (
    CheckLocation,
    CheckSummary,
    HistoryPoint,
    RunRequest,
    Uptime,
)
from lookout_common.contracts.health_events import CheckResult
from lookout_common.infra.auth import AUTH_ERRORS, Admin, Reader
from lookout_health.bootstrap import MonitorDep, PoolDep
from lookout_health.store import results as result_store

router = APIRouter(tags=["health"])
NO_CHECK = {**AUTH_ERRORS, 404: {"description": "No such check"}}


@router.get("/api/v1/health/checks", response_model=list[CheckSummary], responses=AUTH_ERRORS)
async def checks(pool: PoolDep, monitor: MonitorDep, _: Reader) -> list[CheckSummary]:
    now = datetime.now(UTC)
    configured = monitor.checks
    names = list(configured)
    results = {r.service: r for r in await result_store.latest_results(pool, names)}
    windows = [
        (label, await result_store.uptime_by_check(pool, names, now - timedelta(days=days), now))
        for label, days in (("24h", 1), ("7d", 7), ("30d", 30))
    ]
    return [
        CheckSummary(
            name=name,
            kind=check.kind,
            critical=check.critical,
            interval_s=check.interval_s,
            latest=results.get(name),
            uptime=Uptime.model_validate({label: found.get(name) for label, found in windows}),
        )
        for name, check in configured.items()
    ]


@router.get(
    "/api/v1/health/checks/{name}/history", response_model=list[HistoryPoint], responses=NO_CHECK
)
async def history(
    pool: PoolDep,
    monitor: MonitorDep,
    name: str,
    _: Reader,
    hours: int = Query(24, ge=1, le=24 * 30),
) -> list[HistoryPoint]:
    if name not in monitor.checks:
        raise HTTPException(404, f"no check named {name!r}")
    bucket = timedelta(hours=1) if hours > 48 else timedelta(minutes=5 if hours <= 6 else 15)
    rows = await result_store.response_time_history(
        pool, name, datetime.now(UTC) - timedelta(hours=hours), bucket
    )
    return [HistoryPoint.model_validate(dict(row)) for row in rows]


@router.get(
    "/api/v1/health/checks/{name}/locations",
    response_model=list[CheckLocation],
    responses=NO_CHECK,
)
async def locations(
    pool: PoolDep, monitor: MonitorDep, name: str, _: Reader
) -> list[CheckLocation]:
    """The newest result of every location that ran the check, by location, with its
    verdict (null with one location only); empty before the first run."""
    if name not in monitor.checks:
        raise HTTPException(404, f"no check named {name!r}")
    return [
        CheckLocation(location=result.location, failing=failing, since=since, latest=result)
        for result, failing, since in await result_store.results_by_location(pool, [name])
    ]


@router.post("/api/v1/health/checks/run", response_model=list[CheckResult], responses=NO_CHECK)
async def run_now(
    monitor: MonitorDep,
    _: Admin,
    body: RunRequest | None = None,
) -> list[CheckResult]:
    """Run every check (or one) now and return the results (`performHealthCheck`)."""
    name = body.check if body else None
    if name is not None and name not in monitor.checks:
        raise HTTPException(404, f"no check named {name!r}")
    return await monitor.run_now(name)
