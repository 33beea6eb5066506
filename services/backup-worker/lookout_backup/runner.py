"""Running backup commands: record the run, hold the per-source lock, do the work,
report progress and the outcome (Postgres first, then `backup.results.v1`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
from prometheus_client import Counter, Gauge

from lookout_backup import store
from lookout_backup.crypto import Keyring, WrongKey, decode_master
from lookout_backup.export import BackupPlan, Progress, run_backup
from lookout_backup.keep_policy import RetentionPolicy
from lookout_backup.load import RestoreRefused
from lookout_backup.manifest import Manifest
from lookout_backup.prune import NotLookoutTarget, prune
from lookout_backup.restore import read_manifest, restore, trial_restore, verify
from lookout_backup.targets import Target
from lookout_common.contracts.backup_events import BackupCommand, BackupResult, Retention, RunStatus
from lookout_common.infra import erasure_ledger
from lookout_common.infra.leader import lock_id
from lookout_common.infra.settings import BackupWorkerSettings

log = logging.getLogger("lookout.backup")

LAST_SUCCESS = Gauge(
    "lookout_backup_last_success_timestamp_seconds", "When the last successful backup finished"
)
RUNS = Counter("lookout_backup_runs_total", "Runs by operation and status", ["operation", "status"])
BYTES = Counter("lookout_backup_bytes_total", "Bytes written to the backup target")

Publish = Callable[[BackupResult], Awaitable[None]]


class Busy(Exception):
    """Another backup of the same source is running and the caller would not wait."""


def keyring_from(settings: BackupWorkerSettings) -> Keyring:
    """The master keys. Without LOOKOUT_BACKUP_KEY backups are refused, unless
    LOOKOUT_BACKUP_ALLOW_UNAUTHENTICATED=true (then stored in clear, unauthenticated)."""
    text = settings.backup_key.get_secret_value().strip() if settings.backup_key else ""
    current = decode_master(text) if text else None
    if current is None:
        log.warning(
            "LOOKOUT_BACKUP_KEY is not set: backups will be UNAUTHENTICATED and unencrypted"
            if settings.backup_allow_unauthenticated
            else "LOOKOUT_BACKUP_KEY is not set: backups are refused"
        )
    older = []
    if settings.backup_old_keys:
        older = [decode_master(k) for k in settings.backup_old_keys.get_secret_value().split(",")]
    return Keyring(current, older, allow_unauthenticated=settings.backup_allow_unauthenticated)


def new_run_id(operation: str) -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{operation}-{os.urandom(3).hex()}"


class Runner:
    def __init__(
        self,
        settings: BackupWorkerSettings,
        pool: asyncpg.Pool,
        target: Target,
        publish: Publish | None = None,
    ) -> None:
        self.settings = settings
        self.pool = pool
        self.target = target
        self.publish = publish
        self.keyring = keyring_from(settings)
        self.source = (settings.backup_source_url or settings.database_url).get_secret_value()
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        self._lock_key = lock_id(f"lookout.backup.source.{self.source}")
        self.progress_bar: Callable[[Progress], None] | None = None  # the CLI's

    @contextlib.asynccontextmanager
    async def source_lock(self, wait: bool) -> AsyncIterator[None]:
        """One run at a time per source, across processes (a Postgres advisory lock)."""
        connection = await asyncpg.connect(self.settings.dsn())
        try:
            while not await connection.fetchval("SELECT pg_try_advisory_lock($1)", self._lock_key):
                if not wait:
                    raise Busy("another backup run of this source is in progress; try again later")
                await asyncio.sleep(1.0)
            yield
        finally:
            await connection.close()  # closing the session releases the lock

    async def recover(self) -> list[str]:
        """At start-up: runs a dead worker left `running` are failed (if nobody holds the lock)."""
        connection = await asyncpg.connect(self.settings.dsn())
        try:
            if not await connection.fetchval("SELECT pg_try_advisory_lock($1)", self._lock_key):
                return []
            rows = await connection.fetch(
                """
                UPDATE backup_logs SET status = 'failed', finished_at = now(),
                    errors = errors || '["worker died before the run finished"]'::jsonb
                WHERE status = 'running' RETURNING run_id
                """
            )
        finally:
            await connection.close()
        failed: list[str] = [row["run_id"] for row in rows]
        if failed:
            log.warning("abandoned runs marked failed", extra={"runs": failed})
        last = await store.last_success(self.pool)
        if last is not None:
            LAST_SUCCESS.set(last.timestamp())
        return failed

    async def _report(self, result: BackupResult) -> None:
        if self.publish is not None:
            try:
                await self.publish(result)
            except Exception as error:  # noqa: BLE001 - Postgres holds the record
                log.warning("backup result not published", extra={"error": repr(error)})

    async def execute(self, command: BackupCommand, *, wait: bool = True) -> BackupResult:
        """Run a command once (a redelivered command returns the recorded outcome)."""
        run_id, _ = await store.queue_run(
            self.pool,
            run_id=new_run_id(command.operation),
            operation=command.operation,
            requested_by=command.requested_by,
            command_id=command.command_id,
            collections=command.collections or [],
            backup_type=command.backup_type if command.operation == "backup" else None,
            target_run_id=command.run_id,
        )
        row = await store.recorded_run(self.pool, run_id)
        base: dict[str, Any] = {
            "run_id": run_id,
            "operation": command.operation,
            "command_id": command.command_id,
        }
        if row["status"] != "queued":
            return BackupResult(**base, status=RunStatus(row["status"]), at=datetime.now(UTC))
        await self._report(BackupResult(**base, status=RunStatus.QUEUED, at=datetime.now(UTC)))
        try:
            async with self.source_lock(wait):
                started = datetime.now(UTC)
                await store.start_run(self.pool, run_id, self.worker, self.target.name)
                await self._report(
                    BackupResult(**base, status=RunStatus.RUNNING, started_at=started, at=started)
                )
                status, errors, manifest = await self._work(command, run_id, base, started)
                await store.finish_run(self.pool, run_id, status.value, errors, manifest)
                row = await store.recorded_run(self.pool, run_id)
        except Busy as error:  # only raised before the run starts
            await store.finish_run(self.pool, run_id, RunStatus.FAILED.value, [str(error)])
            raise
        RUNS.labels(command.operation, status.value).inc()
        finished = datetime.now(UTC)
        if command.operation == "backup" and status is RunStatus.SUCCEEDED:
            LAST_SUCCESS.set(finished.timestamp())
        result = BackupResult(
            **base,
            status=status,
            errors=errors,
            started_at=started,
            finished_at=finished,
            at=finished,
            rows=sum(c.rows for c in manifest.collections) if manifest else row["rows"],
            bytes=sum(a.bytes for a in manifest.artifacts) if manifest else 0,
            collections_done=len(manifest.collections) if manifest else 0,
            collections_total=len(manifest.collections) if manifest else 0,
        )
        await self._report(result)
        log.info("run finished", extra={"run": run_id, "status": status.value, "errors": errors})
        return result

    async def _latest_run_id(self) -> str | None:
        rows = await store.usable_backups(self.pool)
        if not rows:
            return None
        run_id: str = rows[0]["run_id"]
        return run_id

    async def _base(self) -> Manifest | None:
        """The newest usable backup to build an incremental on (None: run a full one)."""
        recorded = await store.recorded_authentication(self.pool)
        for row in await store.usable_backups(self.pool):
            try:
                return await read_manifest(self.target, row["run_id"], self.keyring, recorded)
            except RestoreRefused:
                continue
        return None

    async def _work(
        self, command: BackupCommand, run_id: str, base: dict[str, Any], started: datetime
    ) -> tuple[RunStatus, list[str], Manifest | None]:
        last_beat = time.monotonic()

        async def on_progress(step: Progress) -> None:
            nonlocal last_beat
            await store.progress(self.pool, run_id, step.rows, step.bytes)
            if self.progress_bar is not None:
                self.progress_bar(step)
            if (
                time.monotonic() - last_beat > 0.5
                or step.collections_done == step.collections_total
            ):
                last_beat = time.monotonic()
                await self._report(
                    BackupResult(
                        **base,
                        status=RunStatus.RUNNING,
                        collections_done=step.collections_done,
                        collections_total=step.collections_total,
                        rows=step.rows,
                        bytes=step.bytes,
                        started_at=started,
                        at=datetime.now(UTC),
                    )
                )

        try:
            if command.operation == "backup":
                plan = BackupPlan(
                    run_id=run_id,
                    collections=command.collections or self.settings.backup_collections,
                    format=self.settings.backup_format,
                    compression=self.settings.backup_compression,
                    base=await self._base() if command.backup_type == "incremental" else None,
                    include_internal=command.include_internal,
                )
                if plan.base is not None:
                    await store.set_base(self.pool, run_id, plan.base.run_id)
                manifest = await run_backup(
                    self.source, self.target, plan, self.keyring, on_progress
                )
                BYTES.inc(sum(a.bytes for a in manifest.artifacts))
                errors = [f"{c.collection}: {c.error}" for c in manifest.collections if not c.ok]
                return RunStatus(manifest.status), errors, manifest
            if command.operation == "verify":
                checked = command.run_id or await self._latest_run_id()
                if checked is None:
                    return RunStatus.FAILED, ["there is no backup to verify"], None
                await store.set_target_run(self.pool, run_id, checked)
                recorded = await store.recorded_authentication(self.pool)
                await verify(self.target, checked, self.keyring, recorded)
                if not command.trial_restore:
                    return RunStatus.SUCCEEDED, [], None
                scratch = self.settings.backup_scratch_url
                trial = await trial_restore(
                    self.target,
                    checked,
                    scratch.get_secret_value() if scratch else self.source,
                    keyring=self.keyring,
                    role=self.settings.backup_restore_role,
                    recorded=recorded,
                )
                problems = [f"{name}: {why}" for name, why in sorted(trial.mismatches.items())]
                return (RunStatus.FAILED if problems else RunStatus.SUCCEEDED), problems, None
            if command.operation == "restore":
                destination = self.source
                if command.target_url_env:
                    destination = os.environ.get(command.target_url_env, "")
                    if not destination:
                        return RunStatus.FAILED, [f"{command.target_url_env} is not set"], None
                report = await restore(
                    self.target,
                    command.run_id or "",
                    destination,
                    keyring=self.keyring,
                    collections=command.collections,
                    mode=command.restore_mode,
                    schema=command.target_schema or "public",
                    include_internal=command.include_internal,
                    erased=await erasure_ledger.hashes(self.pool),
                    role=self.settings.backup_restore_role,
                    recorded=await store.recorded_authentication(self.pool),
                )
                # The run's record says how many rows each restore loaded.
                await store.progress(self.pool, run_id, sum(report.restored.values()), 0)
                return RunStatus.SUCCEEDED, [], None
            retention = command.retention or Retention(
                retention_days=self.settings.backup_retention_days,
                keep_last=self.settings.backup_keep_last,
                keep_daily=self.settings.backup_keep_daily,
                keep_weekly=self.settings.backup_keep_weekly,
                keep_monthly=self.settings.backup_keep_monthly,
            )
            pruned = await prune(
                self.pool,
                self.target,
                RetentionPolicy.model_validate(retention.model_dump()),
                self.settings.zone,
                datetime.now(UTC),
            )
            await store.record_pruned(self.pool, run_id, sorted(pruned.removed))
            return RunStatus.SUCCEEDED, [], None
        except (RestoreRefused, WrongKey, NotLookoutTarget) as error:
            return RunStatus.FAILED, [str(error)], None
        except Exception as error:
            log.exception("run failed", extra={"run": run_id})
            return RunStatus.FAILED, [f"{type(error).__name__}: {error}"], None
