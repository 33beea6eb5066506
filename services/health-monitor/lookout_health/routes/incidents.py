"""Incidents with their timelines."""

from __future__ import annotations

import asyncpg
from fastapi import APIRouter, Query

from lookout_common.contracts.health_api import Incident
from lookout_common.contracts.health_events import CheckStatus
from lookout_common.infra.auth import AUTH_ERRORS, Reader
from lookout_health import store
from lookout_health.bootstrap import PoolDep

router = APIRouter(tags=["health"])


def incident_of(row: asyncpg.Record) -> Incident:
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


@router.get("/api/v1/health/incidents", response_model=list[Incident], responses=AUTH_ERRORS)
async def list_incidents(
    pool: PoolDep,
    _: Reader,
    state: str | None = Query(None, pattern="^(open|resolved)$"),
    limit: int = Query(100, ge=1, le=1000),
) -> list[Incident]:
    rows = await store.incidents(pool, state=state, limit=limit)
    return [incident_of(row) for row in rows]
