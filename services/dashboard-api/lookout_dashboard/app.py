"""dashboard-api: what the admin dashboard reads, behind API keys. Its services are built
in the lifespan (`bootstrap`); this module adds the middleware, the routers,
`/healthz`, `/readyz`, `/metrics` and the page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import StreamingResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel

from lookout_common.infra.apikeys import key_active
from lookout_common.infra.auth import AUTH_ERRORS, Admin, Reader
from lookout_common.infra.db import database_reachable
from lookout_common.infra.kafka import broker_reachable
from lookout_common.infra.service import add_probe_routes, api_docs, distribution_version
from lookout_common.infra.settings import DashboardSettings
from lookout_common.infra.supervise import Supervisor
from lookout_dashboard import (
    activity,
    analytics,
    audit,
    backups_api,
    commerce,
    dead_letters,
    erasure,
    health_api,
    people,
    quality,
    spa,
    stream,
)
from lookout_dashboard.allow import AllowHeader
from lookout_dashboard.audit import AuditEntry
from lookout_dashboard.bootstrap import PoolDep, ServicesDep, SettingsDep, bootstrap
from lookout_dashboard.queries import DashboardMetrics, dashboard_metrics


class Me(BaseModel):
    name: str
    role: str


BAD_JSON = {"description": "The request body is not valid JSON"}


def _document_body_errors(router: APIRouter) -> None:
    """Every operation that reads a JSON body may answer 400 for one that does not parse."""
    for route in router.routes:
        if isinstance(route, APIRoute) and route.body_field is not None:
            route.responses.setdefault(400, BAD_JSON)


# The process's own routes: the caller's key, the live stream, the audit log, the overview.
router = APIRouter()


@router.get(
    "/api/v1/me",
    response_model=Me,
    responses=AUTH_ERRORS,
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
        **AUTH_ERRORS,
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
    responses=AUTH_ERRORS,
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
    responses=AUTH_ERRORS,
    tags=["analytics"],
    summary="Overview: active users, today's bookings, chats, error rate, top pages",
)
async def metrics(pool: PoolDep, settings: SettingsDep, _: Reader) -> DashboardMetrics:
    return await dashboard_metrics(pool, settings.zone, settings.active_window_s)


def create_app(settings: DashboardSettings | None = None) -> FastAPI:
    settings = settings or DashboardSettings()
    loops = Supervisor.from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with bootstrap(settings, loops) as services:
            app.state.services = services
            app.state.keys = services.keys  # lookout_common.infra.auth reads it here
            yield

    app = FastAPI(
        title="Lookout dashboard-api",
        version=distribution_version("lookout-dashboard-api"),
        description="Analytics, health and backups for admins and viewers. "
        "Authenticate with `Authorization: Bearer <API key>`.",
        lifespan=lifespan,
        **api_docs(settings),
    )
    app.add_middleware(AllowHeader)
    if settings.cors_origins:
        # Keys travel in a header, never in cookies: no credentials, so no CSRF surface.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
            allow_credentials=False,
        )
    add_probe_routes(
        app,
        "dashboard-api",
        lambda: {
            "postgres": lambda: database_reachable(app.state.services.pool),
            "kafka": lambda: broker_reachable(settings),
        },
        loops=loops,
    )
    for module in (
        analytics,
        activity,
        commerce,
        quality,
        dead_letters,
        health_api,
        backups_api,
        people,
        erasure,
    ):
        _document_body_errors(module.router)
        app.include_router(module.router)
    spa.mount(app)
    app.include_router(router)
    return app
