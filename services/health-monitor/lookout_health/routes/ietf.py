"""`GET /api/health`: the IETF Health Check Response Format for load balancers (without
a key: the status and the component names only)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials

from lookout_common.infra.auth import AUTH_ERRORS, READ_ROLES, bearer, require
from lookout_health.bootstrap import VERSION, Services, ServicesDep
from lookout_health.status import IetfHealth, PublicHealth, ietf_response, public_view, system_state
from lookout_health.store import incidents as incident_store
from lookout_health.store import results as result_store

router = APIRouter(tags=["health"])
reader = require(READ_ROLES)


async def ietf_answer(services: Services) -> tuple[IetfHealth, int]:
    # Status from the latest results and maintenance only: no uptime query here.
    monitor = services.monitor
    results = await result_store.latest_results(
        services.pool, list(monitor.checks), monitor.quorum.window_s
    )
    window = await incident_store.active_maintenance(services.pool, datetime.now(UTC))
    state = system_state(results, window is not None)
    return ietf_response(results, state, service_id="lookout", version=VERSION)


async def public_answer(services: Services) -> tuple[PublicHealth, int]:
    body, code = await ietf_answer(services)
    return public_view(body), code


@router.get(
    "/api/health",
    responses={
        200: {"content": {"application/health+json": {}}, "description": "pass or warn"},
        503: {"content": {"application/health+json": {}}, "description": "fail"},
        **AUTH_ERRORS,
    },
)
async def ietf_health(
    request: Request,
    services: ServicesDep,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),  # noqa: B008
) -> JSONResponse:
    """IETF Health Check Response Format for HTTP APIs, for load balancers. Without a
    key: the status and the component names, at most `LOOKOUT_HEALTH_STATUS_CACHE_S`
    old; with an admin or viewer key: every check's status, time and message, fresh."""
    body: PublicHealth | IetfHealth
    if credentials is None:
        body, code = await services.public_health.get(lambda: public_answer(services))
    else:
        await reader(request, credentials)  # 401 or 403 for a key that may not read
        body, code = await ietf_answer(services)
    return JSONResponse(body, status_code=code, media_type="application/health+json")
