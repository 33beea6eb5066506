"""Helpers of the backup tests: table dumps, backup commands on Kafka, the recorded runs."""

from __future__ import annotations

import base64
import os
import uuid
from datetime import UTC, datetime

import asyncpg
from aiokafka import AIOKafkaProducer

from lookout_common.contracts.backup_events import BackupCommand, sign_command
from lookout_common.contracts.topics import Topic, topic_name


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


# The backup command key the tests' workers and dashboards share (LOOKOUT_BACKUP_COMMAND_KEY).
COMMAND_KEY = base64.b64encode(os.urandom(32)).decode()


async def send(settings, command: BackupCommand | bytes, *, key: str | None = COMMAND_KEY) -> None:
    """Put a command on the topic, signed with `key` (None: unsigned; bytes: as given)."""
    if isinstance(command, BackupCommand):
        command = (sign_command(command, key) if key else command).model_dump_json().encode()
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(
            topic_name(Topic.BACKUP_COMMANDS, settings.topic_prefix), command
        )
    finally:
        await producer.stop()


def command(operation: str = "backup", **changes) -> BackupCommand:
    fields = {
        "command_id": uuid.uuid4().hex,
        "requested_by": "sre",
        "requested_at": datetime.now(UTC),
        **changes,
    }
    return BackupCommand(operation=operation, **fields)


async def runs(database_url: str) -> list:
    connection = await asyncpg.connect(database_url)
    try:
        return await connection.fetch("SELECT * FROM backup_logs ORDER BY queued_at")
    finally:
        await connection.close()
