"""The checks' 24 h / 7 d / 30 d uptime read from the uptime rollups against a real
Postgres: known results turned into rollups by the writer's own ledger, then read back
as `/api/v1/health/checks` reads them and as the SLA report reads the same time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from lookout_common.contracts.health_events import CheckStatus
from lookout_health import rollup_store
from lookout_health.sla import UPTIME_WINDOWS, rows_wanted, summarise
from lookout_health.uptime import RollupKey, Seconds, UptimeLedger, Window, merge

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 25, 12, 0, 30, tzinfo=UTC)
HEALTHY, DEGRADED, UNHEALTHY = CheckStatus.HEALTHY, CheckStatus.DEGRADED, CheckStatus.UNHEALTHY
WINDOWS = list(UPTIME_WINDOWS.values())


def ago(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


async def run(
    db: asyncpg.Connection,
    results: list[tuple[str, float, CheckStatus]],
    maintenance: list[Window] = (),  # type: ignore[assignment]
) -> None:
    """(check, minutes ago, status) in time order through the rollup writer's ledger, each
    check its own component (as when no `component` is configured), into the table."""
    ledger = UptimeLedger()
    deltas: dict[RollupKey, Seconds] = {}
    for check, minutes, status in results:
        merge(deltas, ledger.observe(check, check, status, ago(minutes), maintenance))
    await rollup_store.add_rollups(db, deltas)


def every_minute(check: str, start: int, down: range = range(0), status=UNHEALTHY):
    """A result of `check` every minute from `start` minutes ago to now, `status` at the
    minutes-ago in `down`, healthy otherwise."""
    return [(check, m, status if m in down else HEALTHY) for m in range(start, -1, -1)]


async def test_uptime_is_weighted_by_time_and_degraded_counts_as_up(db) -> None:
    await run(
        db,
        sorted(
            every_minute("auth", 10, down=range(5, 7))  # down 6..4 min ago: 2 of 10
            + every_minute("search", 10, down=range(3, 10), status=DEGRADED),
            key=lambda result: -result[1],
        ),
    )
    found = await rollup_store.rolling_uptime(db, ["auth", "search", "never-ran"], NOW, WINDOWS)
    assert found == {"auth": [80.0] * 3, "search": [100.0] * 3, "never-ran": [None] * 3}


async def test_only_known_time_counts_and_each_window_reads_its_own_time(db) -> None:
    # Down for an hour two days ago (its results every 10 minutes), then silent for a day
    # (the monitor was down: nothing counted), then healthy for the last 20 hours.
    two_days = [("ledger", m, UNHEALTHY) for m in range(48 * 60, 47 * 60 - 1, -10)]
    recent = [("ledger", m, HEALTHY) for m in range(20 * 60, -1, -10)]
    await run(db, two_days + recent)
    [day, week, month] = (await rollup_store.rolling_uptime(db, ["ledger"], NOW, WINDOWS))["ledger"]
    assert day == 100.0
    # 1 h 10 min down (the last result stands 10 minutes) of 21 h 10 min known.
    assert week == month == pytest.approx(100 * 20 / (21 + 1 / 6), abs=1e-3)


async def test_maintenance_is_left_out_as_the_sla_report_leaves_it_out(db) -> None:
    window = (ago(6), ago(4))  # down during a declared window, then down 2 more minutes
    await run(db, every_minute("auth", 10, down=range(3, 7)), [window])
    [day, *_] = (await rollup_store.rolling_uptime(db, ["auth"], NOW, WINDOWS))["auth"]
    assert day == 75.0  # 2 of the 8 minutes outside maintenance


async def test_the_figures_equal_the_sla_reports_for_the_same_time(db) -> None:
    # All of auth's results lie within the last 24 hours, today and this month: each of
    # /checks' windows, the SLA's 90 and 365 days and its month cover the same time.
    results = every_minute("auth", 11 * 60, down=range(100, 137))
    # Nothing heard from 180 to 151 minutes ago: the result before stands 10 of those 30.
    await run(db, [*results[: 8 * 60], *results[8 * 60 + 30 :]])
    [checks] = (await rollup_store.rolling_uptime(db, ["auth"], NOW, WINDOWS)).values()
    monthly_from, daily = rows_wanted(NOW, 1)
    rows = await rollup_store.component_rollups(db, ["auth"], monthly_from, daily)
    [report] = summarise(rows, ["auth"], NOW, 1)
    sla = {period.seconds.uptime_pct for period in [*report.months, *report.windows]}
    [pct] = sla
    assert set(checks) == sla
    assert pct == pytest.approx(100 * (1 - 37 / (11 * 60 - 21)), abs=1e-4)
