"""The SQL of incidents: opening, updating and resolving them, the outbox of their
transitions, their lifecycle (admin updates, acknowledgement, reminders, escalation,
the audit log) and maintenance windows."""

from __future__ import annotations

import json
from datetime import datetime

import asyncpg

from lookout_common.contracts.health_events import CheckStatus, IncidentEvent


def _update(status: CheckStatus, message: str, at: datetime) -> str:
    return json.dumps([{"at": at.isoformat(), "status": status.value, "message": message}])


async def open_incident(
    connection: asyncpg.Connection | asyncpg.Pool,
    check: str,
    *,
    critical: bool,
    status: CheckStatus,
    message: str,
    at: datetime,
) -> tuple[asyncpg.Record, bool]:
    """(incident row, whether it was opened now): never a second open one per check."""
    row = await connection.fetchrow(
        """
        INSERT INTO incidents
            (check_name, critical, status, message, opened_at, updated_at, updates)
        VALUES ($1, $2, $3, $4, $5, $5, $6::text::jsonb)
        ON CONFLICT (check_name) WHERE resolved_at IS NULL DO NOTHING
        RETURNING *
        """,
        check,
        critical,
        status.value,
        message,
        at,
        _update(status, message, at),
    )
    if row is not None:
        return row, True
    existing = await connection.fetchrow(
        "SELECT * FROM incidents WHERE check_name = $1 AND resolved_at IS NULL", check
    )
    return existing, False


async def update_incident(
    connection: asyncpg.Connection | asyncpg.Pool,
    check: str,
    *,
    status: CheckStatus,
    message: str,
    at: datetime,
    resolve: bool = False,
) -> asyncpg.Record | None:
    """Record an update (or the resolution) of the check's open incident."""
    return await connection.fetchrow(
        """
        UPDATE incidents
        SET status = $2, message = $3, updated_at = $4::timestamptz,
            resolved_at = CASE WHEN $5::boolean THEN $4::timestamptz END,
            state = CASE WHEN $5::boolean THEN 'resolved' ELSE state END,
            updates = updates || $6::text::jsonb
        WHERE check_name = $1 AND resolved_at IS NULL
        RETURNING *
        """,
        check,
        status.value,
        message,
        at,
        resolve,
        _update(status, message, at),
    )


async def queue_incident_event(connection: asyncpg.Connection, event: IncidentEvent) -> None:
    """Put a transition in the outbox: call it in the transaction that changed the incident."""
    await connection.execute(
        "INSERT INTO incident_outbox (incident_id, check_name, event) VALUES ($1, $2, $3)",
        event.incident_id,
        event.check,
        event.model_dump(mode="json"),
    )


async def outbox_head(connection: asyncpg.Connection, limit: int) -> list[asyncpg.Record]:
    """The oldest transitions waiting for Kafka, in the order they happened."""
    rows: list[asyncpg.Record] = await connection.fetch(
        "SELECT id, check_name, event FROM incident_outbox ORDER BY id LIMIT $1", limit
    )
    return rows


async def outbox_delete(connection: asyncpg.Connection, ids: list[int]) -> None:
    if ids:
        await connection.execute("DELETE FROM incident_outbox WHERE id = any($1::bigint[])", ids)


async def outbox_size(connection: asyncpg.Connection | asyncpg.Pool) -> int:
    size: int = await connection.fetchval("SELECT count(*) FROM incident_outbox")
    return size


async def open_incident_checks(connection: asyncpg.Connection | asyncpg.Pool) -> set[str]:
    rows = await connection.fetch("SELECT check_name FROM incidents WHERE resolved_at IS NULL")
    return {row["check_name"] for row in rows}


async def is_open(connection: asyncpg.Connection | asyncpg.Pool, check: str) -> bool:
    """Whether `check` has an open incident (an admin may have resolved it meanwhile)."""
    return bool(
        await connection.fetchval(
            "SELECT EXISTS (SELECT 1 FROM incidents WHERE check_name = $1 AND resolved_at IS NULL)",
            check,
        )
    )


async def incidents(
    connection: asyncpg.Connection | asyncpg.Pool, *, state: str | None, limit: int
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await connection.fetch(
        """
        SELECT * FROM incidents
        WHERE $1::text IS NULL
           OR ($1 = 'open' AND resolved_at IS NULL)
           OR ($1 = 'resolved' AND resolved_at IS NOT NULL)
        ORDER BY opened_at DESC LIMIT $2
        """,
        state,
        limit,
    )
    return rows


async def active_maintenance(
    connection: asyncpg.Connection | asyncpg.Pool, at: datetime
) -> asyncpg.Record | None:
    return await connection.fetchrow(
        """
        SELECT * FROM maintenance_windows WHERE starts_at <= $1 AND ends_at > $1
        ORDER BY ends_at DESC LIMIT 1
        """,
        at,
    )


async def maintenance_windows(
    connection: asyncpg.Connection | asyncpg.Pool, since: datetime
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await connection.fetch(
        "SELECT * FROM maintenance_windows WHERE ends_at >= $1 ORDER BY starts_at", since
    )
    return rows


async def add_maintenance(
    connection: asyncpg.Connection | asyncpg.Pool,
    starts_at: datetime,
    ends_at: datetime,
    reason: str,
    created_by: str,
) -> asyncpg.Record:
    return await connection.fetchrow(
        """
        INSERT INTO maintenance_windows (starts_at, ends_at, reason, created_by)
        VALUES ($1, $2, $3, $4) RETURNING *
        """,
        starts_at,
        ends_at,
        reason,
        created_by,
    )


async def delete_maintenance(connection: asyncpg.Connection | asyncpg.Pool, window_id: int) -> bool:
    result: str = await connection.execute(
        "DELETE FROM maintenance_windows WHERE id = $1", window_id
    )
    return result == "DELETE 1"


# Incident lifecycle (admin updates, acknowledgement, reminders, escalation).


async def incident_for_update(
    connection: asyncpg.Connection, incident_id: int
) -> asyncpg.Record | None:
    """The incident, locked until the end of the transaction."""
    return await connection.fetchrow(
        "SELECT * FROM incidents WHERE id = $1 FOR UPDATE", incident_id
    )


async def add_incident_update(
    connection: asyncpg.Connection,
    incident_id: int,
    *,
    state: str,
    message: str,
    by: str,
    at: datetime,
) -> asyncpg.Record:
    """An admin's update in the timeline; the state `resolved` resolves the incident."""
    entry = json.dumps([{"at": at.isoformat(), "state": state, "message": message, "by": by}])
    return await connection.fetchrow(
        """
        UPDATE incidents
        SET state = $2, updated_at = $4,
            resolved_at = CASE WHEN $2 = 'resolved' THEN $4 ELSE resolved_at END,
            updates = updates || $3::text::jsonb
        WHERE id = $1
        RETURNING *
        """,
        incident_id,
        state,
        entry,
        at,
    )


async def acknowledge_incident(
    connection: asyncpg.Connection, incident_id: int, by: str, at: datetime
) -> asyncpg.Record:
    """Record who acknowledged first and when; a later acknowledgement changes nothing."""
    return await connection.fetchrow(
        """
        UPDATE incidents
        SET acknowledged_at = coalesce(acknowledged_at, $3),
            acknowledged_by = coalesce(acknowledged_by, $2)
        WHERE id = $1
        RETURNING *
        """,
        incident_id,
        by,
        at,
    )


async def audit(
    connection: asyncpg.Connection,
    *,
    actor: str,
    action: str,
    target: str,
    outcome: str,
    detail: dict[str, str],
) -> None:
    await connection.execute(
        "INSERT INTO audit_log (actor, action, target, outcome, detail)"
        " VALUES ($1, $2, $3, $4, $5::text::jsonb)",
        actor,
        action,
        target,
        outcome,
        json.dumps(detail),
    )


async def unacknowledged_incidents(
    connection: asyncpg.Connection | asyncpg.Pool, limit: int = 500
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await connection.fetch(
        """
        SELECT id, opened_at, reminded_at, escalated_at FROM incidents
        WHERE resolved_at IS NULL AND acknowledged_at IS NULL
        ORDER BY opened_at LIMIT $1
        """,
        limit,
    )
    return rows


async def mark_reminded(
    connection: asyncpg.Connection, incident_id: int, last_seen: datetime | None, at: datetime
) -> asyncpg.Record | None:
    """Claim this reminder: only if the incident is still open, unacknowledged and nobody
    reminded since `last_seen` (another replica that got there first wins)."""
    return await connection.fetchrow(
        """
        UPDATE incidents SET reminded_at = $3, reminders = reminders + 1
        WHERE id = $1 AND resolved_at IS NULL AND acknowledged_at IS NULL
          AND reminded_at IS NOT DISTINCT FROM $2
        RETURNING *
        """,
        incident_id,
        last_seen,
        at,
    )


async def mark_escalated(
    connection: asyncpg.Connection, incident_id: int, at: datetime
) -> asyncpg.Record | None:
    """Claim the escalation: once per incident, only while open and unacknowledged."""
    return await connection.fetchrow(
        """
        UPDATE incidents SET escalated_at = $2
        WHERE id = $1 AND resolved_at IS NULL AND acknowledged_at IS NULL
          AND escalated_at IS NULL
        RETURNING *
        """,
        incident_id,
        at,
    )
