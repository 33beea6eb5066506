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


async def due(
    connection: asyncpg.Connection, receiver: str, limit: int = 20
) -> list[asyncpg.Record]:
    """Rows of `receiver` due now, locked for this transaction (other replicas skip them).

    A row waits while an earlier row of the same problem (fingerprint) for this receiver
    is still pending: a resolution never overtakes its firing alert that is being retried
    (PagerDuty or Alertmanager would keep the incident open for ever)."""
    rows: list[asyncpg.Record] = await connection.fetch(
        """
        SELECT d.id, d.alert, d.attempts, d.created_at FROM alert_deliveries AS d
        WHERE d.receiver = $1 AND d.delivered_at IS NULL AND d.gave_up_at IS NULL
          AND d.next_attempt_at <= now()
          AND NOT EXISTS (
              SELECT 1 FROM alert_deliveries AS e
              WHERE e.receiver = d.receiver AND e.id < d.id
                AND e.delivered_at IS NULL AND e.gave_up_at IS NULL
                AND e.alert ->> 'fingerprint' = d.alert ->> 'fingerprint')
        ORDER BY d.id LIMIT $2
        FOR UPDATE OF d SKIP LOCKED
        """,
        receiver,
        limit,
    )
    return rows


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
    count: int = await pool.fetchval(
        "SELECT count(*) FROM alert_deliveries WHERE delivered_at IS NULL AND gave_up_at IS NULL"
    )
    return count


def alert_of(row: asyncpg.Record) -> Alert:
    value = row["alert"]
    return Alert.model_validate(json.loads(value) if isinstance(value, str) else value)


def age(row: asyncpg.Record, now: datetime) -> timedelta:
    created_at: datetime = row["created_at"]
    return now - created_at
