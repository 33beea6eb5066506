"""The health tab's endpoints: read through the health monitor's API; actions (run a
check, maintenance windows) are the monitor's work and are recorded in the audit log.
Bodies and answers are the monitor's own contract (`lookout_common.contracts.health_api`)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import Response

from lookout_common.contracts.health_api import (
    CheckLocation,
    CheckSummary,
    HistoryPoint,
    Incident,
    IncidentUpdateRequest,
    MaintenanceRequest,
    MaintenanceWindow,
    RunRequest,
    SystemStatus,
)
from lookout_common.contracts.health_events import CheckResult
from lookout_common.contracts.validation import RowId
from lookout_common.infra.auth import AUTH_ERRORS, Admin, Reader
from lookout_dashboard.bootstrap import ServicesDep
from lookout_dashboard.routes.responses import Responses, responses
from lookout_dashboard.routes.upstream import UPSTREAM_ERRORS, Upstream

ERRORS = responses(AUTH_ERRORS, UPSTREAM_ERRORS)
NOT_FOUND: Responses = {404: {"description": "No such item (the reason names it)"}}

router = APIRouter(prefix="/api/v1/health", tags=["health"], responses=ERRORS)


def _monitor(request: Request, services: ServicesDep) -> Upstream:
    """The health monitor's API, called for this request's caller."""
    return Upstream(request, services, services.settings.health_monitor_url, "health-monitor")


Monitor = Annotated[Upstream, Depends(_monitor)]


@router.get(
    "/status",
    response_model=SystemStatus,
    summary="System status, uptime, critical issues, active incidents",
)
async def status(monitor: Monitor, _: Reader) -> Response:
    return await monitor.read("/api/v1/health/status", SystemStatus)


@router.get(
    "/checks",
    response_model=list[CheckSummary],
    summary="Every check with its latest result and uptime",
)
async def checks(monitor: Monitor, _: Reader) -> Response:
    return await monitor.read("/api/v1/health/checks", list[CheckSummary])


@router.get(
    "/checks/{name}/history",
    response_model=list[HistoryPoint],
    responses=NOT_FOUND,
    summary="Response-time p50/p95 and runs over time",
)
async def history(
    monitor: Monitor,
    name: str,
    _: Reader,
    hours: Annotated[int, Query(ge=1, le=24 * 30, description="How far back")] = 24,
) -> Response:
    return await monitor.read(
        f"/api/v1/health/checks/{quote(name, safe='')}/history", list[HistoryPoint]
    )


@router.get(
    "/checks/{name}/locations",
    response_model=list[CheckLocation],
    responses=NOT_FOUND,
    summary="What each location last saw of a check, with its verdict towards the quorum",
)
async def locations(monitor: Monitor, name: str, _: Reader) -> Response:
    return await monitor.read(
        f"/api/v1/health/checks/{quote(name, safe='')}/locations", list[CheckLocation]
    )


@router.get(
    "/locations",
    response_model=dict[str, list[CheckLocation]],
    responses=NOT_FOUND,
    summary="What each location last saw of every check (or of each named), by check",
)
async def every_location(
    monitor: Monitor,
    _: Reader,
    check: Annotated[
        list[str] | None,
        Query(max_length=100, description="Only these checks (repeated, at most 100)"),
    ] = None,
) -> Response:
    return await monitor.read("/api/v1/health/locations", dict[str, list[CheckLocation]])


@router.get(
    "/incidents",
    response_model=list[Incident],
    summary="Incidents, open or resolved, with their updates",
)
async def incidents(monitor: Monitor, _: Reader) -> Response:
    return await monitor.read("/api/v1/health/incidents", list[Incident])


@router.get(
    "/maintenance",
    response_model=list[MaintenanceWindow],
    summary="Current and future maintenance windows",
)
async def maintenance(monitor: Monitor, _: Reader) -> Response:
    return await monitor.read("/api/v1/health/maintenance", list[MaintenanceWindow])


@router.post(
    "/checks/run",
    response_model=list[CheckResult],
    responses=NOT_FOUND,
    summary="Run every check (or the one named) now and return the results",
)
async def run_checks(
    monitor: Monitor, key: Admin, body: Annotated[RunRequest | None, Body()] = None
) -> Response:
    payload = body.model_dump(by_alias=True, exclude_none=True) if body else None
    return await monitor.act(
        key,
        "/api/v1/health/checks/run",
        action="health.run_checks",
        target=body.check if body else None,
        model=list[CheckResult],
        method="POST",
        json=payload,
        timeout=60,
    )


@router.post(
    "/maintenance",
    status_code=201,
    response_model=MaintenanceWindow,
    summary="Declare a maintenance window (alerts are held back during it)",
)
async def add_maintenance(monitor: Monitor, key: Admin, body: MaintenanceRequest) -> Response:
    return await monitor.act(
        key,
        "/api/v1/health/maintenance",
        action="health.maintenance.add",
        target=None,
        model=MaintenanceWindow,
        method="POST",
        json=body.model_dump(mode="json", by_alias=True),
    )


@router.delete(
    "/maintenance/{window_id}",
    status_code=204,
    responses=NOT_FOUND,
    summary="End a maintenance window",
)
async def delete_maintenance(monitor: Monitor, window_id: RowId, key: Admin) -> Response:
    return await monitor.act(
        key,
        f"/api/v1/health/maintenance/{window_id}",
        action="health.maintenance.delete",
        target=str(window_id),
        method="DELETE",
    )


@router.post(
    "/incidents/{incident_id}/updates",
    status_code=201,
    response_model=Incident,
    responses={**NOT_FOUND, 409: {"description": "The incident may not move to that state"}},
    summary="Post an update on an incident's timeline, moving it to its new state",
)
async def update_incident(
    monitor: Monitor, incident_id: RowId, key: Admin, body: IncidentUpdateRequest
) -> Response:
    return await monitor.act(
        key,
        f"/api/v1/health/incidents/{incident_id}/updates",
        action="health.incident.update",
        target=str(incident_id),
        model=Incident,
        method="POST",
        json=body.model_dump(mode="json", by_alias=True),
    )


@router.post(
    "/incidents/{incident_id}/ack",
    response_model=Incident,
    responses={**NOT_FOUND, 409: {"description": "The incident is resolved"}},
    summary="Acknowledge an incident: its reminders and escalation stop",
)
async def acknowledge_incident(monitor: Monitor, incident_id: RowId, key: Admin) -> Response:
    return await monitor.act(
        key,
        f"/api/v1/health/incidents/{incident_id}/ack",
        action="health.incident.ack",
        target=str(incident_id),
        model=Incident,
        method="POST",
    )
