"""Failures a backup must survive honestly: the S3 endpoint dying mid-upload, and a
table far larger than memory."""

from __future__ import annotations

import asyncio
import tracemalloc
import uuid

import asyncpg
import boto3
import pytest
from botocore.exceptions import BotoCoreError
from moto.server import ThreadedMotoServer

from lookout_backup.export import BackupPlan, run_backup
from lookout_backup.targets import S3Target
from lookout_devstack.embedded.process import free_port

pytestmark = pytest.mark.integration

ROWS = 600_000


@pytest.fixture
async def big_table(marketplace: str) -> str:
    connection = await asyncpg.connect(marketplace)
    try:
        await connection.execute(
            "CREATE TABLE events_archive AS SELECT g AS id, md5(g::text) || repeat('x', 300)"
            f" AS payload FROM generate_series(1, {ROWS}) AS g"
        )
    finally:
        await connection.close()
    return marketplace


async def test_s3_endpoint_stopped_mid_run_fails_the_run_and_writes_no_manifest(
    big_table, keyring
) -> None:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    bucket = f"lookout-{uuid.uuid4().hex[:8]}"

    def client():
        return boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )

    client().create_bucket(Bucket=bucket)
    target = S3Target(client, bucket, "lookout", attempts=3, backoff_s=0.2)
    run_id = f"run-{uuid.uuid4().hex[:8]}"
    backup = asyncio.create_task(
        run_backup(
            big_table,
            target,
            BackupPlan(run_id=run_id, collections=["events_archive"], compression="none"),
            keyring,
        )
    )
    await asyncio.sleep(0.8)
    assert not backup.done(), "the export must still be uploading when S3 goes away"
    server.stop()
    with pytest.raises(BotoCoreError, match="Could not connect"):
        await asyncio.wait_for(backup, 60)

    restarted = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    restarted.start()
    try:
        # moto keeps nothing across a restart, so only a real endpoint could hold leftovers;
        # what matters is that no manifest was ever written for this run.
        client().create_bucket(Bucket=bucket)
        assert not await target.exists(f"{run_id}/manifest.json")
    finally:
        restarted.stop()


async def test_memory_stays_flat_while_exporting_a_large_table(big_table, local_target, keyring):
    connection = await asyncpg.connect(big_table)
    try:
        size = await connection.fetchval("SELECT pg_total_relation_size('events_archive')")
    finally:
        await connection.close()
    tracemalloc.start()
    try:
        manifest = await run_backup(
            big_table,
            local_target,
            BackupPlan(run_id="big", collections=["events_archive"]),
            keyring,
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    [artifact] = manifest.artifacts
    assert artifact.rows == ROWS
    assert artifact.plain_bytes > 150_000_000
    assert size > 150_000_000
    # Python-level allocations stay a small constant, whatever the table's size.
    assert peak < 40_000_000, f"peak {peak / 1e6:.1f} MB for a {size / 1e6:.0f} MB table"
