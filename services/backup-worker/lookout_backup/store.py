"""The SQL the backup worker owns: runs (`backup_logs`) and artifacts (`backup_metadata`)."""

from __future__ import annotations

import json
from datetime import datetime

import asyncpg

from lookout_backup.manifest import Manifest


async def queue_run(
    connection: asyncpg.Connection | asyncpg.Pool,
    *,
    run_id: str,
    operation: str,
    requested_by: str,
    command_id: str | None,
    collections: list[str],
    backup_type: str | None = None,
    target_run_id: str | None = None,
) -> tuple[str, bool]:
    """(run id, whether it is new): a command seen before returns its existing run."""
    row = await connection.fetchrow(
        """
        INSERT INTO backup_logs
            (run_id, operation, status, requested_by, command_id, collections, backup_type,
             target_run_id)
        VALUES ($1, $2, 'queued', $3, $4, $5::text::jsonb, $6, $7)
        ON CONFLICT (command_id) DO NOTHING
        RETURNING run_id
        """,
        run_id,
        operation,
        requested_by,
        command_id,
        json.dumps(collections),
        backup_type,
        target_run_id,
    )
    if row is not None:
        return row["run_id"], True
    existing = await connection.fetchval(
        "SELECT run_id FROM backup_logs WHERE command_id = $1", command_id
    )
    return existing, False


async def start_run(pool: asyncpg.Pool, run_id: str, worker: str, target: str) -> None:
    await pool.execute(
        """
        UPDATE backup_logs SET status = 'running', started_at = now(), heartbeat_at = now(),
            worker = $2, target = $3
        WHERE run_id = $1
        """,
        run_id,
        worker,
        target,
    )


async def progress(pool: asyncpg.Pool, run_id: str, rows: int, size: int) -> None:
    await pool.execute(
        "UPDATE backup_logs SET rows = $2, bytes = $3, heartbeat_at = now() WHERE run_id = $1",
        run_id,
        rows,
        size,
    )


async def finish_run(
    pool: asyncpg.Pool,
    run_id: str,
    status: str,
    errors: list[str],
    manifest: Manifest | None = None,
) -> None:
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute(
            """
            UPDATE backup_logs SET status = $2, errors = $3::text::jsonb, finished_at = now(),
                rows = coalesce($4, rows), bytes = coalesce($5, bytes),
                authenticated = coalesce($6, authenticated)
            WHERE run_id = $1
            """,
            run_id,
            status,
            json.dumps(errors),
            sum(c.rows for c in manifest.collections) if manifest else None,
            sum(a.bytes for a in manifest.artifacts) if manifest else None,
            manifest.authenticated if manifest else None,
        )
        if manifest is not None:
            await connection.executemany(
                """
                INSERT INTO backup_metadata (run_id, collection, format, object_key, rows, bytes,
                    sha256_plain, sha256_stored, compression, encrypted, key_id)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                ON CONFLICT DO NOTHING
                """,
                [
                    (
                        run_id,
                        a.collection,
                        a.format,
                        a.key,
                        a.rows,
                        a.bytes,
                        a.sha256_plain,
                        a.sha256_stored,
                        a.compression,
                        a.encrypted,
                        manifest.key_id,
                    )
                    for a in manifest.artifacts
                ],
            )


async def runs(
    connection: asyncpg.Connection | asyncpg.Pool, limit: int = 50
) -> list[asyncpg.Record]:
    return list(
        await connection.fetch("SELECT * FROM backup_logs ORDER BY queued_at DESC LIMIT $1", limit)
    )


async def run(connection: asyncpg.Connection | asyncpg.Pool, run_id: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await connection.fetchrow(
        "SELECT * FROM backup_logs WHERE run_id = $1", run_id
    )
    return row


async def recorded_run(
    connection: asyncpg.Connection | asyncpg.Pool, run_id: str
) -> asyncpg.Record:
    """The record of a run this worker has queued (LookupError: there is none)."""
    row = await run(connection, run_id)
    if row is None:
        raise LookupError(f"run {run_id} has no record")
    return row


async def artifacts(
    connection: asyncpg.Connection | asyncpg.Pool, run_id: str
) -> list[asyncpg.Record]:
    return list(
        await connection.fetch(
            "SELECT * FROM backup_metadata WHERE run_id = $1 ORDER BY collection, format", run_id
        )
    )


async def last_success(connection: asyncpg.Connection | asyncpg.Pool) -> datetime | None:
    finished: datetime | None = await connection.fetchval(
        "SELECT max(finished_at) FROM backup_logs"
        " WHERE operation = 'backup' AND status = 'succeeded'"
    )
    return finished


async def record_pruned(pool: asyncpg.Pool, run_id: str, removed: list[str]) -> None:
    """A prune run lists the runs it removed in its `collections`."""
    await pool.execute(
        "UPDATE backup_logs SET collections = $2::text::jsonb WHERE run_id = $1",
        run_id,
        json.dumps(removed),
    )


async def usable_backups(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    """Finished backups that may serve as a base, newest first."""
    return list(
        await pool.fetch(
            "SELECT run_id FROM backup_logs WHERE operation = 'backup'"
            " AND status IN ('succeeded', 'partial') ORDER BY finished_at DESC LIMIT 5"
        )
    )


async def set_base(pool: asyncpg.Pool, run_id: str, base_run_id: str) -> None:
    await pool.execute(
        "UPDATE backup_logs SET backup_type = 'incremental', base_run_id = $2 WHERE run_id = $1",
        run_id,
        base_run_id,
    )


async def set_target_run(pool: asyncpg.Pool, run_id: str, target_run_id: str) -> None:
    await pool.execute(
        "UPDATE backup_logs SET target_run_id = $2 WHERE run_id = $1", run_id, target_run_id
    )


async def recorded_authentication(pool: asyncpg.Pool) -> dict[str, bool]:
    """Backup run id -> whether its manifest was authenticated when it was made: a
    manifest read back may never claim less than its run's record."""
    rows = await pool.fetch(
        "SELECT run_id, authenticated FROM backup_logs"
        " WHERE operation = 'backup' AND authenticated IS NOT NULL"
    )
    return {row["run_id"]: row["authenticated"] for row in rows}


async def command_seen(pool: asyncpg.Pool, command_id: str) -> bool:
    return bool(
        await pool.fetchval(
            "SELECT EXISTS (SELECT 1 FROM backup_logs WHERE command_id = $1)", command_id
        )
    )


async def audit(
    pool: asyncpg.Pool,
    *,
    actor: str,
    action: str,
    target: str | None,
    outcome: str,
    detail: dict[str, object],
) -> None:
    """An entry in the audit log (append-only), as dashboard-api writes them."""
    await pool.execute(
        "INSERT INTO audit_log (actor, action, target, outcome, detail)"
        " VALUES ($1, $2, $3, $4, $5::text::jsonb)",
        actor[:200],
        action,
        target[:200] if target else None,
        outcome,
        json.dumps(detail, default=str),
    )
