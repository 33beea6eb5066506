"""A real marketplace database to back up, and both kinds of real backup target."""

from __future__ import annotations

import base64
import json
import os
import uuid
from pathlib import Path

import asyncpg
import boto3
import pytest
from support.backups import COMMAND_KEY
from support.services import settings_env

from lookout_backup.crypto import Keyring
from lookout_backup.targets import LocalTarget, S3Target
from lookout_devstack.marketplace import TABLES, create_marketplace


@pytest.fixture
async def marketplace(database_url: str) -> str:
    """A fresh database holding the seeded marketplace schema; returns its URL."""
    connection = await asyncpg.connect(database_url)
    try:
        await create_marketplace(connection, users=300)
    finally:
        await connection.close()
    return database_url


@pytest.fixture
def keyring() -> Keyring:
    return Keyring(os.urandom(32))


@pytest.fixture
def local_target(tmp_path: Path) -> LocalTarget:
    return LocalTarget(tmp_path / "backups")


@pytest.fixture
def s3_target(s3) -> S3Target:
    bucket = f"lookout-backup-{uuid.uuid4().hex[:8]}"

    def client():
        return boto3.client(
            "s3",
            endpoint_url=s3.url,
            region_name=s3.region,
            aws_access_key_id=s3.access_key_id,
            aws_secret_access_key=s3.secret_access_key,
        )

    client().create_bucket(Bucket=bucket)
    return S3Target(client, bucket, "lookout")


@pytest.fixture
def worker_env(settings, marketplace, tmp_path: Path) -> dict[str, str]:
    return settings_env(
        settings,
        LOOKOUT_BACKUP_SOURCE_URL=marketplace,
        LOOKOUT_BACKUP_DIR=str(tmp_path / "backups"),
        LOOKOUT_BACKUP_KEY=base64.b64encode(os.urandom(32)).decode(),
        LOOKOUT_BACKUP_COLLECTIONS=json.dumps(list(TABLES)),
        LOOKOUT_BACKUP_COMMAND_KEY=COMMAND_KEY,
        # Tests that make schedules due would run the default one too;
        # test_default_schedule.py turns it on.
        LOOKOUT_BACKUP_DEFAULT_SCHEDULE="false",
    )
