"""The health monitor's HTTP API: status, checks, history, incidents, maintenance, run
now (behind API keys), and the IETF `/api/health` for load balancers (without a key: the
status and the component names only)."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials

from lookout_common.contracts.health_api import (
    CheckSummary,
    HistoryPoint,
    Incident,
    MaintenanceRequest,
    MaintenanceWindow,
    RunRequest,
    SystemStatus,
    Uptime,
)
from lookout_common.contracts.health_events import CheckResult, CheckStatus
from lookout_common.contracts.validation import RowId
from lookout_common.infra.auth import AUTH_ERRORS, READ_ROLES, Admin, Reader, bearer, require
from lookout_common.infra.service import distribution_version
from lookout_health import store
from lookout_health.monitor import Monitor
from lookout_health.reload import ConfigState
from lookout_health.status import critical_issues, ietf_response, system_state

VERSION = distribution_version("lookout-health-monitor")


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


@dataclass
class CachedAnswer:
    """The last keyless `/api/health` answer, reused for `ttl_s` seconds: however often
    load balancers (or anyone) poll it, the database answers once per period."""

    ttl_s: float
    _answer: tuple[dict, int] | None = None
    _at: float = -math.inf
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def get(self, compute: Callable[[], Awaitable[tuple[dict, int]]]) -> tuple[dict, int]:
        async with self._lock:  # concurrent callers share one computation
            if self._answer is None or time.monotonic() - self._at >= self.ttl_s:
                self._answer = await compute()
                self._at = time.monotonic()
            return self._answer


PUBLIC_FIELDS = ("status", "version", "releaseId", "serviceId")


def public_view(body: dict) -> dict:
    """The IETF answer without details: the overall status and the component names (no
    per-component status, timing or message, which name internal hosts)."""
    components = sorted(
        {entry["componentId"] for found in body["checks"].values() for entry in found}
    )
    return {
        **{name: body[name] for name in PUBLIC_FIELDS},
        "checks": {name: [{"componentId": name}] for name in components},
    }


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

    async def ietf_answer(request: Request) -> tuple[dict, int]:
        # Status from the latest results and maintenance only: no uptime query here.
        results = await latest(request)
        window = await store.active_maintenance(request.app.state.pool, datetime.now(UTC))
        state = system_state(results, window is not None)
        return ietf_response(results, state, service_id="lookout", version=VERSION)

    async def public_answer(request: Request) -> tuple[dict, int]:
        body, code = await ietf_answer(request)
        return public_view(body), code

    reader = require(READ_ROLES)

    @router.get(
        "/api/health",
        tags=["health"],
        responses={
            200: {"content": {"application/health+json": {}}, "description": "pass or warn"},
            503: {"content": {"application/health+json": {}}, "description": "fail"},
            **errors,
        },
    )
    async def ietf_health(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),  # noqa: B008
    ) -> JSONResponse:
        """IETF Health Check Response Format for HTTP APIs, for load balancers. Without a
        key: the status and the component names, at most `LOOKOUT_HEALTH_STATUS_CACHE_S`
        old; with an admin or viewer key: every check's status, time and message, fresh."""
        if credentials is None:
            cache: CachedAnswer = request.app.state.public_health
            body, code = await cache.get(lambda: public_answer(request))
        else:
            await reader(request, credentials)  # 401 or 403 for a key that may not read
            body, code = await ietf_answer(request)
        return JSONResponse(body, status_code=code, media_type="application/health+json")

    return router
