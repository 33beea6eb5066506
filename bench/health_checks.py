"""`GET /api/v1/health/checks` at scale: every check's latest result and its 24 h / 7 d /
30 d uptime, read from the check rollups, at 10,000 checks.

Writes, per check, the rollup rows the three windows read (minute rows around the 24 h
window's start and in the last hour, hour rows for the 24 h body and around the 7- and
30-day starts, 60 days of day rows) and ten results, then times the route's handler (its
two reads and the answer's models) with the loop that fills the settled sums running
beside it, as in the monitor (the first request waits for its start-up fill), next to a
raw baseline measured in the same run: the three windows' sums per check
written as one plain SQL query (GROUP BY with a FILTER per window). Prints the medians,
p95, the ratio and the load average.

Usage: .venv/bin/python bench/health_checks.py [--checks 10000] [--runs 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import asyncpg
from _stack import fresh_database, infrastructure, median, percentile, timed_ms

from lookout_common.infra.db import create_pool
from lookout_common.infra.settings import LookoutSettings
from lookout_health.config import HttpCheck
from lookout_health.quorum import Quorum
from lookout_health.rolling_cache import RollingUptime
from lookout_health.routes.checks import checks as checks_route
from lookout_health.sla import UPTIME_WINDOWS, rolling_ranges

TARGET_MS = 200.0

# (resolution, from, until) relative to now: what the 24 h / 7 d / 30 d windows read, and
# the rows around them a real table holds (a realistic table keeps more: 48 h of minutes,
# 90 days of hours, years of days; the reads are index range scans of their own rows).
SEEDED = (
    ("minute", timedelta(hours=25), timedelta(hours=23)),
    ("minute", timedelta(hours=1), timedelta(0)),
    ("hour", timedelta(days=2), timedelta(0)),
    ("hour", timedelta(days=8), timedelta(days=6)),
    ("hour", timedelta(days=31), timedelta(days=29)),
    ("day", timedelta(days=60), timedelta(0)),
)
STEP = {"minute": "1 minute", "hour": "1 hour", "day": "1 day"}


async def seed(pool: asyncpg.Pool, names: list[str], now: datetime) -> int:
    for resolution, since, until in SEEDED:
        await pool.execute(
            f"""
            INSERT INTO health_uptime_rollups
                (scope, name, resolution, bucket, up_s, degraded_s, down_s, maintenance_s)
            SELECT 'check', name, $1, bucket, 0.999 * s, 0, 0.001 * s, 0
            FROM unnest($2::text[]) AS name,
                 generate_series(date_trunc($1, $3::timestamptz), $4::timestamptz,
                                 interval '{STEP[resolution]}') AS bucket,
                 extract(epoch FROM interval '{STEP[resolution]}') AS s
            ON CONFLICT DO NOTHING
            """,
            resolution,
            names,
            now - since,
            now - until,
            timeout=600,
        )
    await pool.execute(
        """
        INSERT INTO system_health_logs
            (check_name, kind, status, response_time_ms, message, critical, checked_at, location)
        SELECT name, 'http', 'healthy', 5.0, 'HTTP 200', true,
               $2::timestamptz - make_interval(mins => n), 'default'
        FROM unnest($1::text[]) AS name, generate_series(1, 10) AS n
        """,
        names,
        now,
        timeout=600,
    )
    await pool.execute("ANALYZE health_uptime_rollups")
    await pool.execute("ANALYZE system_health_logs")
    return int(await pool.fetchval("SELECT count(*) FROM health_uptime_rollups"))


async def run(count: int, runs: int) -> bool:
    with infrastructure() as (server_url, _, _):
        pool = await create_pool(LookoutSettings(database_url=await fresh_database(server_url)))
        names = [f"svc-{index:05d}" for index in range(count)]
        monitor = SimpleNamespace(
            checks={
                name: HttpCheck(name=name, kind="http", url="http://127.0.0.1:1/") for name in names
            },
            quorum=Quorum(),
        )
        now = datetime.now(UTC)
        rows = await seed(pool, names, now)

        rolling = RollingUptime()  # kept between requests, as the monitor's Services keeps it
        keeper = asyncio.create_task(rolling.keep(pool, lambda: names))  # and its loop

        async def route() -> None:
            await checks_route(pool, monitor, rolling, None)  # type: ignore[arg-type]

        # The baseline: the same sums written as one plain query, no Python around it.
        params: list[object] = [names]
        windows = []
        for length in UPTIME_WINDOWS.values():
            parts = []
            for resolution, start, end in rolling_ranges(now, length):
                params += [resolution.value, start, end]
                n = len(params)
                parts.append(f"(resolution = ${n - 2} AND bucket >= ${n - 1} AND bucket < ${n})")
            windows.append(" OR ".join(parts))
        sums = ", ".join(
            f"sum(up_s + degraded_s) FILTER (WHERE {w}), sum(up_s + degraded_s + down_s)"
            f" FILTER (WHERE {w})"
            for w in windows
        )
        raw_sql = (
            f"SELECT name, {sums} FROM health_uptime_rollups WHERE scope = 'check'"
            f" AND name = ANY($1::text[]) AND ({' OR '.join(windows)}) GROUP BY name"
        )

        async def raw() -> None:
            await pool.fetch(raw_sql, *params)

        print(f"rollups: {rows:,} rows for {count:,} checks; 10 results per check")
        print(f"load average (1, 5, 15 min): {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
        first = (await timed_ms(route, 1))[0]
        samples = await timed_ms(route, runs)
        baseline = median(await timed_ms(raw, runs))
        p95 = percentile(samples, 0.95)
        print(
            f"/api/v1/health/checks: first (waits for the fill) {first:.1f} ms,"
            f" median {median(samples):.1f} ms,"
            f" p95 {p95:.1f} ms; raw SQL {baseline:.1f} ms; ratio"
            f" {median(samples) / baseline:.2f}; target median < {TARGET_MS:.0f} ms"
            f" {'met' if median(samples) < TARGET_MS else 'MISSED'}"
        )
        print(f"load average (1, 5, 15 min): {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
        keeper.cancel()
        await asyncio.gather(keeper, return_exceptions=True)
        await pool.close()
    return median(samples) < TARGET_MS


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=20)
    arguments = parser.parse_args()
    raise SystemExit(0 if asyncio.run(run(arguments.checks, arguments.runs)) else 1)
