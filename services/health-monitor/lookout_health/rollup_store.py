"""The SQL of the uptime rollups (`health_uptime_rollups`, migration 0012)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import asyncpg

from lookout_health.sla import RollupRow, rolling_ranges
from lookout_health.uptime import Resolution, RollupKey, Scope, Seconds, next_month


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


class RollupRange(NamedTuple):
    """The rows of one resolution with buckets in [start, end), summed with the other
    ranges of the same `group`."""

    group: int
    resolution: Resolution
    start: datetime
    end: datetime


async def summed_rollups(
    connection: asyncpg.Connection | asyncpg.Pool,
    scope: Scope,
    names: list[str],
    ranges: Sequence[RollupRange],
) -> dict[tuple[str, int], Seconds]:
    """{(name, group): the seconds of its rows in the group's ranges}; a name without rows
    in a group is absent. Each name's range is one index range scan summed by Postgres
    (at 10,000 checks a hash join over the whole table sorted a million rows on disk):
    one row per name and group comes back."""
    rows = await connection.fetch(
        """
        SELECT n.name, d.grp, sum(s.up_s) AS up_s, sum(s.degraded_s) AS degraded_s,
               sum(s.down_s) AS down_s, sum(s.maintenance_s) AS maintenance_s
        FROM unnest($2::text[]) AS n(name)
        CROSS JOIN unnest($3::int[], $4::text[], $5::timestamptz[], $6::timestamptz[])
             AS d(grp, resolution, lo, hi)
        CROSS JOIN LATERAL (
            SELECT sum(r.up_s) AS up_s, sum(r.degraded_s) AS degraded_s,
                   sum(r.down_s) AS down_s, sum(r.maintenance_s) AS maintenance_s
            FROM health_uptime_rollups AS r
            WHERE r.scope = $1 AND r.resolution = d.resolution AND r.name = n.name
              AND r.bucket >= d.lo AND r.bucket < d.hi
        ) AS s
        WHERE s.up_s IS NOT NULL
        GROUP BY n.name, d.grp
        """,
        scope.value,
        names,
        [part.group for part in ranges],
        [part.resolution.value for part in ranges],
        [part.start for part in ranges],
        [part.end for part in ranges],
    )
    return {
        (row["name"], row["grp"]): Seconds(
            row["up_s"], row["degraded_s"], row["down_s"], row["maintenance_s"]
        )
        for row in rows
    }


async def component_rollups(
    connection: asyncpg.Connection | asyncpg.Pool,
    components: list[str],
    monthly_from: datetime,
    daily: list[tuple[datetime, datetime]],
) -> list[RollupRow]:
    """The components' month rows from `monthly_from` and, for each of the `daily` ranges
    [low, high), the sum of their day rows in it as one day row dated `low` (none where a
    range has no rows): what `sla.summarise` needs, about 15 rows per component for a
    12-month report instead of about 75."""
    ranges = [RollupRange(0, Resolution.DAY, low, high) for low, high in daily]
    month = monthly_from
    while month <= datetime.now(UTC):
        ranges.append(RollupRange(0, Resolution.MONTH, month, next_month(month)))
        month = next_month(month)
    ranges = [part._replace(group=index) for index, part in enumerate(ranges)]
    found = await summed_rollups(connection, Scope.COMPONENT, components, ranges)
    return [
        RollupRow(name, ranges[group].resolution, ranges[group].start, seconds)
        for (name, group), seconds in found.items()
    ]


async def rolling_uptime(
    connection: asyncpg.Connection | asyncpg.Pool,
    checks: list[str],
    now: datetime,
    windows: Sequence[timedelta],
) -> dict[str, list[float | None]]:
    """Each check's uptime over each window [now - length, now), read from its rollups as
    `sla.rolling_ranges` cuts the window; None where nothing is known."""
    ranges = [
        RollupRange(group, resolution, start, end)
        for group, length in enumerate(windows)
        for resolution, start, end in rolling_ranges(now, length)
    ]
    found = await summed_rollups(connection, Scope.CHECK, checks, ranges)
    return {
        name: [
            found[name, group].uptime_pct if (name, group) in found else None
            for group in range(len(windows))
        ]
        for name in checks
    }


async def summed_by_name(
    connection: asyncpg.Connection | asyncpg.Pool,
    scope: Scope,
    resolution: Resolution,
    start: datetime,
    end: datetime,
) -> dict[str, Seconds]:
    """{name: the seconds of its rows of one resolution in [start, end)} for every name
    with rows there: a few buckets of every check are one scan of the age index, cheaper
    than looking 10,000 names up (the caller keeps the names it wants)."""
    rows = await connection.fetch(
        """
        SELECT name, sum(up_s) AS up_s, sum(degraded_s) AS degraded_s,
               sum(down_s) AS down_s, sum(maintenance_s) AS maintenance_s
        FROM health_uptime_rollups
        WHERE scope = $1 AND resolution = $2 AND bucket >= $3 AND bucket < $4
        GROUP BY name
        """,
        scope.value,
        resolution.value,
        start,
        end,
    )
    return {
        row["name"]: Seconds(row["up_s"], row["degraded_s"], row["down_s"], row["maintenance_s"])
        for row in rows
    }


async def bucket_rows(
    connection: asyncpg.Connection | asyncpg.Pool,
    scope: Scope,
    names: list[str],
    resolution: Resolution,
    start: datetime,
    end: datetime,
) -> dict[str, list[tuple[datetime, Seconds]]]:
    """{name: [(bucket, its seconds)] in bucket order} of the rows of one resolution with
    buckets in [start, end); a name without rows there is absent."""
    rows = await connection.fetch(
        """
        SELECT name, bucket, up_s, degraded_s, down_s, maintenance_s
        FROM health_uptime_rollups
        WHERE scope = $1 AND resolution = $2 AND name = ANY($3::text[])
          AND bucket >= $4 AND bucket < $5
        ORDER BY name, bucket
        """,
        scope.value,
        resolution.value,
        names,
        start,
        end,
    )
    found: dict[str, list[tuple[datetime, Seconds]]] = {}
    for row in rows:
        seconds = Seconds(row["up_s"], row["degraded_s"], row["down_s"], row["maintenance_s"])
        found.setdefault(row["name"], []).append((row["bucket"], seconds))
    return found


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
