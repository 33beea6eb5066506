"""`RollingUptime`: the checks' 24 h / 7 d / 30 d uptime with each window's settled sums
kept between requests gives exactly what `rollup_store.rolling_uptime` reads from the
rollups, request after request across hour and day boundaries; it reads again what can
still change (a late flush into the bucket before a boundary) and keeps the rest."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from lookout_common.contracts.health_events import CheckStatus
from lookout_health import rollup_store
from lookout_health.rolling_cache import RollingUptime
from lookout_health.sla import UPTIME_WINDOWS
from lookout_health.uptime import Resolution, RollupKey, Scope, Seconds, UptimeLedger, merge

pytestmark = pytest.mark.integration

MIDNIGHT = datetime(2026, 11, 26, tzinfo=UTC)
CHECKS = ["auth", "search", "billing"]
WINDOWS = list(UPTIME_WINDOWS.values())
STATUSES = [CheckStatus.HEALTHY] * 6 + [CheckStatus.DEGRADED, CheckStatus.UNHEALTHY]


async def write_history(db: asyncpg.Connection) -> None:
    """32 days of results every 7 minutes, up to an hour after midnight, each check's
    statuses drawn from its own seeded stream (30-second steps: exact float sums)."""
    ledger = UptimeLedger()
    deltas: dict[RollupKey, Seconds] = {}
    streams = {check: random.Random(check) for check in CHECKS}
    at = MIDNIGHT - timedelta(days=32, seconds=30)
    while at < MIDNIGHT + timedelta(hours=1):
        for check, stream in streams.items():
            merge(deltas, ledger.observe(check, check, stream.choice(STATUSES), at, []))
        at += timedelta(minutes=7)
    await rollup_store.add_rollups(db, deltas)


async def late_flush(db: asyncpg.Connection, check: str, at: datetime, down_s: float) -> None:
    """`down_s` more down time in the buckets of `at`, as a flush just after it writes."""
    await rollup_store.add_rollups(
        db,
        {
            RollupKey(Scope.CHECK, check, resolution, bucket_start): Seconds(down=down_s)
            for resolution, bucket_start in (
                (Resolution.MINUTE, at.replace(second=0)),
                (Resolution.HOUR, at.replace(minute=0, second=0)),
                (Resolution.DAY, at.replace(hour=0, minute=0, second=0)),
            )
        },
    )


async def test_kept_sums_equal_the_uncached_ones_request_after_request(db) -> None:
    await write_history(db)
    rolling = RollingUptime()
    instants = [MIDNIGHT + timedelta(seconds=s) for s in range(-3600, 3600, 97)]

    for now in instants:  # one instance across the hour and day boundaries
        kept = await rolling.uptime(db, [*CHECKS, "never-ran"], now, WINDOWS)
        read = await rollup_store.rolling_uptime(db, [*CHECKS, "never-ran"], now, WINDOWS)
        assert kept == read, now
    assert kept["never-ran"] == [None] * 3
    assert len({tuple(kept[check]) for check in CHECKS}) == 3  # the checks differ


async def test_a_late_flush_into_the_bucket_before_midnight_is_read(db) -> None:
    await write_history(db)
    rolling = RollingUptime()
    now = MIDNIGHT + timedelta(seconds=40)
    before = await rolling.uptime(db, CHECKS, now, WINDOWS)

    await late_flush(db, "auth", MIDNIGHT - timedelta(seconds=20), down_s=20.0)
    after = await rolling.uptime(db, CHECKS, now + timedelta(seconds=5), WINDOWS)

    assert after == await rollup_store.rolling_uptime(db, CHECKS, now, WINDOWS)
    assert all(a < b for a, b in zip(after["auth"], before["auth"], strict=True))  # type: ignore[operator]
    assert after["search"] == before["search"]


async def test_settled_buckets_are_kept_until_the_refresh(db) -> None:
    await write_history(db)
    now = MIDNIGHT + timedelta(minutes=30)
    rolling, refreshing = RollingUptime(), RollingUptime(refresh_s=0)
    first = await rolling.uptime(db, CHECKS, now, WINDOWS)
    await refreshing.uptime(db, CHECKS, now, WINDOWS)

    # Written behind the cache's back into a bucket settled hours ago.
    await late_flush(db, "auth", MIDNIGHT - timedelta(hours=5), down_s=600.0)
    read = await rollup_store.rolling_uptime(db, CHECKS, now, WINDOWS)

    later = now + timedelta(seconds=20)
    assert await rolling.uptime(db, CHECKS, later, WINDOWS) == first  # the kept sums
    assert await refreshing.uptime(db, CHECKS, now, WINDOWS) == read != first
