"""The health monitor's HTTP API: status, checks, history, incidents, maintenance, run
now (behind API keys), and the unauthenticated IETF `/api/health` for load balancers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from lookout_common.auth import AUTH_ERRORS, Admin, Reader
from lookout_common.health_api import (
    CheckSummary,
    HistoryPoint,
    Incident,
    MaintenanceRequest,
    MaintenanceWindow,
    RunRequest,
    SystemStatus,
    Uptime,
)
from lookout_common.health_events import CheckResult, CheckStatus
from lookout_common.validation import RowId
from lookout_health import store
from lookout_health.monitor import Monitor
from lookout_health.reload import ConfigState
from lookout_health.status import critical_issues, ietf_response, system_state

VERSION = "1.0.0"


def _incident(row) -> Incident:
    resolved = row["resolved_at"]
    return Incident(
        id=row["id"],
        check=row["check_name"],
        critical=row["critical"],
        status=CheckStatus(row["status"]),
        message=row["message"],
        opened_at=row["opened_at"],
        updated_at=row["updated_at"],
        resolved_at=resolved,
        duration_s=(resolved - row["opened_at"]).total_seconds() if resolved else None,
        updates=row["updates"],
    )


def _window(row) -> MaintenanceWindow:
    return MaintenanceWindow(
        id=row["id"],
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        reason=row["reason"],
        created_by=row["created_by"],
    )


def build_router() -> APIRouter:
    router = APIRouter()
    errors = AUTH_ERRORS

    def monitor(request: Request) -> Monitor:
        return request.app.state.monitor

    async def latest(request: Request) -> list[CheckResult]:
        names = list(monitor(request).checks)
        return await store.latest_results(request.app.state.pool, names)

    async def current_status(request: Request) -> SystemStatus:
        pool, now = request.app.state.pool, datetime.now(UTC)
        results = await latest(request)
        maintenance = await store.active_maintenance(pool, now)
        critical = [name for name, c in monitor(request).checks.items() if c.critical]
        return SystemStatus(
            status=system_state(results, maintenance is not None),
            uptime=await store.overall_uptime(pool, critical, now - timedelta(days=30), now),
            last_check=max((r.timestamp for r in results), default=None),
            critical_issues=critical_issues(results),
            active_incidents=len(await store.open_incident_checks(pool)),
        )

    @router.get(
        "/api/v1/health/status", response_model=SystemStatus, responses=errors, tags=["health"]
    )
    async def status(request: Request, _: Reader) -> SystemStatus:
        return await current_status(request)

    @router.get(
        "/api/v1/health/checks",
        response_model=list[CheckSummary],
        responses=errors,
        tags=["health"],
    )
    async def checks(request: Request, _: Reader) -> list[CheckSummary]:
        pool, now = request.app.state.pool, datetime.now(UTC)
        configured = monitor(request).checks
        names = list(configured)
        results = {r.service: r for r in await latest(request)}
        windows = [
            (label, await store.uptime_by_check(pool, names, now - timedelta(days=days), now))
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
        "/api/v1/health/checks/{name}/history",
        response_model=list[HistoryPoint],
        responses={**errors, 404: {"description": "No such check"}},
        tags=["health"],
    )
    async def history(
        request: Request,
        name: str,
        _: Reader,
        hours: int = Query(24, ge=1, le=24 * 30),
    ) -> list[HistoryPoint]:
        if name not in monitor(request).checks:
            raise HTTPException(404, f"no check named {name!r}")
        bucket = timedelta(hours=1) if hours > 48 else timedelta(minutes=5 if hours <= 6 else 15)
        rows = await store.response_time_history(
            request.app.state.pool, name, datetime.now(UTC) - timedelta(hours=hours), bucket
        )
        return [HistoryPoint.model_validate(dict(row)) for row in rows]

    @router.post(
        "/api/v1/health/checks/run",
        response_model=list[CheckResult],
        responses={**errors, 404: {"description": "No such check"}},
        tags=["health"],
    )
    async def run_now(
        request: Request,
        _: Admin,
        body: RunRequest | None = None,
    ) -> list[CheckResult]:
        """Run every check (or one) now and return the results (`performHealthCheck`)."""
        name = body.check if body else None
        if name is not None and name not in monitor(request).checks:
            raise HTTPException(404, f"no check named {name!r}")
        return await monitor(request).run_now(name)

    @router.get(
        "/api/v1/health/incidents",
        response_model=list[Incident],
        responses=errors,
        tags=["health"],
    )
    async def list_incidents(
        request: Request,
        _: Reader,
        state: str | None = Query(None, pattern="^(open|resolved)$"),
        limit: int = Query(100, ge=1, le=1000),
    ) -> list[Incident]:
        rows = await store.incidents(request.app.state.pool, state=state, limit=limit)
        return [_incident(row) for row in rows]

    @router.get(
        "/api/v1/health/maintenance",
        response_model=list[MaintenanceWindow],
        responses=errors,
        tags=["health"],
    )
    async def list_maintenance(request: Request, _: Reader) -> list[MaintenanceWindow]:
        rows = await store.maintenance_windows(request.app.state.pool, datetime.now(UTC))
        return [_window(row) for row in rows]

    @router.post(
        "/api/v1/health/maintenance",
        response_model=MaintenanceWindow,
        status_code=201,
        responses=errors,
        tags=["health"],
    )
    async def add_maintenance(
        request: Request,
        body: MaintenanceRequest,
        key: Admin,
    ) -> MaintenanceWindow:
        """Declare a window: status reads `maintenance` and incidents are not alerted."""
        row = await store.add_maintenance(
            request.app.state.pool, body.starts_at, body.ends_at, body.reason, key.name
        )
        return _window(row)

    @router.delete(
        "/api/v1/health/maintenance/{window_id}",
        status_code=204,
        responses={**errors, 404: {"description": "No such window"}},
        tags=["health"],
    )
    async def delete_maintenance(request: Request, window_id: RowId, _: Admin) -> None:
        if not await store.delete_maintenance(request.app.state.pool, window_id):
            raise HTTPException(404, f"no maintenance window {window_id}")

    @router.get(
        "/api/v1/health/config", response_model=ConfigState, responses=errors, tags=["health"]
    )
    async def config_state(request: Request, _: Reader) -> ConfigState:
        """Which config is running, and why the last change was refused (if it was)."""
        return request.app.state.config_state()

    @router.get(
        "/api/health",
        tags=["health"],
        responses={
            200: {"content": {"application/health+json": {}}, "description": "pass or warn"},
            503: {"content": {"application/health+json": {}}, "description": "fail"},
        },
    )
    async def ietf_health(request: Request) -> JSONResponse:
        """IETF Health Check Response Format for HTTP APIs, for load balancers."""
        status_now = await current_status(request)
        body, code = ietf_response(
            await latest(request), status_now.status, service_id="lookout", version=VERSION
        )
        return JSONResponse(body, status_code=code, media_type="application/health+json")

    return router
