"""The SQL of the uptime rollups (`health_uptime_rollups`, migration 0012)."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from lookout_health.sla import RollupRow
from lookout_health.uptime import Resolution, RollupKey, Scope, Seconds


async def add_rollups(
    connection: asyncpg.Connection | asyncpg.Pool, deltas: dict[RollupKey, Seconds]
) -> None:
    """Add seconds to their buckets (creating them), in key order so that two writers
    can never deadlock."""
    if not deltas:
        return
    keys = sorted(deltas)
    await connection.execute(
        """
        INSERT INTO health_uptime_rollups AS r
            (scope, name, resolution, bucket, up_s, degraded_s, down_s, maintenance_s)
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[],
                             $5::float8[], $6::float8[], $7::float8[], $8::float8[])
        ON CONFLICT (scope, resolution, name, bucket) DO UPDATE SET
            up_s = r.up_s + excluded.up_s,
            degraded_s = r.degraded_s + excluded.degraded_s,
            down_s = r.down_s + excluded.down_s,
            maintenance_s = r.maintenance_s + excluded.maintenance_s
        """,
        [key.scope.value for key in keys],
        [key.name for key in keys],
        [key.resolution.value for key in keys],
        [key.bucket for key in keys],
        [deltas[key].up for key in keys],
        [deltas[key].degraded for key in keys],
        [deltas[key].down for key in keys],
        [deltas[key].maintenance for key in keys],
    )


async def prune_rollups(
    connection: asyncpg.Connection | asyncpg.Pool, resolution: Resolution, before: datetime
) -> int:
    result = await connection.execute(
        "DELETE FROM health_uptime_rollups WHERE resolution = $1 AND bucket < $2",
        resolution.value,
        before,
    )
    return int(result.split()[-1])


def _row(row: asyncpg.Record) -> RollupRow:
    return RollupRow(
        component=row["name"],
        resolution=Resolution(row["resolution"]),
        bucket=row["bucket"],
        seconds=Seconds(row["up_s"], row["degraded_s"], row["down_s"], row["maintenance_s"]),
    )


async def component_rollups(
    connection: asyncpg.Connection | asyncpg.Pool,
    components: list[str],
    monthly_from: datetime,
    daily: list[tuple[datetime, datetime]],
) -> list[RollupRow]:
    """The components' month rows from `monthly_from` and, for each of the `daily` ranges
    [low, high), the sum of their day rows in it as one day row dated `low` (none where a
    range has no rows): what `sla.summarise` needs, about 15 rows per component for a
    12-month report instead of about 75. Each part is one index range scan."""
    rows = await connection.fetch(
        """
        SELECT name, 'month' AS resolution, bucket, up_s, degraded_s, down_s, maintenance_s
        FROM health_uptime_rollups
        WHERE scope = $1 AND resolution = 'month' AND name = ANY($2::text[]) AND bucket >= $3
        UNION ALL
        SELECT r.name, 'day', d.lo, sum(r.up_s), sum(r.degraded_s), sum(r.down_s),
               sum(r.maintenance_s)
        FROM unnest($4::timestamptz[], $5::timestamptz[]) AS d(lo, hi)
        JOIN health_uptime_rollups AS r
          ON r.scope = $1 AND r.resolution = 'day' AND r.name = ANY($2::text[])
         AND r.bucket >= d.lo AND r.bucket < d.hi
        GROUP BY r.name, d.lo
        """,
        Scope.COMPONENT.value,
        components,
        monthly_from,
        [low for low, _ in daily],
        [high for _, high in daily],
    )
    return [_row(row) for row in rows]


async def daily_rollups(
    connection: asyncpg.Connection | asyncpg.Pool, scope: Scope, names: list[str], since: datetime
) -> list[RollupRow]:
    """Day rows of `names` from `since` on (the status page's bars)."""
    rows = await connection.fetch(
        """
        SELECT name, resolution, bucket, up_s, degraded_s, down_s, maintenance_s
        FROM health_uptime_rollups
        WHERE scope = $1 AND resolution = 'day' AND name = ANY($2::text[]) AND bucket >= $3
        """,
        scope.value,
        names,
        since,
    )
    return [_row(row) for row in rows]
