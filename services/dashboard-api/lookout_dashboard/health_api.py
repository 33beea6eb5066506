"""The health tab's endpoints: read through the health monitor's API; actions (run a
check, maintenance windows) are the monitor's work and are recorded in the audit log."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from lookout_common.auth import Admin, Reader
from lookout_dashboard import audit
from lookout_dashboard.upstream import UPSTREAM_ERRORS, forward

ERRORS = {
    401: {"description": "Missing, unknown or revoked API key"},
    403: {"description": "The key's role may not use this endpoint"},
    **UPSTREAM_ERRORS,
}

router = APIRouter(prefix="/api/v1/health", tags=["health"], responses=ERRORS)


def _monitor(request: Request) -> str:
    return request.app.state.settings.health_monitor_url


async def _read(request: Request, path: str) -> Response:
    return await forward(request, _monitor(request), path, service="health-monitor")


@router.get("/status", summary="System status, uptime, critical issues, active incidents")
async def status(request: Request, _: Reader) -> Response:
    return await _read(request, "/api/v1/health/status")


@router.get("/checks", summary="Every check with its latest result and uptime")
async def checks(request: Request, _: Reader) -> Response:
    return await _read(request, "/api/v1/health/checks")


@router.get("/checks/{name}/history", summary="Response-time p50/p95 and runs over time")
async def history(request: Request, name: str, _: Reader) -> Response:
    return await _read(request, f"/api/v1/health/checks/{name}/history")


@router.get("/incidents", summary="Incidents, open or resolved, with their updates")
async def incidents(request: Request, _: Reader) -> Response:
    return await _read(request, "/api/v1/health/incidents")


@router.get("/maintenance", summary="Current and future maintenance windows")
async def maintenance(request: Request, _: Reader) -> Response:
    return await _read(request, "/api/v1/health/maintenance")


async def _act(request: Request, key, action: str, target: str | None, path: str, **kw) -> Response:
    answer = await forward(request, _monitor(request), path, service="health-monitor", **kw)
    outcome = "ok" if answer.status_code < 400 else f"refused ({answer.status_code})"
    await audit.record(
        request.app.state.pool,
        actor=key.name,
        action=action,
        target=target,
        outcome=outcome,
        detail={"request": kw.get("json")},
    )
    return answer


@router.post("/checks/run", summary="Run every check (or the one named) now")
async def run_checks(request: Request, key: Admin) -> Response:
    body = await request.json() if await request.body() else None
    target = (body or {}).get("check") if isinstance(body, dict) else None
    return await _act(
        request,
        key,
        "health.run_checks",
        target,
        "/api/v1/health/checks/run",
        method="POST",
        json=body,
        timeout=60,
    )


@router.post("/maintenance", status_code=201, summary="Declare a maintenance window")
async def add_maintenance(request: Request, key: Admin) -> Response:
    body = await request.json()
    return await _act(
        request,
        key,
        "health.maintenance.add",
        None,
        "/api/v1/health/maintenance",
        method="POST",
        json=body,
    )


@router.delete("/maintenance/{window_id}", status_code=204, summary="End a maintenance window")
async def delete_maintenance(request: Request, window_id: int, key: Admin) -> Response:
    return await _act(
        request,
        key,
        "health.maintenance.delete",
        str(window_id),
        f"/api/v1/health/maintenance/{window_id}",
        method="DELETE",
    )
