"""The asyncpg pool every service uses."""

from __future__ import annotations

import json

import asyncpg

from lookout_common.infra.settings import LookoutSettings

# Postgres could not be reached or went away: an outage a background loop waits out
# (readyz reports it), unlike a failing statement, which is a bug its supervisor sees.
DATABASE_UNAVAILABLE = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
)


def _jsonb_encode(value: object) -> bytes:
    return b"\x01" + json.dumps(value).encode()  # jsonb binary format: version 1, then text


def _jsonb_decode(data: bytes) -> object:
    return json.loads(data[1:])


def _json_encode(value: object) -> bytes:
    return json.dumps(value).encode()


async def _init_connection(connection: asyncpg.Connection) -> None:
    # json/jsonb columns travel as Python objects, not strings. Binary format, so
    # that COPY (which is always binary in asyncpg) can write them too.
    await connection.set_type_codec(
        "jsonb", encoder=_jsonb_encode, decoder=_jsonb_decode, schema="pg_catalog", format="binary"
    )
    await connection.set_type_codec(
        "json", encoder=_json_encode, decoder=json.loads, schema="pg_catalog", format="binary"
    )


async def create_pool(settings: LookoutSettings, *, min_size: int = 1) -> asyncpg.Pool:
    """A pool with JSON codecs, a connect timeout and a statement timeout."""
    return await asyncpg.create_pool(
        settings.dsn(),
        min_size=min_size,
        max_size=settings.db_pool_max,
        timeout=settings.io_timeout_s,
        command_timeout=max(settings.io_timeout_s, 30.0),
        init=_init_connection,
    )


async def connect(settings: LookoutSettings) -> asyncpg.Connection:
    """One connection with the same codecs (for batch writers and the CLI)."""
    connection = await asyncpg.connect(settings.dsn(), timeout=settings.io_timeout_s)
    await _init_connection(connection)
    return connection


async def database_reachable(pool: asyncpg.Pool, timeout: float = 3.0) -> bool:
    """True when the pool answers `SELECT 1` in time."""
    try:
        async with pool.acquire(timeout=timeout) as connection:
            await connection.fetchval("SELECT 1", timeout=timeout)
        return True
    except Exception:  # noqa: BLE001 - any failure means "not reachable"; readyz says so
        return False
