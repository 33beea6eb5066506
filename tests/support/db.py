"""Databases and API keys for tests, on the suite's real PostgreSQL server."""

from __future__ import annotations

import uuid

import asyncpg

from lookout_common.infra.apikeys import Role, create_key
from lookout_common.infra.migrate import migrate


async def fresh_database(server_url: str) -> str:
    """A new database on `server_url`, with every Lookout migration applied; its URL."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = f"{server_url.rpartition('/')[0]}/{name}"
    connection = await asyncpg.connect(url)
    try:
        await migrate(connection)
    finally:
        await connection.close()
    return url


async def create_keys(dsn: str, *keys: tuple[Role, str]) -> list[str]:
    """One new API key per (role, name), in order."""
    connection = await asyncpg.connect(dsn)
    try:
        return [await create_key(connection, role, name) for role, name in keys]
    finally:
        await connection.close()
