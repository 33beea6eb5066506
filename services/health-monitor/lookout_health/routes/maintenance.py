"""Maintenance windows: listed to readers, declared and removed by admins."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
from fastapi import APIRouter, HTTPException

from lookout_common.contracts.health_api import MaintenanceRequest, MaintenanceWindow
from lookout_common.contracts.validation import RowId
from lookout_common.infra.auth import AUTH_ERRORS, Admin, Reader
from lookout_health.bootstrap import PoolDep
from lookout_health.store import incidents as incident_store

router = APIRouter(tags=["health"])


def window_of(row: asyncpg.Record) -> MaintenanceWindow:
    return MaintenanceWindow(
        id=row["id"],
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        reason=row["reason"],
        created_by=row["created_by"],
    )


@router.get(
    "/api/v1/health/maintenance", response_model=list[MaintenanceWindow], responses=AUTH_ERRORS
)
async def list_maintenance(pool: PoolDep, _: Reader) -> list[MaintenanceWindow]:
    rows = await incident_store.maintenance_windows(pool, datetime.now(UTC))
    return [window_of(row) for row in rows]


@router.post(
    "/api/v1/health/maintenance",
    response_model=MaintenanceWindow,
    status_code=201,
    responses=AUTH_ERRORS,
)
async def add_maintenance(
    pool: PoolDep,
    body: MaintenanceRequest,
    key: Admin,
) -> MaintenanceWindow:
    """Declare a window: status reads `maintenance` and incidents are not alerted."""
    row = await incident_store.add_maintenance(
        pool, body.starts_at, body.ends_at, body.reason, key.name
    )
    return window_of(row)


@router.delete(
    "/api/v1/health/maintenance/{window_id}",
    status_code=204,
    responses={**AUTH_ERRORS, 404: {"description": "No such window"}},
)
async def delete_maintenance(pool: PoolDep, window_id: RowId, _: Admin) -> None:
    if not await incident_store.delete_maintenance(pool, window_id):
        raise HTTPException(404, f"no maintenance window {window_id}")
