"""Backup schedules: stored in `backup_schedules`, managed over HTTP, and turned into
commands on `backup.commands.v1` by the leader replica when due (a backup, then a prune
with the schedule's retention)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import asyncpg
from aiokafka.errors import KafkaError

from lookout_backup.timetable import next_run
from lookout_common.contracts.backup_api import Schedule, ScheduleIn
from lookout_common.contracts.backup_events import BackupCommand, Retention
from lookout_common.infra.db import DATABASE_UNAVAILABLE

log = logging.getLogger("lookout.backup")

COLUMNS = (
    "name, frequency, hour, minute, weekday, day_of_month, timezone, collections, "
    "retention_days, enabled, trial_restore"
)


def _json(value):
    """jsonb as decoded by the pool's codec, or as text on a plain connection."""
    return json.loads(value) if isinstance(value, str) else value


def _row(row: asyncpg.Record) -> Schedule:
    retention = _json(row["retention"]) or {}
    return Schedule(
        id=row["id"],
        name=row["name"],
        frequency=row["frequency"],
        hour=row["hour"],
        minute=row["minute"],
        weekday=row["weekday"],
        day_of_month=row["day_of_month"],
        timezone=row["timezone"],
        collections=json.loads(row["collections"])
        if isinstance(row["collections"], str)
        else row["collections"],
        retention=Retention.model_validate(retention),
        trial_restore=row["trial_restore"],
        enabled=row["enabled"],
        next_run_at=row["next_run_at"],
    )


_SELECT = "SELECT *, retention_policy AS retention FROM backup_schedules"


async def list_schedules(pool: asyncpg.Pool) -> list[Schedule]:
    return [_row(row) for row in await pool.fetch(f"{_SELECT} ORDER BY id")]


async def save_schedule(
    pool: asyncpg.Pool, schedule: ScheduleIn, schedule_id: int | None
) -> Schedule | None:
    """Create (or replace) a schedule; its next run is computed from now."""
    due = next_run(schedule, datetime.now(UTC)) if schedule.enabled else None
    values = (
        schedule.name,
        schedule.frequency,
        schedule.hour,
        schedule.minute,
        schedule.weekday,
        schedule.day_of_month,
        schedule.timezone,
        json.dumps(schedule.collections),
        schedule.retention.retention_days,
        schedule.enabled,
        schedule.trial_restore,
        schedule.retention.model_dump_json(),
        due,
    )
    if schedule_id is None:
        row = await pool.fetchrow(
            f"""
            INSERT INTO backup_schedules ({COLUMNS}, retention_policy, next_run_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text::jsonb, $9, $10, $11,
                    $12::text::jsonb, $13)
            RETURNING *, retention_policy AS retention
            """,
            *values,
        )
    else:
        row = await pool.fetchrow(
            """
            UPDATE backup_schedules SET name = $1, frequency = $2, hour = $3, minute = $4,
                weekday = $5, day_of_month = $6, timezone = $7, collections = $8::text::jsonb,
                retention_days = $9, enabled = $10, trial_restore = $11,
                retention_policy = $12::text::jsonb, next_run_at = $13, updated_at = now()
            WHERE id = $14 RETURNING *, retention_policy AS retention
            """,
            *values,
            schedule_id,
        )
    return _row(row) if row else None


async def delete_schedule(pool: asyncpg.Pool, schedule_id: int) -> bool:
    return (
        await pool.execute("DELETE FROM backup_schedules WHERE id = $1", schedule_id) == "DELETE 1"
    )


async def enqueue_due(
    pool: asyncpg.Pool, send: Callable[[BackupCommand], Awaitable[None]], now: datetime
) -> list[str]:
    """Send the commands of every due schedule and move its next run; returns their names.

    The command ids derive from the schedule and its due time, so sending twice (a crash
    between send and commit) runs nothing twice.
    """
    sent = []
    async with pool.acquire() as connection, connection.transaction():
        rows = await connection.fetch(
            f"{_SELECT} WHERE enabled AND next_run_at <= $1 FOR UPDATE SKIP LOCKED", now
        )
        for row in rows:
            schedule = _row(row)
            stamp = row["next_run_at"].strftime("%Y%m%dT%H%M%SZ")
            base = {"requested_by": f"schedule:{schedule.name}", "requested_at": now}
            await send(
                BackupCommand(
                    command_id=f"schedule-{schedule.id}-{stamp}",
                    operation="backup",
                    collections=schedule.collections or None,
                    **base,
                )
            )
            if schedule.trial_restore:  # verify the newest backup (the one just made)
                await send(
                    BackupCommand(
                        command_id=f"schedule-{schedule.id}-{stamp}-trial",
                        operation="verify",
                        trial_restore=True,
                        **base,
                    )
                )
            await send(
                BackupCommand(
                    command_id=f"schedule-{schedule.id}-{stamp}-prune",
                    operation="prune",
                    retention=schedule.retention,
                    **base,
                )
            )
            await connection.execute(
                "UPDATE backup_schedules SET next_run_at = $2, updated_at = now() WHERE id = $1",
                schedule.id,
                next_run(schedule, now),
            )
            sent.append(schedule.name)
    if sent:
        log.info("scheduled backups sent", extra={"schedules": sent})
    return sent


async def run_schedules(
    pool: asyncpg.Pool,
    send: Callable[[BackupCommand], Awaitable[None]],
    is_leader: Callable[[], bool],
    poll_s: float,
) -> None:
    """Forever (under the app's supervisor): every `poll_s`, the leader sends what is due.

    Postgres or Kafka being unreachable skips one pass: its transaction rolls back, so the
    schedule stays due and the next pass sends it (with the same command ids).
    """
    while True:
        await asyncio.sleep(poll_s)
        if not is_leader():
            continue
        try:
            await enqueue_due(pool, send, datetime.now(UTC))
        except (*DATABASE_UNAVAILABLE, KafkaError) as error:
            log.warning("schedules not sent; the next pass retries", extra={"error": repr(error)})
