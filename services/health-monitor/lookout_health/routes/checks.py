"""The checks: each with its latest result and uptime, a check's history, what each
location last saw of it (of one check, or of every check in one request), run now."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import asyncpg
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
from lookout_health.bootstrap import MonitorDep, PoolDep, RollingUptimeDep
from lookout_health.config import CheckName
from lookout_health.rolling_cache import UptimeNotReady
from lookout_health.sla import UPTIME_WINDOWS
from lookout_health.store import locations as location_store
from lookout_health.store import results as result_store

router = APIRouter(tags=["health"])
NO_CHECK = {**AUTH_ERRORS, 404: {"description": "No such check"}}
# How many checks one request for locations may name (none named: every check).
MAX_NAMED_CHECKS = 100
NamedChecks = Annotated[
    list[CheckName] | None,
    Query(
        max_length=MAX_NAMED_CHECKS,
        description=f"Only these checks (repeat the parameter, at most {MAX_NAMED_CHECKS});"
        " none: every check",
    ),
]


NOT_FILLED: dict[int | str, dict[str, Any]] = {
    503: {"description": "The uptime sums are not filled yet: retry after the header's seconds"}
}


@router.get(
    "/api/v1/health/checks",
    response_model=list[CheckSummary],
    responses={**AUTH_ERRORS, **NOT_FILLED},
)
async def checks(
    pool: PoolDep, monitor: MonitorDep, rolling: RollingUptimeDep, _: Reader
) -> list[CheckSummary]:
    now = datetime.now(UTC)
    configured = monitor.checks
    names = list(configured)
    try:
        latest, uptime = await asyncio.gather(  # two connections of the pool
            result_store.latest_results(pool, names, monitor.quorum.window_s),
            rolling.uptime(pool, names, now),
        )
    except UptimeNotReady as error:
        raise HTTPException(
            503, f"uptime: {error} (the health-rolling-uptime loop)", {"Retry-After": "10"}
        ) from None
    results = {r.service: r for r in latest}
    return [
        CheckSummary(
            name=name,
            kind=check.kind,
            critical=check.critical,
            interval_s=check.interval_s,
            latest=results.get(name),
            uptime=Uptime.model_validate(dict(zip(UPTIME_WINDOWS, uptime[name], strict=True))),
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
    _known(monitor.checks, [name])
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
    _known(monitor.checks, [name])
    return (await _by_location(pool, [name], monitor.quorum.window_s))[name]


@router.get(
    "/api/v1/health/locations",
    response_model=dict[str, list[CheckLocation]],
    responses=NO_CHECK,
)
async def every_location(
    pool: PoolDep, monitor: MonitorDep, _: Reader, check: NamedChecks = None
) -> dict[str, list[CheckLocation]]:
    """What each location last saw of every check (or of each `check` named), by check in
    the configuration's order, as `/checks/{name}/locations` gives it for one: the Health
    tab's one request. A check not run yet has an empty list."""
    configured = monitor.checks
    _known(configured, check or [])
    named = set(check or configured)
    names = [name for name in configured if name in named]
    return await _by_location(pool, names, monitor.quorum.window_s)


def _known(configured: Mapping[str, object], names: Iterable[str]) -> None:
    for name in names:
        if name not in configured:
            raise HTTPException(404, f"no check named {name!r}")


async def _by_location(
    pool: asyncpg.Pool, names: list[str], window_s: float
) -> dict[str, list[CheckLocation]]:
    """Each location's newest result and verdict, stale when the verdict was not updated
    within the quorum window."""
    found: dict[str, list[CheckLocation]] = {name: [] for name in names}
    stale = await location_store.stale_verdicts(pool, names, window_s)
    for result, failing, since in await result_store.results_by_location(pool, names):
        found[result.service].append(
            CheckLocation(
                location=result.location,
                failing=failing,
                since=since,
                stale=(result.service, result.location) in stale,
                latest=result,
            )
        )
    return found


@router.post("/api/v1/health/checks/run", response_model=list[CheckResult], responses=NO_CHECK)
async def run_now(
    monitor: MonitorDep,
    _: Admin,
    body: RunRequest | None = None,
) -> list[CheckResult]:
    """Run every check (or one) now and return the results (`performHealthCheck`)."""
    name = body.check if body else None
    if name is not None:
        _known(monitor.checks, [name])
    return await monitor.run_now(name)
