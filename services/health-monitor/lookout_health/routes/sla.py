"""The SLA report: uptime per component per calendar month and over 90 and 365 days,
from the uptime rollups, as JSON or CSV (admin or viewer key)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import asyncpg
from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response

from lookout_common.contracts.health_sla import ComponentSla, SlaMaintenance, SlaPeriod, SlaReport
from lookout_common.infra.auth import AUTH_ERRORS, Reader
from lookout_health import rollup_store
from lookout_health.bootstrap import MonitorDep, PoolDep
from lookout_health.monitor import Monitor
from lookout_health.sla import Period, rows_wanted, summarise, to_csv
from lookout_health.store import incidents as incident_store

router = APIRouter(tags=["health"])
NO_COMPONENT = {**AUTH_ERRORS, 404: {"description": "No such component"}}
Months = Annotated[int, Query(ge=1, le=36, description="Calendar months, this one included")]
Component = Annotated[
    str | None, Query(max_length=80, description="One component (all when omitted)")
]


def components_of(monitor: Monitor) -> dict[str, list[str]]:
    """{component: [its checks]} of the running config."""
    found: dict[str, list[str]] = {}
    for name, check in monitor.checks.items():
        found.setdefault(check.component_name, []).append(name)
    return found


def period_of(period: Period) -> SlaPeriod:
    seconds = period.seconds
    return SlaPeriod(
        label=period.label,
        start=period.start,
        end=period.end,
        uptime_pct=seconds.uptime_pct,
        up_s=round(seconds.up, 3),
        degraded_s=round(seconds.degraded, 3),
        down_s=round(seconds.down, 3),
        maintenance_s=round(seconds.maintenance, 3),
    )


async def sla_report(
    pool: asyncpg.Pool, groups: dict[str, list[str]], months: int, now: datetime
) -> tuple[SlaReport, str]:
    """(the report, the same as CSV): two indexed reads, whatever the number of checks."""
    monthly_from, daily = rows_wanted(now, months)
    rows = await rollup_store.component_rollups(pool, list(groups), monthly_from, daily)
    summary = summarise(rows, groups, now, months)
    earliest = min([monthly_from, *(low for low, _ in daily)])
    windows = await incident_store.maintenance_windows(pool, earliest)
    report = SlaReport(
        generated_at=now,
        components=[
            ComponentSla(
                component=component.component,
                checks=sorted(groups[component.component]),
                months=[period_of(month) for month in component.months],
                last_90d=period_of(component.windows[0]),
                last_365d=period_of(component.windows[1]),
            )
            for component in summary
        ],
        maintenance=[
            SlaMaintenance(starts_at=row["starts_at"], ends_at=row["ends_at"], reason=row["reason"])
            for row in windows
            if row["starts_at"] < now
        ],
    )
    return report, to_csv(summary)


def _groups(monitor: Monitor, component: str | None) -> dict[str, list[str]]:
    groups = components_of(monitor)
    if component is None:
        return groups
    if component not in groups:
        raise HTTPException(404, f"no component named {component!r}")
    return {component: groups[component]}


@router.get("/api/v1/health/sla", response_model=SlaReport, responses=NO_COMPONENT)
async def sla(
    pool: PoolDep, monitor: MonitorDep, _: Reader, months: Months = 12, component: Component = None
) -> SlaReport:
    """Uptime per component per calendar month and over the last 90 and 365 days,
    declared maintenance excluded (and listed)."""
    report, _csv = await sla_report(pool, _groups(monitor, component), months, datetime.now(UTC))
    return report


@router.get(
    "/api/v1/health/sla.csv",
    response_class=Response,
    responses={**NO_COMPONENT, 200: {"content": {"text/csv": {}}, "description": "The report"}},
)
async def sla_csv(
    pool: PoolDep, monitor: MonitorDep, _: Reader, months: Months = 12, component: Component = None
) -> Response:
    """The SLA report as CSV: one line per component and period."""
    now = datetime.now(UTC)
    _report, text = await sla_report(pool, _groups(monitor, component), months, now)
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="lookout-sla-{now:%Y-%m-%d}.csv"'},
    )
