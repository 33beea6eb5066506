"""A real marketplace database to back up, and both kinds of real backup target."""

from __future__ import annotations

import base64
import json
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import boto3
import pytest
from aiokafka import AIOKafkaProducer
from support.services import settings_env

from lookout_backup.crypto import Keyring
from lookout_backup.targets import LocalTarget, S3Target
from lookout_common.backup_events import BackupCommand
from lookout_common.marketplace import TABLES, create_marketplace
from lookout_common.topics import Topic, topic_name


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


async def table_dump(database_url: str, table: str, schema: str = "public") -> list[bytes]:
    """The table's rows as COPY text, sorted: equal dumps mean byte-for-byte equal data."""
    connection = await asyncpg.connect(database_url)
    chunks: list[bytes] = []
    try:
        await connection.copy_from_table(
            table, schema_name=schema, output=lambda chunk: _append(chunks, chunk)
        )
    finally:
        await connection.close()
    return sorted(b"".join(chunks).splitlines())


async def _append(chunks: list[bytes], chunk: bytes) -> None:
    chunks.append(chunk)


def b64_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
def worker_env(settings, marketplace, tmp_path: Path) -> dict[str, str]:
    return settings_env(
        settings,
        LOOKOUT_BACKUP_SOURCE_URL=marketplace,
        LOOKOUT_BACKUP_DIR=str(tmp_path / "backups"),
        LOOKOUT_BACKUP_KEY=base64.b64encode(os.urandom(32)).decode(),
        LOOKOUT_BACKUP_COLLECTIONS=json.dumps(list(TABLES)),
    )


async def send(settings, command: BackupCommand) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(
            topic_name(Topic.BACKUP_COMMANDS, settings.topic_prefix),
            command.model_dump_json().encode(),
        )
    finally:
        await producer.stop()


def command(operation: str = "backup", **changes) -> BackupCommand:
    return BackupCommand(
        command_id=uuid.uuid4().hex,
        operation=operation,
        requested_by="sre",
        requested_at=datetime.now(UTC),
        **changes,
    )


async def runs(database_url: str) -> list:
    connection = await asyncpg.connect(database_url)
    try:
        return await connection.fetch("SELECT * FROM backup_logs ORDER BY queued_at")
    finally:
        await connection.close()


__all__ = ["TABLES", "b64_key", "command", "runs", "send", "table_dump"]
