"""Schedules turn into backups and prunes when due; prune keeps what retention says,
protects the bases of kept incrementals and removes orphans."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from support.backups import command, runs
from support.db import create_keys
from support.wait import eventually

from lookout_backup.keep_policy import RetentionPolicy
from lookout_backup.prune import prune
from lookout_backup.runner import Busy, Runner
from lookout_backup.targets import LocalTarget
from lookout_common.infra.apikeys import Role
from lookout_common.infra.db import create_pool
from lookout_common.infra.settings import BackupWorkerSettings

pytestmark = pytest.mark.integration


async def test_due_schedule_runs_a_backup_then_a_prune_and_moves_its_next_run(
    settings, service_factory, worker_env
) -> None:
    worker = service_factory(
        "lookout_backup", {**worker_env, "LOOKOUT_BACKUP_SCHEDULE_POLL_S": "0.3"}
    )
    admin, viewer = await create_keys(settings.dsn(), (Role.ADMIN, "sre"), (Role.VIEWER, "support"))
    body = {
        "name": "nightly",
        "frequency": "daily",
        "hour": 3,
        "timezone": "Europe/Berlin",
        "collections": ["users", "places"],
        "retention": {"keep_last": 5},
        "trial_restore": True,
    }
    async with httpx.AsyncClient(base_url=worker.url) as client:
        refused = await client.post(
            "/api/v1/backups/schedules", json=body, headers={"Authorization": f"Bearer {viewer}"}
        )
        assert refused.status_code == 403
        created = await client.post(
            "/api/v1/backups/schedules", json=body, headers={"Authorization": f"Bearer {admin}"}
        )
        assert created.status_code == 201
        schedule = created.json()
        first_due = datetime.fromisoformat(schedule["next_run_at"])
        assert first_due > datetime.now(UTC)
        assert first_due.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin")).hour == 3
        duplicate = await client.post(
            "/api/v1/backups/schedules", json=body, headers={"Authorization": f"Bearer {admin}"}
        )
        assert duplicate.status_code == 409

    connection = await asyncpg.connect(settings.dsn())
    try:
        # LOOKOUT_BACKUP_DEFAULT_SCHEDULE=false (worker_env): no default, nothing recorded.
        assert await connection.fetch("SELECT name FROM backup_schedules") == [("nightly",)]
        assert await connection.fetchval("SELECT count(*) FROM backup_seeds") == 0
        # Make it due now.
        await connection.execute(
            "UPDATE backup_schedules SET next_run_at = now() - interval '1 minute'"
        )
    finally:
        await connection.close()

    async def both_ran():
        rows = await runs(settings.dsn())
        done = [r for r in rows if r["status"] == "succeeded"]
        return rows if len(done) == 3 else None

    rows = await eventually(both_ran)
    assert [(r["operation"], r["requested_by"]) for r in rows] == [
        ("backup", "schedule:nightly"),
        ("verify", "schedule:nightly"),  # the trial restore of the new backup
        ("prune", "schedule:nightly"),
    ]
    assert rows[1]["target_run_id"] == rows[0]["run_id"]
    connection = await asyncpg.connect(settings.dsn())
    try:
        moved = await connection.fetchval("SELECT next_run_at FROM backup_schedules")
        artifacts = await connection.fetch("SELECT collection FROM backup_metadata")
    finally:
        await connection.close()
    assert moved > datetime.now(UTC)
    assert sorted(a["collection"] for a in artifacts) == ["places", "users"]
    await asyncio.sleep(1.0)  # the poller sees nothing due any more
    assert len(await runs(settings.dsn())) == 3


async def test_prune_keeps_the_newest_and_removes_expired_failed_and_orphans(
    settings, worker_env, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in worker_env.items():
        monkeypatch.setenv(name, value)
    runner_settings = BackupWorkerSettings()
    pool = await create_pool(runner_settings)
    target = LocalTarget(Path(worker_env["LOOKOUT_BACKUP_DIR"]))
    try:
        runner = Runner(runner_settings, pool, target)
        made = []
        for _ in range(3):
            made.append((await runner.execute(command(collections=["users"]))).run_id)
            time.sleep(1.1)  # run ids and finish times in order
        # A run that died mid-way: its objects exist, but no manifest and no success.
        orphan = "20200101T000000Z-backup-dead00"
        (target.root / orphan).mkdir(parents=True)
        (target.root / orphan / "users.csv.zst.enc").write_bytes(b"half written")
        report = await prune(
            pool,
            target,
            RetentionPolicy(keep_last=2),
            runner_settings.zone,
            datetime.now(UTC) + timedelta(seconds=1),
        )
    finally:
        await pool.close()
    assert set(report.kept) == set(made[1:])
    assert report.removed[made[0]] == "expired"
    assert report.removed[orphan].startswith("orphan")
    assert sorted(p.name for p in target.root.iterdir()) == sorted([".lookout-backups", *made[1:]])
    remaining = [r["run_id"] for r in await runs(settings.dsn())]
    assert made[0] not in remaining
    assert set(made[1:]) <= set(remaining)


async def test_second_backup_of_the_same_source_waits_or_is_refused(
    worker_env, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in worker_env.items():
        monkeypatch.setenv(name, value)
    runner_settings = BackupWorkerSettings()
    pool = await create_pool(runner_settings)
    try:
        first = Runner(runner_settings, pool, LocalTarget(runner_settings.backup_dir))
        second = Runner(runner_settings, pool, LocalTarget(runner_settings.backup_dir))
        async with first.source_lock(wait=False):
            with pytest.raises(Busy, match="another backup run of this source is in progress"):
                await second.execute(command(collections=["users"]), wait=False)
            refused = [r for r in await runs(runner_settings.dsn()) if r["status"] == "failed"]
            assert "in progress" in str(refused[0]["errors"])
            waiting = asyncio.create_task(second.execute(command(collections=["users"])))
            await asyncio.sleep(1.5)
            assert not waiting.done()  # it waits for the lock
        result = await asyncio.wait_for(waiting, 30)
        assert result.status.value == "succeeded"
    finally:
        await pool.close()
