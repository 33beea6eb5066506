"""The backups tab's endpoints: runs, manifests and schedules read through the backup
worker's API; actions (back up, verify, restore, prune) are sent to the worker as
commands on `backup.commands.v1` — dashboard-api never does the work itself."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from pydantic import ConfigDict, Field, StrictBool

from lookout_common.contracts.backup_api import Run, RunDetail, Schedule, ScheduleIn
from lookout_common.contracts.backup_events import (
    BackupCommand,
    CollectionName,
    Retention,
    sign_command,
)
from lookout_common.contracts.models import Camel
from lookout_common.contracts.topics import Topic, topic_name
from lookout_common.contracts.validation import RowId
from lookout_common.infra.apikeys import ApiKey
from lookout_common.infra.auth import Admin, Reader
from lookout_dashboard.bootstrap import ServicesDep
from lookout_dashboard.queries import audit
from lookout_dashboard.routes.health import ERRORS
from lookout_dashboard.routes.responses import Responses
from lookout_dashboard.routes.upstream import Upstream

router = APIRouter(prefix="/api/v1/backups", tags=["backups"], responses=ERRORS)


class BackupAction(Camel):
    """What an admin asks for; the worker does it and reports on the live stream."""

    model_config = ConfigDict(strict=True)

    operation: Literal["backup", "verify", "restore", "prune"]
    collections: list[CollectionName] | None = Field(None, description="None: every collection")
    run_id: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_.:-]{1,100}$", description="The backup to verify or restore"
    )
    backup_type: Literal["full", "incremental"] = "full"
    restore_mode: Literal["replace", "merge"] = "replace"
    target_schema: str | None = Field(None, pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    trial_restore: StrictBool = False
    include_internal: StrictBool = Field(
        False, description="Lookout's own tables (api_keys, audit_log, …) too, when named"
    )
    retention: Retention | None = None
    confirm: StrictBool = Field(False, description="Must be true for a restore")


class Accepted(Camel):
    command_id: str
    operation: str


def _worker(request: Request, services: ServicesDep) -> Upstream:
    """The backup worker's API, called for this request's caller."""
    return Upstream(request, services, services.settings.backup_worker_url, "backup-worker")


Worker = Annotated[Upstream, Depends(_worker)]


NOT_FOUND: Responses = {404: {"description": "No such run or schedule (the reason names it)"}}


@router.get("/runs", response_model=list[Run], summary="Runs of every kind, newest first")
async def runs(worker: Worker, _: Reader) -> Response:
    return await worker.read("/api/v1/backups/runs", list[Run])


@router.get(
    "/runs/{run_id}",
    response_model=RunDetail,
    responses=NOT_FOUND,
    summary="One run with its artifacts",
)
async def run(worker: Worker, run_id: str, _: Reader) -> Response:
    return await worker.read(f"/api/v1/backups/runs/{quote(run_id, safe='')}", RunDetail)


@router.get(
    "/runs/{run_id}/manifest",
    response_model=dict[str, Any],
    responses=NOT_FOUND,
    summary="A backup's manifest, once the worker has authenticated it",
)
async def manifest(worker: Worker, run_id: str, _: Reader) -> Response:
    return await worker.read(
        f"/api/v1/backups/runs/{quote(run_id, safe='')}/manifest", dict[str, Any]
    )


@router.get("/schedules", response_model=list[Schedule], summary="Backup schedules")
async def schedules(worker: Worker, _: Reader) -> Response:
    return await worker.read("/api/v1/backups/schedules", list[Schedule])


async def _change_schedule(
    worker: Upstream, key: ApiKey, path: str, body: ScheduleIn | None = None, **kw: Any
) -> Response:
    return await worker.act(
        key,
        path,
        json=body.model_dump(mode="json") if body is not None else None,
        model=Schedule if body is not None else None,
        **kw,
    )


@router.post(
    "/schedules",
    status_code=201,
    response_model=Schedule,
    responses={409: {"description": "A schedule of that name exists"}},
    summary="Create a schedule",
)
async def create_schedule(worker: Worker, key: Admin, body: ScheduleIn) -> Response:
    return await _change_schedule(
        worker,
        key,
        "/api/v1/backups/schedules",
        body,
        action="backup.schedule.create",
        target=None,
        method="POST",
    )


@router.put(
    "/schedules/{schedule_id}",
    response_model=Schedule,
    responses={**NOT_FOUND, 409: {"description": "Another schedule has that name"}},
    summary="Replace a schedule",
)
async def update_schedule(
    worker: Worker, schedule_id: RowId, key: Admin, body: ScheduleIn
) -> Response:
    return await _change_schedule(
        worker,
        key,
        f"/api/v1/backups/schedules/{schedule_id}",
        body,
        action="backup.schedule.update",
        target=str(schedule_id),
        method="PUT",
    )


@router.delete(
    "/schedules/{schedule_id}",
    status_code=204,
    responses=NOT_FOUND,
    summary="Delete a schedule",
)
async def delete_schedule(worker: Worker, schedule_id: RowId, key: Admin) -> Response:
    return await _change_schedule(
        worker,
        key,
        f"/api/v1/backups/schedules/{schedule_id}",
        action="backup.schedule.delete",
        target=str(schedule_id),
        method="DELETE",
    )


@router.post(
    "/actions",
    status_code=202,
    response_model=Accepted,
    responses={
        422: {"description": "Invalid action (a restore needs confirm: true)"},
        503: {"description": "No command key is configured: commands cannot be signed"},
    },
    summary="Ask the backup worker to back up, verify, restore or prune",
)
async def act(services: ServicesDep, action: BackupAction, key: Admin) -> Accepted:
    if action.operation == "restore" and not (action.confirm and action.run_id):
        raise HTTPException(422, "a restore needs runId and confirm: true")
    command = BackupCommand(
        command_id=f"dashboard-{uuid.uuid4().hex}",
        operation=action.operation,
        requested_by=key.name,
        requested_at=datetime.now(UTC),
        collections=action.collections,
        run_id=action.run_id,
        backup_type=action.backup_type,
        restore_mode=action.restore_mode,
        target_schema=action.target_schema,
        trial_restore=action.trial_restore,
        include_internal=action.include_internal,
        retention=action.retention,
    )
    settings = services.settings
    if settings.backup_command_key is None:
        raise HTTPException(
            503, "LOOKOUT_BACKUP_COMMAND_KEY is not set: backup commands cannot be signed"
        )
    # Signed: the worker runs no command without the command key's HMAC.
    command = sign_command(command, settings.backup_command_key.get_secret_value())
    # Key "backup": every command on one partition, consumed in the order sent.
    await services.broker.publish(
        command.model_dump_json().encode(),
        topic_name(Topic.BACKUP_COMMANDS, settings.topic_prefix),
        key=b"backup",
    )
    await audit.record(
        services.pool,
        actor=key.name,
        action=f"backup.{action.operation}",
        target=action.run_id,
        outcome="sent",
        detail={"command_id": command.command_id, **action.model_dump(exclude_none=True)},
    )
    return Accepted(command_id=command.command_id, operation=action.operation)
