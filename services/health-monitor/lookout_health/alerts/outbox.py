"""The alert outbox in Postgres: recorded before the offset commit, drained per receiver."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import asyncpg

from lookout_health.alerts.model import Alert


async def record(pool: asyncpg.Pool, alert: Alert, receivers: list[str]) -> int:
    """One row per receiver; an event seen before (redelivered) adds nothing."""
    rows = await pool.fetch(
        """
        INSERT INTO alert_deliveries (event_key, receiver, alert)
        SELECT $1, receiver, $3::text::jsonb FROM unnest($2::text[]) AS receiver
        ON CONFLICT (event_key, receiver) DO NOTHING
        RETURNING id
        """,
        alert.event_key,
        receivers,
        alert.model_dump_json(),
    )
    return len(rows)


async def due(connection: asyncpg.Connection, receiver: str, limit: int = 20) -> list:
    """Rows of `receiver` due now, locked for this transaction (other replicas skip them)."""
    return await connection.fetch(
        """
        SELECT id, alert, attempts, created_at FROM alert_deliveries
        WHERE receiver = $1 AND delivered_at IS NULL AND gave_up_at IS NULL
          AND next_attempt_at <= now()
        ORDER BY id LIMIT $2
        FOR UPDATE SKIP LOCKED
        """,
        receiver,
        limit,
    )


async def delivered(connection: asyncpg.Connection, row_id: int) -> None:
    await connection.execute(
        "UPDATE alert_deliveries SET delivered_at = now(), attempts = attempts + 1,"
        " last_error = NULL WHERE id = $1",
        row_id,
    )


async def failed(
    connection: asyncpg.Connection, row_id: int, error: str, retry_at: datetime | None
) -> None:
    """Schedule the next attempt, or give up when `retry_at` is None."""
    await connection.execute(
        """
        UPDATE alert_deliveries
        SET attempts = attempts + 1, last_error = $2,
            next_attempt_at = coalesce($3, next_attempt_at),
            gave_up_at = CASE WHEN $3::timestamptz IS NULL THEN now() END
        WHERE id = $1
        """,
        row_id,
        error[:1000],
        retry_at,
    )


async def pending(pool: asyncpg.Pool) -> int:
    return await pool.fetchval(
        "SELECT count(*) FROM alert_deliveries WHERE delivered_at IS NULL AND gave_up_at IS NULL"
    )


def alert_of(row: asyncpg.Record) -> Alert:
    value = row["alert"]
    return Alert.model_validate(json.loads(value) if isinstance(value, str) else value)


def age(row: asyncpg.Record, now: datetime) -> timedelta:
    return now - row["created_at"]
