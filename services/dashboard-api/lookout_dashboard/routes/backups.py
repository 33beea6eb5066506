"""The backups tab's endpoints: runs, manifests and schedules read and changed through
the backup worker's API (each route declared by the function under its decorator, as in
`routes.health`); actions (back up, verify, restore, prune) are sent to the worker as
commands on `backup.commands.v1` — dashboard-api never does the work itself."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, HTTPException
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
from lookout_common.infra.auth import Admin
from lookout_dashboard.bootstrap import ServicesDep
from lookout_dashboard.queries import audit
from lookout_dashboard.routes.health import ERRORS
from lookout_dashboard.routes.responses import Responses
from lookout_dashboard.routes.upstream import Relay, Sent, backup_worker

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


worker = Relay(router, backup_worker)
NOT_FOUND: Responses = {404: {"description": "No such run or schedule (the reason names it)"}}


@worker.read("/runs", list[Run])
async def runs() -> None:
    """Runs of every kind, newest first"""


@worker.read("/runs/{run_id}", RunDetail, responses=NOT_FOUND)
async def run(run_id: str) -> None:
    """One run with its artifacts"""


@worker.read("/runs/{run_id}/manifest", dict[str, Any], responses=NOT_FOUND)
async def manifest(run_id: str) -> None:
    """A backup's manifest, once the worker has authenticated it"""


@worker.read("/schedules", list[Schedule])
async def schedules() -> None:
    """Backup schedules"""


@worker.act(
    "POST",
    "/schedules",
    "backup.schedule.create",
    Schedule,
    status_code=201,
    responses={409: {"description": "A schedule of that name exists"}},
)
async def create_schedule(body: ScheduleIn) -> Sent:
    """Create a schedule"""
    return Sent(json=body.model_dump(mode="json"))


@worker.act(
    "PUT",
    "/schedules/{schedule_id}",
    "backup.schedule.update",
    Schedule,
    responses={**NOT_FOUND, 409: {"description": "Another schedule has that name"}},
)
async def update_schedule(schedule_id: RowId, body: ScheduleIn) -> Sent:
    """Replace a schedule"""
    return Sent(str(schedule_id), body.model_dump(mode="json"))


@worker.act("DELETE", "/schedules/{schedule_id}", "backup.schedule.delete", responses=NOT_FOUND)
async def delete_schedule(schedule_id: RowId) -> Sent:
    """Delete a schedule"""
    return Sent(str(schedule_id))


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
