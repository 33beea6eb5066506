"""The status page's and the SLA report's reads against a real Postgres, on generated rows:
they return only what the page and the report show, and give the same answers as the
full reads they replace (the checks' whole result rows, every day rollup); past days'
bars are reused between builds, yet an edit to a past day shows on the next one."""

from __future__ import annotations

import operator
import random
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from lookout_common.contracts.health_events import CheckStatus
from lookout_health import rollup_store
from lookout_health.sla import RollupRow, rows_wanted, summarise
from lookout_health.status_page import store as page_store
from lookout_health.status_page.build import build_page
from lookout_health.status_page.model import DAYS
from lookout_health.status_page.render import render_html
from lookout_health.store.results import CURRENT_RESULTS, latest_results, results_by_location
from lookout_health.uptime import MAX_RESULT_SPAN, Resolution, Scope, Seconds, bucket_start

pytestmark = pytest.mark.integration

LOCATIONS = ("default", "jakarta", "singapore")
STATUSES = ("healthy", "degraded", "unhealthy")


async def test_current_and_location_statuses_match_the_full_result_reads(db) -> None:
    chance = random.Random(17)
    now = await db.fetchval("SELECT now()")
    checks = [f"check-{index:02d}" for index in range(60)]
    results, verdicts = [], []
    for check in checks[:-5]:  # the last five never ran
        for location in chance.sample(LOCATIONS, chance.randint(1, 3)):
            for _ in range(chance.randint(1, 3)):
                at = now - timedelta(seconds=chance.randint(1, 1200))
                results.append((check, chance.choice(STATUSES), at, location))
            if chance.random() < 0.6:
                updated = now - timedelta(minutes=chance.choice((0.5, 3, 7, 30)))
                verdicts.append((check, location, chance.random() < 0.3, updated, updated))
    await db.executemany(
        "INSERT INTO system_health_logs"
        " (check_name, kind, status, response_time_ms, message, critical, checked_at, location)"
        " VALUES ($1, 'http', $2, 5.0, 'ok', true, $3, $4)",
        results,
    )
    await db.executemany(
        "INSERT INTO health_location_verdicts (check_name, location, failing, since, updated_at)"
        " VALUES ($1, $2, $3, $4, $5)",
        verdicts,
    )

    # The quorum window (5 minutes by default) leaves out the verdicts of 7 and 30 minutes
    # ago; a 10-minute one only those of 30.
    for window_s in (300.0, MAX_RESULT_SPAN.total_seconds()):
        full = await latest_results(db, checks, window_s)
        current = await page_store.current_statuses(db, checks, window_s)
        assert current == {result.service: result.status for result in full}
        assert len(current) == 55
        assert set(current.values()) == set(CheckStatus)
    assert await page_store.current_statuses(db, checks, 300.0) != current
    # Equal because it is the same choice: the page selects two columns of the one
    # definition, not a copy of it that could drift.
    assert CURRENT_RESULTS in page_store._CURRENT_STATUSES

    since = now - MAX_RESULT_SPAN
    rows = await results_by_location(db, checks, since)
    reduced = await page_store.location_statuses(db, checks, since)
    assert reduced == [(result.service, result.location, result.status) for result, _, _ in rows]
    assert len({location for _, location, _ in reduced}) == 3


def _seconds(chance: random.Random, scale: int) -> tuple[float, float, float, float]:
    # Halves are exact in binary: sums agree whatever order Postgres or Python adds them in.
    return tuple(chance.randint(0, scale) / 2 for _ in range(4))  # type: ignore[return-value]


async def _seed(db: asyncpg.Connection, now: datetime) -> None:
    """Day rows (with gaps) over 400 days and month rows over 15 months for three
    components, and check rows the reads must leave out."""
    chance = random.Random(5)
    today = bucket_start(now, Resolution.DAY)
    rows = []
    for scope, name in (
        ("component", "API"),
        ("component", "Ledger"),
        ("component", "Search"),
        ("check", "API"),
    ):
        for back in range(400):
            if chance.random() < 0.85:
                rows.append(
                    (scope, name, "day", today - timedelta(days=back), *_seconds(chance, 9999))
                )
        month = bucket_start(now, Resolution.MONTH)
        for _ in range(15):
            rows.append((scope, name, "month", month, *_seconds(chance, 999999)))
            month = bucket_start(month - timedelta(days=1), Resolution.MONTH)
    await db.executemany(
        "INSERT INTO health_uptime_rollups"
        " (scope, name, resolution, bucket, up_s, degraded_s, down_s, maintenance_s)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        rows,
    )


@pytest.mark.parametrize(
    "now",
    [
        datetime(2026, 11, 25, 12, 0, tzinfo=UTC),
        datetime(2026, 12, 1, 0, 0, tzinfo=UTC),  # a month's first instant
        datetime(2026, 3, 31, 23, 59, tzinfo=UTC),
    ],
)
async def test_the_sla_report_from_summed_days_equals_the_one_from_every_day(db, now) -> None:
    await _seed(db, now)
    components = ["API", "Ledger", "Search", "Gone"]
    monthly_from, daily = rows_wanted(now, 12)
    every_row = [
        RollupRow(
            row["name"],
            Resolution(row["resolution"]),
            row["bucket"],
            Seconds(row["up_s"], row["degraded_s"], row["down_s"], row["maintenance_s"]),
        )
        for row in await db.fetch("SELECT * FROM health_uptime_rollups WHERE scope = 'component'")
    ]
    read = await rollup_store.component_rollups(db, components, monthly_from, daily)
    # Month rows and one summed row per component and day range, not every day row.
    assert len(read) <= 3 * (13 + len(daily))
    assert summarise(read, components, now, 12) == summarise(every_row, components, now, 12)
    for months in (1, 36):
        monthly_from, daily = rows_wanted(now, months)
        read = await rollup_store.component_rollups(db, components, monthly_from, daily)
        expected = summarise(every_row, components, now, months)
        assert summarise(read, components, now, months) == expected


async def test_the_pages_bars_are_each_days_rollup_and_the_uptime_their_sum(db) -> None:
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    await _seed(db, now)
    first = bucket_start(now, Resolution.DAY) - timedelta(days=DAYS - 1)
    # Rows that are no day of the window: off a day's first instant, and tomorrow.
    await db.execute(
        "INSERT INTO health_uptime_rollups (scope, name, resolution, bucket, down_s)"
        " VALUES ('component', 'API', 'day', $1, 50), ('component', 'API', 'day', $2, 50)",
        first + timedelta(days=3, hours=5),
        first + timedelta(days=DAYS),
    )
    stored = {
        (row["name"], row["bucket"]): Seconds(
            row["up_s"], row["degraded_s"], row["down_s"], row["maintenance_s"]
        )
        for row in await db.fetch(
            "SELECT * FROM health_uptime_rollups WHERE scope = $1 AND resolution = 'day'",
            Scope.COMPONENT.value,
        )
    }
    components = {"API": ["a"], "Ledger": ["l"], "Quiet": ["q"]}
    daily = await page_store.daily_seconds(db, list(components), first, DAYS)
    assert set(daily) == {"API", "Ledger"}
    page = build_page(
        now=now,
        components=components,
        latest={"a": CheckStatus.HEALTHY, "l": CheckStatus.UNHEALTHY},
        daily=daily,
        incidents=[],
        maintenance=[],
    )
    assert [(c.name, c.state) for c in page.components] == [
        ("API", "operational"),
        ("Ledger", "outage"),
        ("Quiet", "unknown"),
    ]
    for component in page.components:
        total, gaps = Seconds(), 0
        for offset, bar in enumerate(component.days):
            start = first + timedelta(days=offset)
            seconds = stored.get((component.name, start))
            assert bar.date == start.date().isoformat()
            if seconds is None:
                gaps += 1
                assert (bar.state, bar.uptime_pct, bar.down_s) == ("nodata", None, 0.0)
                continue
            total = total + seconds
            assert bar.uptime_pct == seconds.uptime_pct
            assert (bar.down_s, bar.degraded_s, bar.maintenance_s) == (
                round(seconds.down, 1),
                round(seconds.degraded, 1),
                round(seconds.maintenance, 1),
            )
        assert component.uptime_90d_pct == total.uptime_pct
        if component.name == "Quiet":
            assert gaps == DAYS
            assert component.uptime_90d_pct is None
        else:
            assert 0 < gaps < DAYS


async def test_a_past_days_edit_shows_on_the_next_build_and_other_days_are_reused(db) -> None:
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    await _seed(db, now)
    first = bucket_start(now, Resolution.DAY) - timedelta(days=DAYS - 1)
    components = {"API": ["a"], "Ledger": ["l"]}
    links = {"page": "status", "json": "status.json", "feed": "status/feed.atom"}

    async def built():
        page = build_page(
            now=now,
            components=components,
            latest={},
            daily=await page_store.daily_seconds(db, list(components), first, DAYS),
            incidents=await page_store.incidents_since(db, first),
            maintenance=[],
        )
        return page, render_html(page, title="Status", links=links)

    before, before_html = await built()
    again, _ = await built()
    # Nothing changed: the past days' bars are the ones the first build made.
    for old, new in zip(before.components, again.components, strict=True):
        assert all(map(operator.is_, old.days[:-1], new.days[:-1]))
        assert old.days[-1] is not new.days[-1]  # today's is made again

    # A late rollup rewrites day 10 of API's window, and an incident of that day is entered.
    edited = first + timedelta(days=10)
    await db.execute(
        "INSERT INTO health_uptime_rollups"
        " (scope, name, resolution, bucket, up_s, degraded_s, down_s, maintenance_s)"
        " VALUES ('component', 'API', 'day', $1, 80000, 0, 3600, 600)"
        " ON CONFLICT (scope, resolution, name, bucket) DO UPDATE"
        " SET up_s = 80000, degraded_s = 0, down_s = 3600, maintenance_s = 600",
        edited,
    )
    incident = await db.fetchval(
        "INSERT INTO incidents (check_name, critical, status, message, opened_at, updated_at,"
        " resolved_at) VALUES ('a', true, 'unhealthy', 'down', $1, $2, $2) RETURNING id",
        edited + timedelta(hours=1),
        edited + timedelta(hours=2),
    )
    after, after_html = await built()

    api_before, ledger_before = before.components
    api_after, ledger_after = after.components
    bar = api_after.days[10]
    assert (bar.state, bar.down_s, bar.maintenance_s, bar.incidents) == (
        "outage",
        3600.0,
        600.0,
        [incident],
    )
    assert bar.uptime_pct == Seconds(80000, 0, 3600, 600).uptime_pct
    assert api_after.uptime_90d_pct != api_before.uptime_90d_pct
    unchanged = [day for offset, day in enumerate(api_after.days) if offset != 10]
    assert unchanged == [day for offset, day in enumerate(api_before.days) if offset != 10]
    assert ledger_after.days == ledger_before.days
    assert ledger_after.days[0] is ledger_before.days[0]
    assert f"1 incident (#{incident})" in after_html
    assert "1 incident (#" not in before_html
    assert [i.id for i in after.recent_incidents] == [incident]
