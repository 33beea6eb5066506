"""What `lookout up` prepares between starting the infrastructure and the services: the
schema (migrations), the topics, the sample product database and this data dir's keys.
Each step is idempotent, so a restart over the same data dir reuses what is there."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from lookout_common.infra.apikeys import Role, create_key, find_key
from lookout_common.infra.db import connect
from lookout_common.infra.kafka import ensure_topics
from lookout_common.infra.migrate import ensure_database, migrate
from lookout_common.infra.settings import LookoutSettings
from lookout_devstack.embedded.stackfile import read_json, write_private

KEYS_FILE = "keys.json"


@dataclass(frozen=True)
class Provisioned:
    keys: dict[str, str]  # admin_key, write_key
    marketplace_url: str | None  # the sample product database, when one was made here


async def provision(
    settings: LookoutSettings, data_dir: Path, marketplace_url: str | None
) -> Provisioned:
    """Migrate, create the topics and the keys, and (given its URL on the embedded Postgres)
    the sample marketplace database whose tables get backed up."""
    await ensure_database(settings.dsn())
    connection = await connect(settings)
    try:
        applied = await migrate(connection)
        if applied:
            print(f"  migrations  applied {', '.join(applied)}")
        keys = await _keys(connection, data_dir)
    finally:
        await connection.close()
    created = await ensure_topics(settings)
    if created:
        print(f"  topics      created {len(created)}")
    if marketplace_url is not None:
        await _marketplace_database(marketplace_url)
    return Provisioned(keys, marketplace_url)


async def _marketplace_database(url: str) -> None:
    """The sample product database (the marketplace), made once."""
    from lookout_devstack.marketplace import create_marketplace

    if await ensure_database(url):
        connection = await connect(LookoutSettings(database_url=url))
        try:
            await create_marketplace(connection)
        finally:
            await connection.close()
        print("  marketplace sample product database created")


async def _keys(connection: asyncpg.Connection, data_dir: Path) -> dict[str, str]:
    """Reuse this data dir's keys while they are valid; otherwise create new ones."""
    previous = read_json(data_dir / KEYS_FILE)
    keys = {}
    for field_name, role in (("admin_key", Role.ADMIN), ("write_key", Role.INGEST)):
        key = previous.get(field_name)
        if not key or await find_key(connection, key) is None:
            key = await create_key(connection, role, f"lookout up ({role.value})")
        keys[field_name] = key
    if keys != {name: previous.get(name) for name in keys}:
        write_private(data_dir / KEYS_FILE, json.dumps(keys, indent=2))
    return keys
