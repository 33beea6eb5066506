"""The backup-worker process: consumes `backup.commands.v1`, runs one command at a time
per source, publishes `backup.results.v1`, and serves its runs over HTTP."""

from __future__ import annotations

import asyncio
import functools
import logging
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import asyncpg
import boto3
from fastapi import FastAPI, HTTPException, Query, Request
from faststream import AckPolicy
from faststream.kafka import KafkaMessage

from lookout_backup import schedules, store
from lookout_backup.commands import admit_command
from lookout_backup.manifest import Manifest
from lookout_backup.restore import RestoreRefused, read_manifest
from lookout_backup.runner import Runner
from lookout_backup.targets import open_target
from lookout_common.contracts.backup_api import Run, RunDetail, StoredArtifact
from lookout_common.contracts.backup_events import BackupCommand, BackupResult, sign_command
from lookout_common.contracts.topics import Topic, group_name, topic_name
from lookout_common.contracts.validation import RowId
from lookout_common.infra.apikeys import KeyCache
from lookout_common.infra.auth import Admin, Reader
from lookout_common.infra.db import create_pool, database_reachable
from lookout_common.infra.kafka import broker_reachable, make_broker, start_with_retry
from lookout_common.infra.leader import LeaderLease
from lookout_common.infra.service import add_probe_routes, api_docs, distribution_version
from lookout_common.infra.settings import BackupWorkerSettings
from lookout_common.infra.supervise import Supervisor

log = logging.getLogger("lookout.backup")


def _secret(value) -> str | None:
    return value.get_secret_value() if value is not None else None


def target_writable(settings: BackupWorkerSettings) -> bool:
    """The bucket answers, or the local directory accepts a file."""
    if settings.s3_bucket:
        client = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            region_name=settings.s3_region,
            aws_access_key_id=_secret(settings.s3_access_key_id),
            aws_secret_access_key=_secret(settings.s3_secret_access_key),
        )
        client.head_bucket(Bucket=settings.s3_bucket)
        return True
    settings.backup_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=settings.backup_dir, prefix=".probe-"):
        return True


def _run(row: Any) -> dict:
    return {key: row[key] for key in Run.model_fields}


def create_app(settings: BackupWorkerSettings | None = None) -> FastAPI:
    settings = settings or BackupWorkerSettings()
    loops = Supervisor.from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(settings)
        broker = make_broker(settings, client_id="lookout-backup-worker")
        results_topic = topic_name(Topic.BACKUP_RESULTS, settings.topic_prefix)

        async def publish(result: BackupResult) -> None:
            await broker.publish(
                result.model_dump_json().encode(), results_topic, key=result.run_id.encode()
            )

        runner = Runner(settings, pool, open_target(settings), publish)
        app.state.pool, app.state.runner = pool, runner
        app.state.keys = KeyCache(pool, 30.0)
        await runner.recover()
        if settings.backup_default_schedule:
            await schedules.seed_default_schedule(pool, settings.timezone)

        @broker.subscriber(
            topic_name(Topic.BACKUP_COMMANDS, settings.topic_prefix),
            group_id=group_name("lookout-backup-worker", settings.topic_prefix),
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.NACK_ON_ERROR,  # the offset moves once the run is recorded
            max_poll_interval_ms=6 * 60 * 60 * 1000,  # a run may take hours
        )
        async def on_command(body: Any, message: KafkaMessage) -> None:
            # Signed, fresh and never seen, or refused and audited (never retried).
            command = await admit_command(pool, settings, body)
            if command is not None:
                await runner.execute(command)

        commands_topic = topic_name(Topic.BACKUP_COMMANDS, settings.topic_prefix)
        command_key = _secret(settings.backup_command_key)

        async def send(command: BackupCommand) -> None:
            # One key for every command: one partition, so a schedule's backup and its
            # prune are consumed in order. Signed like dashboard-api's commands.
            signed = sign_command(command, command_key) if command_key else command
            await broker.publish(signed.model_dump_json().encode(), commands_topic, key=b"backup")

        await start_with_retry(broker, settings)
        async with (
            loops,
            LeaderLease(settings, "backup-worker", retry_s=2.0, supervisor=loops) as lease,
        ):
            loops.spawn(
                "backup-schedules",
                functools.partial(
                    schedules.run_schedules,
                    pool,
                    send,
                    lambda: lease.is_leader,
                    settings.backup_schedule_poll_s,
                ),
            )
            try:
                yield
            finally:
                await loops.stop()
                await broker.stop()
                await pool.close()

    app = FastAPI(
        title="Lookout backup-worker",
        version=distribution_version("lookout-backup-worker"),
        description="Backs up the product's tables and restores them after verifying them.",
        lifespan=lifespan,
        **api_docs(settings),
    )
    add_probe_routes(
        app,
        "backup-worker",
        lambda: {
            "postgres": lambda: database_reachable(app.state.pool),
            "kafka": lambda: broker_reachable(settings),
            "target": lambda: asyncio.to_thread(target_writable, settings),
        },
        loops=loops,
    )

    @app.get("/api/v1/backups/runs", response_model=list[Run], tags=["backups"])
    async def list_runs(
        request: Request,
        _: Reader,
        limit: Annotated[int, Query(ge=1, le=500, description="Newest runs to list")] = 50,
    ) -> list[Run]:
        rows = await store.runs(request.app.state.pool, limit)
        return [Run.model_validate(_run(row)) for row in rows]

    @app.get(
        "/api/v1/backups/runs/{run_id}",
        response_model=RunDetail,
        responses={404: {"description": "No such run"}},
        tags=["backups"],
    )
    async def show_run(request: Request, run_id: str, _: Reader) -> RunDetail:
        row = await store.run(request.app.state.pool, run_id)
        if row is None:
            raise HTTPException(404, f"no run {run_id}")
        artifacts = await store.artifacts(request.app.state.pool, run_id)
        return RunDetail(
            **_run(row),
            artifacts=[StoredArtifact.model_validate(dict(a)) for a in artifacts],
        )

    @app.get(
        "/api/v1/backups/runs/{run_id}/manifest",
        response_model=Manifest,
        responses={
            404: {
                "description": "No manifest it can trust (the run failed, is not a backup, or"
                " its manifest does not authenticate)"
            }
        },
        tags=["backups"],
    )
    async def manifest(request: Request, run_id: str, _: Reader) -> Manifest:
        try:
            runner = request.app.state.runner
            recorded = await store.recorded_authentication(request.app.state.pool)
            return await read_manifest(runner.target, run_id, runner.keyring, recorded)
        except RestoreRefused as error:
            raise HTTPException(404, str(error)) from None

    @app.get("/api/v1/backups/schedules", response_model=list[schedules.Schedule], tags=["backups"])
    async def list_schedules(request: Request, _: Reader) -> list[schedules.Schedule]:
        return await schedules.list_schedules(request.app.state.pool)

    @app.post(
        "/api/v1/backups/schedules",
        response_model=schedules.Schedule,
        status_code=201,
        responses={409: {"description": "A schedule with this name exists"}},
        tags=["backups"],
    )
    async def create_schedule(
        request: Request, body: schedules.ScheduleIn, _: Admin
    ) -> schedules.Schedule:
        try:
            return await schedules.save_schedule(request.app.state.pool, body, None)
        except asyncpg.UniqueViolationError:
            raise HTTPException(409, f"a schedule named {body.name!r} exists") from None

    @app.put(
        "/api/v1/backups/schedules/{schedule_id}",
        response_model=schedules.Schedule,
        responses={
            404: {"description": "No such schedule"},
            409: {"description": "Another schedule has that name"},
        },
        tags=["backups"],
    )
    async def update_schedule(
        request: Request, schedule_id: RowId, body: schedules.ScheduleIn, _: Admin
    ) -> schedules.Schedule:
        try:
            saved = await schedules.save_schedule(request.app.state.pool, body, schedule_id)
        except asyncpg.UniqueViolationError:
            raise HTTPException(409, f"another schedule is named {body.name!r}") from None
        if saved is None:
            raise HTTPException(404, f"no schedule {schedule_id}")
        return saved

    @app.delete(
        "/api/v1/backups/schedules/{schedule_id}",
        status_code=204,
        responses={404: {"description": "No such schedule"}},
        tags=["backups"],
    )
    async def delete_schedule(request: Request, schedule_id: RowId, _: Admin) -> None:
        if not await schedules.delete_schedule(request.app.state.pool, schedule_id):
            raise HTTPException(404, f"no schedule {schedule_id}")

    return app
