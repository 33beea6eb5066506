"""Backup schedules: stored in `backup_schedules`, managed over HTTP, and turned into
commands on `backup.commands.v1` by the leader replica when due (a backup, then a prune
with the schedule's retention); and the default schedule a fresh installation gets."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiokafka.errors import KafkaError

from lookout_backup.timetable import next_run, planned_run
from lookout_common.contracts.backup_api import Schedule, ScheduleIn
from lookout_common.contracts.backup_events import BackupCommand, Retention
from lookout_common.infra.db import DATABASE_UNAVAILABLE

log = logging.getLogger("lookout.backup")

COLUMNS = (
    "name, frequency, hour, minute, weekday, day_of_month, timezone, collections, "
    "retention_days, enabled, trial_restore, backup_type, full_weekday, trial_restore_weekday"
)
# The name under which `backup_seeds` records that the default schedule was created.
DEFAULT_SEED = "default-schedule"
SUNDAY = 6


def default_schedule(timezone: str) -> ScheduleIn:
    """Nightly at 03:00 in `timezone`, every collection, incremental on weekdays and full
    on Sundays (then trial-restored), keeping 30 days."""
    return ScheduleIn(
        name="default",
        frequency="daily",
        hour=3,
        minute=0,
        timezone=timezone,
        collections=[],
        retention=Retention(retention_days=30),
        backup_type="incremental",
        full_weekday=SUNDAY,
        trial_restore=True,
        trial_restore_weekday=SUNDAY,
    )


def _json(value: object) -> Any:
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
        backup_type=row["backup_type"],
        full_weekday=row["full_weekday"],
        trial_restore_weekday=row["trial_restore_weekday"],
        next_run_at=row["next_run_at"],
    )


_SELECT = "SELECT *, retention_policy AS retention FROM backup_schedules"


async def list_schedules(pool: asyncpg.Pool) -> list[Schedule]:
    return [_row(row) for row in await pool.fetch(f"{_SELECT} ORDER BY id")]


def _values(schedule: ScheduleIn) -> tuple[object, ...]:
    """The stored columns of `schedule` ($1-$16); its next run is computed from now."""
    due = next_run(schedule, datetime.now(UTC)) if schedule.enabled else None
    return (
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
        schedule.backup_type,
        schedule.full_weekday,
        schedule.trial_restore_weekday,
        schedule.retention.model_dump_json(),
        due,
    )


async def add_schedule(pool: asyncpg.Pool | asyncpg.Connection, schedule: ScheduleIn) -> Schedule:
    """Create a schedule (asyncpg.UniqueViolationError when its name is taken)."""
    row = await pool.fetchrow(
        f"""
        INSERT INTO backup_schedules ({COLUMNS}, retention_policy, next_run_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text::jsonb, $9, $10, $11, $12, $13, $14,
                $15::text::jsonb, $16)
        RETURNING *, retention_policy AS retention
        """,
        *_values(schedule),
    )
    return _row(row)


async def replace_schedule(
    pool: asyncpg.Pool | asyncpg.Connection, schedule: ScheduleIn, schedule_id: int
) -> Schedule | None:
    """Replace schedule `schedule_id` (None: there is none; asyncpg.UniqueViolationError
    when another schedule has the name)."""
    row = await pool.fetchrow(
        """
        UPDATE backup_schedules SET name = $1, frequency = $2, hour = $3, minute = $4,
            weekday = $5, day_of_month = $6, timezone = $7, collections = $8::text::jsonb,
            retention_days = $9, enabled = $10, trial_restore = $11, backup_type = $12,
            full_weekday = $13, trial_restore_weekday = $14,
            retention_policy = $15::text::jsonb, next_run_at = $16, updated_at = now()
        WHERE id = $17 RETURNING *, retention_policy AS retention
        """,
        *_values(schedule),
        schedule_id,
    )
    return _row(row) if row else None


async def seed_default_schedule(pool: asyncpg.Pool, timezone: str) -> Schedule | None:
    """Create the default schedule unless it was seeded before (even if deleted since) or
    schedules exist already; returns it when this call created it.

    The seed's row and the schedule commit together, and a second worker's insert of the
    same seed waits for the first and then finds it: several workers starting at once, or
    restarting, create it exactly once.
    """
    schedule = default_schedule(timezone)
    async with pool.acquire() as connection, connection.transaction():
        first = await connection.fetchval(
            "INSERT INTO backup_seeds (name) VALUES ($1) ON CONFLICT DO NOTHING RETURNING name",
            DEFAULT_SEED,
        )
        if first is None or await connection.fetchval("SELECT count(*) FROM backup_schedules"):
            return None
        created = await add_schedule(connection, schedule)
    log.info("default backup schedule created", extra={"schedule": schedule.name})
    return created


async def delete_schedule(pool: asyncpg.Pool, schedule_id: int) -> bool:
    status: str = await pool.execute("DELETE FROM backup_schedules WHERE id = $1", schedule_id)
    return status == "DELETE 1"


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
            plan = planned_run(schedule, row["next_run_at"])
            stamp = row["next_run_at"].strftime("%Y%m%dT%H%M%SZ")
            base = {"requested_by": f"schedule:{schedule.name}", "requested_at": now}
            await send(
                BackupCommand(
                    command_id=f"schedule-{schedule.id}-{stamp}",
                    operation="backup",
                    collections=schedule.collections or None,
                    backup_type=plan.backup_type,
                    **base,
                )
            )
            if plan.trial_restore:  # verify the newest backup (the one just made)
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
