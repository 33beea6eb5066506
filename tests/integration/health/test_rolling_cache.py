"""`RollingUptime`: the checks' 24 h / 7 d / 30 d uptime with each window's settled sums
kept between requests, filled by its loop, gives exactly what `rollup_store.rolling_uptime`
reads from the rollups, request after request across hour and day boundaries; it reads
again what can still change (a late flush into the bucket before a boundary) and keeps
the rest; a request just after a boundary finds its sums filled ahead of it."""

from __future__ import annotations

import asyncio
import contextlib
import random
from datetime import UTC, datetime, timedelta
from functools import cache

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from lookout_common.contracts.health_events import CheckStatus
from lookout_common.infra.auth import Reader
from lookout_health import rolling_cache, rollup_store
from lookout_health.bootstrap import get_monitor, get_pool, get_rolling_uptime
from lookout_health.config import HealthConfig
from lookout_health.monitor import Monitor
from lookout_health.rolling_cache import TICK_S, RollingUptime
from lookout_health.routes import checks as checks_routes
from lookout_health.uptime import Resolution, RollupKey, Scope, Seconds, UptimeLedger, merge

pytestmark = pytest.mark.integration

MIDNIGHT = datetime(2026, 11, 26, tzinfo=UTC)
CHECKS = ["auth", "search", "billing"]
STATUSES = [CheckStatus.HEALTHY] * 6 + [CheckStatus.DEGRADED, CheckStatus.UNHEALTHY]


@cache
def history() -> dict[RollupKey, Seconds]:
    """32 days of results every 7 minutes, up to an hour after midnight, each check's
    statuses drawn from its own seeded stream (30-second steps: exact float sums), as
    rollup deltas (made once: 5 s of Python)."""
    ledger = UptimeLedger()
    deltas: dict[RollupKey, Seconds] = {}
    streams = {check: random.Random(check) for check in CHECKS}
    at = MIDNIGHT - timedelta(days=32, seconds=30)
    while at < MIDNIGHT + timedelta(hours=1):
        for check, stream in streams.items():
            merge(deltas, ledger.observe(check, check, stream.choice(STATUSES), at, []))
        at += timedelta(minutes=7)
    return deltas


async def write_history(db: asyncpg.Connection) -> None:
    await rollup_store.add_rollups(db, history())


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


async def uptime(
    rolling: RollingUptime, db: asyncpg.Connection, checks: list[str], now: datetime
) -> dict[str, list[float | None]]:
    """A request's uptime; it must not wait for a fill (no loop runs beside these tests)."""
    return await asyncio.wait_for(rolling.uptime(db, checks, now), 10)


async def read(db: asyncpg.Connection, checks: list[str], now: datetime) -> object:
    return await rollup_store.rolling_uptime(db, checks, now, RollingUptime().windows)


async def test_kept_sums_equal_the_uncached_ones_request_after_request(db) -> None:
    await write_history(db)
    rolling = RollingUptime()
    checks = [*CHECKS, "never-ran"]
    ticks = [MIDNIGHT + timedelta(seconds=s) for s in range(-3630, 3600, int(TICK_S))]
    instants = [MIDNIGHT + timedelta(seconds=s) for s in range(-3600, 3600, 97)]

    for now in instants:  # one instance across the hour and day boundaries
        while ticks and ticks[0] <= now:  # the loop's rounds up to this request
            await rolling.tend(db, checks, ticks.pop(0))
        kept = await uptime(rolling, db, checks, now)
        assert kept == await read(db, checks, now), now
    assert kept["never-ran"] == [None] * 3
    assert len({tuple(kept[check]) for check in CHECKS}) == 3  # the checks differ


async def test_a_request_right_after_a_boundary_does_not_fill(db, monkeypatch) -> None:
    await write_history(db)
    rolling = RollingUptime()
    for before in range(100, 0, -int(TICK_S)):  # the loop's rounds before the boundary
        await rolling.tend(db, CHECKS, MIDNIGHT - timedelta(seconds=before))

    async def no_fill(*args: object) -> None:
        raise AssertionError("a request filled the settled sums")

    monkeypatch.setattr(rolling_cache, "_settled", no_fill)
    for after in (1, 59, 61, 119):  # on the boundary and past its first minute
        now = MIDNIGHT + timedelta(seconds=after)
        assert await uptime(rolling, db, CHECKS, now) == await read(db, CHECKS, now)


async def test_a_request_waits_for_the_loops_first_fill(db) -> None:
    await write_history(db)
    rolling = RollingUptime()
    now = MIDNIGHT + timedelta(minutes=20)
    request = asyncio.create_task(rolling.uptime(db, CHECKS, now))
    await asyncio.sleep(0.2)
    assert not request.done()  # nothing filled yet: it waits, and asked for its cuts

    await rolling.tend(db, CHECKS, now + timedelta(seconds=1))  # the loop's first round
    assert await asyncio.wait_for(request, 10) == await read(db, CHECKS, now)


async def test_checks_answer_503_when_the_loop_does_not_fill_in_time(pool) -> None:
    """A loop that cannot fill (Postgres down at start-up, say) must not leave requests
    waiting for ever: past `fill_wait_s` /checks answers 503 with Retry-After."""
    monitor = Monitor(pool, None, "test")
    monitor.apply(HealthConfig(checks=[]))
    app = FastAPI()
    app.include_router(checks_routes.router)
    app.dependency_overrides[get_pool] = lambda: pool
    app.dependency_overrides[get_monitor] = lambda: monitor
    app.dependency_overrides[get_rolling_uptime] = lambda: RollingUptime(fill_wait_s=0.3)
    app.dependency_overrides[Reader.__metadata__[0].dependency] = lambda: None
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://monitor") as client:
        answer = await asyncio.wait_for(client.get("/api/v1/health/checks"), 10)
    assert answer.status_code == 503, answer.text
    assert answer.headers["Retry-After"] == "10"
    assert "not filled within 0.3 s" in answer.json()["detail"]


async def test_the_loop_fills_at_start_up_for_the_current_checks(db) -> None:
    await write_history(db)
    rolling, checks = RollingUptime(), [*CHECKS]
    loop = asyncio.create_task(rolling.keep(db, lambda: checks))
    try:
        now = datetime.now(UTC)
        assert await asyncio.wait_for(rolling.uptime(db, checks, now), 10) == await read(
            db, checks, now
        )
    finally:
        loop.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop


async def test_a_check_configured_since_the_fill_is_read_by_the_request(db) -> None:
    await write_history(db)
    rolling = RollingUptime()
    now = MIDNIGHT + timedelta(minutes=30)
    await rolling.tend(db, CHECKS[:2], now)

    assert await uptime(rolling, db, CHECKS, now) == await read(db, CHECKS, now)


async def test_a_late_flush_into_the_bucket_before_midnight_is_read(db) -> None:
    await write_history(db)
    rolling = RollingUptime()
    now = MIDNIGHT + timedelta(seconds=40)
    await rolling.tend(db, CHECKS, now)
    before = await uptime(rolling, db, CHECKS, now)

    await late_flush(db, "auth", MIDNIGHT - timedelta(seconds=20), down_s=20.0)
    await rolling.tend(db, CHECKS, now + timedelta(seconds=5))
    after = await uptime(rolling, db, CHECKS, now + timedelta(seconds=5))

    assert after == await read(db, CHECKS, now)
    assert all(a < b for a, b in zip(after["auth"], before["auth"], strict=True))  # type: ignore[operator]
    assert after["search"] == before["search"]


async def test_settled_buckets_are_kept_until_the_refresh(db) -> None:
    await write_history(db)
    now = MIDNIGHT + timedelta(minutes=30)
    rolling, refreshing = RollingUptime(), RollingUptime(refresh_s=0)
    await rolling.tend(db, CHECKS, now)
    first = await uptime(rolling, db, CHECKS, now)

    # Written behind the cache's back into a bucket settled hours ago.
    await late_flush(db, "auth", MIDNIGHT - timedelta(hours=5), down_s=600.0)
    later = now + timedelta(seconds=20)
    for kept in (rolling, refreshing):
        await kept.tend(db, CHECKS, later)
    assert await uptime(rolling, db, CHECKS, later) == first  # the kept sums
    assert await uptime(refreshing, db, CHECKS, later) == await read(db, CHECKS, later) != first
