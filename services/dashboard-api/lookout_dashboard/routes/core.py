"""The routes dashboard-api answers itself, without a worker: the caller's key, the live
stream, the audit log and the overview's metrics."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from lookout_common.infra.apikeys import key_active
from lookout_common.infra.auth import Admin, Reader
from lookout_dashboard import stream
from lookout_dashboard.bootstrap import PoolDep, ServicesDep, SettingsDep
from lookout_dashboard.queries import audit
from lookout_dashboard.queries.audit import AuditEntry
from lookout_dashboard.queries.overview import DashboardMetrics, dashboard_metrics
from lookout_dashboard.routes.responses import AUTH


class Me(BaseModel):
    name: str
    role: str


router = APIRouter()


@router.get(
    "/api/v1/me",
    response_model=Me,
    responses=AUTH,
    tags=["auth"],
    summary="The caller's key: its name and role (the page shows admin actions by it)",
)
async def me(key: Reader) -> Me:
    return Me(name=key.name, role=key.role.value)


@router.get(
    "/api/v1/stream",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "Server-Sent Events: `hello`, then `metrics` (every tick), "
            "`check` (a check result), `incident` (an incident transition), `backup` "
            "(a backup run's progress or outcome) and `missed` (messages dropped for a "
            "slow client); `: keep-alive` comments in between. Each `data:` is one "
            "JSON object. The key is checked again every few seconds: once revoked, "
            "`revoked` is sent and the stream ends.",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        **AUTH,
        429: {"description": "The key already holds its allowed number of live streams"},
    },
    tags=["live"],
    summary="The live stream of check results, incidents, backup progress and metrics",
)
async def live(
    request: Request,
    services: ServicesDep,
    key: Reader,
    limit: Annotated[
        int | None, Query(ge=1, le=100_000, description="Close after this many messages")
    ] = None,
) -> StreamingResponse:
    pool = services.pool
    try:
        body = stream.open_stream(
            services.relay,
            key.id,
            is_disconnected=request.is_disconnected,
            limit=limit,
            key_valid=lambda: key_active(pool, key.id),
            key_check_s=services.settings.stream_key_check_s,
        )
    except stream.TooManyStreams as error:
        raise HTTPException(429, str(error), headers={"Retry-After": "5"}) from None
    return StreamingResponse(
        body,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.get(
    "/api/v1/audit",
    response_model=list[AuditEntry],
    responses=AUTH,
    tags=["audit"],
    summary="Every admin action: who, what, when, outcome (newest first)",
)
async def audit_log(
    pool: PoolDep,
    _: Admin,
    limit: Annotated[int, Query(ge=1, le=1000, description="How many entries")] = 100,
) -> list[AuditEntry]:
    return await audit.entries(pool, limit)


@router.get(
    "/api/v1/dashboard/metrics",
    response_model=DashboardMetrics,
    responses=AUTH,
    tags=["analytics"],
    summary="Overview: active users, today's bookings, chats, error rate, top pages",
)
async def metrics(pool: PoolDep, settings: SettingsDep, _: Reader) -> DashboardMetrics:
    return await dashboard_metrics(pool, settings.zone, settings.active_window_s)
