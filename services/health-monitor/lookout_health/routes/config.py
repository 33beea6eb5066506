"""`GET /api/v1/health/config`: the running config and the last refusal."""

from __future__ import annotations

from fastapi import APIRouter

from lookout_common.infra.auth import AUTH_ERRORS, Reader
from lookout_health.bootstrap import ServicesDep
from lookout_health.reload import ConfigState

router = APIRouter(tags=["health"])


@router.get("/api/v1/health/config", response_model=ConfigState, responses=AUTH_ERRORS)
async def config_state(services: ServicesDep, _: Reader) -> ConfigState:
    """Which config is running, and why the last change was refused (if it was)."""
    return services.config_state()
