"""The backup worker as a process: commands over Kafka, records in Postgres, results on
`backup.results.v1`, the CLI, and a worker killed in the middle of a run."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from support.backups import b64_key, command, runs, send
from support.db import create_keys
from support.kafka import read_topic
from support.wait import eventually

from lookout_common.contracts.topics import Topic, topic_name
from lookout_common.infra.apikeys import Role
from lookout_devstack.marketplace import TABLES

pytestmark = pytest.mark.integration


async def test_backup_command_runs_once_and_reports_on_the_results_topic(
    settings, service_factory, worker_env
) -> None:
    worker = service_factory("lookout_backup", worker_env)
    request = command()
    await send(settings, request)
    await send(settings, request)  # redelivered: must not run twice

    async def finished():
        rows = await runs(settings.dsn())
        return rows if rows and rows[0]["status"] == "succeeded" else None

    [run] = await eventually(finished)
    assert run["command_id"] == request.command_id
    assert run["rows"] > 0
    connection = await asyncpg.connect(settings.dsn())
    try:
        stored = await connection.fetch("SELECT collection FROM backup_metadata")
    finally:
        await connection.close()
    assert sorted(row["collection"] for row in stored) == sorted(TABLES)

    results = await read_topic(
        settings.kafka_bootstrap, topic_name(Topic.BACKUP_RESULTS, settings.topic_prefix), expect=3
    )
    statuses = [r["status"] for r in results if r["run_id"] == run["run_id"]]
    assert statuses[0] == "queued"
    assert "running" in statuses
    assert statuses[-1] == "succeeded"
    assert results[-1]["collections_done"] == len(TABLES)

    [key] = await create_keys(settings.dsn(), (Role.VIEWER, "support"))
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {key}"}) as client:
        listed = (await client.get(f"{worker.url}/api/v1/backups/runs")).json()
        detail = (await client.get(f"{worker.url}/api/v1/backups/runs/{run['run_id']}")).json()
        manifest = await client.get(f"{worker.url}/api/v1/backups/runs/{run['run_id']}/manifest")
        metrics = (await client.get(f"{worker.url}/metrics")).text
        # A limit out of range is refused with the field and the reason, never clamped.
        refused = [
            await client.get(f"{worker.url}/api/v1/backups/runs", params={"limit": limit})
            for limit in (0, 501)
        ]
        one = (await client.get(f"{worker.url}/api/v1/backups/runs?limit=1")).json()
    assert [r["run_id"] for r in listed] == [run["run_id"]]
    assert [r["run_id"] for r in one] == [run["run_id"]]
    for answer in refused:
        assert answer.status_code == 422
        assert answer.json()["detail"][0]["loc"] == ["query", "limit"]
    assert len(detail["artifacts"]) == len(TABLES)
    assert manifest.json()["run_id"] == run["run_id"]
    assert "lookout_backup_last_success_timestamp_seconds 1." in metrics


def lookout(env: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lookout_devstack.cli", "backup", *arguments],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_cli_runs_lists_verifies_and_restores(settings, worker_env, marketplace) -> None:
    made = lookout(worker_env, "run")
    assert made.returncode == 0, made.stderr
    run_id = made.stdout.split(":")[0]
    assert made.stdout.strip().endswith("succeeded")
    assert "6/6" in made.stderr  # the progress bar
    assert run_id in lookout(worker_env, "list").stdout
    assert lookout(worker_env, "verify", run_id).returncode == 0

    connection = await asyncpg.connect(marketplace)
    try:
        before = await connection.fetchval("SELECT count(*) FROM users")
        await connection.execute("DELETE FROM messages")
        await connection.execute("DELETE FROM chats")
    finally:
        await connection.close()
    restored = lookout(worker_env, "restore", run_id, "chats", "messages")
    assert restored.returncode == 0, restored.stderr
    connection = await asyncpg.connect(marketplace)
    try:
        assert await connection.fetchval("SELECT count(*) FROM messages") > 0
        assert await connection.fetchval("SELECT count(*) FROM users") == before
    finally:
        await connection.close()

    backups = Path(worker_env["LOOKOUT_BACKUP_DIR"])
    victim = next((backups / run_id).glob("users.*"))
    victim.write_bytes(victim.read_bytes()[:-10])
    refused = lookout(worker_env, "verify", run_id)
    assert refused.returncode == 1
    assert "users" in refused.stderr


async def test_worker_killed_mid_run_leaves_a_failed_run_and_the_next_one_succeeds(
    settings, service_factory, worker_env, marketplace
) -> None:
    connection = await asyncpg.connect(marketplace)
    try:
        await connection.execute(
            "CREATE TABLE events_archive AS SELECT g AS id, md5(g::text) || repeat('x', 200)"
            " AS payload FROM generate_series(1, 1000000) AS g"
        )
    finally:
        await connection.close()
    env = {**worker_env, "LOOKOUT_BACKUP_COLLECTIONS": '["events_archive"]'}
    first = service_factory("lookout_backup", env)
    await send(settings, command())

    async def running():
        rows = await runs(settings.dsn())
        return rows if rows and rows[0]["status"] == "running" else None

    await eventually(running)
    await asyncio.sleep(0.5)
    first.kill()
    service_factory("lookout_backup", env)

    async def failed():
        rows = await runs(settings.dsn())
        return rows if rows and rows[0]["status"] == "failed" else None

    [dead] = await eventually(failed)
    assert "worker died before the run finished" in dead["errors"]
    backups = Path(env["LOOKOUT_BACKUP_DIR"])
    assert not (backups / dead["run_id"] / "manifest.json").exists()

    await send(settings, command(collections=["users"]))

    async def second():
        rows = await runs(settings.dsn())
        return rows if len(rows) == 2 and rows[1]["status"] == "succeeded" else None

    await eventually(second)


async def test_unsigned_forged_stale_and_replayed_commands_are_refused_and_audited(
    settings, service_factory, worker_env
) -> None:
    """Someone who reaches Kafka cannot restore or prune: only a command signed with
    the command key, sent within the age window and never seen before, runs."""
    service_factory("lookout_backup", worker_env)
    valid = command("backup", collections=["users"])
    await send(settings, command("prune", retention={"keep_last": 1}), key=None)
    await send(settings, command("restore", run_id="x"), key=b64_key())
    await send(
        settings,
        command("prune", requested_at=datetime.now(UTC) - timedelta(days=2)),
    )
    await send(settings, b"not json at all")
    await send(settings, valid)
    await send(settings, valid)  # replayed: the same signed command again

    async def refusals():
        connection = await asyncpg.connect(settings.dsn())
        try:
            rows = await connection.fetch(
                "SELECT outcome, target FROM audit_log"
                " WHERE action = 'backup.command.refused' ORDER BY id"
            )
        finally:
            await connection.close()
        return rows if len(rows) >= 5 else None

    rows = await eventually(refusals)
    assert sorted(r["outcome"] for r in rows) == [
        "refused (bad signature)",
        "refused (malformed)",
        "refused (replayed)",
        "refused (stale)",
        "refused (unsigned)",
    ]
    assert [r["target"] for r in rows if r["outcome"] == "refused (replayed)"] == [valid.command_id]
    [run] = await runs(settings.dsn())
    assert run["command_id"] == valid.command_id
    assert run["operation"] == "backup"
