"""The SQL the health monitor owns: results, incidents, maintenance windows, uptime."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg

from lookout_common.contracts.health_events import CheckResult, CheckStatus, IncidentEvent

# A result stands for the time until the next one, but never for longer than this:
# while the monitor itself was down nothing is known, so nothing is counted.
MAX_RESULT_SPAN = timedelta(minutes=10)


async def insert_result(connection: asyncpg.Connection | asyncpg.Pool, result: CheckResult) -> None:
    await connection.execute(
        """
        INSERT INTO system_health_logs
            (check_name, kind, status, response_time_ms, message, critical, checked_at, location)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        """,
        result.service,
        result.kind,
        result.status.value,
        result.response_time_ms,
        result.message,
        result.critical,
        result.timestamp,
        result.location,
    )


def _text(value: str) -> str:
    """Text Postgres takes: no NUL byte, no unpaired surrogate (a probe's message quotes
    what a dependency answered, whatever it was)."""
    return value.replace("\0", "").encode("utf-8", "replace").decode("utf-8")


async def insert_results(
    connection: asyncpg.Connection | asyncpg.Pool, results: Sequence[CheckResult]
) -> None:
    """Every result in one statement (one transaction: all or none)."""
    await connection.execute(
        """
        INSERT INTO system_health_logs
            (check_name, kind, status, response_time_ms, message, critical, checked_at, location)
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::text[],
                             $6::bool[], $7::timestamptz[], $8::text[])
        """,
        [result.service for result in results],
        [result.kind for result in results],
        [result.status.value for result in results],
        [result.response_time_ms for result in results],
        [_text(result.message) for result in results],
        [result.critical for result in results],
        [result.timestamp for result in results],
        [result.location for result in results],
    )


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


async def lock_check(connection: asyncpg.Connection, check: str) -> None:
    """Take the check's quorum lock until the end of the transaction: locations deciding
    about one check take turns, so the later one always counts the earlier one's verdict."""
    await connection.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('lookout.quorum.' || $1, 0))", check
    )


async def record_verdict(
    connection: asyncpg.Connection, check: str, location: str, *, failing: bool
) -> None:
    """This location's verdict on the check, as of now (`since` moves only when it changes)."""
    await connection.execute(
        """
        INSERT INTO health_location_verdicts AS v (check_name, location, failing, since, updated_at)
        VALUES ($1, $2, $3, now(), now())
        ON CONFLICT (check_name, location) DO UPDATE SET
            failing = excluded.failing,
            since = CASE WHEN v.failing = excluded.failing THEN v.since ELSE excluded.since END,
            updated_at = excluded.updated_at
        """,
        check,
        location,
        failing,
    )


async def failing_locations(connection: asyncpg.Connection, check: str, window_s: float) -> int:
    """How many locations have a failing verdict on the check updated within the window."""
    count: int = await connection.fetchval(
        """
        SELECT count(*) FROM health_location_verdicts
        WHERE check_name = $1 AND failing AND updated_at >= now() - make_interval(secs => $2)
        """,
        check,
        window_s,
    )
    return count


async def failing_checks(connection: asyncpg.Connection | asyncpg.Pool, location: str) -> set[str]:
    """The checks this location last saw failing (its state after a restart)."""
    rows = await connection.fetch(
        "SELECT check_name FROM health_location_verdicts WHERE location = $1 AND failing",
        location,
    )
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


async def latest_results(
    connection: asyncpg.Connection | asyncpg.Pool, checks: list[str]
) -> list[CheckResult]:
    """The current result of each check: the worst (then newest) of its newest result and
    the newest of every location that ran it within `MAX_RESULT_SPAN`. With one location
    that is simply the newest result (one index lookup per check); with several, a
    location's unconfirmed failure shows as `degraded` and a confirmed one as `unhealthy`
    whichever location happened to run last."""
    rows = await connection.fetch(
        """
        WITH candidates AS (
            SELECT latest.* FROM unnest($1::text[]) AS name
            CROSS JOIN LATERAL (
                SELECT * FROM system_health_logs WHERE check_name = name
                ORDER BY checked_at DESC LIMIT 1
            ) AS latest
            UNION ALL
            SELECT latest.* FROM health_location_verdicts AS v
            CROSS JOIN LATERAL (
                SELECT * FROM system_health_logs
                WHERE check_name = v.check_name AND location = v.location
                ORDER BY checked_at DESC LIMIT 1
            ) AS latest
            WHERE v.check_name = ANY($1::text[]) AND v.updated_at >= now() - $2::interval
        )
        SELECT DISTINCT ON (check_name) * FROM candidates
        ORDER BY check_name,
                 CASE status WHEN 'unhealthy' THEN 2 WHEN 'degraded' THEN 1 ELSE 0 END DESC,
                 checked_at DESC
        """,
        checks,
        MAX_RESULT_SPAN,
    )
    return [row_to_result(row) for row in rows]


async def results_by_location(
    connection: asyncpg.Connection | asyncpg.Pool,
    checks: list[str],
    reported_since: datetime | None = None,
) -> list[tuple[CheckResult, bool | None, datetime | None]]:
    """(newest result, verdict) per check and location: every location with a verdict
    (those that ran since `reported_since`, when given) and, for a check without any
    verdict (one location only), its newest result with no verdict."""
    rows = await connection.fetch(
        """
        SELECT latest.*, v.failing AS verdict_failing, v.since AS verdict_since
        FROM health_location_verdicts AS v
        CROSS JOIN LATERAL (
            SELECT * FROM system_health_logs
            WHERE check_name = v.check_name AND location = v.location
            ORDER BY checked_at DESC LIMIT 1
        ) AS latest
        WHERE v.check_name = ANY($1::text[])
          AND ($2::timestamptz IS NULL OR v.updated_at >= $2)
        UNION ALL
        SELECT latest.*, NULL, NULL FROM unnest($1::text[]) AS name
        CROSS JOIN LATERAL (
            SELECT * FROM system_health_logs WHERE check_name = name
            ORDER BY checked_at DESC LIMIT 1
        ) AS latest
        WHERE NOT EXISTS (SELECT 1 FROM health_location_verdicts WHERE check_name = name)
        ORDER BY check_name, location
        """,
        checks,
        reported_since,
    )
    return [(row_to_result(row), row["verdict_failing"], row["verdict_since"]) for row in rows]


def row_to_result(row: asyncpg.Record) -> CheckResult:
    return CheckResult(
        service=row["check_name"],
        status=CheckStatus(row["status"]),
        response_time_ms=row["response_time_ms"],
        message=row["message"],
        timestamp=row["checked_at"],
        kind=row["kind"],
        critical=row["critical"],
        location=row["location"],
    )


_SPANS = """
    SELECT check_name, critical, status,
           tstzrange(checked_at, LEAST(
               lead(checked_at, 1, $3)
                   OVER (PARTITION BY check_name, location ORDER BY checked_at),
               checked_at + $4::interval, $3)) AS span
    FROM system_health_logs
    WHERE check_name = ANY($1) AND checked_at >= $2 AND checked_at < $3
"""


async def uptime_by_check(
    connection: asyncpg.Connection | asyncpg.Pool,
    checks: list[str],
    since: datetime,
    now: datetime,
) -> dict[str, float]:
    """Time-weighted % of [since, now) each check was not unhealthy (known time only)."""
    rows = await connection.fetch(
        f"""
        WITH spans AS ({_SPANS})
        SELECT check_name,
               sum(extract(epoch FROM upper(span) - lower(span)))
                   FILTER (WHERE status <> 'unhealthy') AS up,
               sum(extract(epoch FROM upper(span) - lower(span))) AS known
        FROM spans GROUP BY check_name
        """,
        checks,
        since,
        now,
        MAX_RESULT_SPAN,
    )
    return {
        row["check_name"]: round(100.0 * float(row["up"] or 0) / float(row["known"]), 3)
        for row in rows
        if row["known"]
    }


async def overall_uptime(
    connection: asyncpg.Connection | asyncpg.Pool,
    checks: list[str],
    since: datetime,
    now: datetime,
) -> float | None:
    """% of known time in [since, now) during which no critical check was unhealthy."""
    row = await connection.fetchrow(
        f"""
        WITH spans AS ({_SPANS}),
        known AS (SELECT range_agg(span) AS m FROM spans WHERE critical),
        down AS (SELECT range_agg(span) AS m FROM spans WHERE critical AND status = 'unhealthy')
        SELECT
          (SELECT coalesce(sum(extract(epoch FROM upper(r) - lower(r))), 0)
             FROM known, unnest(known.m) AS r) AS known,
          (SELECT coalesce(sum(extract(epoch FROM upper(r) - lower(r))), 0)
             FROM down, unnest(down.m) AS r) AS down
        """,
        checks,
        since,
        now,
        MAX_RESULT_SPAN,
    )
    known = float(row["known"])
    return round(100.0 * (known - float(row["down"])) / known, 3) if known else None


async def response_time_history(
    connection: asyncpg.Connection | asyncpg.Pool,
    check: str,
    since: datetime,
    bucket: timedelta,
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await connection.fetch(
        """
        SELECT date_bin($3::interval, checked_at, '2000-01-01 00:00:00+00') AS bucket,
               count(*) AS runs,
               count(*) FILTER (WHERE status = 'healthy') AS healthy,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY response_time_ms) AS p50,
               percentile_cont(0.95) WITHIN GROUP (ORDER BY response_time_ms) AS p95
        FROM system_health_logs
        WHERE check_name = $1 AND checked_at >= $2
        GROUP BY 1 ORDER BY 1
        """,
        check,
        since,
        bucket,
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
