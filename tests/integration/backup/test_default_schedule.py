"""A fresh installation is backed up by default: the first worker creates the nightly
schedule once, however many workers start together or restart, and an operator who
deletes it (or turns the setting off) is not overruled."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import httpx
import pytest
from support.db import create_keys
from support.wait import eventually

from lookout_backup import schedules
from lookout_common.contracts.backup_events import BackupCommand
from lookout_common.infra.apikeys import Role
from lookout_common.infra.db import create_pool
from lookout_common.infra.settings import BackupWorkerSettings

pytestmark = pytest.mark.integration


async def _schedules(url: str, key: str) -> list[dict]:
    """The worker's schedules, once it answers (it seeds before it serves)."""

    async def answer():
        async with httpx.AsyncClient(base_url=url) as client:
            try:
                return await client.get(
                    "/api/v1/backups/schedules", headers={"Authorization": f"Bearer {key}"}
                )
            except httpx.TransportError:
                return None

    answered = await eventually(answer, timeout=30)
    assert answered.status_code == 200, answered.text
    return answered.json()


async def _seeds(dsn: str) -> int:
    connection = await asyncpg.connect(dsn)
    try:
        return await connection.fetchval("SELECT count(*) FROM backup_seeds")
    finally:
        await connection.close()


async def test_workers_seed_the_default_schedule_once_and_a_deleted_one_stays_deleted(
    settings, service_factory, worker_env
) -> None:
    (admin,) = await create_keys(settings.dsn(), (Role.ADMIN, "sre"))
    env = {
        **worker_env,
        "LOOKOUT_BACKUP_DEFAULT_SCHEDULE": "true",
        "LOOKOUT_TIMEZONE": "Europe/Berlin",
    }
    first = service_factory("lookout_backup", env, wait_ready=False)
    second = service_factory("lookout_backup", env, wait_ready=False)

    await _schedules(second.url, admin)
    [schedule] = await _schedules(first.url, admin)
    assert {key: schedule[key] for key in schedule if key not in ("id", "next_run_at")} == {
        "name": "default",
        "frequency": "daily",
        "hour": 3,
        "minute": 0,
        "weekday": None,
        "day_of_month": None,
        "timezone": "Europe/Berlin",
        "collections": [],
        "retention": {
            "retention_days": 30,
            "keep_last": 0,
            "keep_daily": 0,
            "keep_weekly": 0,
            "keep_monthly": 0,
        },
        "trial_restore": True,
        "enabled": True,
        "backup_type": "incremental",
        "full_weekday": 6,
        "trial_restore_weekday": 6,
    }
    assert schedule["next_run_at"] is not None
    assert await _seeds(settings.dsn()) == 1

    async with httpx.AsyncClient(base_url=second.url) as client:
        deleted = await client.delete(
            f"/api/v1/backups/schedules/{schedule['id']}",
            headers={"Authorization": f"Bearer {admin}"},
        )
    assert deleted.status_code == 204
    second.kill()
    restarted = service_factory("lookout_backup", env, wait_ready=False)
    assert await _schedules(restarted.url, admin) == []
    assert await _seeds(settings.dsn()) == 1


async def test_default_schedule_sends_incrementals_on_weekdays_and_a_trial_checked_full_on_sunday(
    settings,
) -> None:
    pool = await create_pool(BackupWorkerSettings(database_url=settings.dsn()))
    try:
        seeded = await schedules.seed_default_schedule(pool, "Europe/Berlin")
        assert seeded is not None
        assert await schedules.seed_default_schedule(pool, "Europe/Berlin") is None
        sent: list[BackupCommand] = []

        async def send(command: BackupCommand) -> None:
            sent.append(command)

        # Monday 8 June and Sunday 14 June 2026, 03:00 in Berlin (CEST, +2).
        for due in (datetime(2026, 6, 8, 1, tzinfo=UTC), datetime(2026, 6, 14, 1, tzinfo=UTC)):
            await pool.execute("UPDATE backup_schedules SET next_run_at = $1", due)
            assert await schedules.enqueue_due(pool, send, due) == ["default"]
    finally:
        await pool.close()
    assert [(c.operation, c.backup_type, c.trial_restore) for c in sent] == [
        ("backup", "incremental", False),
        ("prune", "full", False),
        ("backup", "full", False),
        ("verify", "full", True),
        ("prune", "full", False),
    ]
    assert {c.retention.retention_days for c in sent if c.operation == "prune"} == {30}
    assert all(c.collections is None for c in sent)  # every collection
