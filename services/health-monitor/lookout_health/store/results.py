"""The SQL of check results: writing them, the latest per check and location, and
response-time history (uptime is read from the rollups: `rollup_store.rolling_uptime`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg

from lookout_common.contracts.health_events import CheckResult, CheckStatus


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


# The current result of each check named in $1 (text[]): the worst (then newest) of its
# newest result and the newest of every location whose verdict on it was updated within
# $2 seconds (float8, the quorum window). One definition for every reader: `latest_results`
# takes whole rows, the status page (`status_page.store`) only the status.
CURRENT_RESULTS = """
    current_results AS (
        SELECT DISTINCT ON (check_name) * FROM (
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
            WHERE v.check_name = ANY($1::text[])
              AND v.updated_at >= now() - make_interval(secs => $2::float8)
        ) AS candidates
        ORDER BY check_name,
                 CASE status WHEN 'unhealthy' THEN 2 WHEN 'degraded' THEN 1 ELSE 0 END DESC,
                 checked_at DESC
    )
"""


async def latest_results(
    connection: asyncpg.Connection | asyncpg.Pool, checks: list[str], window_s: float
) -> list[CheckResult]:
    """The current result of each check (`CURRENT_RESULTS`): the worst (then newest) of its
    newest result and the newest of every location whose verdict on it is current (updated
    within `window_s`, the quorum window: a stale verdict's location shows nothing). With
    one location that is simply the newest result (one index lookup per check); with
    several, a location's unconfirmed failure shows as `degraded` and a confirmed one as
    `unhealthy` whichever location happened to run last."""
    rows = await connection.fetch(
        f"WITH {CURRENT_RESULTS} SELECT * FROM current_results ORDER BY check_name",
        checks,
        window_s,
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
