"""Prune is fenced: it refuses a target without Lookout's marker, deletes only run ids,
never a foreign file beside the backups, and sees past S3's 1,000-entry pages."""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import asyncpg
import pytest
from support.resolve import S3Endpoint

from lookout_backup.keep_policy import RetentionPolicy
from lookout_backup.prune import NotLookoutTarget, prune
from lookout_backup.targets import MARKER, LocalTarget, S3Target
from lookout_common.infra.db import create_pool
from lookout_common.infra.settings import BackupWorkerSettings

pytestmark = pytest.mark.integration

ZONE = BackupWorkerSettings().zone
NOW = datetime.now(UTC)
KEEP = RetentionPolicy(keep_last=1)


def orphan(number: int) -> str:
    """A run id of a run that died years ago (no record, no manifest)."""
    clock = f"{number // 3600:02d}{number // 60 % 60:02d}{number % 60:02d}"
    return f"20200101T{clock}Z-backup-{number:06x}"


async def test_local_prune_keeps_foreign_files_and_needs_the_marker(
    database_url, local_target: LocalTarget
) -> None:
    root = local_target.root
    foreign = [root / "notes.txt", root / "other-app" / "data.csv", root / "2019-report" / "x"]
    dead = orphan(1)
    for path in [*foreign, root / dead / "users.csv.zst.enc"]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"someone's bytes")
    (root / "linked").symlink_to(root / "other-app")
    pool = await create_pool(BackupWorkerSettings(database_url=database_url))
    try:
        with pytest.raises(NotLookoutTarget, match="marker"):
            await prune(pool, local_target, KEEP, ZONE, NOW)
        assert (root / dead).exists()  # nothing touched without the marker
        await local_target.ensure_marker()
        report = await prune(pool, local_target, KEEP, ZONE, NOW)
        with pytest.raises(ValueError, match="not a Lookout run id"):
            await local_target.delete_prefix("other-app")
    finally:
        await pool.close()
    assert list(report.removed) == [dead]
    assert not (root / dead).exists()
    assert all(path.read_bytes() == b"someone's bytes" for path in foreign)
    assert (root / MARKER).exists()


def _put_many(s3: S3Endpoint, s3_target: S3Target, keys: list[str]) -> None:
    """Create the objects. With the embedded moto server they go straight into its
    store (2,500 PUTs over HTTP take half a minute there); the code under test still
    lists and deletes them over HTTP. Any other endpoint gets real PUTs."""
    if s3.origin == "embedded":
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.s3.models import s3_backends

        store = s3_backends[DEFAULT_ACCOUNT_ID]["global"]
        for key in keys:
            store.put_object(s3_target.bucket, key, b"x")
        return
    client = s3_target._client

    def put(key: str) -> None:
        client.put_object(Bucket=s3_target.bucket, Key=key, Body=b"x")

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(put, keys))


async def test_s3_prune_pages_through_2500_objects_and_keeps_foreign_ones(
    database_url, s3, s3_target: S3Target
) -> None:
    prefix = s3_target.prefix  # "lookout/"
    # Two runs with more objects than one listing page or one DeleteObjects call, and
    # fifty small ones: 2,500 objects.
    large = {orphan(5000): 1300, orphan(6000): 1150}
    small = [orphan(n) for n in range(50)]
    keys = [f"{prefix}{run}/part-{n:04d}" for run, count in large.items() for n in range(count)]
    keys += [f"{prefix}{run}/users.csv" for run in small]
    foreign = [
        f"{prefix}notes.txt",
        f"{prefix}2019-report/summary.csv",
        f"{prefix}{orphan(5000)}-copy/keep.csv",
        "other-app/data.csv",
        f"{prefix.rstrip('/')}-archive/{orphan(5000)}/users.csv",
    ]
    assert len(keys) == 2500
    await asyncio.to_thread(_put_many, s3, s3_target, keys + foreign)
    # Run "folders" are listed page by page too (small pages here, 1,000 in production).
    paged = S3Target(lambda: s3_target._client, s3_target.bucket, prefix, page_size=20)
    pool = await create_pool(BackupWorkerSettings(database_url=database_url))
    try:
        with pytest.raises(NotLookoutTarget):
            await prune(pool, s3_target, KEEP, ZONE, NOW)
        await s3_target.ensure_marker()
        assert await paged.list_runs() == sorted([*large, *small])
        report = await prune(pool, s3_target, KEEP, ZONE, NOW)
    finally:
        await pool.close()
    assert report.objects_deleted == 2500
    assert set(report.removed) == {*large, *small}

    def remaining() -> list[str]:
        found = []
        for page in s3_target._client.get_paginator("list_objects_v2").paginate(
            Bucket=s3_target.bucket
        ):
            found += [item["Key"] for item in page.get("Contents", [])]
        return sorted(found)

    assert await asyncio.to_thread(remaining) == sorted([*foreign, f"{prefix}{MARKER}"])


async def test_a_record_that_is_not_a_run_id_never_names_objects(
    database_url, local_target: LocalTarget
) -> None:
    """A `backup_logs` row with a hostile run id (a bug, or someone with the database)
    is dropped from the records, but no object is deleted in its name."""
    await local_target.ensure_marker()
    (local_target.root / "other-app").mkdir()
    (local_target.root / "other-app" / "data.csv").write_bytes(b"keep")
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute(
            "INSERT INTO backup_logs (run_id, operation, status, requested_by, finished_at)"
            " VALUES ('other-app', 'backup', 'failed', 'x', now())"
        )
    finally:
        await connection.close()
    pool = await create_pool(BackupWorkerSettings(database_url=database_url))
    try:
        report = await prune(pool, local_target, KEEP, ZONE, NOW)
    finally:
        await pool.close()
    assert "other-app" in report.removed
    assert "data.csv" in os.listdir(local_target.root / "other-app")
