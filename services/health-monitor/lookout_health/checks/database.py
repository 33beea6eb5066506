"""`postgres`: connect and SELECT 1. `table`: every listed table readable with the role."""

from __future__ import annotations

import asyncpg

from lookout_health.checks.base import ProbeFailed
from lookout_health.config import PostgresCheck, TableCheck


async def _connect(dsn: str, timeout: float) -> asyncpg.Connection:
    return await asyncpg.connect(dsn, timeout=timeout)


async def run_postgres(check: PostgresCheck) -> str:
    connection = await _connect(check.dsn, check.timeout_s)
    try:
        await connection.fetchval("SELECT 1")
        databases = await connection.fetchval(
            "SELECT count(*) FROM pg_database WHERE NOT datistemplate"
        )
    finally:
        await connection.close()
    return f"Connected successfully. Found {databases} databases."


def _quoted(table: str) -> str:
    # Names are validated by the config pattern; quoting keeps case and reserved words.
    return ".".join(f'"{part}"' for part in table.split("."))


async def run_table(check: TableCheck) -> str:
    connection = await _connect(check.dsn, check.timeout_s)
    unreadable: list[str] = []
    try:
        for table in check.tables:
            try:
                await connection.fetchval(f"SELECT 1 FROM {_quoted(table)} LIMIT 1")
            except asyncpg.PostgresError as error:
                unreadable.append(f"{table} ({error.sqlstate}: {str(error).splitlines()[0]})")
    finally:
        await connection.close()
    if unreadable:
        raise ProbeFailed(
            f"{len(unreadable)} of {len(check.tables)} tables not readable: "
            + "; ".join(unreadable)
        )
    return f"All {len(check.tables)} tables readable."
