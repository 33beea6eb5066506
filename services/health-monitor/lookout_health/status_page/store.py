"""The SQL the status page reads: its checks' current statuses (and each location's),
the components' daily rollups of its window, and the incidents of that window. Each
read returns only the columns the page shows, as plain values: at 10,000 checks,
turning whole result rows into validated models was most of the page's time."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

import asyncpg

from lookout_common.contracts.health_events import CheckStatus
from lookout_health.store import results as result_store
from lookout_health.uptime import Scope, Seconds

# Components whose earlier days' rollups are kept as `Seconds` between reads.
EARLIER_DAYS_KEPT = 1024
# A status's member by its value: 25 times faster than `CheckStatus(value)`, for 10,000.
_STATUS = {status.value: status for status in CheckStatus}
# The checks' current statuses, chosen as `latest_results` chooses their results.
_CURRENT_STATUSES = (
    f"WITH {result_store.CURRENT_RESULTS} SELECT check_name, status FROM current_results"
)


async def current_statuses(
    connection: asyncpg.Connection | asyncpg.Pool, checks: list[str], window_s: float
) -> dict[str, CheckStatus]:
    """{check: its current status}, as `store.latest_results` decides it (a location
    counts while its verdict was updated within `window_s`, the quorum window); checks
    without any result are absent."""
    rows = await connection.fetch(_CURRENT_STATUSES, checks, window_s)
    return {row[0]: _STATUS[row[1]] for row in rows}


async def location_statuses(
    connection: asyncpg.Connection | asyncpg.Pool, checks: list[str], reported_since: datetime
) -> list[tuple[str, str, CheckStatus]]:
    """(check, location, status of its newest result there) for every location with a
    verdict updated since `reported_since` and, for a check without any verdict, its newest
    result: the rows of `store.results_by_location`, reduced to what the page shows."""
    rows = await connection.fetch(
        """
        SELECT v.check_name, v.location, latest.status
        FROM health_location_verdicts AS v
        CROSS JOIN LATERAL (
            SELECT status FROM system_health_logs
            WHERE check_name = v.check_name AND location = v.location
            ORDER BY checked_at DESC LIMIT 1
        ) AS latest
        WHERE v.check_name = ANY($1::text[]) AND v.updated_at >= $2
        UNION ALL
        SELECT name, latest.location, latest.status FROM unnest($1::text[]) AS name
        CROSS JOIN LATERAL (
            SELECT location, status FROM system_health_logs WHERE check_name = name
            ORDER BY checked_at DESC LIMIT 1
        ) AS latest
        WHERE NOT EXISTS (SELECT 1 FROM health_location_verdicts WHERE check_name = name)
        ORDER BY 1, 2
        """,
        checks,
        reported_since,
    )
    return [(row[0], row[1], _STATUS[row[2]]) for row in rows]


async def daily_seconds(
    connection: asyncpg.Connection | asyncpg.Pool,
    components: list[str],
    first: datetime,
    days: int,
) -> dict[str, list[Seconds | None]]:
    """{component: its `days` daily rollups from the UTC day `first` on, None where a day
    has no row}, for the components that have any. Postgres gives each component's days
    as arrays (one row per component, not one per day: 9,000 rows cost three times as
    much to read) and leaves out rows that are no day's first instant."""
    rows = await connection.fetch(
        """
        SELECT name, array_agg(day::int4 ORDER BY day), array_agg(up_s ORDER BY day),
               array_agg(degraded_s ORDER BY day), array_agg(down_s ORDER BY day),
               array_agg(maintenance_s ORDER BY day)
        FROM (
            SELECT name, extract(epoch FROM bucket - $3) / 86400 AS day,
                   up_s, degraded_s, down_s, maintenance_s
            FROM health_uptime_rollups
            WHERE scope = $1 AND resolution = 'day' AND name = ANY($2::text[])
              AND bucket >= $3 AND bucket < $4
        ) AS rollup
        WHERE day = trunc(day)
        GROUP BY name
        """,
        Scope.COMPONENT.value,
        components,
        first,
        first + timedelta(days=days),
    )
    found: dict[str, list[Seconds | None]] = {}
    for name, offsets, *columns in rows:
        today: Seconds | None = None
        if offsets[-1] == days - 1:  # in day order: today's row comes last
            today = Seconds(*(column[-1] for column in columns))
            offsets, columns = offsets[:-1], [column[:-1] for column in columns]
        found[name] = [*_earlier_days(days - 1, tuple(offsets), *map(tuple, columns)), today]
    return found


@lru_cache(maxsize=EARLIER_DAYS_KEPT)
def _earlier_days(
    days: int, offsets: tuple[int, ...], *columns: tuple[float, ...]
) -> tuple[Seconds | None, ...]:
    """`days` days' rollups from their columns (None for a day without any), kept: the
    days before today seldom change, and 9,000 `Seconds` cost about 10 ms to make."""
    seconds: list[Seconds | None] = [None] * days
    for day, *spent in zip(offsets, *columns, strict=True):
        seconds[day] = Seconds(*spent)
    return tuple(seconds)


async def incidents_since(
    connection: asyncpg.Connection | asyncpg.Pool, since: datetime, limit: int = 500
) -> list[asyncpg.Record]:
    """Open incidents and those resolved since `since`, newest first."""
    rows: list[asyncpg.Record] = await connection.fetch(
        """
        SELECT * FROM incidents
        WHERE resolved_at IS NULL OR resolved_at >= $1
        ORDER BY opened_at DESC LIMIT $2
        """,
        since,
        limit,
    )
    return rows
