"""The health tab's endpoints: read through the health monitor's API; actions (run a
check, maintenance windows, an incident's lifecycle) are the monitor's work and are
recorded in the audit log. Bodies and answers are the monitor's own contract
(`lookout_common.contracts.health_api`). Each route is declared by the function under
its decorator (`Relay`): its parameters, its summary, and what an action sends."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query

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
from lookout_common.infra.auth import AUTH_ERRORS
from lookout_dashboard.routes.responses import Responses, responses
from lookout_dashboard.routes.upstream import (
    UPSTREAM_ERRORS,
    Relay,
    Sent,
    health_monitor,
)

ERRORS = responses(AUTH_ERRORS, UPSTREAM_ERRORS)
NOT_FOUND: Responses = {404: {"description": "No such item (the reason names it)"}}
# How many checks one request for locations may name, as the monitor allows.
MAX_NAMED_CHECKS = 100
Checks = Annotated[
    list[str] | None,
    Query(
        max_length=MAX_NAMED_CHECKS,
        description=f"Only these checks (repeated, at most {MAX_NAMED_CHECKS})",
    ),
]

router = APIRouter(prefix="/api/v1/health", tags=["health"], responses=ERRORS)
monitor = Relay(router, health_monitor)


@monitor.read("/status", SystemStatus)
async def status() -> None:
    """System status, uptime, critical issues, active incidents"""


@monitor.read("/checks", list[CheckSummary])
async def checks() -> None:
    """Every check with its latest result and uptime"""


@monitor.read("/checks/{name}/history", list[HistoryPoint], responses=NOT_FOUND)
async def history(
    name: str,
    hours: Annotated[int, Query(ge=1, le=24 * 30, description="How far back")] = 24,
) -> None:
    """Response-time p50/p95 and runs over time"""


@monitor.read("/checks/{name}/locations", list[CheckLocation], responses=NOT_FOUND)
async def locations(name: str) -> None:
    """What each location last saw of a check, with its verdict towards the quorum"""


@monitor.read("/locations", dict[str, list[CheckLocation]], responses=NOT_FOUND)
async def every_location(check: Checks = None) -> None:
    """What each location last saw of every check (or of each named), by check"""


@monitor.read("/incidents", list[Incident])
async def incidents() -> None:
    """Incidents, open or resolved, with their updates"""


@monitor.read("/maintenance", list[MaintenanceWindow])
async def maintenance() -> None:
    """Current and future maintenance windows"""


@monitor.act(
    "POST",
    "/checks/run",
    "health.run_checks",
    list[CheckResult],
    responses=NOT_FOUND,
    timeout=60,
)
async def run_checks(body: Annotated[RunRequest | None, Body()] = None) -> Sent:
    """Run every check (or the one named) now and return the results"""
    if body is None:
        return Sent()
    return Sent(body.check, body.model_dump(by_alias=True, exclude_none=True))


@monitor.act("POST", "/maintenance", "health.maintenance.add", MaintenanceWindow, status_code=201)
async def add_maintenance(body: MaintenanceRequest) -> Sent:
    """Declare a maintenance window (alerts are held back during it)"""
    return Sent(json=body.model_dump(mode="json", by_alias=True))


@monitor.act("DELETE", "/maintenance/{window_id}", "health.maintenance.delete", responses=NOT_FOUND)
async def delete_maintenance(window_id: RowId) -> Sent:
    """End a maintenance window"""
    return Sent(str(window_id))


@monitor.act(
    "POST",
    "/incidents/{incident_id}/updates",
    "health.incident.update",
    Incident,
    status_code=201,
    responses={
        **NOT_FOUND,
        409: {"description": "The incident may not move to that state"},
    },
)
async def update_incident(incident_id: RowId, body: IncidentUpdateRequest) -> Sent:
    """Post an update on an incident's timeline, moving it to its new state"""
    return Sent(str(incident_id), body.model_dump(mode="json", by_alias=True))


@monitor.act(
    "POST",
    "/incidents/{incident_id}/ack",
    "health.incident.ack",
    Incident,
    responses={**NOT_FOUND, 409: {"description": "The incident is resolved"}},
)
async def acknowledge_incident(incident_id: RowId) -> Sent:
    """Acknowledge an incident: its reminders and escalation stop"""
    return Sent(str(incident_id))
