"""The backup schedules: list, create, replace and delete (admin keys write)."""

from __future__ import annotations

import asyncpg
from fastapi import APIRouter, HTTPException

from lookout_backup import schedules
from lookout_backup.bootstrap import PoolDep
from lookout_common.contracts.backup_api import Schedule, ScheduleIn
from lookout_common.contracts.validation import RowId
from lookout_common.infra.auth import Admin, Reader

router = APIRouter(tags=["backups"])


@router.get("/api/v1/backups/schedules", response_model=list[Schedule])
async def list_schedules(pool: PoolDep, _: Reader) -> list[Schedule]:
    return await schedules.list_schedules(pool)


@router.post(
    "/api/v1/backups/schedules",
    response_model=Schedule,
    status_code=201,
    responses={409: {"description": "A schedule with this name exists"}},
)
async def create_schedule(pool: PoolDep, body: ScheduleIn, _: Admin) -> Schedule:
    try:
        return await schedules.add_schedule(pool, body)
    except asyncpg.UniqueViolationError:
        raise HTTPException(409, f"a schedule named {body.name!r} exists") from None


@router.put(
    "/api/v1/backups/schedules/{schedule_id}",
    response_model=Schedule,
    responses={
        404: {"description": "No such schedule"},
        409: {"description": "Another schedule has that name"},
    },
)
async def update_schedule(
    pool: PoolDep, schedule_id: RowId, body: ScheduleIn, _: Admin
) -> Schedule:
    try:
        saved = await schedules.replace_schedule(pool, body, schedule_id)
    except asyncpg.UniqueViolationError:
        raise HTTPException(409, f"another schedule is named {body.name!r}") from None
    if saved is None:
        raise HTTPException(404, f"no schedule {schedule_id}")
    return saved


@router.delete(
    "/api/v1/backups/schedules/{schedule_id}",
    status_code=204,
    responses={404: {"description": "No such schedule"}},
)
async def delete_schedule(pool: PoolDep, schedule_id: RowId, _: Admin) -> None:
    if not await schedules.delete_schedule(pool, schedule_id):
        raise HTTPException(404, f"no schedule {schedule_id}")
