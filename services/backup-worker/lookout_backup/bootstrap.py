"""Wiring in one place: the backup worker's dependencies, built once in the lifespan into a
typed `Services`, and the `Depends` getters the routes take them from."""

from __future__ import annotations

import functools
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import asyncpg
import boto3
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from pydantic import SecretStr

from lookout_backup import schedules
from lookout_backup.commands import admit_command
from lookout_backup.runner import Runner
from lookout_backup.targets import open_target
from lookout_common.contracts.backup_events import BackupCommand, BackupResult, sign_command
from lookout_common.contracts.topics import Topic, group_name, topic_name
from lookout_common.infra.apikeys import KeyCache
from lookout_common.infra.db import create_pool
from lookout_common.infra.kafka import make_broker, start_with_retry
from lookout_common.infra.leader import LeaderLease
from lookout_common.infra.service import AppServices
from lookout_common.infra.settings import BackupWorkerSettings
from lookout_common.infra.supervise import Supervisor


@dataclass(frozen=True)
class Services:
    """Everything a route of the backup worker needs, built once per process."""

    settings: BackupWorkerSettings
    pool: asyncpg.Pool
    runner: Runner
    keys: KeyCache


def _secret(value: SecretStr | None) -> str | None:
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


def _result_publisher(
    broker: KafkaBroker, settings: BackupWorkerSettings
) -> Callable[[BackupResult], Awaitable[None]]:
    """Publishes a run's results to `backup.results.v1`, keyed by run id (in order per run)."""
    results_topic = topic_name(Topic.BACKUP_RESULTS, settings.topic_prefix)

    async def publish(result: BackupResult) -> None:
        await broker.publish(
            result.model_dump_json().encode(), results_topic, key=result.run_id.encode()
        )

    return publish


def _command_sender(
    broker: KafkaBroker, settings: BackupWorkerSettings
) -> Callable[[BackupCommand], Awaitable[None]]:
    """Sends the scheduler's commands to `backup.commands.v1`, signed when a command key is
    set (like dashboard-api's)."""
    commands_topic = topic_name(Topic.BACKUP_COMMANDS, settings.topic_prefix)
    command_key = _secret(settings.backup_command_key)

    async def send(command: BackupCommand) -> None:
        # One key for every command: one partition, so a schedule's backup and its
        # prune are consumed in order.
        signed = sign_command(command, command_key) if command_key else command
        await broker.publish(signed.model_dump_json().encode(), commands_topic, key=b"backup")

    return send


def _subscribe_commands(
    broker: KafkaBroker, settings: BackupWorkerSettings, pool: asyncpg.Pool, runner: Runner
) -> None:
    """Consumes `backup.commands.v1`: one command at a time, its offset committed once the
    run is recorded."""

    async def on_command(body: Any, message: KafkaMessage) -> None:
        # Signed, fresh and never seen, or refused and audited (never retried).
        command = await admit_command(pool, settings, body)
        if command is not None:
            await runner.execute(command)

    # Registered by a call, not as a decorator: FastStream's decorator is untyped.
    broker.subscriber(
        topic_name(Topic.BACKUP_COMMANDS, settings.topic_prefix),
        group_id=group_name("lookout-backup-worker", settings.topic_prefix),
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,  # the offset moves once the run is recorded
        max_poll_interval_ms=6 * 60 * 60 * 1000,  # a run may take hours
    )(on_command)


@asynccontextmanager
async def bootstrap(settings: BackupWorkerSettings, loops: Supervisor) -> AsyncIterator[Services]:
    """Pool, broker, the runner on its target (runs a dead worker left `running` are failed
    first), the default schedule when enabled, the command subscriber, the leader lease and
    the supervised scheduler loop. On the way out the loops stop first, then the broker,
    then the pool; the lease is released last."""
    pool = await create_pool(settings)
    broker = make_broker(settings, client_id="lookout-backup-worker")
    runner = Runner(settings, pool, open_target(settings), _result_publisher(broker, settings))
    keys = KeyCache(pool, 30.0)
    await runner.recover()
    if settings.backup_default_schedule:
        await schedules.seed_default_schedule(pool, settings.timezone)
    _subscribe_commands(broker, settings, pool, runner)
    send = _command_sender(broker, settings)
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
            yield Services(settings=settings, pool=pool, runner=runner, keys=keys)
        finally:
            await loops.stop()
            await broker.stop()
            await pool.close()


# Where the lifespan keeps the services, and the typed getters routes take them from.
app_services = AppServices(Services)
get_services = app_services.get
PoolDep = Annotated[asyncpg.Pool, app_services.depends(lambda services: services.pool)]
RunnerDep = Annotated[Runner, app_services.depends(lambda services: services.runner)]
